"""One supervised AMI connection to one PBX, built on panoramisk 1.4's Manager.

panoramisk keeps the action bookkeeping (ActionID -> future, EventList collection) and the
event dispatch. This module replaces what it gets wrong for a contact centre: framing (ours
cuts frames before decoding), ordered delivery (one queue, one consumer), timeouts on every
action, a Ping watchdog for half-open or stalled links, a reconnect that retries at once and
then every few seconds at most (telephony.ami.backoff), owned by one task, a visible
login failure, and TLS checked against the PBX's name (telephony.ami.tls).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, overload

import structlog
from panoramisk import actions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.manager import Manager
from panoramisk.message import Message

from telephony.ami.backoff import Backoff
from telephony.ami.protocol import AmiMessage, FrameParser, FrameStats, Pairs, encode_action
from telephony.ami.tls import client_context, refusal
from telephony.config import PbxConfig
from telephony.errors import CommandFailed, CommandTimeout, PbxUnavailable, TelephonyError

OnMessage = Callable[[AmiMessage], Awaitable[None]]
OnConnected = Callable[[], Awaitable[None]]
OnDisconnected = Callable[[str], Awaitable[None]]
Listener = Callable[[AmiMessage], None]
Clock = Callable[[], datetime]
# How the link starts its long-lived tasks: `spawn(name, run)` runs `run()` in a task it
# returns, and cancelling that task stops it. The composition root passes a supervisor's
# (runtime.tasks.TaskSupervisor.spawn) so a task that dies is reported and restarted;
# telephony itself knows nothing of it.
Spawn = Callable[[str, Callable[[], Coroutine[Any, Any, None]]], asyncio.Task[None]]

# Events waiting for the consumer before a slow subscriber is worth a warning.
BACKLOG_WARNING = 10_000
_OK_RESPONSES = frozenset({"success", "follows", "goodbye"})


def utc_now() -> datetime:
    return datetime.now(UTC)


def start_task(name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
    """The unsupervised Spawn, for a link or service used on its own (tests, tools)."""
    return asyncio.create_task(run(), name=name)


@dataclass(frozen=True, slots=True)
class LinkHealth:
    """What an operator needs to see: is the PBX link usable, and if not, why and since when.

    `backlog` is how many events wait for the consumer: a growing one means a slow subscriber.
    `frames` counts the frames refused (malformed, oversized) or repaired (cleaned) so far.
    """

    name: str
    up: bool
    why: str
    since: datetime
    backlog: int = 0
    frames: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Connected:
    """Queue marker: the link logged in; run on_connected before later messages."""


@dataclass(frozen=True, slots=True)
class _Disconnected:
    why: str


_Item = AmiMessage | _Connected | _Disconnected


@dataclass(frozen=True, slots=True)
class _SessionEnd:
    """How one connection ended: whether the PBX answered it, whether it logged in, why."""

    reached: bool
    logged_in: bool
    why: str


def _multidict(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """panoramisk's shape for headers: a repeated key holds a list of its values."""
    headers: dict[str, Any] = {}
    for key, value in pairs:
        if key in headers:
            previous = headers[key]
            headers[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            headers[key] = value
    return headers


def _to_panoramisk(message: AmiMessage) -> Message:
    """panoramisk's view of a message, keeping ours on it for delivery."""
    converted = Message(_multidict(message), message.body)
    converted.ami = message
    return converted


class _Action(actions.Action):
    """An action encoded by our `encode_action` (ordered, injection-checked).

    An EventList action answered by an error would never complete in panoramisk (it waits for
    a `...Complete` event that never comes); here the error completes it at once.
    """

    def __init__(self, fields: dict[str, Any], wire: bytes, as_list: bool) -> None:
        super().__init__(fields, as_list=as_list)
        self.wire = wire

    def __str__(self) -> str:
        return self.wire.decode("utf-8")

    def add_message(self, message: Message) -> bool | None:
        response = str(message.get("response", "")).lower()
        if self.as_list and not self.responses and response and response not in _OK_RESPONSES:
            self.responses.append(message)
            if not self.future.done():
                self.future.set_result(self.responses)
            return True
        result: bool | None = super().add_message(message)
        return result


class _Protocol(AMIProtocol):
    """panoramisk's protocol with our framing, failing pending actions when the link drops."""

    def __init__(self, link: AmiLink) -> None:
        super().__init__()
        self._link = link
        self.parser = FrameParser(stats=link.frame_stats)
        self.closed_waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        for message in self.parser.feed(data):
            name = message.name
            if message.is_response or (self.responses and message.action_id in self.responses):
                self.handle_message(_to_panoramisk(message))
            elif name is None:
                self._link.log.debug("ami_frame_ignored", keys=[k for k, _ in message][:5])
            elif name.lower() == "shutdown":
                self._link._abort_why = "PBX shut down"
                self.handle_message(_to_panoramisk(message))
            else:
                # A plain event: straight to the link's queue. Going through panoramisk's
                # per-event dict and fnmatch dispatch would cost ~40 % of the link's time.
                self._link._receive(message)

    def close(self) -> None:
        for action in list(self.responses.values()):
            if isinstance(action, _Action) and not action.future.done():
                action.future.set_exception(PbxUnavailable(self._link.name, "link closed"))
        super().close()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self.closed_waiter.done():
            self.closed_waiter.set_result(None)


class _Manager(Manager):
    """panoramisk's Manager minus its own pinger and reconnect timer: the link owns both."""

    pinger: asyncio.TimerHandle | None

    def __init__(self, link: AmiLink, **config: Any) -> None:
        super().__init__(**config)
        self._link = link
        # Drop panoramisk's FullyBooted handler that re-sends queued actions after a reconnect:
        # pending actions fail on disconnect instead, so nothing (an Originate!) is sent twice.
        self.callbacks.clear()
        self.patterns.clear()

    def login(self, future: asyncio.Future[Message]) -> bool:
        if future.cancelled() or future.exception() is not None:
            return False
        authenticated: bool = super().login(future)
        self._link._login_answered(authenticated, str(future.result().get("message", "")))
        return authenticated

    def ping(self) -> None:
        """panoramisk's pinger never checks the answer; the link's watchdog does instead."""

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False
        if self.pinger is not None:
            self.pinger.cancel()
            self.pinger = None
        self._link._connection_lost()


class _HideSecret(logging.Filter):
    """panoramisk may log a whole action on a failed write; never let a Login secret out."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        return not self._secret or self._secret not in record.getMessage()


class AmiLink:
    """Keeps one PBX's AMI session alive and delivers its events in order to `on_message`.

    `on_connected` runs after every login, before any later event is delivered, so a resync
    sees the world before the events that follow it. A callback that raises is logged and the
    link carries on.
    """

    def __init__(
        self,
        config: PbxConfig,
        on_message: OnMessage,
        on_connected: OnConnected | None = None,
        on_disconnected: OnDisconnected | None = None,
        *,
        clock: Clock = utc_now,
        spawn: Spawn = start_task,
    ) -> None:
        self.config = config
        self.name = config.name
        self.log = structlog.get_logger().bind(pbx=config.name)
        self._on_message = on_message
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._clock = clock
        self._spawn = spawn
        # Built once, so a CA bundle that cannot be read stops the start, not each connect.
        self.tls = client_context(config.tls_ca_file) if config.tls else None
        self._health = LinkHealth(config.name, False, "not started", clock())
        self.frame_stats = FrameStats()
        self._queue: asyncio.Queue[tuple[_Item, datetime]] = asyncio.Queue()
        self._received_at = self._health.since
        self._ids = itertools.count(1)
        self._id_prefix = f"hl-{secrets.token_hex(4)}"
        self._manager: _Manager | None = None
        self._protocol: _Protocol | None = None
        self._login: asyncio.Future[tuple[bool, str]] | None = None
        self._lost: asyncio.Future[None] | None = None
        self._abort_why = ""
        self._tasks: list[asyncio.Task[None]] = []
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call `listener` synchronously for every event as it is read, before the queue.

        For waiters that must not depend on the consumer (an Originate awaited from inside a
        subscriber would otherwise wait for its own OriginateResponse). It must be quick; an
        exception is logged and ignored.
        """
        self._listeners.append(listener)

    def next_action_id(self) -> str:
        """A fresh ActionID, for callers that must match later events to their action."""
        return f"{self._id_prefix}-{next(self._ids)}"

    def health(self) -> LinkHealth:
        return replace(self._health, backlog=self._queue.qsize(), frames=self.frame_stats.as_dict())

    @property
    def up(self) -> bool:
        return self._health.up

    async def start(self) -> None:
        if self._tasks:
            return
        loop = asyncio.get_running_loop()
        panoramisk_log = logging.getLogger(f"telephony.ami.panoramisk.{self.name}")
        if not any(isinstance(f, _HideSecret) for f in panoramisk_log.filters):
            panoramisk_log.addFilter(_HideSecret(self.config.secret))
        self._manager = _Manager(
            self,
            host=self.config.host,
            port=self.config.port,
            username=self.config.username,
            secret=self.config.secret,
            events="on",
            loop=loop,
            log=panoramisk_log,
            forgetable_actions=("ping", "login", "logoff", "originate"),
        )
        self._manager.register_event("*", self._enqueue)
        self._tasks = [
            self._spawn(f"ami-consume-{self.name}", self._consume),
            self._spawn(f"ami-supervise-{self.name}", self._supervise),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._close_protocol()
        if self._manager is not None:
            self._manager.close()
        self._set_health(False, "stopped")

    @overload
    async def send_action(
        self, name: str, fields: Pairs = ..., *, as_list: Literal[False] = ...
    ) -> AmiMessage: ...

    @overload
    async def send_action(
        self, name: str, fields: Pairs = ..., *, as_list: Literal[True]
    ) -> list[AmiMessage]: ...

    async def send_action(
        self, name: str, fields: Pairs = (), *, as_list: bool = False
    ) -> AmiMessage | list[AmiMessage]:
        """Send one action and wait for its answer (or whole EventList when `as_list`).

        Raises PbxUnavailable when not logged in or the link drops, CommandTimeout when no
        answer comes within `action_timeout`, CommandFailed when Asterisk answers an error.
        """
        return await self._send(name, fields, as_list, self.config.action_timeout)

    async def _send(
        self, name: str, fields: Pairs, as_list: bool, wait_s: float
    ) -> AmiMessage | list[AmiMessage]:
        pairs = list(fields.items() if isinstance(fields, Mapping) else fields)
        if name.lower() == "originate" and not any(k.lower() == "async" for k, _ in pairs):
            raise ValueError("Originate needs an explicit Async field")
        action_id = next((v for k, v in pairs if k.lower() == "actionid"), None)
        if action_id is None:
            action_id = self.next_action_id()
            pairs.append(("ActionID", action_id))
        wire = encode_action(name, pairs)
        protocol, manager = self._protocol, self._manager
        if not self._health.up or protocol is None or manager is None:
            raise PbxUnavailable(self.name, self._health.why)
        action = _Action(_multidict([("Action", name), *pairs]), wire, as_list)
        future = manager.send_action(action, as_list=as_list)
        try:
            answer = await asyncio.wait_for(future, wait_s)
        except TimeoutError:
            protocol.responses.pop(action_id, None)
            self.log.warning("ami_action_timeout", action=name, action_id=action_id)
            raise CommandTimeout(self.name, name, wait_s) from None
        messages = [m.ami for m in answer] if as_list else [answer.ami]
        first = messages[0]
        if (first.get("Response") or "").lower() not in _OK_RESPONSES:
            raise CommandFailed(self.name, name, first.get("Message") or "")
        return messages if as_list else first

    def _enqueue(self, _manager: Manager, message: Message) -> None:
        """The one panoramisk handler: synchronous and unable to raise, it only enqueues."""
        self._receive(message.ami)

    def _receive(self, ami: AmiMessage) -> None:
        for listener in self._listeners:
            try:
                listener(ami)
            except Exception:
                self.log.exception("ami_listener_failed", ami_event=ami.name)
        self._queue.put_nowait((ami, self._clock()))
        if self._queue.qsize() == BACKLOG_WARNING:
            self.log.warning("ami_backlog_growing", backlog=BACKLOG_WARNING)

    @property
    def received_at(self) -> datetime:
        """When the message being delivered to `on_message` was read from the socket.

        Stamped at read time, so a consumer that fell behind still times events right.
        """
        return self._received_at

    async def _consume(self) -> None:
        while True:
            item, self._received_at = await self._queue.get()
            try:
                await self._deliver(item)
            except Exception:
                name = item.name if isinstance(item, AmiMessage) else type(item).__name__
                self.log.exception("ami_consumer_failed", ami_event=name)

    async def _deliver(self, item: _Item) -> None:
        if isinstance(item, AmiMessage):
            await self._on_message(item)
        elif isinstance(item, _Connected):
            if self._on_connected is not None:
                await self._on_connected()
        elif self._on_disconnected is not None:
            await self._on_disconnected(item.why)

    async def _supervise(self) -> None:
        backoff = Backoff(self.config.reconnect_min, self.config.reconnect_max)
        while True:
            ended = await self._session()
            if ended.reached:
                backoff.reset()
            if ended.logged_in:
                self._queue.put_nowait((_Disconnected(ended.why), self._clock()))
            self._set_health(False, ended.why)
            delay = backoff.next_delay()
            self.log.warning("ami_reconnect_scheduled", why=ended.why, delay_s=delay)
            await asyncio.sleep(delay)

    async def _session(self) -> _SessionEnd:
        """One connection from connect to loss: how far it got and why it ended."""
        loop = asyncio.get_running_loop()
        assert self._manager is not None
        self._login = loop.create_future()
        self._lost = loop.create_future()
        self._abort_why = ""
        try:
            transport, protocol = await asyncio.wait_for(
                self._connect(), self.config.action_timeout
            )
        except ssl.SSLError as exc:
            why = refusal(exc)
            self.log.error("ami_tls_refused", why=why, server_name=self._server_name())
            return _SessionEnd(False, False, why)
        except (OSError, TimeoutError) as exc:
            self.log.warning("ami_connect_failed", error=str(exc) or type(exc).__name__)
            return _SessionEnd(False, False, f"connect failed: {str(exc) or type(exc).__name__}")
        self._protocol = protocol
        connected: asyncio.Future[tuple[asyncio.BaseTransport, _Protocol]] = loop.create_future()
        connected.set_result((transport, protocol))
        self._manager.connection_made(connected)
        try:
            logged_in, refused, why = await self._run_session()
        finally:
            await self._close_protocol()
        # The PBX answered (its banner came) and did not refuse us: worth an immediate retry.
        reached = protocol.parser.banner is not None and not refused
        return _SessionEnd(reached, logged_in, why)

    def _server_name(self) -> str:
        return self.config.tls_server_name or self.config.host

    async def _connect(self) -> tuple[asyncio.BaseTransport, _Protocol]:
        """TCP, or TLS verified against the PBX's name (panoramisk's own connect() would
        check the certificate against `host` only, so the link connects itself)."""
        loop = asyncio.get_running_loop()
        host, port = self.config.host, self.config.port
        if self.tls is None:
            return await loop.create_connection(lambda: _Protocol(self), host, port)
        return await loop.create_connection(
            lambda: _Protocol(self), host, port, ssl=self.tls, server_hostname=self._server_name()
        )

    async def _run_session(self) -> tuple[bool, bool, str]:
        """(logged in, login refused, why the session ended)."""
        assert self._login is not None and self._lost is not None
        waiting: set[asyncio.Future[Any]] = {self._login, self._lost}
        done, _ = await asyncio.wait(
            waiting,
            timeout=self.config.action_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if self._login not in done:
            why = "connection lost during login" if done else "no answer to Login"
            self.log.error("ami_login_failed", why=why)
            return False, False, why
        authenticated, message = self._login.result()
        if not authenticated:
            self.log.error("ami_login_failed", why=message, username=self.config.username)
            return False, True, f"login failed: {message}"
        banner = self._protocol.parser.banner if self._protocol is not None else None
        self.log.info("ami_logged_in", banner=banner)
        self._set_health(True, "logged in")
        self._queue.put_nowait((_Connected(), self._clock()))
        watchdog = asyncio.create_task(self._watchdog(), name=f"ami-watchdog-{self.name}")
        try:
            await asyncio.shield(self._lost)
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        why = self._abort_why or "connection lost"
        self.log.error("ami_link_lost", why=why)
        return True, False, why

    async def _watchdog(self) -> None:
        """Ping regularly; a Ping left unanswered means a half-open link, so cut it."""
        while True:
            await asyncio.sleep(self.config.ping_interval)
            try:
                await self._send("Ping", (), False, self.config.ping_timeout)
            except CommandTimeout:
                self._abort(f"no answer to Ping within {self.config.ping_timeout:g} s")
                return
            except TelephonyError:
                return

    def reconnect(self, why: str) -> None:
        """Cut the current session (if any); the link reconnects, logs in and resyncs again."""
        self._abort(why)

    def _abort(self, why: str) -> None:
        self._abort_why = why
        self.log.error("ami_link_aborted", why=why)
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.abort()

    async def _close_protocol(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is None:
            return
        protocol.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(protocol.closed_waiter), 1.0)

    def _login_answered(self, authenticated: bool, message: str) -> None:
        if self._login is not None and not self._login.done():
            self._login.set_result((authenticated, message))

    def _connection_lost(self) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    def _set_health(self, up: bool, why: str) -> None:
        if up != self._health.up or why != self._health.why:
            self._health = LinkHealth(self.name, up, why, self._clock())
