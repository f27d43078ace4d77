"""Translation of AMI sequences the captures do not show: holds, transfers, queue exits,
orderings that vary from run to run, and malformed input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telephony.ami.protocol import AmiMessage
from telephony.events import (
    AgentRinging,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallExitedQueue,
    CallHeld,
    CallQueued,
    CallResumed,
    CallTransferred,
    ConnectedCall,
    PbxSnapshot,
    TelephonyEvent,
    TransferReached,
    WaitingCaller,
)
from telephony.translate import Translator, agent_state

T0 = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
CALLER = "1795236655.0"
LEG = "1795236656.1"
KEY = f"lab/hotline/{CALLER}"


def ami(event: str, **fields: str) -> AmiMessage:
    return AmiMessage([("Event", event), *fields.items()])


def caller(event: str, uid: str = CALLER, **fields: str) -> AmiMessage:
    return ami(
        event,
        Channel="PJSIP/caller-trunk-00000000",
        CallerIDNum="0812345678",
        CallerIDName="Somchai",
        Uniqueid=uid,
        Linkedid=uid,
        **fields,
    )


def agent_leg(event: str, leg: str = LEG, **fields: str) -> AmiMessage:
    return ami(event, Channel="PJSIP/agent101-00000001", Uniqueid=leg, Linkedid=CALLER, **fields)


def queue_agent(event: str, leg: str = LEG, uid: str = CALLER, **fields: str) -> AmiMessage:
    return caller(
        event,
        uid,
        Queue="hotline",
        Interface="PJSIP/agent101",
        MemberName="Agent 101",
        DestUniqueid=leg,
        **fields,
    )


JOIN = caller("QueueCallerJoin", Queue="hotline", Position="1", Count="1")
CALLED = queue_agent("AgentCalled")
LEAVE = caller("QueueCallerLeave", Queue="hotline", Position="1", Count="0")
CONNECT = queue_agent("AgentConnect", HoldTime="2", RingTime="2")


def complete(reason: str = "caller", talk: str = "10") -> AmiMessage:
    return queue_agent("AgentComplete", HoldTime="2", TalkTime=talk, Reason=reason)


class Feed:
    """Feeds messages at given seconds after T0 and keeps every event produced."""

    def __init__(self) -> None:
        self.translator = Translator("lab")
        self.events: list[TelephonyEvent] = []

    def __call__(self, second: float, *messages: AmiMessage) -> list[TelephonyEvent]:
        out: list[TelephonyEvent] = []
        for msg in messages:
            out.extend(self.translator.translate(msg, T0 + timedelta(seconds=second)))
        self.events.extend(out)
        return out

    def of(self, kind: type) -> list[TelephonyEvent]:
        return [e for e in self.events if isinstance(e, kind)]

    def answered(self) -> None:
        self(0, JOIN)
        self(0.5, CALLED)
        self(2.5, LEAVE, CONNECT)


def test_hold_on_the_agent_leg_is_taken_out_of_talk_time() -> None:
    feed = Feed()
    feed.answered()
    [held] = feed(5.5, agent_leg("Hold", MusicClass="default"))
    assert isinstance(held, CallHeld) and held.call_key == KEY
    assert held.interface == "PJSIP/agent101"
    [resumed] = feed(15.5, agent_leg("Unhold"))
    assert isinstance(resumed, CallResumed) and resumed.held_s == pytest.approx(10.0)
    feed(20.5, caller("HangupRequest"))
    [end] = feed(20.5, complete("caller", talk="18"))
    assert isinstance(end, CallEnded)
    assert (end.hold_s, end.talk_s, end.hung_up_by) == (10.0, 8.0, "caller")
    assert end.wait_s == pytest.approx(2.5)


def test_hangup_before_agent_complete_ends_the_call_once_and_closes_the_hold() -> None:
    feed = Feed()
    feed.answered()
    feed(5.5, agent_leg("Hold"))
    feed(9.5, agent_leg("HangupRequest"))
    feed(9.5, agent_leg("Hangup", Cause="16"))
    [end] = feed(9.6, caller("Hangup", Cause="16"))
    assert isinstance(end, CallEnded)
    assert end.hung_up_by == "agent"
    assert end.hold_s == pytest.approx(4.1)
    assert end.talk_s == pytest.approx(3.0)
    assert feed(9.7, complete("agent")) == []
    assert len(feed.of(CallEnded)) == 1
    assert feed.translator.tracked_calls == 0


def test_agent_complete_first_then_hangups_end_the_call_once() -> None:
    feed = Feed()
    feed.answered()
    feed(8.5, caller("HangupRequest"), complete("caller", talk="6"))
    feed(8.6, caller("SoftHangupRequest", Cause="16"), caller("Hangup"), agent_leg("Hangup"))
    [end] = feed.of(CallEnded)
    assert isinstance(end, CallEnded)
    assert (end.hung_up_by, end.talk_s) == ("caller", 6.0)


def test_blind_transfer_by_the_agent() -> None:
    feed = Feed()
    feed.answered()
    [moved] = feed(
        30,
        ami(
            "BlindTransfer",
            Result="Success",
            TransfererUniqueid=LEG,
            TransfererLinkedid=CALLER,
            TransfereeUniqueid=CALLER,
            TransfereeLinkedid=CALLER,
            Context="internal",
            Extension="2001",
        ),
    )
    assert isinstance(moved, CallTransferred)
    assert (moved.call_key, moved.target, moved.interface) == (KEY, "2001", "PJSIP/agent101")
    [end] = feed(30.1, complete("transfer", talk="27"))
    assert isinstance(end, CallEnded) and end.hung_up_by == "transfer"
    assert end.talk_s == pytest.approx(27.6)
    assert feed(60, caller("Hangup")) == []


def test_transfer_details_arriving_after_agent_complete_still_name_the_target() -> None:
    feed = Feed()
    feed.answered()
    [end] = feed(30, complete("transfer"))
    assert isinstance(end, CallEnded) and end.hung_up_by == "transfer"
    [moved] = feed(
        30.1,
        ami(
            "AttendedTransfer",
            Result="Success",
            OrigTransfererUniqueid=LEG,
            OrigTransfererLinkedid=CALLER,
            SecondTransfererUniqueid="1795236700.9",
            SecondTransfererLinkedid="1795236700.9",
            SecondTransfererConnectedLineNum="2002",
            TransfereeUniqueid=CALLER,
            TransfereeLinkedid=CALLER,
            DestType="Bridge",
        ),
    )
    assert isinstance(moved, CallTransferred) and (moved.call_key, moved.target) == (KEY, "2002")


def test_failed_or_unrelated_transfers_are_ignored() -> None:
    feed = Feed()
    feed.answered()
    failed = ami("BlindTransfer", Result="Fail", TransfereeUniqueid=CALLER, Extension="9")
    other = ami("BlindTransfer", Result="Success", TransfereeUniqueid="42.0", Extension="9")
    assert feed(10, failed, other) == []


def test_abandon_after_the_caller_hung_up() -> None:
    feed = Feed()
    feed(0, JOIN, CALLED)
    feed(5.5, caller("HangupRequest"))
    [gone] = feed(
        5.5,
        caller(
            "QueueCallerAbandon", Queue="hotline", Position="1", OriginalPosition="1", HoldTime="5"
        ),
    )
    assert isinstance(gone, CallAbandoned)
    assert (gone.wait_s, gone.position, gone.original_position) == (5.5, 1, 1)
    assert feed(5.5, LEAVE, caller("Hangup")) == []


def queue_exit(status: str, **fields: str) -> AmiMessage:
    """The shipped dialplan's UserEvent after Queue() (Uniqueid given twice, as it is)."""
    return AmiMessage(
        [
            *caller("UserEvent").pairs,
            ("UserEvent", "QueueExit"),
            ("Queue", "hotline"),
            ("Status", status),
            ("Uniqueid", CALLER),
            *fields.items(),
        ]
    )


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("TIMEOUT", "timeout"),
        ("LEAVEEMPTY", "empty"),
        ("LEAVEUNAVAIL", "empty"),
        ("WITHDRAW", "unknown"),
    ],
)
def test_queue_timeout_and_empty_are_exits_not_abandons(status: str, reason: str) -> None:
    feed = Feed()
    feed(0, JOIN)
    abandon = caller(
        "QueueCallerAbandon", Queue="hotline", Position="1", OriginalPosition="1", HoldTime="30"
    )
    assert feed(30, abandon, LEAVE) == []
    [out] = feed(30.01, queue_exit(status))
    assert isinstance(out, CallExitedQueue)
    assert (out.reason, out.wait_s, out.position) == (reason, 30.0, 1)
    assert feed(31, caller("Hangup")) == []
    assert feed.of(CallAbandoned) == []


