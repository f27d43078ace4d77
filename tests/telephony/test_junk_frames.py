"""Junk stays junk: AMI frames that name no known call, or name it badly (missing or
truncated ids, a key given twice with two values, an interface cut short), never become
calls nor change the real ones; they are counted by reason in /metrics and logged
sparingly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import asyncpg
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from calls.record import CallRecord
from calls.tracker import CallTracker
from config.settings import load_settings
from hotline.app import create_app
from pbxsim import PbxSimulator
from telephony.ami.protocol import AmiMessage
from telephony.translate import Translator
from tests.foundation.conftest import MONITOR, MONITORING_TOKEN
from tests.telephony.test_traces import PBX, MemorySink, ami_messages

REAL = ["answered-call.txt", "all-agents-busy-queue-wait.txt", "abandoned-call.txt"]
IDS = ("Uniqueid", "Linkedid", "DestUniqueid")
CALL_EVENTS = frozenset(
    {
        "QueueCallerJoin",
        "AgentCalled",
        "AgentConnect",
        "AgentComplete",
        "AgentRingNoAnswer",
        "QueueCallerAbandon",
        "QueueCallerLeave",
    }
)


def real_stream() -> list[tuple[AmiMessage, float]]:
    """The three captures one after the other, as (message, seconds since the first)."""
    stream: list[tuple[AmiMessage, float]] = []
    offset = 0.0
    for name in REAL:
        messages = ami_messages(name)
        first = messages[0][1]
        stream.extend((msg, offset + (at - first).total_seconds()) for msg, at in messages)
        offset = stream[-1][1] + 1
    return stream


STREAM = real_stream()
START = ami_messages(REAL[0])[0][1]
CALL_FRAMES = [msg for msg, _ in STREAM if msg.name in CALL_EVENTS]


def cut(value: str) -> str:
    """A value cut short the way a broken link cuts it: an id before its dot, a name mid-way."""
    dot = value.find(".")
    return value[: max(1, dot)] if dot > 0 else value[: max(1, len(value) // 2)]


def mutate(msg: AmiMessage, how: str, junk: str) -> AmiMessage:
    pairs = list(msg.pairs)
    if how == "drop_id":
        pairs = [(k, v) for k, v in pairs if k not in ("Uniqueid", "Queue")]
    elif how == "cut_id":
        pairs = [(k, cut(v) if k == "Uniqueid" else v) for k, v in pairs]
    elif how == "cut_interface":
        pairs = [(k, cut(v) if k in ("Interface", "DestChannel") else v) for k, v in pairs]
        if not any(k == "DestChannel" for k, _ in pairs):
            pairs = [(k, v) for k, v in pairs if k != "Uniqueid"]
    elif how == "twice":
        pairs.append(("Uniqueid", "1700000000." + str(len(junk))))
    elif how == "again" and msg.name == "QueueCallerJoin":
        pass  # the very frame once more, right after itself (a proxy sending it twice)
    elif how == "unknown_call" and msg.name != "QueueCallerJoin":
        unknown = "1600000000." + str(len(junk) + 1)
        pairs = [(k, unknown if k in IDS else v) for k, v in pairs]
    else:
        pairs = [("Event", junk or "x"), *((k, junk) for k, _ in pairs[1:4])]
    return AmiMessage(pairs)


def refused(frame: AmiMessage) -> bool:
    """A call event that must be counted: all but an AgentComplete without its caller block,
    which real Asterisk sends once the caller's channel is gone (nothing to decide then)."""
    late_complete = frame.name == "AgentComplete" and not frame.get("Uniqueid")
    return frame.name in CALL_EVENTS and not (late_complete and bool(frame.get("DestUniqueid")))


def right_after(frame: AmiMessage) -> int:
    return next(n for n, (msg, _) in enumerate(STREAM) if msg is frame) + 1


HOW = ["drop_id", "cut_id", "cut_interface", "twice", "unknown_call", "again", "garbage"]
junk_frames = st.lists(
    st.tuples(
        st.integers(0, len(STREAM)),
        st.sampled_from(CALL_FRAMES),
        st.sampled_from(HOW),
        st.text(max_size=12),
    ),
    max_size=60,
)


async def stored(stream: list[tuple[AmiMessage, float]]) -> tuple[dict[str, CallRecord], int]:
    translator, sink = Translator(PBX), MemorySink()
    tracker = CallTracker(sink)
    for msg, second in stream:
        for event in translator.translate(msg, START + timedelta(seconds=second)):
            await tracker.handle(event)
    return sink.rows, sum(translator.rejects.counts.values())


