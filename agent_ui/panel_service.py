"""The agent panel's behaviour: one place where telephony events and agents' clicks change a
desk, get stored, and reach the agent's open panels.

Telephony events arrive through `agent_ui.agent_events`; the views call the agent-side
methods. Every change publishes the desk's whole snapshot, so a panel that missed anything
simply renders the latest one. Phase marks and the end of wrap-up go to the call's row
through the call writer (write-behind, ordered after the tracker's records of the call), so
neither a PBX event nor an agent's click waits on the database for them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg
import structlog

from agent_ui.desk import Availability, Desk, DeskCall, PhaseMark
from agent_ui.hub import Hub
from agent_ui.panel_store import PanelStore, PhaseMarked, WrapupEnded
from agent_ui.phases import Phase, PhaseStandards
from agent_ui.screenpop import ScreenPops
from calls.writer import CallWriter
from runtime.clock import Clock
from telephony.commands import CallControl
from telephony.errors import AlreadyAMember, NotAMember, TelephonyError

log = structlog.get_logger()

# The pause reasons the service sets itself: signed in but not ready yet, and wrap-up.
SIGNED_IN = "login"
WRAPUP = "wrapup"


@dataclass(frozen=True, slots=True)
class Agent:
    """Who sits at a desk: their user id, phone, and the queues their profile allows with
    the penalty (skill) of each."""

    user_id: int
    display_name: str
    pbx: str | None
    interface: str | None
    queues: Sequence[str] = ()
    penalties: Mapping[str, int] = field(default_factory=dict)

    @property
    def phone(self) -> tuple[str, str] | None:
        return (self.pbx, self.interface) if self.pbx and self.interface else None


# Calls answered this long before a restart may still be on an agent's desk.
RESTORE_WINDOW = timedelta(hours=12)


class PanelService:
    """Desks of all agents, changed by the PBX and by agents, published through the hub."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        calls: CallWriter,
        pops: ScreenPops,
        hub: Hub,
        clock: Clock,
        standards: PhaseStandards,
        control: CallControl | None = None,
        on_wrapup_ended: Callable[[int, datetime], None] | None = None,
    ) -> None:
        self.hub = hub
        self._on_wrapup_ended = on_wrapup_ended
        self.store = PanelStore(pool)
        self._calls = calls
        self.pops = pops
        self.standards = standards
        self.control = control
        self._clock = clock
        self._desks: dict[int, Desk] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._finishing: set[asyncio.Task[None]] = set()

    # Reading

    @property
    def clock(self) -> Clock:
        return self._clock

    async def desk(self, user_id: int) -> Desk:
        """The agent's desk; the first time, its availability comes from the last one stored."""
        desk = self._desks.get(user_id)
        if desk is None:
            last = await self.store.last_availability(user_id)
            desk = self._desks.get(user_id)
            if desk is None:
                desk = Desk(user_id=user_id, since=last[2] if last else self._clock.now())
                if last is not None:
                    desk.availability, desk.reason = last[0], last[1]
                self._desks[user_id] = desk
        return desk

    async def snapshot(self, user_id: int) -> tuple[dict[str, object], int]:
        """The desk as the page renders it, and the event id the page resumes after."""
        desk = await self.desk(user_id)
        return desk.as_json(self._clock.now()), self.hub.last_event_id(user_id)

    async def restore(self, since: timedelta = RESTORE_WINDOW) -> None:
        """Put back on the desks the calls agents were on when the service stopped; the PBX
        snapshot that follows the link-up takes off those that ended meanwhile."""
        now = self._clock.now()
        wrapup = self.standards.wrapup
        for row in await self.store.open_desk_calls(now - since):
            desk = await self.desk(row["agent_user_id"])
            pop = await self.pops.pop(
                row["caller_number"] or "", now=now, this_call=row["call_key"]
            )
            call = DeskCall(
                call_key=row["call_key"],
                pbx=row["pbx"],
                queue=row["queue"],
                caller_number=pop["number"],
                caller_name=row["caller_name"] or "",
                pop=pop,
                rang_at=row["ringing_at"] or row["answered_at"],
                status="talking",
                answered_at=row["answered_at"],
                phases=[
                    PhaseMark(Phase(phase), at)
                    for phase, at in zip(row["phases"], row["phase_times"], strict=True)
                ],
                transferred_to=row["transferred_to"],
                interface=row["agent_interface"] or "",
            )
            desk.call = call
            if row["ended_at"] is not None:
                call.status, call.ended_at = "wrapup", row["ended_at"]
                call.wrapup_until = row["ended_at"] + timedelta(
                    seconds=wrapup.max_s if wrapup else 0
                )
                # Still paused for wrap-up, the PBX's snapshot will say; until then it holds.
                call.kept_out = True
                self._schedule_wrapup_end(desk, call)
            log.info("desk_restored", agent=desk.user_id, call_key=call.call_key)

    def _publish(self, desk: Desk, kind: str) -> int:
        return self.hub.publish(desk.user_id, kind, desk.as_json(self._clock.now()))

    # From the PBX

    async def ringing(
        self,
        user_id: int,
        *,
        call_key: str,
        pbx: str,
        queue: str,
        number: str,
        name: str,
        at: datetime,
        interface: str = "",
    ) -> None:
        """Pop the caller's history on this agent's panels, once per call."""
        desk = await self.desk(user_id)
        if not desk.accepts_ring(call_key):
            return
        pop = await self.pops.pop(number, now=at, this_call=call_key)
        if desk.call is not None and desk.call.status == "wrapup":
            # The PBX offered a call: whatever held the agent out of the queue is over.
            await self._finish_wrapup(desk, desk.call, at, release=False)
        call = DeskCall(
            call_key=call_key,
            pbx=pbx,
            queue=queue,
            caller_number=pop["number"],
            caller_name=name,
            pop=pop,
            rang_at=at,
            interface=interface,
        )
        if desk.ring(call):
            self._publish(desk, "pop")
            log.info("screen_pop", agent=user_id, call_key=call_key, known=pop["known"])

    async def answered(self, user_id: int, call_key: str, at: datetime) -> None:
        desk = await self.desk(user_id)
        call = desk.answer(call_key, at)
        if call is None:
            return
        self._publish(desk, "answered")
        self._calls.change(PhaseMarked(call_key, call.phases[-1], None, user_id))

    def withdraw(self, call_key: str, *, keep: int | None = None, only: int | None = None) -> None:
        """Take back the pops of a call that stopped ringing: answered by `keep`, rung out
        at `only`, or abandoned (neither)."""
        for desk in self._desks.values():
            call = desk.current(call_key)
            if call is None or call.status != "ringing" or desk.user_id == keep:
                continue
            if only is None or desk.user_id == only:
                desk.clear(call_key)
                self._publish(desk, "withdrawn")

    async def held(self, user_id: int, call_key: str, at: datetime, on_hold: bool) -> None:
        desk = await self.desk(user_id)
        if desk.hold(call_key, at, on_hold) is not None:
            self._publish(desk, "held" if on_hold else "resumed")

    async def transferred(self, user_id: int, call_key: str, target: str) -> None:
        desk = await self.desk(user_id)
        call = desk.current(call_key)
        if call is not None:
            call.transferred_to = target
            self._publish(desk, "transferred")

    async def ended(self, user_id: int, call_key: str, at: datetime) -> None:
        """Hang-up: the talk phases close and wrap-up runs until the agent or the clock ends it.

        Wrap-up is held by the PBX: the service pauses the agent with reason `wrapup` at
        once (AgentComplete) and unpauses them when the wrap-up ends. The queue's own
        wrapuptime was not chosen because Asterisk emits no event for it (wrapup-time.txt):
        the service could neither show nor measure when it ends. An agent the PBX would not
        pause was back in the queue at hang-up, so their call has no after-call work.
        """
        desk = await self.desk(user_id)
        before = desk.call.phases[-1] if desk.call and desk.call.phases else None
        wrapup = self.standards.wrapup
        call = desk.hang_up(call_key, at, wrapup.max_s if wrapup else 0)
        if call is None:
            return
        self._publish(desk, "ended")
        done, started = call.phases[-2], call.phases[-1]
        if before is not None and before.phase != done.phase:
            self._calls.change(PhaseMarked(call_key, done, before, user_id))
        self._calls.change(PhaseMarked(call_key, started, None, user_id))
        if wrapup is None:
            await self._finish_wrapup(desk, call, at)
            return
        # Held from now on, so an end clicked while the PBX answers still releases them.
        call.kept_out = True
        call.kept_out = await self._keep_out(call)
        if desk.current(call_key) is call:
            self._schedule_wrapup_end(desk, call)

    async def _keep_out(self, call: DeskCall) -> bool:
        """Pause the agent's phone in every queue for wrap-up; whether the PBX did."""
        if self.control is None or not call.interface:
            return False
        try:
            await self.control.pause(call.pbx, None, call.interface, WRAPUP)
        except TelephonyError as exc:
            log.warning("wrapup_not_held", call_key=call.call_key, error=str(exc))
            return False
        return True

    async def resynchronised(
        self, pbx: str, at: datetime, *, waiting: set[str], connected: set[str]
    ) -> None:
        """After a PBX link came back: calls that ended or stopped ringing during the gap
        leave the desks they would otherwise stay on forever."""
        for desk in list(self._desks.values()):
            call = desk.call
            if call is None or call.pbx != pbx:
                continue
            if call.status == "ringing" and call.call_key not in waiting:
                self.withdraw(call.call_key)
            elif call.status in ("talking", "held") and call.call_key not in connected:
                await self.ended(desk.user_id, call.call_key, at)

    async def talking_now(
        self,
        user_id: int,
        *,
        call_key: str,
        pbx: str,
        queue: str,
        number: str,
        name: str,
        answered_at: datetime,
    ) -> None:
        """The PBX's snapshot says this agent is talking on this call. One the panel missed
        (answered while the service was down or the link cut) goes on the desk as answered
        then, ending the wrap-up of the call before it."""
        desk = await self.desk(user_id)
        if desk.current(call_key) is not None:
            return
        before = desk.call
        if before is not None and before.status == "wrapup" and before.ended_at is not None:
            await self._finish_wrapup(desk, before, max(before.ended_at, answered_at))
        await self.ringing(
            user_id,
            call_key=call_key,
            pbx=pbx,
            queue=queue,
            number=number,
            name=name,
            at=answered_at,
        )
        await self.answered(user_id, call_key, answered_at)

    async def availability_seen(
        self, user_id: int, availability: Availability, reason: str, at: datetime
    ) -> None:
        """The PBX reports the agent's state (paused elsewhere, removed from a queue, ...)."""
        desk = await self.desk(user_id)
        call = desk.call
        if call is not None and call.status == "wrapup" and call.kept_out:
            if (availability, reason) == ("paused", WRAPUP):
                call.hold_seen = True
            elif call.hold_seen:
                # Unpaused or paused otherwise on the phone or by a supervisor: the PBX
                # ended the wrap-up then, and the new state stays.
                await self._finish_wrapup(desk, call, at, release=False)
        if desk.set_availability(availability, reason, at):
            self._publish(desk, "state")
            await self._remember_availability(desk, "pbx")

    # From the agent

    async def next_phase(self, user_id: int) -> PhaseMark | None:
        desk = await self.desk(user_id)
        call = desk.call
        before = call.phases[-1] if call and call.phases else None
        mark = desk.advance(self._clock.now())
        if mark is None or call is None:
            return None
        self._publish(desk, "phase")
        self._calls.change(PhaseMarked(call.call_key, mark, before, user_id))
        log.info("phase_changed", agent=user_id, call_key=call.call_key, phase=mark.phase)
        return mark

    async def end_wrapup(self, user_id: int, code: str | None = None) -> bool:
        """The agent ends after-call work with the call's wrap-up code; back in the queue."""
        desk = await self.desk(user_id)
        call = desk.call
        if call is None or call.status != "wrapup":
            return False
        await self._finish_wrapup(desk, call, self._clock.now(), code)
        return True

    async def case_saved(self, user_id: int, call_key: str, case_id: int, reference: str) -> None:
        desk = await self.desk(user_id)
        call = desk.current(call_key)
        if call is not None:
            call.case_id, call.case_reference = case_id, reference
            self._publish(desk, "case")

    async def change_availability(
        self, agent: Agent, availability: Availability, reason: str
    ) -> None:
        """Tell the PBX first; the desk changes only once the PBX accepted it. Leaving the
        queues is signing out; choosing a state while signed out signs in first."""
        if availability == "logged_out":
            await self.sign_out(agent)
            return
        desk = await self.desk(agent.user_id)
        if desk.availability == "logged_out":
            await self.sign_in(agent)
        command = self._commands(agent)
        if command is not None:
            control, pbx, interface = command
            if availability == "paused":
                await control.pause(pbx, None, interface, reason)
            else:
                await control.unpause(pbx, None, interface)
        await self._set(desk, availability, reason, "panel")

    async def sign_in(self, agent: Agent) -> None:
        """Join every queue the agent's profile allows, paused until they choose Ready, as a
        dynamic member named after them. A queue where the PBX has them already keeps them
        as they are: after a restart the PBX is the truth."""
        desk = await self.desk(agent.user_id)
        command = self._commands(agent)
        joined = command is None or await self._join(agent, *command)
        if joined and desk.availability == "logged_out":
            await self._set(desk, "paused", SIGNED_IN, "panel")

    async def _join(self, agent: Agent, control: CallControl, pbx: str, interface: str) -> bool:
        """QueueAdd in each queue; whether any queue took them in as new."""
        joined = False
        for queue in agent.queues:
            penalty = agent.penalties.get(queue, 0)
            try:
                await control.add_member(
                    pbx, queue, interface, agent.display_name, penalty, paused_reason=SIGNED_IN
                )
                joined = True
            except AlreadyAMember:
                continue
        return joined

    async def sign_out(self, agent: Agent) -> None:
        """Leave every queue of the profile (signing out, an expired session, an admin's
        sign-out); a queue the PBX no longer has them in is left already."""
        desk = await self.desk(agent.user_id)
        command = self._commands(agent)
        if command is not None:
            control, pbx, interface = command
            for queue in agent.queues:
                with contextlib.suppress(NotAMember):
                    await control.remove_member(pbx, queue, interface)
        if desk.call is not None and desk.call.status == "wrapup":
            await self._finish_wrapup(desk, desk.call, self._clock.now(), release=False)
        await self._set(desk, "logged_out", "", "panel")

    def signed_in(self) -> list[int]:
        """The agents whose desks are in the queues (ready or paused)."""
        return [d.user_id for d in self._desks.values() if d.availability != "logged_out"]

    def _commands(self, agent: Agent) -> tuple[CallControl, str, str] | None:
        """How to reach the agent's phone on the PBX, if they have one and a PBX is there."""
        if self.control is None or agent.phone is None:
            return None
        return (self.control, *agent.phone)

    async def _set(self, desk: Desk, availability: Availability, reason: str, source: str) -> None:
        if desk.set_availability(availability, reason, self._clock.now()):
            await self._remember_availability(desk, source)
            self._publish(desk, "state")
            log.info("availability_changed", agent=desk.user_id, state=availability, reason=reason)

    # Wrap-up timing

    def _schedule_wrapup_end(self, desk: Desk, call: DeskCall) -> None:
        """At the configured maximum the wrap-up ends by itself and the PBX lets them go."""
        assert call.wrapup_until is not None
        delay = max(0.0, (call.wrapup_until - self._clock.now()).total_seconds())
        until = call.wrapup_until
        self._cancel_timer(desk.user_id)
        self._timers[desk.user_id] = asyncio.get_running_loop().call_later(
            delay, self._spawn_finish, desk, call, until
        )

    def _spawn_finish(self, desk: Desk, call: DeskCall, at: datetime) -> None:
        self._timers.pop(desk.user_id, None)
        task = asyncio.get_running_loop().create_task(self._finish_wrapup(desk, call, at))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)

    def _cancel_timer(self, user_id: int) -> None:
        timer = self._timers.pop(user_id, None)
        if timer is not None:
            timer.cancel()

    async def _finish_wrapup(
        self,
        desk: Desk,
        call: DeskCall,
        at: datetime,
        code: str | None = None,
        *,
        release: bool = True,
    ) -> None:
        """End the wrap-up; ACW is what happened: hang-up to now if the PBX held the agent,
        nothing if it did not (they were in the queue all along)."""
        if desk.clear(call.call_key) is None:
            return
        self._cancel_timer(desk.user_id)
        self._publish(desk, "wrapup_ended")
        if self._on_wrapup_ended is not None:
            self._on_wrapup_ended(desk.user_id, at)
        ended = at if call.kept_out or call.ended_at is None else call.ended_at
        self._calls.change(WrapupEnded(call.call_key, ended, code))
        log.info("wrapup_ended", agent=desk.user_id, call_key=call.call_key, code=code)
        if release and call.kept_out and self.control is not None:
            try:
                await self.control.unpause(call.pbx, None, call.interface)
            except TelephonyError as exc:
                log.warning("wrapup_not_released", call_key=call.call_key, error=str(exc))

    # Storing

    async def _remember_availability(self, desk: Desk, source: str) -> None:
        """Log the desk's new availability for the reports; a failure costs that line only."""
        try:
            await self.store.record_availability(
                desk.user_id, desk.availability, desk.reason, desk.since, source
            )
        except Exception:
            log.exception("availability_not_stored", agent=desk.user_id)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[PanelService]:
        """Wrap-up timers stop with the service."""
        try:
            yield self
        finally:
            for user_id in list(self._timers):
                self._cancel_timer(user_id)
            await asyncio.gather(*self._finishing, return_exceptions=True)
