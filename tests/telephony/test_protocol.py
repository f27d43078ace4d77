from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from telephony.ami.capture import read_capture
from telephony.ami.protocol import AmiMessage, FrameParser, encode_action
from tests.fixtures import AMI_CAPTURES, AMI_TRACES

THAI = "สมชาย ใจดี"
THAI_FRAME = (
    "Event: QueueCallerJoin\r\nCallerIDName: " + THAI + "\r\nUniqueid: 1.1\r\n\r\n"
).encode()
STREAM = (
    b"Asterisk Call Manager/11.0.0\r\n"
    + b"Response: Success\r\nActionID: a-1\r\nMessage: Authentication accepted\r\n\r\n"
    + THAI_FRAME
    + b"Event: Hangup\r\nCause: 16\r\n\r\n"
)


def rx_bytes(path: Path) -> bytes:
    return b"".join(item.data for item in read_capture(path) if item.kind == "rx")


def parse_all(chunks: list[bytes], parser: FrameParser | None = None) -> list[AmiMessage]:
    parser = parser or FrameParser()
    out: list[AmiMessage] = []
    for chunk in chunks:
        out += parser.feed(chunk)
    return out


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted(set(cuts)), len(data)]
    return [data[a:b] for a, b in pairwise(points)]


@pytest.mark.parametrize("capture", AMI_CAPTURES)
def test_every_capture_parses_into_one_message_per_received_item(capture: str) -> None:
    items = [item for item in read_capture(AMI_TRACES / capture) if item.kind == "rx"]
    parser = FrameParser()
    messages = parse_all([item.data for item in items], parser)
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert parser.malformed == 0
    assert len(messages) == len(items) - 1
    assert all(m.name is not None or m.is_response for m in messages)


def test_capture_split_at_every_byte_gives_the_same_messages() -> None:
    data = rx_bytes(AMI_TRACES / "member-pause.txt")
    whole = parse_all([data])
    assert parse_all([data[i : i + 1] for i in range(len(data))]) == whole


@settings(max_examples=200)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_stream_split_anywhere_keeps_thai_names_intact(cuts: list[int]) -> None:
    messages = parse_all(split_at(STREAM, cuts))
    assert [m.name for m in messages] == [None, "QueueCallerJoin", "Hangup"]
    assert messages[1]["CallerIDName"] == THAI


def test_split_inside_a_thai_character() -> None:
    cut = THAI_FRAME.index(THAI.encode()) + 1
    parser = FrameParser()
    assert parser.feed(THAI_FRAME[:cut]) == []
    (message,) = parser.feed(THAI_FRAME[cut:])
    assert message["CallerIDName"] == THAI


def test_repeated_keys_are_kept_in_order() -> None:
    messages = parse_all([rx_bytes(AMI_TRACES / "originate-survey-local.txt")])
    (user_event,) = [m for m in messages if m.name == "UserEvent"]
    assert user_event.getall("Linkedid") == ["1795236792.28", "1795236792.28"]
    keys = [key for key, _ in user_event]
    assert keys.index("UserEvent") < len(keys) - 1 and keys[-1] == "Linkedid"


def test_lookup_is_case_insensitive_and_reports_missing_keys() -> None:
    msg = AmiMessage([("Event", "Hangup"), ("ActionID", "x-1"), ("Cause", "16")])
    assert msg["cause"] == msg["CAUSE"] == "16"
    assert msg.get("Missing") is None
    assert msg.get("Missing", "d") == "d"
    assert msg.getall("missing") == []
    assert "uniqueid" not in msg and "cause" in msg
    assert msg.name == "Hangup" and msg.action_id == "x-1" and not msg.is_response
    with pytest.raises(KeyError):
        msg["Uniqueid"]
    with pytest.raises(AttributeError):
        msg.body = "changed"


def test_response_without_event_has_no_name() -> None:
    (msg,) = FrameParser().feed(
        b"Response: Error\r\nActionID: 7\r\nMessage: Interface not found\r\n\r\n"
    )
    assert msg.is_response and msg.name is None and msg.action_id == "7"
    assert msg["Message"] == "Interface not found"


