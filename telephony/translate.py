"""AMI messages -> typed telephony events, one PBX per Translator.

Table-driven: the event name picks a small handler; every other event (VarSet, Newexten,
RTCP, Bridge*, Cdr, DeviceStateChange...) costs one dict lookup. State is kept only where AMI
forces it: the legs of a call (Hold arrives on the agent's channel), who asked for the
hang-up, hold intervals, and whether a queue exit was an abandon, a timeout or a key press.
Every entry is dropped when its call ends, and both maps are capped.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import structlog

from telephony.ami.protocol import AmiMessage
from telephony.events import (
    AgentRinging,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallbackRequested,
    CallEnded,
    CallExitedQueue,
    CallHeld,
    CallQueued,
    CallResumed,
    CallTransferred,
    ConnectedCall,
    ExitReason,
    HungUpBy,
    MemberAdded,
    MemberRemoved,
    PbxSnapshot,
    RingNoAnswer,
    TelephonyEvent,
    WaitingCaller,
    make_call_key,
)

log = structlog.get_logger()

Events = list[TelephonyEvent]
Handler = Callable[[AmiMessage, datetime], Events]
_Member = TypeVar("_Member", AgentStateChanged, MemberAdded)

DEFAULT_MAX_CALLS = 20_000
DEFAULT_MAX_ENDED = 4_096

# Asterisk device states (QueueMemberStatus `Status`) -> what a supervisor calls them.
_DEVICE_STATES: dict[str, AgentState] = {
    "0": "ready",  # UNKNOWN: app_queue treats it as available
    "1": "ready",  # NOT_INUSE
    "2": "in_call",  # INUSE
    "3": "in_call",  # BUSY
    "4": "unavailable",  # INVALID
    "5": "unavailable",  # UNAVAILABLE
    "6": "ringing",  # RINGING
    "7": "in_call",  # RINGINUSE
    "8": "in_call",  # ONHOLD
}

# QUEUESTATUS set by Queue() when it returns without an agent.
_QUEUE_STATUS: dict[str, ExitReason] = {
    "TIMEOUT": "timeout",
    "LEAVEEMPTY": "empty",
    "LEAVEUNAVAIL": "empty",
    "JOINEMPTY": "empty",
    "JOINUNAVAIL": "empty",
    "FULL": "empty",
    "WITHDRAW": "unknown",
}

_COMPLETE_REASONS: dict[str, HungUpBy] = {
    "caller": "caller",
    "agent": "agent",
    "transfer": "transfer",
}

_UNKNOWN_TEXT = frozenset({"<unknown>", "unknown"})


class MalformedMessage(ValueError):
    """A message lacks a field the translation needs, or a number does not parse."""


def agent_state(status: str, paused: bool) -> AgentState:
    """Map a device state number and the paused flag to one supervisor-facing state.

    Paused only shows when the agent is idle: a paused agent finishing a call is in a call.
    Shared with resync, which reads the same numbers from QueueStatus.
    """
    state = _DEVICE_STATES.get(status.strip(), "unavailable")
    if paused and state == "ready":
        return "paused"
    return state


def _field(msg: AmiMessage, key: str) -> str:
    value = msg.get(key)
    if not value:
        raise MalformedMessage(f"missing {key}")
    return value


def _text(msg: AmiMessage, key: str) -> str:
    """Optional caller-ID style text; Asterisk's '<unknown>' placeholder becomes ''."""
    value = msg.get(key) or ""
    return "" if value in _UNKNOWN_TEXT else value


def _int(msg: AmiMessage, key: str) -> int:
    try:
        return int(_field(msg, key))
    except ValueError as exc:
        raise MalformedMessage(f"{key} is not an integer") from exc


def _opt_int(msg: AmiMessage, key: str) -> int | None:
    value = msg.get(key)
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise MalformedMessage(f"{key} is not an integer") from exc


