"""Every real Asterisk capture, replayed through framing, translation, the tracker and the
floor, gives the call records a person reading the capture would write down, and the live
picture a supervisor would expect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from calls.floor import Floor
from calls.record import RECORD_FIELDS, CallRecord
from calls.repository import CallRepository
from calls.tracker import CallTracker
from database.pool import Database
from pbxsim import PbxSimulator
from telephony.ami.capture import read_capture
from telephony.ami.protocol import AmiMessage, FrameParser
from telephony.config import PbxConfig
from telephony.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    PbxSnapshot,
    RingNoAnswer,
    TelephonyEvent,
)
from telephony.service import TelephonyService
from telephony.translate import Translator
from tests.fixtures import AGI_SESSION, AMI_CAPTURES, AMI_TRACES

PBX = "lab"


@dataclass
class MemorySink:
    """A CallSink that keeps every save, and the last one per call as the stored row."""

    saves: list[CallRecord] = field(default_factory=list)
    rows: dict[str, CallRecord] = field(default_factory=dict)

    async def save_call(self, record: CallRecord) -> None:
        self.saves.append(record)
        self.rows[record.call_key] = record


@dataclass
class Replay:
    events: list[TelephonyEvent]
    sink: MemorySink
    floor: Floor
    translator: Translator

    def by_caller(self) -> dict[str, CallRecord]:
        return {r.caller_number or "": r for r in self.sink.rows.values()}


def ami_messages(name: str) -> list[tuple[AmiMessage, datetime]]:
    parser = FrameParser()
    out: list[tuple[AmiMessage, datetime]] = []
    for item in read_capture(AMI_TRACES / name):
        if item.kind == "rx" and item.at is not None:
            out.extend((msg, item.at) for msg in parser.feed(item.data))
    return out


async def replay(name: str, until: datetime | None = None) -> Replay:
    """The capture's events (those received before `until`) through a tracker and a floor."""
    translator = Translator(PBX)
    sink = MemorySink()
    tracker, floor = CallTracker(sink), Floor(wrapup_s=0)
    events: list[TelephonyEvent] = []
    for msg, received in ami_messages(name):
        if until is not None and received >= until:
            break
        for event in translator.translate(msg, received):
            events.append(event)
            await tracker.handle(event)
            await floor.handle(event)
    return Replay(events, sink, floor, translator)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def board(result: Replay) -> dict[str, Any]:
    """The floor as the supervisors' board shows it, at the last event of the replay."""
    return result.floor.view(result.events[-1].at)


def assert_closed_cleanly(result: Replay) -> None:
    """Every call ended, nobody waits or talks, nothing left open or remembered."""
    assert all(record.ended_at is not None for record in result.sink.rows.values())
    view = board(result)
    assert [q["waiting"] for q in view["queues"]] == [[]] * len(view["queues"])
    assert [a["call"] for a in view["agents"]] == [None] * len(view["agents"])
    assert result.translator.tracked_calls == 0


async def test_answered_call() -> None:
    result = await replay("answered-call.txt")
    assert list(result.sink.rows) == ["lab/hotline/1795236655.0"]
    call = result.sink.rows["lab/hotline/1795236655.0"]
    assert (call.pbx, call.queue, call.uniqueid, call.linkedid) == (
        "lab",
        "hotline",
        "1795236655.0",
        "1795236655.0",
    )
    assert call.caller_number == "15550101"
    assert call.caller_name == "Customer 15550101"
    assert call.agent_interface == "PJSIP/agent101"
    assert call.agent_name == "Agent 101"
    assert call.joined_at == at("2026-11-21T04:50:56.163688")
    assert call.ringing_at == at("2026-11-21T04:50:56.165322")
    assert call.answered_at == at("2026-11-21T04:50:58.170234")
    assert call.ended_at == at("2026-11-21T04:51:01.171529")
    assert call.wait_s == pytest.approx(2.0, abs=0.05)
    assert call.ring_s == pytest.approx(2.0, abs=0.05)
    assert call.talk_s == pytest.approx(3.0, abs=0.05)
    assert call.hold_s == 0
    assert (call.hung_up_by, call.end_reason, call.abandoned) == ("caller", "completed", False)
    assert call.recovered is False
    assert_closed_cleanly(result)


