"""One record per queue call, kept current from telephony events and saved at each milestone.

The tracker is the only writer of call records: it saves the whole record every time the
call reaches a milestone (joined, ringing, answered, off hold, transferred, ended), so a
restart loses at most what happened since the last save, and the sink's upsert by call_key
makes every save land on the same row. After an AMI gap `reconcile()` closes the calls that
ended unseen and adopts the ones it never saw. Memory is bounded: a record leaves when its
call ends (a short tail is kept for late details such as a transfer target).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from calls.record import CallRecord, CallSink
from telephony.events import (
    AgentRinging,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallExitedQueue,
    CallHeld,
    CallQueued,
    CallResumed,
    CallTransferred,
    ConnectedCall,
    LinkDown,
    LinkUp,
    MemberAdded,
    MemberRemoved,
    PbxSnapshot,
    RingNoAnswer,
    TelephonyEvent,
    WaitingCaller,
)

log = structlog.get_logger()

DEFAULT_MAX_OPEN = 50_000
DEFAULT_RECENT = 1_024


@dataclass(frozen=True, slots=True)
class WaitingCall:
    """A caller waiting in a queue, for the supervisors' wall board."""

    call_key: str
    pbx: str
    queue: str
    caller_number: str | None
    caller_name: str | None
    joined_at: datetime | None
    position: int | None
    recovered: bool


@dataclass(frozen=True, slots=True)
class ActiveCall:
    """A queue call talking to an agent."""

    call_key: str
    pbx: str
    queue: str
    caller_number: str | None
    caller_name: str | None
    agent_interface: str | None
    agent_name: str | None
    answered_at: datetime | None
    on_hold_since: datetime | None
    hold_s: float


@dataclass(frozen=True, slots=True)
class AgentView:
    """A queue member as the PBX last reported it, and the call it is on."""

    pbx: str
    interface: str
    member_name: str
    state: AgentState
    paused: bool
    reason: str
    queues: tuple[str, ...]
    call_key: str | None
    since: datetime


@dataclass(frozen=True, slots=True)
class LiveView:
    """A consistent read-only picture of the floor at one moment."""

    waiting: tuple[WaitingCall, ...]
    active: tuple[ActiveCall, ...]
    agents: tuple[AgentView, ...]
    links_down: tuple[str, ...]

    def waiting_in(self, pbx: str, queue: str) -> tuple[WaitingCall, ...]:
        return tuple(w for w in self.waiting if w.pbx == pbx and w.queue == queue)


@dataclass(slots=True)
class _Agent:
    pbx: str
    interface: str
    member_name: str
    state: AgentState
    paused: bool
    reason: str
    since: datetime
    queues: set[str] = field(default_factory=set)
    call_key: str | None = None


def _longest_waiting_first(call: WaitingCall) -> tuple[bool, datetime]:
    """Adopted callers join the list where their wait puts them, unknown join times last."""
    joined = call.joined_at
    return (joined is None, joined or datetime.max.replace(tzinfo=UTC))


def _uniqueid_of(call_key: str, pbx: str, queue: str) -> str:
    prefix = f"{pbx}/{queue}/"
    return call_key[len(prefix) :] if call_key.startswith(prefix) else call_key.rsplit("/", 1)[-1]


def _settle_completed(record: CallRecord, event: CallEnded) -> None:
    """An answered call is over: its end fills in what the record did not learn before."""
    record.talk_s = event.talk_s
    record.hold_s = max(record.hold_s, event.hold_s)
    record.hung_up_by = event.hung_up_by
    transferred = event.hung_up_by == "transfer" or record.transferred_to is not None
    record.end_reason = "transferred" if transferred else "completed"
    record.agent_interface = record.agent_interface or event.interface or None
    record.agent_name = record.agent_name or event.member_name or None
    record.caller_number = record.caller_number or event.caller_number or None
    if record.wait_s is None:
        record.wait_s = event.wait_s


def _settle_abandoned(record: CallRecord, event: CallAbandoned) -> None:
    record.wait_s = event.wait_s
    record.abandoned = True
    record.hung_up_by = "caller"
    record.end_reason = "abandoned"
    record.position = event.position
    record.original_position = event.original_position


def _settle_exited(record: CallRecord, event: CallExitedQueue) -> None:
    record.wait_s = event.wait_s
    record.end_reason = event.reason
    record.position = event.position


