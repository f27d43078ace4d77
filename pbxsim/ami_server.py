"""An asyncio TCP server that speaks AMI the way Asterisk 22 does.

It owns the sessions (banner, Login, Events, Ping, Logoff, unknown actions, the event
broadcast and the write timeout); everything about calls and queues is delegated to action
handlers registered by the simulator.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

import structlog

from pbxsim.templates import Fields, encode, with_timestamp
from telephony.ami.protocol import AmiMessage, FrameParser

log = structlog.get_logger()

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
ActionHandler = Callable[["AmiSession", AmiMessage], Awaitable[None]]
LoginHook = Callable[["AmiSession"], None]


def parse_event_mask(value: str | None) -> frozenset[str] | None:
    """None means every class; an empty set means no events (`Events: off`)."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("on", "yes", "true", "all", "1"):
        return None
    if text in ("off", "no", "false", "0", ""):
        return frozenset()
    return frozenset(part.strip() for part in text.split(",") if part.strip())


@dataclass
class ActionRecord:
    """An action a client sent, kept so tests can wait for it and inspect it."""

    session: AmiSession
    message: AmiMessage


class AmiSession(asyncio.Protocol):
    """One AMI connection: frames actions in, writes responses and events out."""

    def __init__(self, server: AmiServer) -> None:
        self.server = server
        self.parser = FrameParser()
        self.transport: asyncio.Transport | None = None
        self.username: str | None = None
        self.event_mask: frozenset[str] | None = frozenset()
        self.session_id = f"0x{secrets.randbits(48):012x}"
        self.peer: tuple[str, int] = ("0.0.0.0", 0)
        self.local: tuple[str, int] = ("0.0.0.0", 0)
        self._inbox: asyncio.Queue[AmiMessage] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._stall: asyncio.TimerHandle | None = None
        self.closed = asyncio.Event()

    @property
    def logged_in(self) -> bool:
        return self.username is not None

    # asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=self.server.write_buffer_high)
        self.peer = transport.get_extra_info("peername") or self.peer
        self.local = transport.get_extra_info("sockname") or self.local
        self.server.sessions.add(self)
        transport.write(BANNER)
        self._worker = asyncio.get_running_loop().create_task(self._work())

    def data_received(self, data: bytes) -> None:
        for message in self.parser.feed(data):
            self._inbox.put_nowait(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.sessions.discard(self)
        if self._stall is not None:
            self._stall.cancel()
        if self._worker is not None:
            self._worker.cancel()
        self.transport = None
        self.closed.set()

    def pause_writing(self) -> None:
        # The peer stopped reading: Asterisk drops a session whose write blocks too long.
        loop = asyncio.get_running_loop()
        self._stall = loop.call_later(self.server.write_timeout, self._write_timed_out)

    def resume_writing(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _write_timed_out(self) -> None:
        log.warning("ami_sim_write_timeout", peer=str(self.peer), user=self.username)
        self.abort()

    # output -------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def send(self, fields: Iterable[tuple[str, str]]) -> None:
        self.write(encode(fields))

    def respond(
        self, request: AmiMessage, response: str = "Success", *fields: tuple[str, str]
    ) -> None:
        """Response, ActionID (when the action had one), then the given fields."""
        head: Fields = [("Response", response)]
        action_id = request.action_id
        if action_id is not None:
            head.append(("ActionID", action_id))
        self.send([*head, *fields])

    def error(self, request: AmiMessage, message: str) -> None:
        self.respond(request, "Error", ("Message", message))

    def wants(self, event_class: str) -> bool:
        if not self.logged_in or self.event_mask == frozenset():
            return False
        return self.event_mask is None or event_class in self.event_mask

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # input --------------------------------------------------------------------------
    async def _work(self) -> None:
        while True:
            message = await self._inbox.get()
            try:
                await self.server.dispatch(self, message)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A handler bug must never take the PBX down for everyone else.
                log.exception("ami_sim_action_failed", action=message.get("Action"))
                self.error(message, "Internal error")


class AmiServer:
    """Accounts, sessions, action dispatch and the event broadcast."""

    def __init__(
        self,
        accounts: Mapping[str, str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        timestamp_events: bool = False,
        clock: Callable[[], float] = time.time,
        write_timeout: float = 5.0,
        write_buffer_high: int = 1 << 20,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.accounts = dict(accounts)
        # Like Asterisk's tlsenable: every session is TLS (a server context with its cert).
        self.tls = tls
        self.host = host
        self.port = port
        self.timestamp_events = timestamp_events
        self.clock = clock
        self.write_timeout = write_timeout
        self.write_buffer_high = write_buffer_high
        self.sessions: set[AmiSession] = set()
        self.handlers: dict[str, ActionHandler] = {}
        self.login_hooks: list[LoginHook] = []
        self.actions: list[ActionRecord] = []
        self.keep_actions = 10_000
        self._action_seen = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._started = clock()

    async def start(self) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: AmiSession(self), self.host, self.port, reuse_address=True, ssl=self.tls
        )
        sock = self._server.sockets[0].getsockname()
        self.host, self.port = sock[0], sock[1]
        log.info("ami_sim_listening", host=self.host, port=self.port, tls=self.tls is not None)
        return self.host, self.port

    async def stop(self) -> None:
        await self.stop_listening()
        self.drop_connections()
        for session in list(self.sessions):
            await session.closed.wait()

    async def stop_listening(self) -> None:
        """Refuse new connections (connect() gets ECONNREFUSED) until `start()` again."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def drop_connections(self) -> None:
        """Cut every AMI link at once, like an Asterisk restart does."""
        for session in list(self.sessions):
            session.abort()

    def booted(self) -> None:
        """The PBX (re)started now: FullyBooted reports the uptime from here."""
        self._started = self.clock()

    def register(self, action: str, handler: ActionHandler) -> None:
        self.handlers[action.lower()] = handler

    # events -------------------------------------------------------------------------
    def broadcast(self, fields: Fields) -> None:
        event_class = _event_class(fields)
        if self.timestamp_events:
            fields = with_timestamp(fields, self.clock())
        data = encode(fields)
        for session in list(self.sessions):
            if session.wants(event_class):
                session.write(data)

    # actions ------------------------------------------------------------------------
    async def dispatch(self, session: AmiSession, message: AmiMessage) -> None:
        action = message.get("Action")
        if action is not None:
            async with self._action_seen:
                self.actions.append(ActionRecord(session, message))
                del self.actions[: -self.keep_actions]
                self._action_seen.notify_all()
        if not action:
            session.error(message, "Missing action in request")
            return
        name = action.strip().lower()
        if name == "login":
            self._login(session, message)
        elif name == "logoff":
            session.respond(message, "Goodbye", ("Message", "Thanks for all the fish."))
            session.close()
        elif not session.logged_in:
            session.error(message, "Permission denied")
        elif name == "ping":
            session.respond(
                message, "Success", ("Ping", "Pong"), ("Timestamp", f"{self.clock():.6f}")
            )
        elif name == "events":
            session.event_mask = parse_event_mask(message.get("EventMask", "on"))
            state = "Off" if session.event_mask == frozenset() else "On"
            session.respond(message, "Success", ("Events", state))
        elif name in self.handlers:
            await self.handlers[name](session, message)
        else:
            session.error(
                message,
                f"Invalid/unknown command: {action}. "
                "Use Action: ListCommands to show available commands.",
            )

    async def wait_for_action(self, name: str, count: int = 1) -> AmiMessage:
        """Wait until `count` actions called `name` arrived; return the last of them."""
        wanted = name.lower()
        async with self._action_seen:
            while True:
                seen = [r.message for r in self.actions if _action_name(r.message) == wanted]
                if len(seen) >= count:
                    return seen[count - 1]
                await self._action_seen.wait()

    def _login(self, session: AmiSession, message: AmiMessage) -> None:
        if session.logged_in:
            session.respond(message, "Success", ("Message", "Already authenticated"))
            return
        username = message.get("Username", "") or ""
        secret = message.get("Secret", "") or ""
        expected = self.accounts.get(username)
        if expected is None or not secrets.compare_digest(expected.encode(), secret.encode()):
            log.info("ami_sim_login_failed", user=username, peer=str(session.peer))
            session.error(message, "Authentication failed")
            session.close()
            return
        session.username = username
        session.event_mask = parse_event_mask(message.get("Events", "on"))
        session.respond(message, "Success", ("Message", "Authentication accepted"))
        uptime = str(int(self.clock() - self._started))
        session.send(
            [
                ("Event", "FullyBooted"),
                ("Privilege", "system,all"),
                ("Uptime", uptime),
                ("LastReload", uptime),
                ("Status", "Fully Booted"),
            ]
        )
        self.broadcast(_successful_auth(session, self.clock(), self.tls is not None))
        log.info("ami_sim_login", user=username, peer=str(session.peer))
        for hook in list(self.login_hooks):
            hook(session)


def _action_name(message: AmiMessage) -> str:
    return (message.get("Action") or "").strip().lower()


def _event_class(fields: Fields) -> str:
    for key, value in fields:
        if key == "Privilege":
            return value.split(",", 1)[0]
    return "all"


def _successful_auth(session: AmiSession, now: float, tls: bool) -> Fields:
    transport = "TLS" if tls else "TCP"
    tv = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}+0000"
    return [
        ("Event", "SuccessfulAuth"),
        ("Privilege", "security,all"),
        ("EventTV", tv),
        ("Severity", "Informational"),
        ("Service", "AMI"),
        ("EventVersion", "1"),
        ("AccountID", session.username or ""),
        ("SessionID", session.session_id),
        ("LocalAddress", f"IPV4/{transport}/{session.local[0]}/{session.local[1]}"),
        ("RemoteAddress", f"IPV4/{transport}/{session.peer[0]}/{session.peer[1]}"),
        ("UsingPassword", "0"),
        ("SessionTV", tv),
    ]