async def test_answered_call_events_for_the_panel() -> None:
    result = await replay("answered-call.txt")
    kinds = [type(e).__name__ for e in result.events if not type(e).__name__.startswith("Agent")]
    assert kinds == ["CallQueued", "CallAnswered", "CallEnded"]
    ringing = [e for e in result.events if isinstance(e, AgentRinging)]
    assert [(r.interface, r.caller_number) for r in ringing] == [("PJSIP/agent101", "15550101")]
    ended = [e for e in result.events if isinstance(e, CallEnded)]
    assert len(ended) == 1 and ended[0].caller_number == "15550101"


async def test_every_milestone_is_saved_on_one_row() -> None:
    result = await replay("answered-call.txt")
    assert {s.call_key for s in result.sink.saves} == {"lab/hotline/1795236655.0"}
    assert len(result.sink.saves) >= 3
    first, answered = result.sink.saves[0], result.sink.saves[2]
    assert first.joined_at is not None and first.answered_at is None and first.ended_at is None
    assert answered.answered_at is not None and answered.ended_at is None


async def test_agent_hangs_up() -> None:
    result = await replay("agent-hangs-up.txt")
    [call] = result.sink.rows.values()
    assert call.caller_number == "15550101"
    assert call.agent_interface == "PJSIP/agent102"
    assert call.hung_up_by == "agent"
    assert call.end_reason == "completed"
    assert call.wait_s == pytest.approx(2.0, abs=0.05)
    assert call.talk_s == pytest.approx(3.0, abs=0.05)
    assert_closed_cleanly(result)


async def test_abandoned_call() -> None:
    result = await replay("abandoned-call.txt")
    [call] = result.sink.rows.values()
    assert call.call_key == "lab/hotline/1795236678.4"
    assert call.abandoned is True
    assert call.end_reason == "abandoned"
    assert call.hung_up_by == "caller"
    assert (call.position, call.original_position) == (1, 1)
    assert call.wait_s == pytest.approx(5.5, abs=0.6)
    assert call.answered_at is None and call.agent_interface is None and call.talk_s is None
    assert call.ended_at == at("2026-11-21T04:51:24.770175")
    assert_closed_cleanly(result)


async def test_ring_no_answer_then_the_next_agent_answers() -> None:
    result = await replay("ring-no-answer.txt")
    [call] = result.sink.rows.values()
    no_answer = [e for e in result.events if isinstance(e, RingNoAnswer)]
    assert [(e.interface, e.ring_s) for e in no_answer] == [("PJSIP/agent101", 15.0)]
    assert [e.interface for e in result.events if isinstance(e, AgentRinging)] == [
        "PJSIP/agent101",
        "PJSIP/agent102",
    ]
    assert call.agent_interface == "PJSIP/agent102"
    assert call.wait_s == pytest.approx(19.0, abs=0.05)
    assert call.ring_s == pytest.approx(2.0, abs=0.05)
    assert call.talk_s == pytest.approx(3.5, abs=0.05)
    assert call.ringing_at == at("2026-11-21T04:51:49.831596")
    assert (call.hung_up_by, call.end_reason) == ("caller", "completed")
    assert_closed_cleanly(result)


async def test_all_agents_busy_two_callers_wait() -> None:
    result = await replay("all-agents-busy-queue-wait.txt")
    calls = result.by_caller()
    assert sorted(calls) == ["15550101", "15550102", "15550103", "15550201", "15550202"]
    agents = {number: call.agent_interface for number, call in calls.items()}
    assert agents == {
        "15550101": "PJSIP/agent103",
        "15550102": "PJSIP/agent101",
        "15550103": "PJSIP/agent102",
        "15550201": "PJSIP/agent103",
        "15550202": "PJSIP/agent101",
    }
    for number in ("15550101", "15550102", "15550103"):
        assert calls[number].wait_s == pytest.approx(1.0, abs=0.05)
    assert calls["15550201"].wait_s == pytest.approx(7.0, abs=0.05)
    assert calls["15550202"].wait_s == pytest.approx(8.0, abs=0.05)
    assert calls["15550201"].original_position == 1
    assert calls["15550202"].original_position == 2
    assert all(c.end_reason == "completed" and c.hung_up_by == "caller" for c in calls.values())
    assert_closed_cleanly(result)


async def test_all_agents_busy_live_view_while_callers_wait() -> None:
    """Half-way through the capture, the supervisors see two callers waiting, three talking."""
    view = board(await replay("all-agents-busy-queue-wait.txt", until=at("2026-11-21T04:52:09")))
    (hotline,) = view["queues"]
    assert [(w["caller_number"], w["position"]) for w in hotline["waiting"]] == [
        ("15550201", 1),
        ("15550202", 2),
    ]
    busy = {a["interface"]: (a["state"], a["call"]["caller_number"]) for a in view["agents"]}
    assert busy == {
        "PJSIP/agent103": ("in_call", "15550101"),
        "PJSIP/agent101": ("in_call", "15550102"),
        "PJSIP/agent102": ("in_call", "15550103"),
    }


