"""Replay mode: stream a real capture's events, byte for byte, to every client that logs in.

Responses in a capture answer the recorder's own actions, so they are not replayed: the
server answers each client's actions itself, and only broadcast events (those with a
`Privilege` header) come from the file. The recorder's own FullyBooted/SuccessfulAuth are
skipped too; the client gets its own from its Login.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog

from pbxsim.ami_server import AmiServer, AmiSession
from pbxsim.tasks import BackgroundTasks
from telephony.ami.capture import CaptureItem, read_capture

log = structlog.get_logger()

_OWN_LOGIN_EVENTS = (b"Event: FullyBooted\r\n", b"Event: SuccessfulAuth\r\n")


def replayable(item: CaptureItem) -> bool:
    data = item.data
    return (
        item.kind == "rx"
        and data.startswith(b"Event: ")
        and b"\r\nPrivilege: " in data
        and not data.startswith(_OWN_LOGIN_EVENTS)
    )


class ReplayFeed:
    """Streams `path` to each session after its Login; `speed=None` means as fast as possible."""

    def __init__(
        self, path: str | Path, *, speed: float | None = None, autostart: bool = True
    ) -> None:
        self.path = Path(path)
        self.speed = speed
        self.items = [item for item in read_capture(self.path) if replayable(item)]
        self.gate = asyncio.Event()
        if autostart:
            self.gate.set()
        self.finished = 0
        self._changed = asyncio.Condition()
        self._tasks = BackgroundTasks("replay")

    @property
    def data(self) -> bytes:
        """Everything a client receives from the feed, in order."""
        return b"".join(item.data for item in self.items)

    def attach(self, server: AmiServer) -> None:
        server.login_hooks.append(self._on_login)

    def release(self) -> None:
        """Start streaming to the logged-in sessions (when created with autostart=False)."""
        self.gate.set()

    def _on_login(self, session: AmiSession) -> None:
        if session.event_mask == frozenset():
            return
        self._tasks.spawn(self._stream(session))

    async def _stream(self, session: AmiSession) -> None:
        await self.gate.wait()
        previous = self.items[0].offset if self.items else 0.0
        for item in self.items:
            if self.speed:
                await asyncio.sleep(max(0.0, item.offset - previous) / self.speed)
            previous = item.offset
            if session.transport is None:
                log.info("sim_replay_client_gone", capture=self.path.name)
                return
            session.write(item.data)
        log.info("sim_replay_done", capture=self.path.name, events=len(self.items))
        async with self._changed:
            self.finished += 1
            self._changed.notify_all()

    async def wait_done(self, count: int = 1) -> None:
        """Wait until `count` sessions have been sent the whole capture."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.finished >= count)

    async def close(self) -> None:
        await self._tasks.close()
