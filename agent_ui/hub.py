"""The WebSocket hub: every open panel of an agent gets that agent's numbered events.

Events are numbered per agent and the last few are kept, so a panel that lost its link
resumes from the last id it saw; when that id is older than the buffer (or the service
restarted, which changes the epoch) the panel is told to reload its state instead. Each
socket has its own bounded outbox and writer, so `publish` never waits on a slow browser
and keeps the order; a browser too slow to drain its outbox is disconnected and resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import WSCloseCode, WSMsgType, web

from runtime.tasks import Spawn, start_task

log = structlog.get_logger()

_CLOSE = object()


@dataclass(eq=False)
class _Link:
    """One open WebSocket and its outbox."""

    ws: web.WebSocketResponse
    outbox: asyncio.Queue[object]
    dropped: bool = False

    def offer(self, text: str) -> None:
        if self.dropped:
            return
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("panel_socket_too_slow")
            self.dropped = True
            while not self.outbox.empty():
                self.outbox.get_nowait()
            self.outbox.put_nowait(_CLOSE)


@dataclass
class _Channel:
    """One agent's event numbering, replay buffer and open sockets."""

    buffer: deque[tuple[int, str]]
    seq: int = 0
    links: set[_Link] = field(default_factory=set)


class Hub:
    """Routes panel events to an agent's open sockets, with resume and heartbeats.

    `spawn` starts the heartbeat task (the composition root passes its TaskSupervisor's);
    a socket's writer lives only as long as its socket, so it is a plain task.
    """

    def __init__(
        self,
        *,
        replay_size: int = 64,
        heartbeat_s: float = 20.0,
        outbox_size: int = 1024,
        epoch: str | None = None,
        spawn: Spawn = start_task,
    ) -> None:
        self.epoch = epoch or secrets.token_hex(6)
        self._spawn = spawn
        self.heartbeat_s = heartbeat_s
        self._replay_size = replay_size
        self._outbox_size = outbox_size
        self._channels: dict[int, _Channel] = {}
        self._heartbeat = json.dumps({"type": "heartbeat"})

    def _channel(self, user_id: int) -> _Channel:
        channel = self._channels.get(user_id)
        if channel is None:
            channel = self._channels[user_id] = _Channel(deque(maxlen=self._replay_size))
        return channel

    def last_event_id(self, user_id: int) -> int:
        """The id of the agent's latest event: a page rendered now resumes after it."""
        return self._channel(user_id).seq

    def connected(self, user_id: int) -> int:
        """How many panels of this agent are open."""
        return len(self._channel(user_id).links)

    def publish(self, user_id: int, kind: str, data: Mapping[str, Any]) -> int:
        """Number an event, keep it for replay and queue it on every open panel of the agent."""
        channel = self._channel(user_id)
        channel.seq += 1
        text = json.dumps(
            {"id": channel.seq, "type": kind, "data": data}, ensure_ascii=False, default=str
        )
        channel.buffer.append((channel.seq, text))
        for link in channel.links:
            link.offer(text)
        return channel.seq

    def _attach(self, user_id: int, link: _Link, since: int | None, epoch: str | None) -> None:
        """Greet a new socket and replay what it missed, in one step so nothing interleaves."""
        channel = self._channel(user_id)
        oldest_known = channel.seq - len(channel.buffer)
        resumable = since is None or (
            epoch == self.epoch
            and oldest_known <= since <= channel.seq
            and channel.seq - since < self._outbox_size
        )
        hello = {
            "type": "hello" if resumable else "reload",
            "epoch": self.epoch,
            "last_event_id": channel.seq,
            "heartbeat_s": self.heartbeat_s,
        }
        link.offer(json.dumps(hello))
        if resumable and since is not None:
            for event_id, text in channel.buffer:
                if event_id > since:
                    link.offer(text)
        channel.links.add(link)

    async def serve(self, request: web.Request, user_id: int) -> web.WebSocketResponse:
        """Run one panel's WebSocket until it closes. Query: `since` (last id), `epoch`."""
        ws = web.WebSocketResponse(heartbeat=self.heartbeat_s, max_msg_size=4096)
        await ws.prepare(request)
        link = _Link(ws, asyncio.Queue(maxsize=self._outbox_size))
        self._attach(
            user_id, link, _int_or_none(request.query.get("since")), request.query.get("epoch")
        )
        writer = asyncio.create_task(self._write(link), name=f"panel-ws-writer-{user_id}")
        log.info("panel_connected", agent=user_id, panels=self.connected(user_id))
        try:
            async for message in ws:
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            self._channel(user_id).links.discard(link)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await ws.close()
            log.info("panel_disconnected", agent=user_id, panels=self.connected(user_id))
        return ws

    async def _write(self, link: _Link) -> None:
        while True:
            item = await link.outbox.get()
            if item is _CLOSE or link.ws.closed:
                await link.ws.close(code=WSCloseCode.TRY_AGAIN_LATER)
                return
            assert isinstance(item, str)
            try:
                await link.ws.send_str(item)
            except ConnectionError:
                return

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            for channel in self._channels.values():
                for link in channel.links:
                    link.offer(self._heartbeat)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Hub]:
        """Heartbeats while running; on the way out every panel is told the service is going."""
        beat = self._spawn("panel-heartbeat", self._beat)
        try:
            yield self
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            links = [link for channel in self._channels.values() for link in channel.links]
            await asyncio.gather(
                *(link.ws.close(code=WSCloseCode.GOING_AWAY) for link in links),
                return_exceptions=True,
            )


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