def test_dialplan_class_events_are_never_relied_on() -> None:
    """The shipped AMI account does not read class dialplan: VarSet QUEUESTATUS is noise."""
    feed = Feed()
    feed(0, JOIN)
    abandon = caller(
        "QueueCallerAbandon", Queue="hotline", Position="1", OriginalPosition="1", HoldTime="30"
    )
    varset = caller("VarSet", Variable="QUEUESTATUS", Value="TIMEOUT")
    assert feed(30, abandon, LEAVE, varset, caller("Newexten", Application="Hangup")) == []
    [out] = feed(30.01, queue_exit("TIMEOUT"))
    assert isinstance(out, CallExitedQueue) and out.reason == "timeout"


@pytest.mark.parametrize(("status", "reason"), [("FULL", "full"), ("JOINEMPTY", "empty")])
def test_a_queue_that_turns_the_caller_away_is_a_queue_call(status: str, reason: str) -> None:
    """Queue() refuses a full queue (or an empty one with joinempty no) before any join."""
    queued, out = Feed()(3, queue_exit(status))
    assert isinstance(queued, CallQueued) and isinstance(out, CallExitedQueue)
    assert (queued.call_key, queued.caller_number) == (KEY, "0812345678")
    assert (out.call_key, out.reason, out.wait_s) == (KEY, reason, 0.0)


