"""The telephony front door: one AMI link and one Translator per PBX, events fanned out in order.

Subscribers get every TelephonyEvent of every PBX, in the order the PBX produced them: after
each login a LinkUp, then the PbxSnapshot of the resync, then the live events (those that
arrived during the resync were held back by the link until the snapshot was delivered).
Each subscriber has its own queue and task, and a name that labels its backlog and health.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from telephony.ami.link import AmiLink, Clock, LinkHealth, Spawn, start_task, utc_now
from telephony.ami.protocol import AmiMessage
from telephony.commands import AmiCallControl, CallControl
from telephony.config import PbxConfig
from telephony.errors import CommandTimeout, TelephonyError
from telephony.events import LinkDown, LinkUp, TelephonyEvent
from telephony.resync import take_snapshot
from telephony.translate import Translator

log = structlog.get_logger()

BACKLOG_WARNING = 10_000
# Events in a row a subscriber may fail on before it is reported down.
FAILING_AFTER = 3

Subscriber = Callable[[TelephonyEvent], Awaitable[None]]


class _Pbx:
    """One PBX's link and translator, wired to the service's fan-out."""

    def __init__(
        self, service: TelephonyService, config: PbxConfig, clock: Clock, spawn: Spawn
    ) -> None:
        self.name = config.name
        self._service = service
        self._clock = clock
        self.translator = Translator(config.name)
        self.link = AmiLink(
            config,
            self.on_message,
            self.on_connected,
            self.on_disconnected,
            clock=clock,
            spawn=spawn,
        )

    async def on_message(self, message: AmiMessage) -> None:
        for event in self.translator.translate(message, self.link.received_at):
            self._service.publish(event)

    async def on_connected(self) -> None:
        self._service.publish(LinkUp(self.name, self.link.received_at))
        try:
            snapshot = await take_snapshot(self.link, self._clock())
        except TelephonyError as exc:
            log.error("pbx_resync_failed", pbx=self.name, error=str(exc), code=exc.code)
            if isinstance(exc, CommandTimeout):
                # A PBX that stops answering mid-resync is half broken: start over, so the
                # calls missed during the gap still get reconciled.
                self.link.reconnect("resync timed out")
            return
        self.translator.apply_snapshot(snapshot)
        self._service.publish(snapshot)

    async def on_disconnected(self, why: str) -> None:
        self._service.publish(LinkDown(self.name, self.link.received_at, why))


@dataclass(frozen=True, slots=True)
class SubscriberHealth:
    """A subscriber is down once `FAILING_AFTER` events in a row raised in it: it is alive
    but does nothing useful, which its log lines alone would not make an operator see."""

    name: str
    up: bool
    why: str
    since: datetime


class _Subscription:
    """One subscriber's own queue and task: a slow subscriber delays only itself.

    Each subscriber still sees every event in the PBX's order; the AMI consumer never waits
    for a database write or a page query before translating the next message. `waiting`
    counts the queued events per PBX, for the backlog gauges.
    """

    def __init__(self, name: str, callback: Subscriber, pbxes: Iterable[str], clock: Clock) -> None:
        self.name = name
        self.callback = callback
        self.queue: asyncio.Queue[TelephonyEvent] = asyncio.Queue()
        self.waiting: defaultdict[str, int] = defaultdict(int, dict.fromkeys(pbxes, 0))
        self.task: asyncio.Task[None] | None = None
        self._clock = clock
        self._failed_in_a_row = 0
        self._health = SubscriberHealth(name, True, "ok", clock())

    def start(self, spawn: Spawn) -> None:
        if self.task is None:
            self.task = spawn(f"telephony-subscriber:{self.name}", self._run)

    def health(self) -> SubscriberHealth:
        return self._health

    async def _run(self) -> None:
        while True:
            event = await self.queue.get()
            self.waiting[event.pbx] -= 1
            try:
                await self.callback(event)
            except Exception as exc:
                log.exception(
                    "telephony_subscriber_failed",
                    pbx=event.pbx,
                    event_type=type(event).__name__,
                    subscriber=self.name,
                    call_key=getattr(event, "call_key", None),
                )
                self._failed(exc)
            else:
                if self._failed_in_a_row:
                    self._handled()
            finally:
                self.queue.task_done()

    def _failed(self, exc: Exception) -> None:
        self._failed_in_a_row += 1
        if self._failed_in_a_row >= FAILING_AFTER:
            since = self._health.since if not self._health.up else self._clock()
            why = f"the last {self._failed_in_a_row} events raised, the last one {exc!r}"
            self._health = SubscriberHealth(self.name, False, why, since)

    def _handled(self) -> None:
        self._failed_in_a_row = 0
        if not self._health.up:
            self._health = SubscriberHealth(self.name, True, "ok", self._clock())

    def put(self, event: TelephonyEvent) -> None:
        self.queue.put_nowait(event)
        self.waiting[event.pbx] += 1
        if self.queue.qsize() == BACKLOG_WARNING:
            log.warning(
                "telephony_subscriber_behind", subscriber=self.name, backlog=BACKLOG_WARNING
            )

    async def stop(self, drain_timeout: float) -> None:
        """Hand over what is queued (within `drain_timeout`), then end the task."""
        if self.task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain_timeout):
                await self.queue.join()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        self.task = None


class TelephonyService:
    """Follows every configured PBX and offers CallControl over them.

    `spawn` starts the links' and subscribers' long-lived tasks (see telephony.ami.link.Spawn).
    """

    def __init__(
        self,
        configs: Sequence[PbxConfig],
        subscribers: Iterable[Subscriber] = (),
        *,
        clock: Clock = utc_now,
        drain_timeout: float = 5.0,
        spawn: Spawn = start_task,
    ) -> None:
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            raise ValueError("PBX names must be unique")
        self._clock = clock
        self._spawn = spawn
        self._drain_timeout = drain_timeout
        self._running = False
        self._pbxes = [_Pbx(self, config, clock, spawn) for config in configs]
        self._control = AmiCallControl({p.name: p.link for p in self._pbxes})
        self._subscriptions: list[_Subscription] = []
        for subscriber in subscribers:
            self.subscribe(subscriber)

    @property
    def control(self) -> CallControl:
        return self._control

    def subscribe(self, subscriber: Subscriber, name: str | None = None) -> None:
        """Add a subscriber; it sees events from the next one on. `name` (by default the
        callable's own) labels its backlog and health, so it must be unique."""
        name = name or _name_of(subscriber)
        if any(s.name == name for s in self._subscriptions):
            raise ValueError(f"a telephony subscriber is already called {name!r}")
        subscription = _Subscription(name, subscriber, (p.name for p in self._pbxes), self._clock)
        self._subscriptions.append(subscription)
        if self._running:
            subscription.start(self._spawn)

    def health(self) -> list[LinkHealth]:
        return [p.link.health() for p in self._pbxes]

    def link(self, pbx: str) -> AmiLink:
        """One PBX's link, for what inspects how it connects (KeyError for an unknown name)."""
        return {p.name: p.link for p in self._pbxes}[pbx]

    def subscriber_health(self) -> list[SubscriberHealth]:
        return [s.health() for s in self._subscriptions]

    def rejected(self) -> dict[tuple[str, str], int]:
        """AMI frames refused as part of no call so far, per (PBX, reason)."""
        return {
            (p.name, reason): count
            for p in self._pbxes
            for reason, count in p.translator.rejects.counts.items()
        }

    def backlog(self) -> dict[tuple[str, str], int]:
        """Events waiting per (PBX, subscriber): a growing number names the slow one."""
        return {
            (pbx, s.name): waiting
            for s in self._subscriptions
            for pbx, waiting in s.waiting.items()
        }

    async def start(self) -> None:
        self._running = True
        for subscription in self._subscriptions:
            subscription.start(self._spawn)
        for pbx in self._pbxes:
            await pbx.link.start()

    async def stop(self) -> None:
        """Links first (no new events), then let every subscriber finish what it was given."""
        for pbx in self._pbxes:
            await pbx.link.stop()
        self._running = False
        for subscription in self._subscriptions:
            await subscription.stop(self._drain_timeout)

    def publish(self, event: TelephonyEvent) -> None:
        """Queue one event for every subscriber; each handles its events in order."""
        for subscription in self._subscriptions:
            subscription.put(event)


def _name_of(subscriber: Subscriber) -> str:
    """A function's or method's qualified name, else the class of the callable object."""
    return getattr(subscriber, "__qualname__", None) or type(subscriber).__qualname__