def _seconds(start: datetime | None, end: datetime, fallback: float) -> float:
    if start is None:
        return fallback
    return max(0.0, (end - start).total_seconds())


@dataclass(slots=True)
class _Call:
    """What the translator must remember about one caller in one queue."""

    call_key: str
    queue: str
    uniqueid: str
    caller_number: str
    caller_name: str
    joined_at: datetime | None
    position: int = 0
    legs: dict[str, datetime] = field(default_factory=dict)
    answered_at: datetime | None = None
    interface: str = ""
    member_name: str = ""
    agent_uniqueid: str = ""
    wait_s: float = 0.0
    hold_started: datetime | None = None
    hold_s: float = 0.0
    hangup_by: HungUpBy | None = None
    hangup_requested: bool = False
    left_at: datetime | None = None
    abandon: tuple[int, int, float] | None = None


@dataclass(frozen=True, slots=True)
class _Ended:
    """A call already reported as over: late AgentComplete/Hangup/transfer details."""

    call_key: str
    queue: str
    interface: str


class Translator:
    """Turns one PBX's AMI stream, in order, into TelephonyEvents."""

    def __init__(
        self,
        pbx: str,
        *,
        max_calls: int = DEFAULT_MAX_CALLS,
        max_ended: int = DEFAULT_MAX_ENDED,
    ) -> None:
        self.pbx = pbx
        self._max_calls = max_calls
        self._max_ended = max_ended
        self._calls: dict[str, _Call] = {}
        self._legs: dict[str, str] = {}
        self._unresolved: set[str] = set()
        self._ended: OrderedDict[str, _Ended] = OrderedDict()
        self._log = log.bind(pbx=pbx)
        self._table: dict[str, Handler] = {
            "QueueCallerJoin": self._on_join,
            "AgentCalled": self._on_agent_called,
            "AgentRingNoAnswer": self._on_ring_no_answer,
            "AgentConnect": self._on_agent_connect,
            "AgentComplete": self._on_agent_complete,
            "QueueCallerAbandon": self._on_abandon,
            "QueueCallerLeave": self._on_leave,
            "HangupRequest": self._on_hangup_request,
            "SoftHangupRequest": self._on_hangup_request,
            "Hangup": self._on_hangup,
            "Hold": self._on_hold,
            "Unhold": self._on_unhold,
            "BlindTransfer": self._on_blind_transfer,
            "AttendedTransfer": self._on_attended_transfer,
            "VarSet": self._on_varset,
            "Newexten": self._on_newexten,
            "QueueMemberStatus": self._on_member_state,
            "QueueMemberPause": self._on_member_state,
            "QueueMemberAdded": self._on_member_added,
            "QueueMemberRemoved": self._on_member_removed,
            "UserEvent": self._on_user_event,
        }
        # UserEvents the dialplan sends, by their name.
        self._user_events: dict[str, Handler] = {"CallbackRequest": self._on_callback_request}

    @property
    def tracked_calls(self) -> int:
        """How many calls the translator holds state for (for health and tests)."""
        return len(self._calls)

    def translate(self, msg: AmiMessage, received_at: datetime) -> Events:
        """Events for one AMI message; never raises (a malformed message is logged, skipped)."""
        pairs = msg.pairs
        name = pairs[0][1] if pairs and pairs[0][0] == "Event" else msg.name
        handler = self._table.get(name) if name else None
        if handler is None:
            return []
        try:
            return handler(msg, self._when(msg, received_at))
        except Exception as exc:
            self._log.warning(
                "ami_message_skipped",
                ami_event=name,
                uniqueid=msg.get("Uniqueid"),
                error=str(exc)[:200],
            )
            return []

    def apply_snapshot(self, snapshot: PbxSnapshot) -> None:
        """After a resync: forget calls the PBX no longer has, learn the ones it has.

        Keeps the state bounded across AMI gaps and lets the first events after a reconnect
        (AgentComplete, Hangup) close adopted calls with the right figures.
        """
        live: dict[str, _Call] = {}
        for waiting in snapshot.waiting:
            joined_at = snapshot.at - timedelta(seconds=waiting.wait_s)
            live[waiting.uniqueid] = self._known_or_adopted(waiting, joined_at, waiting.position)
        for connected in snapshot.connected:
            call = self._known_or_adopted(connected, None)
            if call.answered_at is None:
                call.answered_at = snapshot.at - timedelta(seconds=connected.talking_s)
                call.interface = connected.interface
                call.member_name = connected.member_name
            live[connected.uniqueid] = call
        dropped = len(set(self._calls) - set(live))
        self._calls = live
        self._legs = {
            leg: uid
            for uid, call in live.items()
            for leg in (*call.legs, call.agent_uniqueid)
            if leg
        }
        self._unresolved &= set(live)
        if dropped:
            self._log.info("translator_state_dropped_after_resync", calls=dropped)

    # -- helpers --------------------------------------------------------------------------

    def _known_or_adopted(
        self, seen: WaitingCaller | ConnectedCall, joined_at: datetime | None, position: int = 0
    ) -> _Call:
        """The call as we tracked it, or as the snapshot shows it when we never saw it."""
        return self._calls.get(seen.uniqueid) or _Call(
            call_key=seen.call_key,
            queue=seen.queue,
            uniqueid=seen.uniqueid,
            caller_number=seen.caller_number,
            caller_name=seen.caller_name,
            joined_at=joined_at,
            position=position,
        )

    @staticmethod
    def _when(msg: AmiMessage, received_at: datetime) -> datetime:
        stamp = msg.get("Timestamp")
        if stamp:
            try:
                return datetime.fromtimestamp(float(stamp), UTC)
            except (ValueError, OverflowError, OSError):
                pass
        return received_at

    def _call_for(self, uniqueid: str | None, linkedid: str | None = None) -> _Call | None:
        """The call a channel belongs to: the caller itself, a known agent leg, or by Linkedid."""
        if not uniqueid:
            return None
        call = self._calls.get(uniqueid)
        if call is None:
            caller = self._legs.get(uniqueid)
            if caller is not None:
                call = self._calls.get(caller)
        if call is None and linkedid:
            call = self._calls.get(linkedid)
        return call

    def _remember(self, call: _Call) -> None:
        if len(self._calls) >= self._max_calls and call.uniqueid not in self._calls:
            oldest = next(iter(self._calls))
            self._log.warning("translator_call_evicted", call_key=self._calls[oldest].call_key)
            self._forget(self._calls[oldest])
        self._calls[call.uniqueid] = call

    def _forget(self, call: _Call) -> None:
        """Drop every trace of a finished call, keeping a small tombstone for late events."""
        self._calls.pop(call.uniqueid, None)
        self._unresolved.discard(call.uniqueid)
        for leg in call.legs:
            self._legs.pop(leg, None)
        if call.agent_uniqueid:
            self._legs.pop(call.agent_uniqueid, None)
        self._ended[call.uniqueid] = _Ended(call.call_key, call.queue, call.interface)
        self._ended.move_to_end(call.uniqueid)
        while len(self._ended) > self._max_ended:
            self._ended.popitem(last=False)

    def _new_call(self, msg: AmiMessage, at: datetime | None, position: int = 0) -> _Call:
        queue = _field(msg, "Queue")
        uniqueid = _field(msg, "Uniqueid")
        return _Call(
            call_key=make_call_key(self.pbx, queue, uniqueid),
            queue=queue,
            uniqueid=uniqueid,
            caller_number=_text(msg, "CallerIDNum"),
            caller_name=_text(msg, "CallerIDName"),
            joined_at=at,
            position=position,
        )

    def _close_hold(self, call: _Call, at: datetime) -> float:
        """End an open hold interval at `at`; returns its length (0 when none was open)."""
        if call.hold_started is None:
            return 0.0
        held = max(0.0, (at - call.hold_started).total_seconds())
        call.hold_s += held
        call.hold_started = None
        return held

    def _ended_event(
        self, call: _Call, at: datetime, by: HungUpBy, talk_fallback: float
    ) -> CallEnded:
        self._close_hold(call, at)
        self._forget(call)
        if call.answered_at is not None:
            talk = (at - call.answered_at).total_seconds() - call.hold_s
        else:
            talk = talk_fallback - call.hold_s
        return CallEnded(
            pbx=self.pbx,
            at=at,
            call_key=call.call_key,
            queue=call.queue,
            interface=call.interface,
            member_name=call.member_name,
            caller_number=call.caller_number,
            hung_up_by=by,
            talk_s=max(0.0, talk),
            hold_s=call.hold_s,
            wait_s=call.wait_s,
        )

    def _abandoned_event(
        self, call: _Call, at: datetime, position: int, original: int, hold_time: float
    ) -> CallAbandoned:
        self._forget(call)
        return CallAbandoned(
            pbx=self.pbx,
            at=at,
            call_key=call.call_key,
            queue=call.queue,
            wait_s=_seconds(call.joined_at, at, hold_time),
            position=position,
            original_position=original,
        )

    def _exited_event(self, call: _Call, at: datetime, reason: ExitReason) -> CallExitedQueue:
        """The caller left unanswered and alive; the exit happened when Queue() let go."""
        self._forget(call)
        left = call.left_at or at
        fallback = call.abandon[2] if call.abandon else 0.0
        return CallExitedQueue(
            pbx=self.pbx,
            at=left,
            call_key=call.call_key,
            queue=call.queue,
            reason=reason,
            wait_s=_seconds(call.joined_at, left, fallback),
            position=call.abandon[0] if call.abandon else call.position,
        )

    def _settle(self, call: _Call, at: datetime) -> Events:
        """Close a call whose end we did not see in full (re-queued, or a Hangup came first).

        A pending abandon was reported while the caller was still there (a queue exit);
        hanging up afterwards does not make it an abandon.
        """
        if call.answered_at is not None:
            return [self._ended_event(call, at, call.hangup_by or "system", 0.0)]
        if call.abandon is not None or call.left_at is not None:
            return [self._exited_event(call, at, "unknown")]
        return [self._abandoned_event(call, at, call.position, call.position, 0.0)]

    # -- queue caller events ------------------------------------------------------------

    def _on_join(self, msg: AmiMessage, at: datetime) -> Events:
        position = _int(msg, "Position")
        count = _int(msg, "Count")
        call = self._new_call(msg, at, position)
        linkedid = msg.get("Linkedid") or call.uniqueid
        events: Events = []
        previous = self._calls.get(call.uniqueid)
        if previous is not None:
            if previous.answered_at is not None and previous.hangup_by is None:
                previous.hangup_by = "transfer"
            events.extend(self._settle(previous, at))
        self._remember(call)
        events.append(
            CallQueued(
                pbx=self.pbx,
                at=at,
                call_key=call.call_key,
                queue=call.queue,
                uniqueid=call.uniqueid,
                linkedid=linkedid,
                caller_number=call.caller_number,
                caller_name=call.caller_name,
                position=position,
                count=count,
            )
        )
        return events

    def _known_or_new(self, msg: AmiMessage) -> _Call:
        """The call for a caller event; one that joined before we were listening is learnt."""
        uniqueid = _field(msg, "Uniqueid")
        call = self._calls.get(uniqueid)
        if call is None:
            call = self._new_call(msg, None)
            self._remember(call)
        return call

    def _on_agent_called(self, msg: AmiMessage, at: datetime) -> Events:
        interface = _field(msg, "Interface")
        leg = msg.get("DestUniqueid") or ""
        uniqueid = msg.get("Uniqueid")
        if uniqueid not in self._calls and uniqueid in self._ended:
            return []
        call = self._known_or_new(msg)
        if leg:
            call.legs[leg] = at
            self._legs[leg] = call.uniqueid
        return [
            AgentRinging(
                pbx=self.pbx,
                at=at,
                call_key=call.call_key,
                queue=call.queue,
                interface=interface,
                member_name=msg.get("MemberName") or interface,
                caller_number=call.caller_number,
                caller_name=call.caller_name,
            )
        ]

    def _on_ring_no_answer(self, msg: AmiMessage, at: datetime) -> Events:
        interface = _field(msg, "Interface")
        ring_ms = _int(msg, "RingTime")
        call = self._calls.get(_field(msg, "Uniqueid"))
        if call is None:
            return []
        return [
            RingNoAnswer(
                pbx=self.pbx,
                at=at,
                call_key=call.call_key,
                queue=call.queue,
                interface=interface,
                member_name=msg.get("MemberName") or interface,
                ring_s=ring_ms / 1000.0,
            )
        ]

    def _on_agent_connect(self, msg: AmiMessage, at: datetime) -> Events:
        interface = _field(msg, "Interface")
        hold_time = _opt_int(msg, "HoldTime") or 0
        ring_time = _opt_int(msg, "RingTime") or 0
        leg = msg.get("DestUniqueid") or ""
        call = self._known_or_new(msg)
        call.answered_at = at
        call.interface = interface
        call.member_name = msg.get("MemberName") or interface
        call.agent_uniqueid = leg
        call.left_at = None
        call.abandon = None
        call.hangup_by = None
        self._unresolved.discard(call.uniqueid)
        if leg:
            self._legs[leg] = call.uniqueid
        call.wait_s = _seconds(call.joined_at, at, float(hold_time))
        if call.joined_at is None:
            call.joined_at = at - timedelta(seconds=hold_time)
        ring_s = _seconds(call.legs.get(leg), at, float(ring_time))
        return [
            CallAnswered(
                pbx=self.pbx,
                at=at,
                call_key=call.call_key,
                queue=call.queue,
                interface=interface,
                member_name=call.member_name,
                caller_number=call.caller_number,
                caller_name=call.caller_name,
                wait_s=call.wait_s,
                ring_s=ring_s,
                agent_channel=msg.get("DestChannel") or "",
            )
        ]

    def _on_agent_complete(self, msg: AmiMessage, at: datetime) -> Events:
        uniqueid = _field(msg, "Uniqueid")
        talk_time = float(_opt_int(msg, "TalkTime") or 0)
        by = _COMPLETE_REASONS.get((msg.get("Reason") or "").lower(), "system")
        call = self._calls.get(uniqueid)
        if call is not None and call.queue == msg.get("Queue"):
            if call.hangup_by == "transfer":
                by = "transfer"
            return [self._ended_event(call, at, by, talk_time)]
        ended = self._ended.get(uniqueid)
        if ended is not None and ended.queue == msg.get("Queue"):
            return []
        # A call answered before we were listening: its own figures are all there is.
        call = self._new_call(msg, None)
        call.interface = _field(msg, "Interface")
        call.member_name = msg.get("MemberName") or call.interface
        call.wait_s = float(_opt_int(msg, "HoldTime") or 0)
        return [self._ended_event(call, at, by, talk_time)]

    def _on_abandon(self, msg: AmiMessage, at: datetime) -> Events:
        uniqueid = _field(msg, "Uniqueid")
        position = _int(msg, "Position")
        original = _opt_int(msg, "OriginalPosition") or position
        hold_time = float(_opt_int(msg, "HoldTime") or 0)
        call = self._calls.get(uniqueid)
        if call is None:
            if uniqueid in self._ended:
                return []
            call = self._new_call(msg, None, position)
            return [self._abandoned_event(call, at, position, original, hold_time)]
        if call.hangup_requested:
            return [self._abandoned_event(call, at, position, original, hold_time)]
        # Queue() also reports timeouts and leave-when-empty as abandons; the caller is
        # still there, so wait for QUEUESTATUS or the next dialplan step to tell which.
        call.abandon = (position, original, hold_time)
        call.left_at = at
        self._unresolved.add(uniqueid)
        return []

    def _on_leave(self, msg: AmiMessage, at: datetime) -> Events:
        call = self._calls.get(_field(msg, "Uniqueid"))
        if call is None or call.answered_at is not None:
            return []
        if call.left_at is None:
            call.left_at = at
            call.position = _opt_int(msg, "Position") or call.position
        self._unresolved.add(call.uniqueid)
        return []

    def _on_varset(self, msg: AmiMessage, at: datetime) -> Events:
        if not self._unresolved:
            return []
        uniqueid = msg.get("Uniqueid")
        if uniqueid not in self._unresolved or msg.get("Variable") != "QUEUESTATUS":
            return []
        reason = _QUEUE_STATUS.get((msg.get("Value") or "").upper())
        if reason is None:
            return []
        return [self._exited_event(self._calls[uniqueid], at, reason)]

    def _on_newexten(self, msg: AmiMessage, at: datetime) -> Events:
        """The caller's dialplan moved on after Queue(): a plain Leave means a key press."""
        if not self._unresolved:
            return []
        uniqueid = msg.get("Uniqueid")
        if uniqueid not in self._unresolved:
            return []
        call = self._calls[uniqueid]
        return [self._exited_event(call, at, "unknown" if call.abandon else "key")]

    # -- channel events ------------------------------------------------------------------

    def _on_hangup_request(self, msg: AmiMessage, at: datetime) -> Events:
        uniqueid = msg.get("Uniqueid")
        call = self._call_for(uniqueid)
        if call is None or not uniqueid:
            return []
        soft = msg.name == "SoftHangupRequest"
        if uniqueid == call.uniqueid:
            call.hangup_requested = True
            if call.hangup_by is None and call.answered_at is not None:
                call.hangup_by = "system" if soft else "caller"
        elif uniqueid == call.agent_uniqueid and call.hangup_by is None:
            call.hangup_by = "system" if soft else "agent"
        return []

    def _on_hangup(self, msg: AmiMessage, at: datetime) -> Events:
        uniqueid = msg.get("Uniqueid") or ""
        call = self._calls.get(uniqueid)
        if call is None:
            caller = self._legs.pop(uniqueid, None)
            leg_call = self._calls.get(caller) if caller else None
            if leg_call is not None:
                leg_call.legs.pop(uniqueid, None)
            return []
        return self._settle(call, at)

    def _on_hold(self, msg: AmiMessage, at: datetime) -> Events:
        call = self._call_for(msg.get("Uniqueid"), msg.get("Linkedid"))
        if call is None or call.answered_at is None or call.hold_started is not None:
            return []
        call.hold_started = at
        return [
            CallHeld(
                pbx=self.pbx,
                at=at,
                call_key=call.call_key,
                queue=call.queue,
                interface=call.interface,
            )
        ]

    def _on_unhold(self, msg: AmiMessage, at: datetime) -> Events:
        call = self._call_for(msg.get("Uniqueid"), msg.get("Linkedid"))
        if call is None or call.hold_started is None:
            return []
        held = self._close_hold(call, at)
        return [
            CallResumed(
                pbx=self.pbx,
                at=at,
                call_key=call.call_key,
                queue=call.queue,
                interface=call.interface,
                held_s=held,
            )
        ]

    # -- transfers -----------------------------------------------------------------------

    def _transferred(
        self, msg: AmiMessage, at: datetime, prefixes: Iterable[str], target: str
    ) -> Events:
        """Find the queue call among the transfer's channels and report where it went."""
        if (msg.get("Result") or "").lower() != "success":
            return []
        for prefix in prefixes:
            for suffix in ("Uniqueid", "Linkedid"):
                channel = msg.get(prefix + suffix)
                if not channel:
                    continue
                call = self._call_for(channel)
                if call is not None and call.answered_at is not None:
                    call.hangup_by = "transfer"
                    return [
                        self._transfer_event(call.call_key, call.queue, call.interface, at, target)
                    ]
                caller = self._legs.get(channel, channel)
                ended = self._ended.get(caller)
                if ended is not None:
                    return [
                        self._transfer_event(
                            ended.call_key, ended.queue, ended.interface, at, target
                        )
                    ]
        return []

    def _transfer_event(
        self, call_key: str, queue: str, interface: str, at: datetime, target: str
    ) -> CallTransferred:
        return CallTransferred(
            pbx=self.pbx,
            at=at,
            call_key=call_key,
            queue=queue,
            interface=interface,
            target=target,
        )

    def _on_blind_transfer(self, msg: AmiMessage, at: datetime) -> Events:
        target = msg.get("Extension") or ""
        return self._transferred(msg, at, ("Transferee", "Transferer"), target)

    def _on_attended_transfer(self, msg: AmiMessage, at: datetime) -> Events:
        target = (
            _text(msg, "TransferTargetCallerIDNum")
            or _text(msg, "SecondTransfererConnectedLineNum")
            or msg.get("SecondTransfererExten")
            or msg.get("DestApp")
            or ""
        )
        prefixes = ("Transferee", "OrigTransferer", "SecondTransferer")
        return self._transferred(msg, at, prefixes, target)

    # -- queue members -------------------------------------------------------------------

    def _member(self, msg: AmiMessage) -> tuple[str, str, str]:
        queue = _field(msg, "Queue")
        interface = msg.get("Interface") or _field(msg, "Location")
        name = msg.get("MemberName") or msg.get("Name") or interface
        return queue, interface, name

    def _member_state(
        self, kind: type[_Member], msg: AmiMessage, at: datetime, reason: str
    ) -> _Member:
        """A member's state and pause as QueueMemberStatus/Pause and QueueMemberAdded give them."""
        queue, interface, name = self._member(msg)
        paused = msg.get("Paused") == "1"
        return kind(
            pbx=self.pbx,
            at=at,
            queue=queue,
            interface=interface,
            member_name=name,
            state=agent_state(msg.get("Status") or "", paused),
            paused=paused,
            reason=reason if paused else "",
        )

    def _on_member_state(self, msg: AmiMessage, at: datetime) -> Events:
        reason = msg.get("PausedReason") or msg.get("Reason") or ""
        return [self._member_state(AgentStateChanged, msg, at, reason)]

    def _on_member_added(self, msg: AmiMessage, at: datetime) -> Events:
        return [self._member_state(MemberAdded, msg, at, msg.get("PausedReason") or "")]

    def _on_member_removed(self, msg: AmiMessage, at: datetime) -> Events:
        queue, interface, name = self._member(msg)
        return [
            MemberRemoved(pbx=self.pbx, at=at, queue=queue, interface=interface, member_name=name)
        ]

    # -- the dialplan's own events -------------------------------------------------------

    def _on_user_event(self, msg: AmiMessage, at: datetime) -> Events:
        handler = self._user_events.get(msg.get("UserEvent") or "")
        return handler(msg, at) if handler is not None else []

    def _on_callback_request(self, msg: AmiMessage, at: datetime) -> Events:
        """`UserEvent(CallbackRequest,Queue: q,Number: n,Uniqueid: u)` from the overflow."""
        queue = _field(msg, "Queue")
        uniqueid = _field(msg, "Uniqueid")
        return [
            CallbackRequested(
                pbx=self.pbx,
                at=at,
                queue=queue,
                number=msg.get("Number") or "",
                uniqueid=uniqueid,
                call_key=make_call_key(self.pbx, queue, uniqueid),
            )
        ]