def test_continue_after_an_answered_call_is_not_an_exit() -> None:
    feed = Feed()
    feed.answered()
    assert feed(10, queue_exit("CONTINUE")) == []
    [end] = feed(10, complete("caller"))
    assert isinstance(end, CallEnded) and end.hung_up_by == "caller"


def test_hanging_up_after_a_queue_exit_is_not_an_abandon() -> None:
    feed = Feed()
    feed(0, JOIN)
    abandon = caller(
        "QueueCallerAbandon", Queue="hotline", Position="1", OriginalPosition="1", HoldTime="30"
    )
    feed(30, abandon, LEAVE)
    [out] = feed(31, caller("HangupRequest"), caller("Hangup"))
    assert isinstance(out, CallExitedQueue)
    assert (out.reason, out.wait_s) == ("unknown", 30.0)
    assert feed.of(CallAbandoned) == []


def test_exit_by_key_names_the_digit() -> None:
    feed = Feed()
    feed(0, JOIN)
    assert feed(12, LEAVE) == []
    [out] = feed(12.01, queue_exit("EXITWITHKEY", Digit="5"))
    assert isinstance(out, CallExitedQueue)
    assert (out.reason, out.key, out.wait_s) == ("key", "5", 12.0)
    assert out.at == T0 + timedelta(seconds=12)


def test_a_leave_without_agent_nor_abandon_is_a_key_even_unnamed() -> None:
    """Without the exit context's UserEvent, only a key press leaves Queue() like that."""
    feed = Feed()
    feed(0, JOIN)
    assert feed(12, LEAVE) == []
    [out] = feed(15, caller("Hangup"))
    assert isinstance(out, CallExitedQueue)
    assert (out.reason, out.key, out.wait_s) == ("key", "", 12.0)


def test_a_waiting_caller_whose_hangup_is_the_only_trace_is_an_abandon() -> None:
    feed = Feed()
    feed(0, JOIN)
    [gone] = feed(4, caller("Hangup"))
    assert isinstance(gone, CallAbandoned) and gone.wait_s == 4.0


