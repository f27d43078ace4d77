"""Supervisors listening, whispering or barging on live queue calls through their own phone.

A supervisor may spy on a call an agent is on now (the tracker's answered, open record),
from the phone bound to their account on the same PBX. The PBX rings that phone straight
into ChanSpy (telephony.spying); ChanSpy's mode is fixed when it starts and the capture
shows no keys to switch it, so another mode on the same call rings the phone again, and
another call ends the first spy. One spy per supervisor. A spy ends with its call: ChanSpy
leaves when the agent's channel hangs up, and the service hangs up a supervisor's leg that
is still up then, since ChanSpy would otherwise wait for the agent's next call. Every start,
switch, stop and end is written to the audit (supervision.spy_audit).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import get_args

import structlog

from accounts.users import User, UserRepository
from calls.record import CallRecord
from calls.tracker import CallTracker
from config.settings import SpySettings
from runtime.clock import Clock
from supervision.spy_audit import SpyAction, SpyAudit, SpyAuditRow
from telephony.commands import CallControl
from telephony.errors import NoSuchChannel, PbxUnavailable
from telephony.events import CallEnded, SpyEnded, SpyMode, SpyStarted, TelephonyEvent

log = structlog.get_logger()

SPY_MODES: tuple[SpyMode, ...] = get_args(SpyMode)


class SpyRefused(Exception):
    """A spy request the service turns down before (or instead of) asking the PBX."""

    code = "spy_refused"
    status = 409


class UnknownCall(SpyRefused):
    code = "spy_unknown_call"
    status = 404


class CallNotLive(SpyRefused):
    """The call is waiting, over, or not on this supervisor's PBX."""

    code = "spy_call_not_live"


class NoPhone(SpyRefused):
    code = "spy_no_phone"


class BadMode(SpyRefused):
    code = "spy_bad_mode"
    status = 422


class NotSpying(SpyRefused):
    code = "spy_not_spying"


class PhoneNotAnswered(SpyRefused):
    """The supervisor's phone did not take the spy (`outcome` as Originate said)."""

    status = 502

    def __init__(self, outcome: str) -> None:
        super().__init__(f"the supervisor's phone: {outcome}")
        self.code = f"spy_phone_{outcome}"


@dataclass(frozen=True, slots=True)
class Spy:
    """A supervisor on an agent's call; `hearing` once the PBX said ChanSpy started."""

    supervisor_id: int
    supervisor_name: str
    pbx: str
    phone: str
    channel_id: str
    call_key: str
    queue: str
    agent_interface: str
    agent_id: int | None
    agent_name: str
    mode: SpyMode
    since: datetime
    hearing: bool = False
    spyer_channel: str = ""