class CallTracker:
    """Consumes TelephonyEvents in order (`await handle(event)`), one instance for all PBXs."""

    def __init__(
        self,
        sink: CallSink,
        *,
        max_open: int = DEFAULT_MAX_OPEN,
        recent: int = DEFAULT_RECENT,
    ) -> None:
        self._sink = sink
        self._max_open = max_open
        self._recent_size = recent
        self._open: dict[str, CallRecord] = {}
        self._recent: OrderedDict[str, CallRecord] = OrderedDict()
        self._holds: dict[str, datetime] = {}
        self._agents: dict[tuple[str, str], _Agent] = {}
        self._links_down: set[str] = set()
        self._handlers: dict[type[Any], Callable[[Any], Awaitable[None]]] = {
            CallQueued: self._queued,
            AgentRinging: self._ringing,
            RingNoAnswer: self._ignore,
            CallAnswered: self._answered,
            CallHeld: self._held,
            CallResumed: self._resumed,
            CallTransferred: self._transferred,
            CallEnded: self._finished,
            CallAbandoned: self._finished,
            CallExitedQueue: self._finished,
            AgentStateChanged: self._agent_state,
            MemberAdded: self._agent_state,
            MemberRemoved: self._member_removed,
            PbxSnapshot: self.reconcile,
            LinkUp: self._link_up,
            LinkDown: self._link_down,
        }

    async def handle(self, event: TelephonyEvent) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            await handler(event)

    def restore(self, records: Iterable[CallRecord]) -> None:
        """Take back the open calls saved before a restart; reconcile() settles them."""
        for record in records:
            if record.ended_at is None:
                self._open[record.call_key] = record

    def get(self, call_key: str) -> CallRecord | None:
        """A copy of the record of an open or recently ended call."""
        record = self._open.get(call_key) or self._recent.get(call_key)
        return None if record is None else replace(record)

    def live(self) -> LiveView:
        waiting: list[WaitingCall] = []
        active: list[ActiveCall] = []
        for r in self._open.values():
            if r.answered_at is None:
                waiting.append(
                    WaitingCall(
                        call_key=r.call_key,
                        pbx=r.pbx,
                        queue=r.queue,
                        caller_number=r.caller_number,
                        caller_name=r.caller_name,
                        joined_at=r.joined_at,
                        position=r.position,
                        recovered=r.recovered,
                    )
                )
            else:
                active.append(
                    ActiveCall(
                        call_key=r.call_key,
                        pbx=r.pbx,
                        queue=r.queue,
                        caller_number=r.caller_number,
                        caller_name=r.caller_name,
                        agent_interface=r.agent_interface,
                        agent_name=r.agent_name,
                        answered_at=r.answered_at,
                        on_hold_since=self._holds.get(r.call_key),
                        hold_s=r.hold_s,
                    )
                )
        agents = tuple(
            AgentView(
                pbx=a.pbx,
                interface=a.interface,
                member_name=a.member_name,
                state=a.state,
                paused=a.paused,
                reason=a.reason,
                queues=tuple(sorted(a.queues)),
                call_key=a.call_key,
                since=a.since,
            )
            for a in self._agents.values()
        )
        waiting.sort(key=_longest_waiting_first)
        return LiveView(tuple(waiting), tuple(active), agents, tuple(sorted(self._links_down)))

    # -- records -------------------------------------------------------------------------

    async def _save(self, record: CallRecord) -> None:
        """Hand a copy to the sink; a failed save is logged, the next milestone re-sends all."""
        try:
            await self._sink.save_call(replace(record))
        except Exception:
            log.exception("call_save_failed", call_key=record.call_key)

    def _record(self, pbx: str, queue: str, call_key: str) -> CallRecord:
        """The open record for a call, created if the call started before we listened."""
        record = self._open.get(call_key)
        if record is None:
            record = CallRecord(
                call_key=call_key, pbx=pbx, queue=queue, uniqueid=_uniqueid_of(call_key, pbx, queue)
            )
            self._open_record(record)
        return record

    def _open_record(self, record: CallRecord) -> None:
        """Track a call from now on; one seen again (re-queued, adopted) is no longer recent."""
        self._recent.pop(record.call_key, None)
        if len(self._open) >= self._max_open and record.call_key not in self._open:
            oldest = next(iter(self._open))
            log.warning("call_tracker_evicted", call_key=oldest)
            self._open.pop(oldest)
            self._holds.pop(oldest, None)
        self._open[record.call_key] = record

    async def _close(self, record: CallRecord) -> None:
        self._open.pop(record.call_key, None)
        self._holds.pop(record.call_key, None)
        for agent in self._agents.values():
            if agent.call_key == record.call_key:
                agent.call_key = None
        self._recent[record.call_key] = record
        while len(self._recent) > self._recent_size:
            self._recent.popitem(last=False)
        await self._save(record)

    def _closing(self, call_key: str, pbx: str, queue: str) -> CallRecord | None:
        """The record an end event should close, or None when that call is already closed."""
        if call_key in self._recent and call_key not in self._open:
            return None
        return self._record(pbx, queue, call_key)

    # -- call events ---------------------------------------------------------------------

    async def _ignore(self, event: TelephonyEvent) -> None:
        return None

    async def _queued(self, event: CallQueued) -> None:
        record = CallRecord(
            call_key=event.call_key,
            pbx=event.pbx,
            queue=event.queue,
            uniqueid=event.uniqueid,
            linkedid=event.linkedid,
            caller_number=event.caller_number or None,
            caller_name=event.caller_name or None,
            joined_at=event.at,
            position=event.position,
            original_position=event.position,
        )
        self._open_record(record)
        await self._save(record)

    def _in_progress(self, event: AgentRinging | CallAnswered) -> CallRecord | None:
        """The record a ringing or an answer updates, caller ID learnt; None once it ended."""
        if event.call_key in self._recent:
            return None
        record = self._record(event.pbx, event.queue, event.call_key)
        record.caller_number = record.caller_number or event.caller_number or None
        record.caller_name = record.caller_name or event.caller_name or None
        return record

    async def _ringing(self, event: AgentRinging) -> None:
        record = self._in_progress(event)
        if record is None:
            return
        record.ringing_at = event.at
        await self._save(record)

    async def _answered(self, event: CallAnswered) -> None:
        record = self._in_progress(event)
        if record is None:
            return
        record.answered_at = event.at
        record.agent_interface = event.interface
        record.agent_name = event.member_name
        record.wait_s = event.wait_s
        record.ring_s = event.ring_s
        if record.ringing_at is None:
            record.ringing_at = event.at - timedelta(seconds=event.ring_s)
        if record.joined_at is None:
            record.joined_at = event.at - timedelta(seconds=event.wait_s)
        agent = self._agents.get((event.pbx, event.interface))
        if agent is not None:
            agent.call_key = event.call_key
        await self._save(record)

    async def _held(self, event: CallHeld) -> None:
        if event.call_key in self._open:
            self._holds.setdefault(event.call_key, event.at)

    async def _resumed(self, event: CallResumed) -> None:
        record = self._open.get(event.call_key)
        if record is None:
            return
        self._holds.pop(event.call_key, None)
        record.hold_s += event.held_s
        await self._save(record)

    async def _transferred(self, event: CallTransferred) -> None:
        record = self._open.get(event.call_key) or self._recent.get(event.call_key)
        if record is None:
            return
        record.transferred_to = event.target
        if record.ended_at is not None:
            record.end_reason = "transferred"
            record.hung_up_by = "transfer"
        await self._save(record)

    async def _finished(self, event: CallEnded | CallAbandoned | CallExitedQueue) -> None:
        """Close the record once, however the call ended; a late second end changes nothing."""
        record = self._closing(event.call_key, event.pbx, event.queue)
        if record is None:
            return
        record.ended_at = event.at
        if isinstance(event, CallEnded):
            _settle_completed(record, event)
        elif isinstance(event, CallAbandoned):
            _settle_abandoned(record, event)
        else:
            _settle_exited(record, event)
        await self._close(record)

    # -- agents and links ----------------------------------------------------------------

    def _agent(self, pbx: str, interface: str, member_name: str, at: datetime) -> _Agent:
        agent = self._agents.get((pbx, interface))
        if agent is None:
            agent = _Agent(pbx, interface, member_name, "ready", False, "", at)
            self._agents[(pbx, interface)] = agent
        agent.member_name = member_name
        return agent

    @staticmethod
    def _set_state(
        agent: _Agent, state: AgentState, paused: bool, reason: str, at: datetime
    ) -> None:
        if (agent.state, agent.paused) != (state, paused):
            agent.since = at
        agent.state, agent.paused, agent.reason = state, paused, reason

    async def _agent_state(self, event: AgentStateChanged | MemberAdded) -> None:
        """A state report and a new membership say the same: in this queue, in this state."""
        agent = self._agent(event.pbx, event.interface, event.member_name, event.at)
        agent.queues.add(event.queue)
        self._set_state(agent, event.state, event.paused, event.reason, event.at)

    async def _member_removed(self, event: MemberRemoved) -> None:
        agent = self._agents.get((event.pbx, event.interface))
        if agent is None:
            return
        agent.queues.discard(event.queue)
        if not agent.queues:
            del self._agents[(event.pbx, event.interface)]

    async def _link_up(self, event: LinkUp) -> None:
        self._links_down.discard(event.pbx)

    async def _link_down(self, event: LinkDown) -> None:
        self._links_down.add(event.pbx)

    # -- resynchronisation ---------------------------------------------------------------

    async def reconcile(self, snapshot: PbxSnapshot) -> None:
        """Make the open calls of one PBX match what it reports after a (re)connect.

        Calls we tracked that it no longer has ended during the gap: closed once, as
        lost_in_gap, with what was known. Calls it has that we never saw are adopted as
        recovered. Answered-in-the-gap calls get their agent. Nothing is counted twice.
        """
        present = {w.call_key for w in snapshot.waiting}
        present.update(c.call_key for c in snapshot.connected)
        lost = [
            r for r in self._open.values() if r.pbx == snapshot.pbx and r.call_key not in present
        ]
        for record in lost:
            record.ended_at = snapshot.at
            record.end_reason = "lost_in_gap"
            await self._close(record)
        for waiting in snapshot.waiting:
            await self._adopt_waiting(snapshot, waiting)
        for connected in snapshot.connected:
            await self._adopt_connected(snapshot, connected)
        self._replace_members(snapshot)
        self._links_down.discard(snapshot.pbx)
        log.info(
            "calls_reconciled",
            pbx=snapshot.pbx,
            lost=len(lost),
            waiting=len(snapshot.waiting),
            connected=len(snapshot.connected),
        )

    async def _adopt_waiting(self, snapshot: PbxSnapshot, waiting: WaitingCaller) -> None:
        if waiting.call_key in self._open:
            return
        record = CallRecord(
            call_key=waiting.call_key,
            pbx=snapshot.pbx,
            queue=waiting.queue,
            uniqueid=waiting.uniqueid,
            caller_number=waiting.caller_number or None,
            caller_name=waiting.caller_name or None,
            joined_at=snapshot.at - timedelta(seconds=waiting.wait_s),
            position=waiting.position,
            original_position=waiting.position,
            recovered=True,
        )
        self._open_record(record)
        await self._save(record)

    async def _adopt_connected(self, snapshot: PbxSnapshot, connected: ConnectedCall) -> None:
        answered_at = snapshot.at - timedelta(seconds=connected.talking_s)
        record = self._open.get(connected.call_key)
        if record is not None and record.answered_at is not None:
            return
        if record is None:
            record = CallRecord(
                call_key=connected.call_key,
                pbx=snapshot.pbx,
                queue=connected.queue,
                uniqueid=connected.uniqueid,
                linkedid=connected.linkedid or None,
                caller_number=connected.caller_number or None,
                caller_name=connected.caller_name or None,
                recovered=True,
            )
            self._open_record(record)
        record.answered_at = answered_at
        record.agent_interface = connected.interface or None
        record.agent_name = connected.member_name or None
        if record.joined_at is not None:
            record.wait_s = max(0.0, (answered_at - record.joined_at).total_seconds())
        await self._save(record)

    def _replace_members(self, snapshot: PbxSnapshot) -> None:
        """The PBX's member list replaces ours; `since` survives when nothing changed."""
        calls = {c.interface: c.call_key for c in snapshot.connected if c.interface}
        previous = {k: a for k, a in self._agents.items() if k[0] == snapshot.pbx}
        for key in previous:
            del self._agents[key]
        for member in snapshot.members:
            key = (snapshot.pbx, member.interface)
            agent = self._agents.get(key)
            if agent is None:
                old = previous.get(key)
                unchanged = old is not None and (old.state, old.paused) == (
                    member.state,
                    member.paused,
                )
                agent = _Agent(
                    pbx=snapshot.pbx,
                    interface=member.interface,
                    member_name=member.member_name,
                    state=member.state,
                    paused=member.paused,
                    reason=member.reason,
                    since=old.since if old is not None and unchanged else snapshot.at,
                    call_key=calls.get(member.interface),
                )
                self._agents[key] = agent
            agent.queues.add(member.queue)