def test_timestamp_header_wins_over_receive_time() -> None:
    feed = Feed()
    stamped = caller(
        "QueueCallerJoin", Queue="hotline", Position="1", Count="1", Timestamp="1795236656.163688"
    )
    [queued] = feed(99, stamped)
    assert queued.at == datetime.fromtimestamp(1795236656.163688, UTC)
    bad = caller("QueueCallerJoin", uid="2.0", Queue="q", Position="1", Count="1", Timestamp="x")
    [queued] = feed(99, bad)
    assert queued.at == T0 + timedelta(seconds=99)


def test_unknown_caller_id_becomes_empty_text() -> None:
    feed = Feed()
    msg = ami(
        "QueueCallerJoin",
        CallerIDNum="<unknown>",
        CallerIDName="<unknown>",
        Uniqueid="7.0",
        Queue="hotline",
        Position="1",
        Count="1",
    )
    [queued] = feed(0, msg)
    assert isinstance(queued, CallQueued)
    assert (queued.caller_number, queued.caller_name, queued.linkedid) == ("", "", "7.0")


@pytest.mark.parametrize(
    "msg",
    [
        ami("VarSet", Uniqueid=CALLER, Variable="X", Value="1"),
        ami("Newexten", Uniqueid=CALLER),
        ami("RTCPSent", Uniqueid=CALLER),
        ami("DeviceStateChange", Device="Queue:hotline", State="INUSE"),
        ami("BridgeEnter", Uniqueid=CALLER),
        ami("Cdr", UniqueID=CALLER),
        AmiMessage([("Response", "Success"), ("ActionID", "1")]),
        AmiMessage([]),
    ],
)
def test_noise_gives_no_events(msg: AmiMessage) -> None:
    assert Feed()(0, msg) == []


@pytest.mark.parametrize(
    "msg",
    [
        caller("QueueCallerJoin", Queue="hotline", Position="first", Count="1"),
        ami("QueueCallerJoin", Position="1", Count="1"),
        queue_agent("AgentConnect", HoldTime="abc", RingTime="2"),
        queue_agent("AgentRingNoAnswer", RingTime="15s"),
        caller("QueueCallerAbandon", Queue="hotline", Position="", HoldTime="5"),
        ami("QueueMemberStatus", Interface="PJSIP/agent101", Status="1"),
    ],
)
def test_malformed_messages_are_skipped_and_the_stream_goes_on(msg: AmiMessage) -> None:
    feed = Feed()
    assert feed(0, msg) == []
    feed.answered()
    assert len(feed.of(CallAnswered)) == 1


HANDLED = [
    "QueueCallerJoin",
    "AgentCalled",
    "AgentRingNoAnswer",
    "AgentConnect",
    "AgentComplete",
    "QueueCallerAbandon",
    "QueueCallerLeave",
    "HangupRequest",
    "SoftHangupRequest",
    "Hangup",
    "Hold",
    "Unhold",
    "BlindTransfer",
    "AttendedTransfer",
    "UserEvent",
    "Shutdown",
    "DialBegin",
    "DialEnd",
    "QueueMemberStatus",
    "QueueMemberPause",
    "QueueMemberAdded",
    "QueueMemberRemoved",
]
KEYS = [
    "Uniqueid",
    "Linkedid",
    "DestUniqueid",
    "Queue",
    "Position",
    "Count",
    "HoldTime",
    "TalkTime",
    "RingTime",
    "Reason",
    "Interface",
    "Status",
    "Paused",
    "Result",
    "UserEvent",
    "Digit",
    "Cause",
    "Channel",
    "DestChannel",
    "DialString",
    "Context",
    "Exten",
    "TransfereeUniqueid",
    "Timestamp",
]
values = st.one_of(
    st.sampled_from(
        [CALLER, LEG, "hotline", "1", "-3", "nan", "", "QueueExit", "TIMEOUT", "PJSIP/agent101"]
    ),
    st.text(),
)


@settings(max_examples=300)
@given(
    st.lists(st.tuples(st.sampled_from(HANDLED), st.dictionaries(st.sampled_from(KEYS), values)))
)
def test_translate_never_raises(stream: list[tuple[str, dict[str, str]]]) -> None:
    feed = Feed()
    for second, (event, fields) in enumerate(stream):
        result = feed(second, ami(event, **fields))
        assert isinstance(result, list)


