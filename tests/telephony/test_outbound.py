"""Calls agents make out through a trunk: one OutboundCallEnded each, answered or not, and
nothing for dials that are not calls out (the queue's own ringing, a survey Originate)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telephony.ami.protocol import AmiMessage
from telephony.events import OutboundCallEnded, TelephonyEvent
from telephony.translate import Translator

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
AGENT = [
    ("Channel", "PJSIP/agent102-0000000a"),
    ("Uniqueid", "1796200000.10"),
    ("Linkedid", "1796200000.10"),
]


def ami(event: str, *pairs: tuple[str, str]) -> AmiMessage:
    return AmiMessage([("Event", event), *pairs])


def feed(*steps: tuple[float, AmiMessage]) -> list[TelephonyEvent]:
    translator = Translator("lab")
    out: list[TelephonyEvent] = []
    for second, msg in steps:
        out += translator.translate(msg, T0 + timedelta(seconds=second))
    assert translator.tracked_calls == 0
    return out


def test_an_unanswered_call_out_is_reported_unanswered() -> None:
    dial = ami(
        "DialBegin",
        *AGENT,
        ("DestChannel", "PJSIP/trunk-0000000b"),
        ("DestUniqueid", "1796200000.11"),
        ("DialString", "0899999999@trunk"),
    )
    no_answer = ami(
        "DialEnd", *AGENT, ("DestUniqueid", "1796200000.11"), ("DialStatus", "NOANSWER")
    )
    [out] = feed((1, dial), (31, no_answer), (31, ami("Hangup", *AGENT)))
    assert isinstance(out, OutboundCallEnded)
    assert (out.interface, out.number, out.callback) == ("PJSIP/agent102", "0899999999", "")
    assert (out.answered, out.talk_s, out.at) == (False, 0.0, T0 + timedelta(seconds=31))


def test_dials_that_are_not_calls_out_report_nothing() -> None:
    to_phone = ami(
        "DialBegin",
        *AGENT,
        ("DestChannel", "PJSIP/agent103-0000000c"),
        ("DialString", "agent103"),
    )
    survey = ami(  # an Originate's own dial has no calling channel
        "DialBegin", ("DestChannel", "PJSIP/trunk-0000000d"), ("DialString", "0812345678@trunk")
    )
    assert feed((1, to_phone), (2, survey), (9, ami("Hangup", *AGENT))) == []
