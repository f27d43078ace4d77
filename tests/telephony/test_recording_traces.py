"""mixmonitor.txt (Asterisk 22): what the recording of a queue call looks like on AMI.

Call 1 is recorded over AMI after the answer: MixMonitorStart, a mute and an unmute, and
StopMixMonitor's MixMonitorStop, all on the caller's channel. Call 2 is recorded by the
dialplan before Queue(): its MixMonitorStart comes before the caller joins (a call hotline
has not seen) and its hang-up sends no MixMonitorStop at all.
"""

from __future__ import annotations

from telephony.events import (
    CallAnswered,
    CallEnded,
    RecordingMuted,
    RecordingNoticePlayed,
    RecordingStarted,
    RecordingStopped,
    TelephonyEvent,
    make_call_key,
)
from telephony.translate import Translator
from tests.telephony.test_traces import PBX, ami_messages
from tests.telephony.test_translate import ami

FIRST = make_call_key(PBX, "hotline", "1796205186.92")
SECOND = make_call_key(PBX, "hotline", "1796205200.94")
RECORDING = (RecordingStarted, RecordingMuted, RecordingStopped)


def replayed() -> list[TelephonyEvent]:
    translator = Translator(PBX)
    return [e for msg, at in ami_messages("mixmonitor.txt") for e in translator.translate(msg, at)]


def test_the_answer_names_the_callers_channel_the_recording_runs_on() -> None:
    answers = [e for e in replayed() if isinstance(e, CallAnswered)]
    assert [(a.call_key, a.caller_channel) for a in answers] == [
        (FIRST, "PJSIP/trunk-00000058"),
        (SECOND, "PJSIP/trunk-0000005a"),
    ]


def test_mixmonitor_events_become_typed_recording_events_of_the_call() -> None:
    events = [e for e in replayed() if isinstance(e, (*RECORDING, CallAnswered, CallEnded))]
    first = [(type(e).__name__, getattr(e, "muted", None)) for e in events if e.call_key == FIRST]
    assert first == [
        ("CallAnswered", None),
        ("RecordingStarted", None),
        ("RecordingMuted", True),
        ("RecordingMuted", False),
        ("RecordingStopped", None),
        ("CallEnded", None),
    ]


def test_a_dialplan_recording_ended_by_the_hangup_sends_no_stop() -> None:
    """Its start came before the join (not a call yet) and nothing at all ends it."""
    second = [type(e).__name__ for e in replayed() if getattr(e, "call_key", "") == SECOND]
    assert "RecordingStarted" not in second and "RecordingStopped" not in second
    assert second[-1] == "CallEnded"


def test_the_dialplans_notice_names_the_queue_call_the_caller_is_about_to_make() -> None:
    translator = Translator(PBX)
    notice = ami(
        "UserEvent",
        Channel="PJSIP/trunk-00000058",
        Uniqueid="1796205186.92",
        UserEvent="RecordingNotice",
        Queue="hotline",
        Language="en",
        Languages="th+en",
    )
    at = replayed()[0].at
    [event] = translator.translate(notice, at)
    assert event == RecordingNoticePlayed(PBX, at, FIRST, "th+en")
    for msg, received in ami_messages("mixmonitor.txt"):
        translator.translate(msg, received)
    [again] = translator.translate(notice, at)
    assert isinstance(again, RecordingNoticePlayed) and again.call_key == f"{FIRST}#2"