def test_lone_lf_framing_is_tolerated() -> None:
    messages = FrameParser().feed(b"Event: A\nX: 1\n\nEvent: B\r\nY: 2\r\n\r\n")
    assert [(m.name, len(m)) for m in messages] == [("A", 2), ("B", 2)]


def test_non_utf8_bytes_become_replacement_characters() -> None:
    (msg,) = FrameParser().feed(b"Event: Newchannel\r\nCallerIDName: Jos\xe9 \xff\r\n\r\n")
    assert msg["CallerIDName"] == "Jos\ufffd \ufffd"


def test_empty_value_and_value_containing_separator() -> None:
    (msg,) = FrameParser().feed(b"Event: X\r\nPausedReason: \r\nAppData: a: b\r\nBare:\r\n\r\n")
    assert msg["PausedReason"] == "" and msg["AppData"] == "a: b" and msg["Bare"] == ""


def test_malformed_frame_is_skipped_and_counted_and_parsing_goes_on() -> None:
    parser = FrameParser()
    messages = parser.feed(
        b"Event: Bad\r\nthis line has no separator\r\n\r\n"
        b"<script>alert(1)</script>\r\n\r\n"
        b"Event: Good\r\nName: <b>x</b>\r\n\r\n"
    )
    assert [m.name for m in messages] == ["Good"]
    assert messages[0]["Name"] == "<b>x</b>"
    assert parser.malformed == 2


def test_command_output_lines_are_kept_as_body() -> None:
    (msg,) = FrameParser().feed(
        b"Response: Follows\r\nPrivilege: Command\r\nline one\r\nno: colon here\r\n"
        b"--END COMMAND--\r\n\r\n"
    )
    assert msg["Privilege"] == "Command"
    assert msg.body == "line one\nno: colon here\n--END COMMAND--"


def test_oversized_frame_is_dropped_and_memory_stays_bounded() -> None:
    parser = FrameParser(max_frame=1024)
    out = parser.feed(b"Event: Huge\r\nData: ")
    for _ in range(100):
        out += parser.feed(b"x" * 500)
        assert len(parser._buf) <= 1024 + 500
    out += parser.feed(b"\r\n\r\nEvent: After\r\nA: 1\r\n\r\n")
    assert [m.name for m in out] == ["After"]
    assert parser.oversized == 1


def test_oversized_frame_received_in_one_read_is_dropped() -> None:
    parser = FrameParser(max_frame=64)
    data = b"Event: Huge\r\nData: " + b"y" * 200 + b"\r\n\r\nEvent: Next\r\n\r\n"
    assert [m.name for m in parser.feed(data)] == ["Next"]
    assert parser.oversized == 1


def test_banner_split_across_reads() -> None:
    parser = FrameParser()
    assert parser.feed(b"Asterisk Call") == []
    assert parser.feed(b" Manager/11.0.0\r") == []
    (msg,) = parser.feed(b"\nResponse: Success\r\n\r\n")
    assert parser.banner == "Asterisk Call Manager/11.0.0" and msg.is_response


def test_stream_without_banner() -> None:
    parser = FrameParser()
    (msg,) = parser.feed(b"Event: FullyBooted\r\n\r\n")
    assert parser.banner is None and msg.name == "FullyBooted"


def test_encode_action_uses_crlf_and_keeps_repeated_variables() -> None:
    data = encode_action(
        "Originate",
        [("Channel", "PJSIP/0812345678@trunk"), ("Variable", "A=1"), ("Variable", "B=สอง")],
    )
    assert (
        data
        == (
            "Action: Originate\r\nChannel: PJSIP/0812345678@trunk\r\n"
            "Variable: A=1\r\nVariable: B=สอง\r\n\r\n"
        ).encode()
    )
    (parsed,) = FrameParser().feed(data)
    assert parsed.getall("Variable") == ["A=1", "B=สอง"]


def test_encode_action_accepts_a_mapping() -> None:
    assert encode_action("Ping", {"ActionID": "p-1"}) == b"Action: Ping\r\nActionID: p-1\r\n\r\n"