async def test_queue_status_snapshot_calls() -> None:
    result = await replay("queue-status-snapshot.txt")
    calls = result.by_caller()
    assert len(calls) == 4
    assert calls["15550201"].agent_interface == "PJSIP/agent102"
    assert calls["15550201"].wait_s == pytest.approx(9.0, abs=0.05)
    assert_closed_cleanly(result)


async def test_member_pause_shows_reason_then_ready() -> None:
    translator, floor = Translator(PBX), Floor(wrapup_s=0)
    seen: list[tuple[str, str, str]] = []
    for msg, received in ami_messages("member-pause.txt"):
        for event in translator.translate(msg, received):
            await floor.handle(event)
            agents = floor.view(received)["agents"]
            [agent] = [a for a in agents if a["name"] == msg.get("MemberName")]
            seen.append((agent["interface"], agent["state"], agent["reason"]))
    assert seen == [
        ("PJSIP/agent101", "paused", "Lunch break"),
        ("PJSIP/agent101", "ready", ""),
        ("PJSIP/agent102", "paused", "Training"),
        ("PJSIP/agent102", "ready", ""),
    ]


async def test_member_added_then_removed() -> None:
    result = await replay("member-add-remove.txt")
    kinds = [type(e).__name__ for e in result.events]
    assert kinds == ["MemberAdded", "MemberRemoved"]
    assert board(result)["agents"] == []


SURVEY_CAPTURES = ["originate-survey.txt", "originate-survey-local.txt", "originate-failed.txt"]


@pytest.mark.parametrize("name", SURVEY_CAPTURES)
async def test_survey_calls_are_not_queue_calls(name: str) -> None:
    result = await replay(name)
    assert result.sink.rows == {}
    assert result.translator.tracked_calls == 0


async def test_answer_event_carries_precise_wait() -> None:
    result = await replay("all-agents-busy-queue-wait.txt")
    answered = {e.caller_number: e.wait_s for e in result.events if isinstance(e, CallAnswered)}
    assert answered["15550202"] == pytest.approx(8.0158, abs=0.001)


CALL_CAPTURES = [
    "answered-call.txt",
    "agent-hangs-up.txt",
    "abandoned-call.txt",
    "ring-no-answer.txt",
    "all-agents-busy-queue-wait.txt",
    "queue-status-snapshot.txt",
]
# The captures this module replays, each checked against what a person reading it would note;
# test_outcome_traces.py replays the outcome ones (transfers, exits, shifts, click-to-call).
OUTCOME_CAPTURES = {
    "agent-shift-dynamic.txt",
    "wrapup-time.txt",
    "blind-transfer-ami.txt",
    "attended-transfer-ami.txt",
    "redirect-hangup-ami.txt",
    "queue-timeout-exit-dialplan.txt",
    "click-to-call.txt",
    "chanspy-listen-whisper-barge.txt",
}
REPLAYED = {
    *CALL_CAPTURES,
    *SURVEY_CAPTURES,
    *OUTCOME_CAPTURES,
    "member-pause.txt",
    "member-add-remove.txt",
    "mixmonitor.txt",  # test_recording_traces.py
}


def test_the_fixture_folder_holds_exactly_the_listed_captures() -> None:
    """A listed capture that is missing fails here, and in every test that replays it."""
    listed = {*AMI_CAPTURES, AGI_SESSION, "README.md"}
    on_disk = {p.name for p in AMI_TRACES.iterdir()}
    assert not listed - on_disk, f"missing from {AMI_TRACES}"
    assert not on_disk - listed, "new files: add them to AMI_CAPTURES in tests/fixtures"


def test_every_capture_is_replayed() -> None:
    assert set(AMI_CAPTURES) == REPLAYED


async def test_captures_stored_in_postgresql_match_the_records(db: Database) -> None:
    """The same replays through the real repository: one row per call, twice over."""
    repo = CallRepository(db.pool)
    expected: dict[str, CallRecord] = {}
    for _ in range(2):
        for name in CALL_CAPTURES:
            result = await replay(name)
            expected.update(result.sink.rows)
            for record in result.sink.saves:
                await repo.save_call(record)
    assert await db.pool.fetchval("SELECT count(*) FROM calls") == len(expected) == 13
    assert await db.pool.fetchval("SELECT count(*) FROM callers") == 5
    for key, record in expected.items():
        row = await repo.get_call(key)
        assert row is not None
        assert {name: getattr(row, name) for name in RECORD_FIELDS} == asdict(record)
    history = await repo.caller_history("15550101")
    assert len(history) == 6
    assert [h.abandoned for h in history].count(True) == 1


