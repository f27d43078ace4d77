"""Caller-ID names reach every event, the screen-pop and the database as the caller's phone
sent them: Asterisk's manager C-escapes them (main/utils.c ast_escape_c), hotline undoes
exactly that once, in telephony.callerid."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calls.repository import CallRepository
from calls.tracker import CallTracker
from database.pool import Database
from telephony.ami.protocol import AmiMessage, FrameParser
from telephony.callerid import caller_id_text, unescape_name
from telephony.events import AgentRinging, CallQueued
from telephony.resync import build_snapshot
from telephony.translate import Translator

AT = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

# What ast_escape_c does to each character it escapes (everything else is copied).
_ASTERISK_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "?": "\\?",
}


def as_asterisk_sends(name: str) -> str:
    """The test's own model of Asterisk's escaping, written from utils.c's table."""
    return "".join(_ASTERISK_ESCAPES.get(c, c) for c in name)


@pytest.mark.parametrize(
    ("wire", "sent"),
    [
        ("\\'; DROP TABLE calls;--", "'; DROP TABLE calls;--"),
        ('<script>alert(\\"x\\")</script>', '<script>alert("x")</script>'),
        ("C:\\\\temp\\\\x", "C:\\temp\\x"),
        ("Why\\?", "Why?"),
        ("tab\\there\\nnew line\\r\\a\\b\\f\\v", "tab\there\nnew line\r\a\b\f\v"),
        ("สมชาย ใจดี", "สมชาย ใจดี"),
        ("a \\x b \\0 \\", "a \\x b \\0 \\"),  # never produced by Asterisk: left alone
    ],
)
def test_names_are_unescaped_exactly_as_asterisk_escapes(wire: str, sent: str) -> None:
    assert unescape_name(wire) == sent


@given(st.text())
def test_unescaping_undoes_asterisks_escaping_of_any_name(name: str) -> None:
    assert unescape_name(as_asterisk_sends(name)) == name


def test_numbers_are_sent_raw_and_kept_raw() -> None:
    msg = AmiMessage(
        [("CallerIDNum", "08\\'1"), ("CallerIDName", "\\'x"), ("ConnectedLineName", "<unknown>")]
    )
    assert caller_id_text(msg, "CallerIDNum") == "08\\'1"
    assert caller_id_text(msg, "CallerIDName") == "'x"
    assert caller_id_text(msg, "ConnectedLineName") == ""


def frame(name: bytes, event: bytes = b"QueueCallerJoin", extra: bytes = b"") -> bytes:
    return (
        b"Event: " + event + b"\r\nPrivilege: agent,all\r\nChannel: PJSIP/trunk-00000001\r\n"
        b"CallerIDNum: 0812345678\r\nCallerIDName: " + name + b"\r\n"
        b"Uniqueid: 1796200000.1\r\nLinkedid: 1796200000.1\r\nQueue: hotline\r\n" + extra + b"\r\n"
    )


HOSTILE = [
    (b"\\'; DROP TABLE calls;--", "'; DROP TABLE calls;--"),
    (b'<img src=x onerror=alert(1)> \\"q\\"', '<img src=x onerror=alert(1)> "q"'),
    (b"Caf\xc3\xa9 \xff\xfe\\?", "Café \ufffd\ufffd?"),
    (b"\\\\" * 3000, "\\" * 200),
]


@pytest.mark.parametrize(("wire", "stored"), HOSTILE)
async def test_hostile_names_are_stored_as_the_phone_sent_them(
    db: Database, wire: bytes, stored: str
) -> None:
    parser, translator = FrameParser(), Translator("lab")
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    repo = CallRepository(db.pool)
    tracker = CallTracker(repo)
    join = frame(wire, extra=b"Position: 1\r\nCount: 1\r\n")
    called = frame(
        wire,
        b"AgentCalled",
        b"Interface: PJSIP/agent101\r\nMemberName: Agent 101\r\n"
        b"DestChannel: PJSIP/agent101-00000002\r\nDestUniqueid: 1796200000.2\r\n",
    )
    events = []
    for msg in parser.feed(join + called):
        for event in translator.translate(msg, AT):
            events.append(event)
            await tracker.handle(event)
    queued, ringing = events
    assert isinstance(queued, CallQueued) and isinstance(ringing, AgentRinging)
    assert queued.caller_name == ringing.caller_name
    assert ringing.caller_name[:200] == stored
    row = await repo.get_call("lab/hotline/1796200000.1")
    assert row is not None and row.caller_name == stored


def test_waiting_callers_of_a_snapshot_are_unescaped_too() -> None:
    entry = AmiMessage(
        [
            ("Event", "QueueEntry"),
            ("Queue", "hotline"),
            ("Position", "1"),
            ("Uniqueid", "1796200000.1"),
            ("CallerIDNum", "0812345678"),
            ("CallerIDName", 'O\\\'Brien \\"Jr\\"'),
            ("Wait", "3"),
        ]
    )
    snapshot = build_snapshot("lab", AT, [entry], [])
    assert [w.caller_name for w in snapshot.waiting] == ['O\'Brien "Jr"']
