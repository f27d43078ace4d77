"""The telephony front door: one AMI link and one Translator per PBX, events fanned out in order.

Subscribers get every TelephonyEvent of every PBX, in the order the PBX produced them: after
each login a LinkUp, then the PbxSnapshot of the resync, then the live events (those that
arrived during the resync were held back by the link until the snapshot was delivered).
"""

from __future__ import annotations

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
            await self._service.publish(event)

    async def on_connected(self) -> None:
        await self._service.publish(LinkUp(self.name, self.link.received_at))
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
        await self._service.publish(snapshot)

    async def on_disconnected(self, why: str) -> None:
        await self._service.publish(LinkDown(self.name, self.link.received_at, why))


class TelephonyService:
    """Follows every configured PBX and offers CallControl over them."""

    def __init__(
        self,
        configs: Sequence[PbxConfig],
        subscribers: Iterable[Subscriber] = (),
        *,
        clock: Clock = utc_now,
    ) -> None:
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            raise ValueError("PBX names must be unique")
        self._subscribers: list[Subscriber] = list(subscribers)
        self._pbxes = [_Pbx(self, config, clock) for config in configs]
        self._control = AmiCallControl({p.name: p.link for p in self._pbxes})

    @property
    def control(self) -> CallControl:
        return self._control

    def subscribe(self, subscriber: Subscriber) -> None:
        """Add a subscriber; it sees events from the next one on."""
        self._subscribers.append(subscriber)

    def health(self) -> list[LinkHealth]:
        return [p.link.health() for p in self._pbxes]

    async def start(self) -> None:
        for pbx in self._pbxes:
            await pbx.link.start()

    async def stop(self) -> None:
        for pbx in self._pbxes:
            await pbx.link.stop()

    async def publish(self, event: TelephonyEvent) -> None:
        """Hand one event to every subscriber in turn; one that raises is logged and skipped."""
        for subscriber in list(self._subscribers):
            try:
                await subscriber(event)
            except Exception:
                log.exception(
                    "telephony_subscriber_failed",
                    pbx=event.pbx,
                    event_type=type(event).__name__,
                    subscriber=getattr(subscriber, "__qualname__", repr(subscriber)),
                    call_key=getattr(event, "call_key", None),
                )