class WatchedRepository(CallRepository):
    """The real repository, telling the test when calls have been stored as ended."""

    def __init__(self, db: Database) -> None:
        super().__init__(db.pool)
        self.ended: set[str] = set()
        self.changed = asyncio.Condition()

    async def save_call(self, record: CallRecord) -> None:
        await super().save_call(record)
        if record.ended_at is not None:
            async with self.changed:
                self.ended.add(record.call_key)
                self.changed.notify_all()

    async def wait_ended(self, count: int) -> None:
        async with asyncio.timeout(15), self.changed:
            await self.changed.wait_for(lambda: len(self.ended) >= count)


@asynccontextmanager
async def followed(sim: PbxSimulator, db: Database) -> AsyncIterator[WatchedRepository]:
    """The real pipeline: TCP, AMI link, translator, tracker, repository on PostgreSQL.

    A replay is released once the service has resynchronised: the simulator's QueueStatus
    does not know the replayed calls, so a snapshot taken mid-replay would rightly call
    them lost.
    """
    repo = WatchedRepository(db)
    tracker = CallTracker(repo)
    synced = asyncio.Event()

    async def follow(event: TelephonyEvent) -> None:
        await tracker.handle(event)
        if isinstance(event, PbxSnapshot):
            synced.set()

    host, port = sim.address
    service = TelephonyService([PbxConfig(PBX, host, port, "hotline", "hotline")], [follow])
    await service.start()
    try:
        async with asyncio.timeout(15):
            await synced.wait()
        if sim.replay is not None:
            sim.replay.release()
        yield repo
    finally:
        await service.stop()


FACTS = (
    "pbx",
    "queue",
    "uniqueid",
    "linkedid",
    "caller_number",
    "caller_name",
    "agent_interface",
    "agent_name",
    "hung_up_by",
    "end_reason",
    "abandoned",
    "position",
    "original_position",
    "recovered",
)


@pytest.mark.parametrize("name", CALL_CAPTURES)
async def test_capture_replayed_over_tcp_lands_in_postgresql(db: Database, name: str) -> None:
    expected = (await replay(name)).sink.rows
    async with (
        PbxSimulator(replay=AMI_TRACES / name, replay_autostart=False) as sim,
        followed(sim, db) as repo,
    ):
        await repo.wait_ended(len(expected))
    assert await db.pool.fetchval("SELECT count(*) FROM calls") == len(expected)
    for key, record in expected.items():
        row = await repo.get_call(key)
        assert row is not None
        assert {f: getattr(row, f) for f in FACTS} == {f: getattr(record, f) for f in FACTS}
        assert (row.joined_at is None) == (record.joined_at is None)
        assert (row.answered_at is None) == (record.answered_at is None)
        assert row.ended_at is not None


async def test_hostile_caller_id_bytes_end_up_as_plain_text(db: Database) -> None:
    """Invalid UTF-8, markup and a NUL in a caller-ID name, straight off the wire."""
    name = b"<img src=x onerror=alert(1)> \xff\xfe'; DROP TABLE calls;-- \xe0\xb8\x81\x00!"
    join = (
        b"Event: QueueCallerJoin\r\nPrivilege: agent,all\r\nChannel: PJSIP/trunk-1\r\n"
        b"CallerIDNum: +66 81 234 5678\r\nCallerIDName: " + name + b"\r\n"
        b"Uniqueid: 9.1\r\nLinkedid: 9.1\r\nQueue: hotline\r\nPosition: 1\r\nCount: 1\r\n\r\n"
    )
    parser, translator = FrameParser(), Translator(PBX)
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    repo = CallRepository(db.pool)
    tracker = CallTracker(repo)
    for msg in parser.feed(join):
        for event in translator.translate(msg, at("2026-11-21T05:00:00")):
            await tracker.handle(event)
    row = await repo.get_call("lab/hotline/9.1")
    assert row is not None
    assert row.caller_number == "0812345678"
    assert row.caller_name == "<img src=x onerror=alert(1)> \ufffd\ufffd'; DROP TABLE calls;-- ก!"
