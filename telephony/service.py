"""The telephony front door: one AMI link and one Translator per PBX, events fanned out in order.

Subscribers get every TelephonyEvent of every PBX, in the order the PBX produced them: after
each login a LinkUp, then the PbxSnapshot of the resync, then the live events (those that
arrived during the resync were held back by the link until the snapshot was delivered).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence

import structlog

from telephony.ami.link import AmiLink, Clock, LinkHealth, utc_now
from telephony.ami.protocol import AmiMessage
from telephony.commands import AmiCallControl, CallControl
from telephony.config import PbxConfig
from telephony.errors import CommandTimeout, TelephonyError
from telephony.events import LinkDown, LinkUp, TelephonyEvent
from telephony.resync import take_snapshot
from telephony.translate import Translator

log = structlog.get_logger()

BACKLOG_WARNING = 10_000

Subscriber = Callable[[TelephonyEvent], Awaitable[None]]


class _Pbx:
    """One PBX's link and translator, wired to the service's fan-out."""

    def __init__(self, service: TelephonyService, config: PbxConfig, clock: Clock) -> None:
        self.name = config.name
        self._service = service
        self._clock = clock
        self.translator = Translator(config.name)
        self.link = AmiLink(
            config, self.on_message, self.on_connected, self.on_disconnected, clock=clock
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


class _Subscription:
    """One subscriber's own queue and task: a slow subscriber delays only itself.

    Each subscriber still sees every event in the PBX's order; the AMI consumer never waits
    for a database write or a page query before translating the next message.
    """

    def __init__(self, callback: Subscriber) -> None:
        self.callback = callback
        self.queue: asyncio.Queue[TelephonyEvent] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return getattr(self.callback, "__qualname__", repr(self.callback))

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.create_task(self._run(), name=f"telephony-subscriber:{self.name}")

    async def _run(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                await self.callback(event)
            except Exception:
                log.exception(
                    "telephony_subscriber_failed",
                    pbx=event.pbx,
                    event_type=type(event).__name__,
                    subscriber=self.name,
                    call_key=getattr(event, "call_key", None),
                )
            finally:
                self.queue.task_done()

    def put(self, event: TelephonyEvent) -> None:
        self.queue.put_nowait(event)
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
    """Follows every configured PBX and offers CallControl over them."""

    def __init__(
        self,
        configs: Sequence[PbxConfig],
        subscribers: Iterable[Subscriber] = (),
        *,
        clock: Clock = utc_now,
        drain_timeout: float = 5.0,
    ) -> None:
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            raise ValueError("PBX names must be unique")
        self._subscriptions = [_Subscription(s) for s in subscribers]
        self._pbxes = [_Pbx(self, config, clock) for config in configs]
        self._control = AmiCallControl({p.name: p.link for p in self._pbxes})
        self._drain_timeout = drain_timeout
        self._running = False

    @property
    def control(self) -> CallControl:
        return self._control

    def subscribe(self, subscriber: Subscriber) -> None:
        """Add a subscriber; it sees events from the next one on."""
        subscription = _Subscription(subscriber)
        self._subscriptions.append(subscription)
        if self._running:
            subscription.start()

    def health(self) -> list[LinkHealth]:
        return [p.link.health() for p in self._pbxes]

    def backlog(self) -> dict[str, int]:
        """Events waiting per subscriber: a growing number names the slow one."""
        return {s.name: s.queue.qsize() for s in self._subscriptions}

    async def start(self) -> None:
        self._running = True
        for subscription in self._subscriptions:
            subscription.start()
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
