"""A customer's phone during a survey call: what it hears, which keys it presses, hang-up."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from pbxsim.clock import SimClock
from pbxsim.phones import CustomerPhone


class LineHungUp(Exception):
    """The customer hung up while the PBX was waiting on the line."""


class CustomerLine:
    def __init__(
        self, phone: CustomerPhone, clock: SimClock, on_digit: Callable[[str], None]
    ) -> None:
        self.phone = phone
        self.clock = clock
        self.on_digit = on_digit
        self.heard: list[str] = []
        self.pressed: list[str] = []
        self.hungup = asyncio.Event()
        self._keys = deque(phone.keys)
        self._timer: asyncio.Task[None] | None = None

    def answered(self) -> None:
        if self.phone.hangup_after is not None:
            self._timer = asyncio.get_running_loop().create_task(self._hang_up_later())

    async def _hang_up_later(self) -> None:
        assert self.phone.hangup_after is not None
        await self.clock.sleep(self.phone.hangup_after)
        self.hungup.set()

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)

    async def _pause(self, seconds: float) -> None:
        if await self.clock.wait(self.hungup, seconds):
            raise LineHungUp

    async def next_digit(self, within: float, accept: str | None = None) -> str | None:
        """The next key if it comes within `within` s (and is in `accept`), else None."""
        if self.hungup.is_set():
            raise LineHungUp
        key = self._keys[0] if self._keys else None
        if key is None or key.after > within or (accept is not None and key.digit not in accept):
            await self._pause(within)
            return None
        await self._pause(key.after)
        self._keys.popleft()
        self.pressed.append(key.digit)
        self.on_digit(key.digit)
        return key.digit

    async def play(self, prompt: str, seconds: float, escape: str = "") -> str | None:
        """Play a prompt; a key in `escape` pressed during it interrupts and is returned."""
        self.heard.append(prompt)
        if escape:
            return await self.next_digit(seconds, accept=escape)
        await self._pause(seconds)
        return None
