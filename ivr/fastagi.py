"""A FastAGI server with its own accept loop.

panoramisk 1.4's server never sees EOF while reading the environment, so a bare TCP connect
freezes it; here every connection reads its environment with `readuntil` under a timeout in
its own task, and a broken or silent client costs one task for at most that timeout.

Only the PBXes may speak to it: a connection from any other address is closed before a byte
is read (`ivr.peers`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence

import structlog

from ivr.agi import ENV_LIMIT, AgiChannel, AgiHangup, parse_environment
from ivr.peers import LOOPBACK, PeerAllowlist
from runtime.jobs import cancel_and_wait

Handler = Callable[[AgiChannel], Awaitable[None]]

log = structlog.get_logger()


class FastAgiServer:
    """Routes each FastAGI connection by `agi_network_script` to one async handler."""

    def __init__(
        self,
        routes: Mapping[str, Handler],
        host: str,
        port: int,
        *,
        header_timeout_s: float = 5.0,
        command_timeout_s: float = 60.0,
        allowed_peers: Sequence[str] = LOOPBACK,
    ) -> None:
        self._routes = dict(routes)
        self._allowed_names = tuple(allowed_peers)
        self._allowed = PeerAllowlist(())
        self._host = host
        self._port = port
        self._header_timeout = header_timeout_s
        self._command_timeout = command_timeout_s
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    @property
    def allowed(self) -> PeerAllowlist:
        """The addresses sessions are accepted from, as resolved at start."""
        return self._allowed

    async def start(self) -> None:
        self._allowed = await PeerAllowlist.resolve(self._allowed_names)
        self._server = await asyncio.start_server(
            self._accept, self._host, self._port, limit=ENV_LIMIT
        )
        log.info("fastagi_listening", host=self._host, port=self.port)

    async def stop(self) -> None:
        """Stop accepting, cancel running sessions and wait for them."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await cancel_and_wait(self._tasks)

    async def wait_idle(self) -> None:
        """Wait until every session accepted so far has ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        try:
            if self._allowed.admits(peer):
                await self._serve(reader, writer, peer)
            else:
                log.warning("fastagi_peer_refused", peer=str(peer))
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: object
    ) -> None:
        try:
            block = await asyncio.wait_for(reader.readuntil(b"\n\n"), self._header_timeout)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            log.warning("fastagi_no_environment", peer=str(peer))
            return
        except ConnectionError:
            return
        env = parse_environment(block)
        handler = self._routes.get(env.script)
        if handler is None:
            log.warning("fastagi_unknown_script", peer=str(peer), script=env.script[:80])
            return
        channel = AgiChannel(reader, writer, env, self._command_timeout)
        try:
            await handler(channel)
        except (AgiHangup, TimeoutError):
            log.info("fastagi_session_ended_early", script=env.script, uniqueid=env.uniqueid)
        except Exception:
            log.exception("fastagi_handler_failed", script=env.script, uniqueid=env.uniqueid)
