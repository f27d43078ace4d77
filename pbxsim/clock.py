"""Simulated time: a wall-clock epoch that can run faster than real time.

Every duration in the simulator (ring delays, queue timeout, talk times) goes through one
`SimClock`, so a test can run a 15 s ring-no-answer in a fraction of a second and the
HoldTime/RingTime the PBX reports still read like the real thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable


class SimClock:
    def __init__(
        self,
        speed: float = 1.0,
        epoch: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()
        self._epoch = time.time() if epoch is None else epoch

    def now(self) -> float:
        """Simulated epoch seconds."""
        return self._epoch + (self._monotonic() - self._origin) * self.speed

    def real(self, seconds: float) -> float:
        """How long `seconds` of simulated time last in real time."""
        return max(0.0, seconds) / self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(self.real(seconds))

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait for `event` at most `seconds` of simulated time; True when it was set."""
        if event.is_set():
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), self.real(seconds))
        return event.is_set()