CLEAN_ROWS = asyncio.run(stored(STREAM))[0]


@settings(max_examples=60)
@given(junk_frames)
def test_fuzzed_frames_around_real_calls_store_exactly_the_real_calls(
    junk: list[tuple[int, AmiMessage, str, str]],
) -> None:
    placed = [
        (right_after(frame) if how == "again" else position, mutate(frame, how, text))
        for position, frame, how, text in junk
    ]
    stream = list(STREAM)
    for position, frame in sorted(placed, key=lambda j: -j[0]):
        second = stream[min(position, len(stream) - 1)][1]
        stream.insert(position, (frame, second))
    rows, rejected = asyncio.run(stored(stream))
    assert {key: asdict(r) for key, r in rows.items()} == {
        key: asdict(r) for key, r in CLEAN_ROWS.items()
    }
    assert len(rows) == 7
    assert rejected == sum(1 for _, frame in placed if refused(frame))


def test_each_kind_of_junk_is_counted_under_its_reason() -> None:
    translator = Translator(PBX)
    join = next(msg for msg in CALL_FRAMES if msg.name == "QueueCallerJoin")
    called = next(msg for msg in CALL_FRAMES if msg.name == "AgentCalled")
    for msg in (
        mutate(called, "unknown_call", ""),
        mutate(join, "cut_id", ""),
        mutate(called, "cut_interface", ""),
        mutate(join, "twice", ""),
        mutate(join, "drop_id", ""),
    ):
        assert translator.translate(msg, START) == []
    assert translator.rejects.counts == {
        "unknown_call": 1,
        "bad_id": 1,
        "bad_interface": 1,
        "conflicting_keys": 1,
        "missing_field": 1,
    }
    assert translator.tracked_calls == 0


def test_a_flood_of_junk_is_logged_once_a_minute_with_how_much_was_left_unsaid() -> None:
    translator = Translator(PBX)
    called = next(msg for msg in CALL_FRAMES if msg.name == "AgentCalled")
    junk = mutate(called, "unknown_call", "")
    with capture_logs() as logs:
        for n in range(1000):
            translator.translate(junk, START + timedelta(seconds=n * 0.1))
        translator.translate(junk, START + timedelta(seconds=120))
    lines = [entry for entry in logs if entry["event"] == "ami_frame_rejected"]
    assert [(e["reason"], e["not_logged_since"]) for e in lines] == [
        ("unknown_call", 0),
        ("unknown_call", 599),
        ("unknown_call", 399),
    ]
    assert translator.rejects.counts["unknown_call"] == 1001


async def scrape(client: TestClient, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = await (await client.get("/metrics", headers=MONITOR)).text()
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not seen within 10 s")


async def test_rejected_frames_show_in_metrics_by_reason(fresh_db_url: str, tmp_path: Path) -> None:
    """Through the simulator's TCP AMI and the whole service: counted, and no call row."""
    async with PbxSimulator.lab(speed=50.0) as sim:
        host, port = sim.address
        pbx = {"name": "pbx1", "host": host, "port": port, "username": "hotline"}
        settings = load_settings(
            database_url=fresh_db_url,
            data_dir=tmp_path,
            pbx=[{**pbx, "secret": "hotline"}],
            security={"monitoring_token": MONITORING_TOKEN},
        )
        async with TestClient(TestServer(create_app(settings))) as client:

            async def linked() -> bool:
                up = await scrape(client, "hotline_pbx_link_up")
                return up.get((("pbx", "pbx1"),)) == 1

            await eventually(linked, "link up")
            called = next(msg for msg in CALL_FRAMES if msg.name == "AgentCalled")
            for _ in range(3):
                sim.emit(list(mutate(called, "unknown_call", "").pairs))
            sim.emit(list(mutate(called, "cut_interface", "").pairs))

            async def counted() -> bool:
                rejected = await scrape(client, "hotline_ami_frames_rejected_total")
                return (
                    rejected.get((("pbx", "pbx1"), ("reason", "unknown_call"))) == 3
                    and rejected.get((("pbx", "pbx1"), ("reason", "bad_interface"))) == 1
                )

            await eventually(counted, "rejected frames in /metrics")
    conn = await asyncpg.connect(fresh_db_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM calls") == 0
    finally:
        await conn.close()
