"""The captures behind the panel's call control: the agent's channel on the answer, who
hung up when the service ended the agent leg, and the overflow's callback request."""

from __future__ import annotations

from datetime import UTC, datetime

from calls.tracker import CallTracker
from telephony.ami.protocol import AmiMessage
from telephony.events import CallAnswered, CallbackRequested, make_call_key
from telephony.translate import Translator
from tests.telephony.test_traces import PBX, MemorySink, ami_messages


def answers(capture: str) -> list[CallAnswered]:
    translator = Translator(PBX)
    return [
        event
        for msg, at in ami_messages(capture)
        for event in translator.translate(msg, at)
        if isinstance(event, CallAnswered)
    ]


def test_the_answer_names_the_agents_own_channel() -> None:
    channels = [a.agent_channel for a in answers("attended-transfer-ami.txt")]
    assert channels == ["PJSIP/agent101-0000001c", "PJSIP/agent101-0000001e"]


async def test_a_hangup_the_agent_asked_for_is_the_agents_not_the_callers() -> None:
    """AMI Hangup of the agent leg reports AgentComplete Reason caller (redirect-hangup)."""
    translator, sink = Translator(PBX), MemorySink()
    tracker = CallTracker(sink)
    for msg, at in ami_messages("redirect-hangup-ami.txt"):
        for event in translator.translate(msg, at):
            await tracker.handle(event)
            if isinstance(event, CallAnswered) and event.caller_number == "0811000501":
                tracker.hangup_requested(PBX, event.agent_channel, by="agent")
    by_caller = {r.caller_number: r for r in sink.rows.values()}
    assert by_caller["0811000501"].hung_up_by == "agent"
    assert by_caller["0811000501"].end_reason == "completed"


def test_the_overflows_callback_request_becomes_a_typed_event() -> None:
    """Shaped exactly as the dialplan sends it: the channel block, then its own fields
    (Uniqueid twice, as UserEvent repeats keys)."""
    at = datetime(2026, 12, 2, 9, 23, 16, tzinfo=UTC)
    message = AmiMessage(
        [
            ("Event", "UserEvent"),
            ("Privilege", "user,all"),
            ("Channel", "PJSIP/trunk-00000025"),
            ("CallerIDNum", "0811000901"),
            ("Uniqueid", "1796203387.39"),
            ("Linkedid", "1796203387.39"),
            ("UserEvent", "CallbackRequest"),
            ("Queue", "hotline"),
            ("Number", "0811000901"),
            ("Uniqueid", "1796203387.39"),
        ]
    )
    assert Translator(PBX).translate(message, at) == [
        CallbackRequested(
            pbx=PBX,
            at=at,
            queue="hotline",
            number="0811000901",
            uniqueid="1796203387.39",
            call_key=make_call_key(PBX, "hotline", "1796203387.39"),
        )
    ]


def test_other_user_events_and_a_request_without_a_queue_give_nothing() -> None:
    at = datetime(2026, 12, 2, tzinfo=UTC)
    translator = Translator(PBX)
    exit_event = AmiMessage([("Event", "UserEvent"), ("UserEvent", "SurveyResult")])
    broken = AmiMessage([("Event", "UserEvent"), ("UserEvent", "CallbackRequest")])
    assert translator.translate(exit_event, at) == []
    assert translator.translate(broken, at) == []