def test_property_tests_are_not_timed() -> None:
    """On the shared 2-core machine one slow example failed the property test above."""
    assert settings.default.deadline is None
    assert HealthCheck.too_slow in settings.default.suppress_health_check


def test_state_is_dropped_when_calls_end() -> None:
    feed = Feed()
    for n in range(500):
        uid = f"{n}.0"
        feed(n, caller("QueueCallerJoin", uid=uid, Queue="hotline", Position="1", Count="1"))
        feed(n, queue_agent("AgentCalled", leg=f"{n}.1", uid=uid))
    assert feed.translator.tracked_calls == 500
    for n in range(500):
        feed(n + 1, caller("Hangup", uid=f"{n}.0"))
    assert feed.translator.tracked_calls == 0
    assert len(feed.of(CallAbandoned)) == 500


def test_state_is_capped_when_ends_are_never_seen() -> None:
    translator = Translator("lab", max_calls=10, max_ended=5)
    for n in range(100):
        join = caller("QueueCallerJoin", uid=f"{n}.0", Queue="hotline", Position="1", Count="1")
        translator.translate(join, T0)
    assert translator.tracked_calls == 10


def test_snapshot_forgets_vanished_calls_and_learns_live_ones() -> None:
    feed = Feed()
    feed(0, JOIN)
    feed(0, caller("QueueCallerJoin", uid="9.0", Queue="hotline", Position="2", Count="2"))
    snapshot = PbxSnapshot(
        pbx="lab",
        at=T0 + timedelta(seconds=60),
        waiting=(WaitingCaller("lab/hotline/9.0", "hotline", "9.0", "", "", 1, 60.0),),
        connected=(
            ConnectedCall(
                call_key="lab/hotline/5.0",
                queue="hotline",
                uniqueid="5.0",
                linkedid="5.0",
                caller_number="0899999999",
                caller_name="",
                interface="PJSIP/agent102",
                member_name="Agent 102",
                talking_s=20.0,
            ),
        ),
        members=(),
    )
    feed.translator.apply_snapshot(snapshot)
    assert feed.translator.tracked_calls == 2
    assert feed(61, caller("Hangup")) == []
    done = caller(
        "AgentComplete",
        uid="5.0",
        Queue="hotline",
        Interface="PJSIP/agent102",
        TalkTime="29",
        Reason="agent",
    )
    [end] = feed(70, done)
    assert isinstance(end, CallEnded)
    assert (end.call_key, end.talk_s, end.interface) == ("lab/hotline/5.0", 30.0, "PJSIP/agent102")


def test_events_of_a_call_never_seen_make_no_call() -> None:
    """Calls that started before we listened come from the snapshot after each connect;
    an AgentComplete (or any queue event) of a call neither showed is not a call."""
    feed = Feed()
    assert feed(0, complete("agent", talk="42"), CALLED, CONNECT, LEAVE) == []
    assert feed.translator.rejects.counts == {"unknown_call": 4}
    assert feed.translator.tracked_calls == 0


def test_screen_pop_carries_the_caller() -> None:
    feed = Feed()
    [ring] = feed(0, JOIN, CALLED)[1:]
    assert isinstance(ring, AgentRinging)
    assert (ring.call_key, ring.caller_number, ring.caller_name) == (KEY, "0812345678", "Somchai")


@pytest.mark.parametrize(
    ("status", "paused", "state"),
    [
        ("1", False, "ready"),
        ("1", True, "paused"),
        ("0", False, "ready"),
        ("2", False, "in_call"),
        ("2", True, "in_call"),
        ("3", False, "in_call"),
        ("8", False, "in_call"),
        ("6", False, "ringing"),
        ("5", False, "unavailable"),
        ("4", True, "unavailable"),
        ("junk", False, "unavailable"),
    ],
)
def test_agent_state_from_device_state(status: str, paused: bool, state: str) -> None:
    assert agent_state(status, paused) == state


