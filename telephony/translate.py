"""AMI messages -> typed telephony events, one PBX per Translator.

Table-driven: the event name picks a small handler; every other event (VarSet, Newexten,
RTCP, Bridge*, Cdr, DeviceStateChange...) costs one dict lookup. State is kept only where AMI
forces it: the legs of a call (Hold arrives on the agent's channel), who asked for the
hang-up, hold intervals, whether a queue exit was an abandon, a timeout or a key press, and
where a transferred caller went. Every entry is dropped when its call ends; all maps are
capped.

Only the events a shipped AMI account reads are relied on (classes call, agent, user): never
VarSet or Newexten (class dialplan). How a caller left a queue comes from the dialplan's
`UserEvent(QueueExit,Queue: ...,Status: ${QUEUESTATUS},Uniqueid: ...)` after Queue().

A frame is part of a queue call only when the call is known (it joined while we listened,
or a snapshot showed it) and the frame's identifying fields are well formed
(telephony.fields); other frames are counted by reason and logged sparingly
(telephony.rejects), never turned into calls.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import structlog

from telephony.ami.protocol import AmiMessage
from telephony.callerid import caller_id_text
from telephony.dials import dial_destination, local_exten
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
    RecordingMuted,
    RecordingNoticePlayed,
    RecordingStarted,
    RecordingStopped,
    RingNoAnswer,
    TelephonyEvent,
    TransferDestination,
    TransferKind,
    TransferReached,
    WaitingCaller,
    make_call_key,
)
from telephony.fields import (
    MalformedMessage,
    agent_interface,
    caller_uniqueid,
    check_identity,
    field,
    integer,
    optional_integer,
    queue_name,
)
from telephony.outbound import OutboundCalls
from telephony.rejects import Rejects
from telephony.spying import SpyLegs

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

# The Status of the dialplan's UserEvent QueueExit (QUEUESTATUS, or EXITWITHKEY sent by the
# exit-by-key context) for a caller who left the queue unanswered. CONTINUE (back from an
# answered call) is not an exit.
_QUEUE_STATUS: dict[str, ExitReason] = {
    "TIMEOUT": "timeout",
    "FULL": "full",
    "LEAVEEMPTY": "empty",
    "LEAVEUNAVAIL": "empty",
    "JOINEMPTY": "empty",
    "JOINUNAVAIL": "empty",
    "EXITWITHKEY": "key",
    "WITHDRAW": "unknown",
}
# Statuses of a Queue() that refused the caller at once: no QueueCallerJoin came before.
_NEVER_JOINED = frozenset({"FULL", "JOINEMPTY", "JOINUNAVAIL"})
# SoftHangupRequest Cause is the soft-hangup flag: AST_SOFTHANGUP_SHUTDOWN (1 << 2) is
# Asterisk stopping or restarting ("core restart now"); nobody on the call hung up.
_SHUTDOWN_CAUSE = "4"

_COMPLETE_REASONS: dict[str, HungUpBy] = {
    "caller": "caller",
    "agent": "agent",
    "transfer": "transfer",
}


def agent_state(status: str, paused: bool) -> AgentState:
    """Map a device state number and the paused flag to one supervisor-facing state.

    Paused only shows when the agent is idle: a paused agent finishing a call is in a call.
    Shared with resync, which reads the same numbers from QueueStatus.
    """
    state = _DEVICE_STATES.get(status.strip(), "unavailable")
    if paused and state == "ready":
        return "paused"
    return state


def _place(msg: AmiMessage) -> tuple[str, str] | None:
    """Where in the dialplan the channel is (Context, Exten), when the frame says."""
    context, exten = msg.get("Context"), msg.get("Exten")
    return (context, exten) if context and exten else None


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
    linkedid: str = ""
    place: tuple[str, str] | None = None
    visit: int = 1
    legs: dict[str, datetime] = dataclass_field(default_factory=dict)
    answered_at: datetime | None = None
    interface: str = ""
    member_name: str = ""
    agent_uniqueid: str = ""
    agent_channel: str = ""
    consult: tuple[TransferDestination, str, str] | None = None
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
    visit: int


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
        self._ended: OrderedDict[str, _Ended] = OrderedDict()
        # Blind transfers whose caller has not arrived anywhere yet, by the call's Linkedid.
        self._transfers: OrderedDict[str, _Ended] = OrderedDict()
        self._outbound = OutboundCalls(pbx, max_open=max_ended)
        self._spies = SpyLegs(pbx, max_open=max_ended)
        self.rejects = Rejects(pbx)
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
            "Shutdown": self._on_shutdown,
            "DialBegin": self._on_dial_begin,
            "DialEnd": self._on_dial_end,
            "Hold": self._on_hold,
            "Unhold": self._on_unhold,
            "BlindTransfer": self._on_blind_transfer,
            "AttendedTransfer": self._on_attended_transfer,
            "UserEvent": self._on_user_event,
            "QueueMemberStatus": self._on_member_state,
            "QueueMemberPause": self._on_member_state,
            "QueueMemberAdded": self._on_member_added,
            "QueueMemberRemoved": self._on_member_removed,
            "OriginateResponse": self._on_originate_response,
            "ChanSpyStart": self._on_spy_start,
            "ChanSpyStop": self._on_spy_stop,
            "MixMonitorStart": self._on_mixmonitor,
            "MixMonitorMute": self._on_mixmonitor,
            "MixMonitorStop": self._on_mixmonitor,
        }
        # UserEvents the dialplan sends, by their name.
        self._user_events: dict[str, Handler] = {
            "QueueExit": self._on_queue_exit,
            "CallbackRequest": self._on_callback_request,
            "RecordingNotice": self._on_recording_notice,
        }

    @property
    def tracked_calls(self) -> int:
        """How many calls the translator holds state for (for health and tests)."""
        return len(self._calls) + len(self._outbound) + len(self._spies)

    def translate(self, msg: AmiMessage, received_at: datetime) -> Events:
        """Events for one AMI message; never raises (a refused frame is counted, skipped)."""
        pairs = msg.pairs
        name = pairs[0][1] if pairs and pairs[0][0] == "Event" else msg.name
        handler = self._table.get(name) if name else None
        if handler is None or name is None:
            return []
        at = self._when(msg, received_at)
        try:
            check_identity(msg)
            return handler(msg, at)
        except MalformedMessage as exc:
            self.rejects.note(exc.reason, at, name, str(exc))
        except Exception as exc:
            self.rejects.note("translation_error", at, name, repr(exc))
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
            born = snapshot.at - timedelta(seconds=connected.caller_age_s)
            call = self._known_or_adopted(connected, born if connected.caller_age_s else None)
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
            linkedid=(seen.linkedid if isinstance(seen, ConnectedCall) else "") or seen.uniqueid,
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

    def _known(self, msg: AmiMessage) -> _Call | None:
        """The call a queue caller event is about; None when it is a late detail of a call
        already over; refused when hotline never saw the call (no phantom calls)."""
        uniqueid = caller_uniqueid(msg)
        call = self._calls.get(uniqueid)
        if call is not None and call.queue == queue_name(msg):
            return call
        if uniqueid in self._ended:
            return None
        raise MalformedMessage("unknown_call", "event for a call hotline never saw join")

    def _remember(self, call: _Call) -> None:
        if len(self._calls) >= self._max_calls and call.uniqueid not in self._calls:
            oldest = next(iter(self._calls))
            self._log.warning("translator_call_evicted", call_key=self._calls[oldest].call_key)
            self._forget(self._calls[oldest])
        self._calls[call.uniqueid] = call

    def _forget(self, call: _Call) -> None:
        """Drop every trace of a finished call, keeping a small tombstone for late events."""
        self._calls.pop(call.uniqueid, None)
        for leg in call.legs:
            self._legs.pop(leg, None)
        if call.agent_uniqueid:
            self._legs.pop(call.agent_uniqueid, None)
        self._ended[call.uniqueid] = _Ended(call.call_key, call.queue, call.interface, call.visit)
        self._ended.move_to_end(call.uniqueid)
        while len(self._ended) > self._max_ended:
            self._ended.popitem(last=False)

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

    def _exited_event(
        self,
        call: _Call,
        at: datetime,
        reason: ExitReason,
        key: str = "",
        by: HungUpBy | None = None,
    ) -> CallExitedQueue:
        """The caller left unanswered (alive, or cut by the system); the exit happened when
        Queue() let go."""
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
            key=key,
            hung_up_by=by,
        )

    def _settle(self, call: _Call, at: datetime) -> Events:
        """Close a call whose end we did not see in full (re-queued, or a Hangup came first).

        A pending abandon was reported while the caller was still there (a queue exit the
        dialplan did not name); a plain leave without an agent can only be a key pressed.
        Hanging up afterwards makes neither an abandon.
        """
        if call.answered_at is not None:
            return [self._ended_event(call, at, call.hangup_by or "system", 0.0)]
        if call.hangup_by == "system":
            return [self._exited_event(call, at, "unknown", by="system")]
        if call.abandon is not None:
            return [self._exited_event(call, at, "unknown")]
        if call.left_at is not None:
            return [self._exited_event(call, at, "key")]
        return [self._abandoned_event(call, at, call.position, call.position, 0.0)]

    # -- queue caller events ------------------------------------------------------------

    def _on_join(self, msg: AmiMessage, at: datetime) -> Events:
        """A caller joins; the same channel joining again (sent back into a queue by a
        transfer, or a second Queue() in the dialplan) is a new queue call, linked to the
        one it came from."""
        uniqueid, queue = caller_uniqueid(msg), queue_name(msg)
        position, count = integer(msg, "Position"), integer(msg, "Count")
        events: Events = []
        came_from, visit = "", 1
        previous = self._calls.get(uniqueid)
        if previous is not None and (
            previous.hangup_by != "transfer"
            if previous.answered_at is not None
            else previous.left_at is None
        ):
            # Queue() lets a caller go (QueueCallerLeave) before it can take them again,
            # and an answered caller comes back into a queue only through a transfer.
            raise MalformedMessage("duplicate_join", "QueueCallerJoin of a caller still queued")
        if previous is not None:
            if previous.answered_at is not None and previous.hangup_by is None:
                previous.hangup_by = "transfer"
            came_from, visit = previous.call_key, previous.visit + 1
            events.extend(self._settle(previous, at))
        elif uniqueid in self._ended:
            ended = self._ended[uniqueid]
            came_from, visit = ended.call_key, ended.visit + 1
        linkedid = msg.get("Linkedid") or uniqueid
        transfer = self._transfers.pop(linkedid, None)
        if transfer is not None:
            events.append(self._reached(transfer, at, "queue", queue))
        call = _Call(
            call_key=make_call_key(self.pbx, queue, uniqueid, visit),
            queue=queue,
            uniqueid=uniqueid,
            caller_number=caller_id_text(msg, "CallerIDNum"),
            caller_name=caller_id_text(msg, "CallerIDName"),
            joined_at=at,
            position=position,
            linkedid=linkedid,
            place=_place(msg),
            visit=visit,
        )
        self._remember(call)
        events.append(self._queued_event(call, at, count, came_from))
        return events

    def _queued_event(self, call: _Call, at: datetime, count: int, came_from: str) -> CallQueued:
        return CallQueued(
            pbx=self.pbx,
            at=at,
            call_key=call.call_key,
            queue=call.queue,
            uniqueid=call.uniqueid,
            linkedid=call.linkedid,
            caller_number=call.caller_number,
            caller_name=call.caller_name,
            position=call.position,
            count=count,
            came_from=came_from,
        )

    def _on_agent_called(self, msg: AmiMessage, at: datetime) -> Events:
        interface = agent_interface(msg)
        call = self._known(msg)
        if call is None:
            return []
        leg = msg.get("DestUniqueid") or ""
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
                agent_channel=msg.get("DestChannel") or "",
            )
        ]

    def _on_ring_no_answer(self, msg: AmiMessage, at: datetime) -> Events:
        interface = agent_interface(msg)
        ring_ms = integer(msg, "RingTime")
        call = self._known(msg)
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
        interface = agent_interface(msg)
        hold_time = optional_integer(msg, "HoldTime") or 0
        ring_time = optional_integer(msg, "RingTime") or 0
        call = self._known(msg)
        if call is None:
            return []
        leg = msg.get("DestUniqueid") or ""
        call.answered_at = at
        call.interface = interface
        call.member_name = msg.get("MemberName") or interface
        call.agent_uniqueid = leg
        call.agent_channel = msg.get("DestChannel") or ""
        call.left_at = None
        call.abandon = None
        call.hangup_by = None
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
                agent_channel=call.agent_channel,
                caller_channel=msg.get("Channel") or "",
            )
        ]

    def _on_agent_complete(self, msg: AmiMessage, at: datetime) -> Events:
        """The agent's part is over. A Shutdown or a transfer seen before it wins over its
        Reason (Asterisk says `caller` when it cut the call itself).

        Asterisk leaves the caller's channel block out when that channel is already gone
        (mixmonitor.txt): its Hangup closed the call before, so such a frame decides nothing.
        """
        if not msg.get("Uniqueid") and msg.get("DestUniqueid"):
            return []
        agent_interface(msg)
        talk_time = float(optional_integer(msg, "TalkTime") or 0)
        by = _COMPLETE_REASONS.get((msg.get("Reason") or "").lower(), "system")
        call = self._known(msg)
        if call is None or call.answered_at is None:
            return []  # a late end of the call this caller was on before re-joining
        leg = msg.get("DestUniqueid")
        if leg and call.agent_uniqueid and leg != call.agent_uniqueid:
            return []
        if call.hangup_by in ("transfer", "system"):
            by = call.hangup_by
        return [self._ended_event(call, at, by, talk_time)]

    def _on_abandon(self, msg: AmiMessage, at: datetime) -> Events:
        """Queue() reports an abandon for a hang-up, but also for a timeout, a leave-when-
        empty and a Redirect away: only a caller who asked to hang up has abandoned.

        A Redirect is told by the place: Queue() returns its caller to the same dialplan
        step (Context, Exten) it joined from, so an abandon reported from another place
        with the caller still up means the channel was moved away (AMI Redirect or
        ChannelRedirect). The dialplan after Queue() never runs then, so no UserEvent can
        name it: it is stored as `redirected` at once. Otherwise the dialplan's UserEvent
        QueueExit that follows says what it was.
        """
        position = integer(msg, "Position")
        original = optional_integer(msg, "OriginalPosition") or position
        hold_time = float(optional_integer(msg, "HoldTime") or 0)
        call = self._known(msg)
        if call is None:
            return []
        if call.hangup_by == "system":
            call.left_at = at
            return [self._exited_event(call, at, "unknown", by="system")]
        if call.hangup_requested:
            return [self._abandoned_event(call, at, position, original, hold_time)]
        call.abandon = (position, original, hold_time)
        call.left_at = at
        place = _place(msg)
        if place is not None and call.place is not None and place != call.place:
            return [self._exited_event(call, at, "redirected")]
        return []

    def _on_leave(self, msg: AmiMessage, at: datetime) -> Events:
        call = self._known(msg)
        if call is None or call.answered_at is not None:
            return []
        if call.left_at is None:
            call.left_at = at
            call.position = optional_integer(msg, "Position") or call.position
        return []

    def _on_queue_exit(self, msg: AmiMessage, at: datetime) -> Events:
        """The dialplan's QueueExit after Queue(): the one reliable word on how a caller who
        was not answered left (TIMEOUT, EXITWITHKEY + Digit, FULL, JOINEMPTY, ...)."""
        status = (msg.get("Status") or "").upper()
        reason = _QUEUE_STATUS.get(status)
        if reason is None:
            return []  # CONTINUE: back from an answered call, whose end AgentComplete tells
        uniqueid = caller_uniqueid(msg)
        call = self._calls.get(uniqueid)
        if call is None:
            return self._refused_at_once(msg, at, status, reason)
        if call.answered_at is not None or call.queue != (msg.get("Queue") or call.queue):
            return []
        return [self._exited_event(call, at, reason, msg.get("Digit") or "")]

    def _refused_at_once(
        self, msg: AmiMessage, at: datetime, status: str, reason: ExitReason
    ) -> Events:
        """A full queue, or an empty one that takes nobody, turns the caller away before
        any QueueCallerJoin: the UserEvent is all there is, so it makes the queue call."""
        if status not in _NEVER_JOINED:
            raise MalformedMessage("unknown_call", f"QueueExit {status} for an unknown call")
        queue, uniqueid = queue_name(msg), caller_uniqueid(msg)
        ended = self._ended.get(uniqueid)
        visit = ended.visit + 1 if ended else 1
        call = _Call(
            call_key=make_call_key(self.pbx, queue, uniqueid, visit),
            queue=queue,
            uniqueid=uniqueid,
            caller_number=caller_id_text(msg, "CallerIDNum"),
            caller_name=caller_id_text(msg, "CallerIDName"),
            joined_at=at,
            linkedid=msg.get("Linkedid") or uniqueid,
            visit=visit,
        )
        queued = self._queued_event(call, at, 0, ended.call_key if ended else "")
        return [queued, self._exited_event(call, at, reason)]

    # -- channel events ------------------------------------------------------------------

    def _on_hangup_request(self, msg: AmiMessage, at: datetime) -> Events:
        uniqueid = msg.get("Uniqueid")
        call = self._call_for(uniqueid)
        if call is None or not uniqueid:
            self._spies.hangup_requested(uniqueid or "")
            return []
        if msg.name == "SoftHangupRequest":
            if msg.get("Cause") == _SHUTDOWN_CAUSE:
                call.hangup_by = "system"
            elif uniqueid == call.uniqueid:
                call.hangup_requested = True
            return []
        if uniqueid == call.uniqueid:
            call.hangup_requested = True
            if call.hangup_by is None and call.answered_at is not None:
                call.hangup_by = "caller"
        elif uniqueid == call.agent_uniqueid and call.hangup_by is None:
            call.hangup_by = "agent"
        return []

    def _on_shutdown(self, msg: AmiMessage, at: datetime) -> Events:
        """Asterisk is stopping: whatever ends the calls now, it is the system."""
        for call in self._calls.values():
            call.hangup_by = "system"
        return []

    def _on_hangup(self, msg: AmiMessage, at: datetime) -> Events:
        uniqueid = msg.get("Uniqueid") or ""
        call = self._calls.get(uniqueid)
        if call is None:
            caller = self._legs.pop(uniqueid, None)
            leg_call = self._calls.get(caller) if caller else None
            if leg_call is not None:
                leg_call.legs.pop(uniqueid, None)
            ended = self._outbound.hangup(msg, at) or self._spies.stopped(uniqueid, at)
            return [] if ended is None else [ended]
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
        """Off hold; also when the Hold came before we listened (a restart mid-hold):
        `held_s` 0 then, and the tracker's record knows when that hold began."""
        call = self._call_for(msg.get("Uniqueid"), msg.get("Linkedid"))
        if call is None or call.answered_at is None:
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

    # -- dials: consultations, where a transferred caller went, calls out ----------------

    def _on_dial_begin(self, msg: AmiMessage, at: datetime) -> Events:
        linkedid = msg.get("Linkedid") or ""
        destination = dial_destination(msg)
        transfer = self._transfers.get(linkedid)
        if transfer is not None:
            if destination is None:
                return []
            del self._transfers[linkedid]
            return [self._reached(transfer, at, *destination)]
        call = self._calls.get(linkedid)
        if call is not None:
            if call.answered_at is not None and destination is not None:
                # Dialled from inside an answered call: the attended transfer's consultation.
                target = local_exten(msg.get("Channel") or "") or destination[1]
                call.consult = (*destination, target)
            return []
        if linkedid not in self._ended:
            self._outbound.dial_begin(msg, at)
        return []

    def _on_dial_end(self, msg: AmiMessage, at: datetime) -> Events:
        self._outbound.dial_end(msg, at)
        return []

    def _reached(
        self, transfer: _Ended, at: datetime, destination: TransferDestination, party: str
    ) -> TransferReached:
        return TransferReached(
            pbx=self.pbx,
            at=at,
            call_key=transfer.call_key,
            queue=transfer.queue,
            destination=destination,
            party=party,
        )

    # -- supervisors spying (telephony.spying) -------------------------------------------

    def _on_originate_response(self, msg: AmiMessage, at: datetime) -> Events:
        self._spies.originated(msg)
        return []

    def _on_spy_start(self, msg: AmiMessage, at: datetime) -> Events:
        call = self._call_for(msg.get("SpyeeUniqueid"), msg.get("SpyeeLinkedid"))
        started = self._spies.started(msg, at, call.call_key if call is not None else "")
        return [] if started is None else [started]

    def _on_spy_stop(self, msg: AmiMessage, at: datetime) -> Events:
        ended = self._spies.stopped(msg.get("SpyerUniqueid") or "", at)
        return [] if ended is None else [ended]

    # -- transfers -----------------------------------------------------------------------

    def _transferred(
        self,
        msg: AmiMessage,
        at: datetime,
        prefixes: Iterable[str],
        kind: TransferKind,
        target: str,
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
                    live = _Ended(call.call_key, call.queue, call.interface, call.visit)
                    if msg.get("TransfererUniqueid") == call.uniqueid:
                        # The caller's own channel transferred: Asterisk moves the agent's
                        # leg to the target and hangs the caller up, who reaches no one.
                        return [self._transfer_event(live, "", at, kind, target, None)]
                    return [self._transfer_event(live, call.linkedid, at, kind, target, call)]
                caller = self._legs.get(channel, channel)
                ended = self._ended.get(caller)
                if ended is not None:
                    return [self._transfer_event(ended, caller, at, kind, target, None)]
        return []

    def _transfer_event(
        self,
        ended: _Ended,
        linkedid: str,
        at: datetime,
        kind: TransferKind,
        target: str,
        call: _Call | None,
    ) -> CallTransferred:
        """The transfer, with its destination when a consultation already reached it; else
        the caller's next dial or queue join will say (TransferReached). No `linkedid`:
        the caller goes nowhere."""
        consult = call.consult if call is not None and kind == "attended" else None
        destination: TransferDestination = "unknown"
        party = ""
        if consult is not None:
            destination, party, target = consult
        elif linkedid:
            self._transfers[linkedid] = ended
            while len(self._transfers) > self._max_ended:
                self._transfers.popitem(last=False)
        return CallTransferred(
            pbx=self.pbx,
            at=at,
            call_key=ended.call_key,
            queue=ended.queue,
            interface=ended.interface,
            target=target,
            kind=kind,
            destination=destination,
            party=party,
        )

    def _on_blind_transfer(self, msg: AmiMessage, at: datetime) -> Events:
        target = msg.get("Extension") or ""
        return self._transferred(msg, at, ("Transferee", "Transferer"), "blind", target)

    def _on_attended_transfer(self, msg: AmiMessage, at: datetime) -> Events:
        target = (
            caller_id_text(msg, "TransferTargetCallerIDNum")
            or caller_id_text(msg, "SecondTransfererConnectedLineNum")
            or msg.get("SecondTransfererExten")
            or msg.get("DestApp")
            or ""
        )
        prefixes = ("Transferee", "OrigTransferer", "SecondTransferer")
        return self._transferred(msg, at, prefixes, "attended", target)

    # -- queue members -------------------------------------------------------------------

    def _member(self, msg: AmiMessage) -> tuple[str, str, str]:
        queue = field(msg, "Queue")
        interface = msg.get("Interface") or field(msg, "Location")
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
        queue = field(msg, "Queue")
        uniqueid = field(msg, "Uniqueid")
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

    # -- recordings ---------------------------------------------------------------------

    def _on_mixmonitor(self, msg: AmiMessage, at: datetime) -> Events:
        """MixMonitor runs on the caller's channel (mixmonitor.txt); a hang-up ends it
        without MixMonitorStop, so the call's end is what closes a recording."""
        call = self._calls.get(msg.get("Uniqueid") or "")
        if call is None or call.answered_at is None:
            return []
        if msg.name == "MixMonitorMute":
            state = msg.get("State")
            if state not in ("0", "1"):
                raise MalformedMessage("bad_field", f"MixMonitorMute State {state!r}")
            return [RecordingMuted(self.pbx, at, call.call_key, muted=state == "1")]
        kind = RecordingStarted if msg.name == "MixMonitorStart" else RecordingStopped
        return [kind(self.pbx, at, call.call_key)]

    def _on_recording_notice(self, msg: AmiMessage, at: datetime) -> Events:
        """`UserEvent(RecordingNotice,Queue: q,Languages: th+en,Uniqueid: u)` before Queue():
        keyed by the queue call the caller's coming join makes. (`Languages`, since the
        channel block before it already has the channel's `Language`.)"""
        queue, uniqueid = queue_name(msg), caller_uniqueid(msg)
        current = self._calls.get(uniqueid) or self._ended.get(uniqueid)
        visit = current.visit + 1 if current is not None else 1
        return [
            RecordingNoticePlayed(
                pbx=self.pbx,
                at=at,
                call_key=make_call_key(self.pbx, queue, uniqueid, visit),
                language=(msg.get("Languages") or "")[:16],
            )
        ]