@pytest.mark.parametrize(
    "fields",
    [
        {"Reason": "lunch\r\nAction: Hangup"},
        {"Reason": "lunch\nx"},
        {"Reason": "lunch\rx"},
        {"Bad\r\nKey": "v"},
        {"Key: x": "v"},
        {"": "v"},
        {"Two words": "v"},
        {"ชื่อ": "v"},
    ],
)
def test_encode_action_rejects_header_injection(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        encode_action("QueuePause", fields)


def test_message_encode_round_trips() -> None:
    msg = AmiMessage([("Event", "UserEvent"), ("Linkedid", "1"), ("Linkedid", "2")])
    assert FrameParser().feed(msg.encode()) == [msg]


def test_read_capture_items() -> None:
    items = read_capture(AMI_TRACES / "member-pause.txt")
    banner = items[0]
    assert banner.is_banner and banner.data == b"Asterisk Call Manager/11.0.0\r\n"
    assert banner.at is not None and banner.at.tzinfo is not None
    login = items[1]
    assert login.kind == "tx" and login.data.startswith(b"Action: Login\r\nUsername: hotline\r\n")
    notes = [item for item in items if item.kind == "note"]
    assert notes and notes[0].text.startswith("QueuePause agent101")
    error = [item for item in items if item.kind == "rx" and b"Interface not found" in item.data]
    assert error[0].data == (
        b"Response: Error\r\nActionID: member-pause-7\r\nMessage: Interface not found\r\n\r\n"
    )
    offsets = [item.offset for item in items]
    assert offsets == sorted(offsets)


HEADER_KEYS = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True)
# NULs are removed on the way in (a test of its own), so the round trip leaves them out.
HEADER_VALUES = st.text(max_size=40).filter(lambda v: not {"\r", "\n", "\x00"} & set(v))


@settings(max_examples=150)
@given(
    st.lists(
        st.tuples(
            st.lists(st.tuples(HEADER_KEYS, HEADER_VALUES), min_size=1, max_size=6), st.booleans()
        ),
        max_size=4,
    ),
    st.lists(st.integers(min_value=0, max_value=2000), max_size=8),
)
def test_any_messages_survive_encoding_lf_framing_and_arbitrary_splits(
    frames: list[tuple[list[tuple[str, str]], bool]], cuts: list[int]
) -> None:
    messages = [AmiMessage(pairs) for pairs, _ in frames]
    stream = b"".join(
        m.encode().replace(b"\r\n", b"\n") if lone_lf else m.encode()
        for m, (_, lone_lf) in zip(messages, frames, strict=True)
    )
    assert parse_all(split_at(stream, [c for c in cuts if c <= len(stream)])) == messages


def test_nul_bytes_are_removed_from_every_field_and_the_frame_is_logged() -> None:
    parser = FrameParser()
    with structlog.testing.capture_logs() as logs:
        (msg,) = parser.feed(
            b"Event: Newchannel\r\nCallerIDName: Som\x00chai\r\nUniqueid: 17\x00.2\r\n\r\n"
        )
    assert (msg["CallerIDName"], msg["Uniqueid"]) == ("Somchai", "17.2")
    assert not any("\x00" in key + value for key, value in msg)
    assert parser.stats.cleaned == 1
    assert [e["event"] for e in logs] == ["ami_frame_nul_removed"]


def test_a_frame_ending_in_stray_crs_is_counted_and_never_swallows_the_next_event() -> None:
    parser = FrameParser()
    with structlog.testing.capture_logs() as logs:
        messages = parser.feed(
            b"Event: Hangup\r\nUniqueid: 1.1\r\r\n\r\r\nEvent: Hangup\r\nUniqueid: 2.2\r\n\r\n"
        )
    assert [m["Uniqueid"] for m in messages] == ["2.2"]
    assert parser.malformed == 1
    assert [e["event"] for e in logs] == ["ami_frame_malformed"]


def test_a_flood_of_junk_is_logged_sparingly_but_every_frame_is_counted() -> None:
    parser = FrameParser()
    with structlog.testing.capture_logs() as logs:
        parser.feed(b"junk\r\n\r\n" * 2500 + b"Event: After\r\n\r\n")
    assert parser.malformed == 2500
    assert len(logs) == 12