class SpyService:
    """Start, switch and stop spies; a telephony subscriber follows them (`handle`)."""

    def __init__(
        self,
        *,
        control: CallControl | None,
        tracker: CallTracker | None,
        audit: SpyAudit,
        users: UserRepository,
        clock: Clock,
        settings: SpySettings,
    ) -> None:
        self._control = control
        self._tracker = tracker
        self.audit = audit
        self._users = users
        self._clock = clock
        self.settings = settings
        self._spies: dict[int, Spy] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def spies(self) -> list[Spy]:
        """The spies in progress, oldest first."""
        return sorted(self._spies.values(), key=lambda spy: spy.since)

    def talking(self) -> list[CallRecord]:
        """The queue calls one may spy on now, longest first."""
        calls = self._tracker.talking() if self._tracker is not None else []
        return sorted(calls, key=lambda call: call.answered_at or self._clock.now())

    async def start(self, supervisor: User, call_key: str, mode: str) -> Spy:
        """Ring the supervisor's phone into the call in `mode`; returns once it answered."""
        if mode not in SPY_MODES:
            raise BadMode(mode[:20])
        if not supervisor.pbx or not supervisor.interface:
            raise NoPhone(str(supervisor.id))
        async with self._locks.setdefault(supervisor.id, asyncio.Lock()):
            call = self._live_call(supervisor.pbx, call_key)
            previous = self._spies.get(supervisor.id)
            switching = previous is not None and previous.call_key == call_key
            if previous is not None:
                # A switch is audited once, as the new mode; leaving for another call, a stop.
                await self._end(previous, None if switching else "stop")
            return await self._ring(supervisor, call, mode, "mode" if switching else "start")

    async def stop(self, supervisor: User, call_key: str) -> None:
        async with self._locks.setdefault(supervisor.id, asyncio.Lock()):
            spy = self._spies.get(supervisor.id)
            if spy is None or spy.call_key != call_key:
                raise NotSpying(call_key[:120])
            await self._end(spy, "stop")

    async def handle(self, event: TelephonyEvent) -> None:
        """The PBX's word on each spy: hearing from ChanSpyStart, over at its end or its call's."""
        match event:
            case SpyStarted():
                spy = self._by_channel(event.spyer_uniqueid)
                if spy is not None:
                    self._spies[spy.supervisor_id] = replace(
                        spy, hearing=True, spyer_channel=event.spyer_channel
                    )
            case SpyEnded():
                spy = self._by_channel(event.spyer_uniqueid)
                if spy is not None:
                    why = "hung_up" if event.by == "supervisor" else "call_ended"
                    await self._ended(spy, event.at, why)
            case CallEnded():
                for spy in [s for s in self._spies.values() if s.call_key == event.call_key]:
                    await self._ended(spy, event.at, "call_ended")
                    await self._hang_up(spy)

    # -- helpers --------------------------------------------------------------------------

    def _live_call(self, pbx: str, call_key: str) -> CallRecord:
        record = self._tracker.get(call_key) if self._tracker is not None else None
        if record is None:
            raise UnknownCall(call_key[:120])
        if (
            record.answered_at is None
            or record.ended_at is not None
            or not record.agent_interface
            or record.pbx != pbx
        ):
            raise CallNotLive(call_key[:120])
        return record

    async def _ring(
        self, supervisor: User, call: CallRecord, mode: SpyMode, action: SpyAction
    ) -> Spy:
        assert supervisor.pbx and supervisor.interface and call.agent_interface
        control = self._pbx()
        agent = await self._users.by_interface(call.pbx, call.agent_interface)
        spy = Spy(
            supervisor_id=supervisor.id,
            supervisor_name=supervisor.display_name,
            pbx=call.pbx,
            phone=supervisor.interface,
            channel_id=f"hotline-spy-{uuid.uuid4().hex}",
            call_key=call.call_key,
            queue=call.queue,
            agent_interface=call.agent_interface,
            agent_id=agent.id if agent is not None else None,
            agent_name=agent.display_name if agent is not None else call.agent_name or "",
            mode=mode,
            since=self._clock.now(),
        )
        row_id = await self.audit.add(self._row(spy, action, spy.since))
        # Known before the PBX answers, so its ChanSpyStart finds the spy whatever the order.
        self._spies[supervisor.id] = spy
        try:
            result = await control.spy(
                spy.pbx,
                spy.phone,
                spy.agent_interface,
                mode,
                channel_id=spy.channel_id,
                timeout_ms=self.settings.ring_timeout_s * 1000,
            )
        except Exception:
            self._forget(spy)
            await self.audit.outcome(row_id, "refused")
            raise
        await self.audit.outcome(row_id, result.outcome)
        log.info("spy_started", supervisor=supervisor.id, call_key=spy.call_key, mode=mode)
        if result.outcome != "answered":
            self._forget(spy)
            raise PhoneNotAnswered(result.outcome)
        if not self._is_current(spy):
            # The call ended while the phone rang: that end took the spy away already.
            await self._hang_up(spy)
            raise CallNotLive(spy.call_key[:120])
        return self._spies[supervisor.id]

    def _is_current(self, spy: Spy) -> bool:
        current = self._spies.get(spy.supervisor_id)
        return current is not None and current.channel_id == spy.channel_id

    async def _end(self, spy: Spy, audited_as: SpyAction | None) -> None:
        """The service ends a spy: forgotten first (its end from the PBX is then no news)."""
        self._forget(spy)
        if audited_as is not None:
            await self.audit.add(self._row(spy, audited_as, self._clock.now()))
        await self._hang_up(spy)
        log.info("spy_stopped", supervisor=spy.supervisor_id, call_key=spy.call_key)

    async def _ended(self, spy: Spy, at: datetime, why: str) -> None:
        self._forget(spy)
        await self.audit.add(self._row(spy, "ended", at, why))
        log.info("spy_ended", supervisor=spy.supervisor_id, call_key=spy.call_key, why=why)

    async def _hang_up(self, spy: Spy) -> None:
        """Hang up the supervisor's leg; one already gone is fine."""
        with contextlib.suppress(NoSuchChannel):
            await self._pbx().hangup(spy.pbx, spy.spyer_channel or spy.channel_id)

    def _forget(self, spy: Spy) -> None:
        if self._is_current(spy):
            del self._spies[spy.supervisor_id]

    def _by_channel(self, channel_id: str) -> Spy | None:
        return next((s for s in self._spies.values() if s.channel_id == channel_id), None)

    def _pbx(self) -> CallControl:
        if self._control is None:
            raise PbxUnavailable("", "no PBX configured")
        return self._control

    @staticmethod
    def _row(spy: Spy, action: SpyAction, at: datetime, outcome: str | None = None) -> SpyAuditRow:
        return SpyAuditRow(
            at=at,
            supervisor_id=spy.supervisor_id,
            action=action,
            call_key=spy.call_key,
            agent_interface=spy.agent_interface,
            agent_id=spy.agent_id,
            mode=spy.mode,
            outcome=outcome,
        )