def test_a_pbx_restart_cuts_the_call_the_system_not_the_caller() -> None:
    """`core restart now`: SoftHangupRequest Cause 4 (shutdown) on both legs, then
    AgentComplete says Reason caller."""
    feed = Feed()
    feed.answered()
    feed(8, caller("SoftHangupRequest", Cause="4"), agent_leg("SoftHangupRequest", Cause="4"))
    [end] = feed(8, complete("caller", talk="5"))
    assert isinstance(end, CallEnded) and end.hung_up_by == "system"


def test_a_shutdown_event_makes_every_end_after_it_the_systems() -> None:
    feed = Feed()
    feed.answered()
    feed(8, ami("Shutdown", Shutdown="Cleanly", Restart="True"))
    [end] = feed(8, caller("Hangup"), complete("caller", talk="5"))
    assert isinstance(end, CallEnded) and end.hung_up_by == "system"


def test_an_ordinary_soft_hangup_leaves_the_reason_to_agent_complete() -> None:
    """Cause 16 after the agent's leg went (an AMI Hangup of it, or the agent's BYE)."""
    feed = Feed()
    feed.answered()
    feed(8, caller("SoftHangupRequest", Cause="16"))
    [end] = feed(8, complete("caller", talk="5"))
    assert isinstance(end, CallEnded) and end.hung_up_by == "caller"


def test_a_rejoin_before_the_late_agent_complete_keeps_both_calls_apart() -> None:
    """AgentComplete of the first visit may come after the caller joined again."""
    feed = Feed()
    feed.answered()
    transfer = ami(
        "BlindTransfer",
        Result="Success",
        TransfererUniqueid=LEG,
        TransfereeUniqueid=CALLER,
        Extension="1169",
    )
    feed(5, transfer)
    first_end, reached, queued = feed(5, JOIN)
    assert isinstance(first_end, CallEnded) and first_end.hung_up_by == "transfer"
    assert isinstance(reached, TransferReached) and reached.destination == "queue"
    assert isinstance(queued, CallQueued)
    assert (queued.call_key, queued.came_from) == (f"{KEY}#2", KEY)
    assert feed(5, complete("transfer", talk="3")) == []
    feed(6, queue_agent("AgentCalled", leg="1795236661.2"))
    [answer] = feed(8, queue_agent("AgentConnect", leg="1795236661.2", HoldTime="3"))
    assert isinstance(answer, CallAnswered) and answer.call_key == f"{KEY}#2"
    [end] = feed(20, queue_agent("AgentComplete", leg="1795236661.2", Reason="caller"))
    assert isinstance(end, CallEnded) and (end.call_key, end.hung_up_by) == (f"{KEY}#2", "caller")


def test_a_waiting_caller_cut_by_a_restart_did_not_abandon() -> None:
    feed = Feed()
    feed(0, JOIN)
    feed(6, caller("SoftHangupRequest", Cause="4"))
    abandon = caller(
        "QueueCallerAbandon", Queue="hotline", Position="1", OriginalPosition="1", HoldTime="6"
    )
    [out] = feed(6, abandon, LEAVE, caller("Hangup"))
    assert isinstance(out, CallExitedQueue)
    assert (out.reason, out.hung_up_by, out.wait_s) == ("unknown", "system", 6.0)
    assert feed.of(CallAbandoned) == []


def test_a_blind_transfer_outside_names_the_number_dialled() -> None:
    feed = Feed()
    feed.answered()
    transfer = ami(
        "BlindTransfer",
        Result="Success",
        TransfererUniqueid=LEG,
        TransfereeUniqueid=CALLER,
        Extension="0891234567",
    )
    [moved] = feed(5, transfer)
    assert isinstance(moved, CallTransferred)
    assert (moved.kind, moved.destination, moved.target) == ("blind", "unknown", "0891234567")
    feed(5, complete("transfer", talk="3"))
    dial = caller(
        "DialBegin",
        DestChannel="PJSIP/trunk-00000009",
        DestUniqueid="1795236670.5",
        DialString="0891234567@trunk",
    )
    [reached] = feed(5.1, dial)
    assert isinstance(reached, TransferReached)
    assert (reached.call_key, reached.destination, reached.party) == (KEY, "outside", "0891234567")
    assert feed(9, caller("Hangup")) == []  # the transferred caller's end is not an outbound call
