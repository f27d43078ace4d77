"""The call tracker: records at milestones, reconcile after an AMI gap; the write-behind
that stores them and the panel's changes to their rows, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from calls.floor import Floor
from calls.record import CallRecord
from calls.repository import CallRepository
from calls.tracker import CallTracker
from calls.writer import CallWriter
from database.pool import Database
from pbxsim import AgentPhone, PbxSimulator, QueueCall
from telephony.config import PbxConfig
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
    HungUpBy,
    LinkDown,
    MemberSnapshot,
    PbxSnapshot,
    TelephonyEvent,
    WaitingCaller,
    make_call_key,
)
from telephony.service import TelephonyService
from tests.telephony.records import call_record
from tests.telephony.test_traces import MemorySink

T0 = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)


def sec(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


def queued(uid: str, second: float = 0, position: int = 1, pbx: str = "lab") -> CallQueued:
    return CallQueued(
        pbx=pbx,
        at=sec(second),
        call_key=make_call_key(pbx, "hotline", uid),
        queue="hotline",
        uniqueid=uid,
        linkedid=uid,
        caller_number=f"08{uid.replace('.', '')[:8]:0>8}",
        caller_name="Caller",
        position=position,
        count=position,
    )


def answered(uid: str, second: float, interface: str = "PJSIP/agent101") -> CallAnswered:
    return CallAnswered(
        pbx="lab",
        at=sec(second),
        call_key=make_call_key("lab", "hotline", uid),
        queue="hotline",
        interface=interface,
        member_name=interface.rsplit("/", 1)[-1],
        caller_number="",
        caller_name="",
        wait_s=second,
        ring_s=1.0,
    )


def ended(uid: str, second: float, talk: float, by: HungUpBy = "caller") -> CallEnded:
    return CallEnded(
        pbx="lab",
        at=sec(second),
        call_key=make_call_key("lab", "hotline", uid),
        queue="hotline",
        interface="PJSIP/agent101",
        member_name="agent101",
        caller_number="",
        hung_up_by=by,
        talk_s=talk,
        hold_s=0.0,
        wait_s=0.0,
    )


def snapshot(
    second: float,
    waiting: tuple[WaitingCaller, ...] = (),
    connected: tuple[ConnectedCall, ...] = (),
    members: tuple[MemberSnapshot, ...] = (),
) -> PbxSnapshot:
    return PbxSnapshot("lab", sec(second), waiting, connected, members)


def connected(uid: str, talking: float, interface: str = "PJSIP/agent102") -> ConnectedCall:
    return ConnectedCall(
        call_key=make_call_key("lab", "hotline", uid),
        queue="hotline",
        uniqueid=uid,
        linkedid=uid,
        caller_number="0812345678",
        caller_name="",
        interface=interface,
        member_name="Agent 102",
        talking_s=talking,
    )


def waiting(uid: str, wait: float, position: int = 1) -> WaitingCaller:
    return WaitingCaller(
        make_call_key("lab", "hotline", uid), "hotline", uid, "0899999999", "", position, wait
    )


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def tracker(sink: MemorySink) -> CallTracker:
    return CallTracker(sink)


async def test_hold_and_end_are_recorded(tracker: CallTracker, sink: MemorySink) -> None:
    await tracker.handle(queued("1.0"))
    await tracker.handle(answered("1.0", 3))
    key = make_call_key("lab", "hotline", "1.0")
    await tracker.handle(CallHeld("lab", sec(5), key, "hotline", "PJSIP/agent101"))
    await tracker.handle(CallResumed("lab", sec(9), key, "hotline", "PJSIP/agent101", 4.0))
    assert sink.rows[key].hold_s == 4.0
    await tracker.handle(ended("1.0", 20, talk=13.0))
    record = sink.rows[key]
    assert (record.talk_s, record.hold_s, record.end_reason) == (13.0, 4.0, "completed")


async def test_a_second_end_is_not_a_second_call(tracker: CallTracker, sink: MemorySink) -> None:
    await tracker.handle(queued("1.0"))
    await tracker.handle(answered("1.0", 2))
    await tracker.handle(ended("1.0", 10, talk=8.0))
    saves = len(sink.saves)
    await tracker.handle(ended("1.0", 11, talk=1.0, by="system"))
    assert len(sink.saves) == saves
    assert sink.rows[make_call_key("lab", "hotline", "1.0")].talk_s == 8.0


async def test_transfer_target_learnt_after_the_end(tracker: CallTracker, sink: MemorySink) -> None:
    key = make_call_key("lab", "hotline", "1.0")
    await tracker.handle(queued("1.0"))
    await tracker.handle(answered("1.0", 2))
    await tracker.handle(ended("1.0", 10, talk=8.0, by="transfer"))
    assert sink.rows[key].end_reason == "transferred"
    await tracker.handle(CallTransferred("lab", sec(10), key, "hotline", "PJSIP/agent101", "2001"))
    assert sink.rows[key].transferred_to == "2001"


async def test_events_for_a_call_that_started_before_we_listened(
    tracker: CallTracker, sink: MemorySink
) -> None:
    await tracker.handle(answered("77.5", 4))
    await tracker.handle(ended("77.5", 9, talk=5.0))
    [record] = sink.rows.values()
    assert (record.uniqueid, record.queue, record.pbx) == ("77.5", "hotline", "lab")
    assert record.answered_at == sec(4) and record.ended_at == sec(9)
    assert record.joined_at == sec(0) and record.ringing_at == sec(3)


async def test_reconcile_closes_lost_adopts_unknown_and_doubles_nothing(
    tracker: CallTracker, sink: MemorySink
) -> None:
    floor = Floor(wrapup_s=0)

    async def follow(event: TelephonyEvent) -> None:
        await tracker.handle(event)
        await floor.handle(event)

    await follow(queued("1.0", 0))  # vanishes while waiting
    await follow(queued("2.0", 1))  # vanishes while talking
    await follow(answered("2.0", 3))
    await follow(queued("3.0", 2, position=2))  # answered during the gap
    await follow(queued("4.0", 3, position=3))  # still waiting
    await follow(LinkDown("lab", sec(10), "connection reset"))
    assert floor.view(sec(20))["links_down"] == [{"pbx": "lab", "since_s": 10}]
    gap = snapshot(
        60,
        waiting=(waiting("4.0", 57.0), waiting("5.0", 58.5, position=2)),
        connected=(connected("3.0", 30.0), connected("6.0", 45.0, "PJSIP/agent103")),
        members=(MemberSnapshot("hotline", "PJSIP/agent102", "Agent 102", "in_call", False, ""),),
    )
    await follow(gap)
    rows = sink.rows
    key = {
        uid: make_call_key("lab", "hotline", uid)
        for uid in ("1.0", "2.0", "3.0", "4.0", "5.0", "6.0")
    }
    for uid in ("1.0", "2.0"):
        assert (rows[key[uid]].end_reason, rows[key[uid]].ended_at) == ("lost_in_gap", sec(60))
    assert rows[key["2.0"]].agent_interface == "PJSIP/agent101"
    assert rows[key["2.0"]].talk_s is None
    gap_answered = rows[key["3.0"]]
    assert gap_answered.answered_at == sec(30) and gap_answered.wait_s == 28.0
    assert gap_answered.agent_interface == "PJSIP/agent102" and not gap_answered.recovered
    assert rows[key["4.0"]].recovered is False and rows[key["4.0"]].joined_at == sec(3)
    assert rows[key["5.0"]].recovered is True and rows[key["5.0"]].joined_at == sec(1.5)
    adopted = rows[key["6.0"]]
    assert (adopted.recovered, adopted.answered_at, adopted.agent_interface) == (
        True,
        sec(15),
        "PJSIP/agent103",
    )
    view = floor.view(sec(60))
    (hotline,) = view["queues"]
    assert [w["wait_s"] for w in hotline["waiting"]] == [58, 57], "5.0 first, 4.0 as seen"
    assert [(a["interface"], a["call"]["handle_s"]) for a in view["agents"]] == [
        ("PJSIP/agent102", 30)
    ]
    assert view["links_down"] == []

    closes = [s for s in sink.saves if s.end_reason == "lost_in_gap"]
    saves = len(sink.saves)
    await tracker.reconcile(gap)
    assert len(sink.saves) == saves
    assert len(closes) == 2
    assert len(sink.rows) == 6


async def test_restored_open_calls_are_settled_by_the_first_snapshot(sink: MemorySink) -> None:
    tracker = CallTracker(sink)
    tracker.restore(
        [
            call_record("1.0", joined_at=sec(0)),
            call_record("2.0", joined_at=sec(1)),
            call_record("3.0", ended_at=sec(2)),
        ]
    )
    await tracker.reconcile(snapshot(30, waiting=(waiting("2.0", 29.0),)))
    assert sink.rows["lab/hotline/1.0"].end_reason == "lost_in_gap"
    assert "lab/hotline/2.0" not in sink.rows
    still = tracker.get("lab/hotline/2.0")
    assert still is not None and still.ended_at is None
    assert tracker.get("lab/hotline/3.0") is None, "a call saved as ended is not taken back"


async def test_reconcile_touches_only_its_own_pbx(tracker: CallTracker, sink: MemorySink) -> None:
    await tracker.handle(queued("1.0", pbx="other"))
    await tracker.reconcile(snapshot(30))
    assert sink.rows["other/hotline/1.0"].ended_at is None


async def test_a_failing_sink_does_not_stop_tracking() -> None:
    class Flaky:
        def __init__(self) -> None:
            self.fail = True
            self.saved: list[CallRecord] = []

        async def save_call(self, record: CallRecord) -> None:
            if self.fail:
                raise ConnectionError("database down")
            self.saved.append(record)

    sink = Flaky()
    tracker = CallTracker(sink)
    await tracker.handle(queued("1.0"))
    sink.fail = False
    await tracker.handle(answered("1.0", 2))
    [record] = sink.saved
    assert record.joined_at == sec(0) and record.answered_at == sec(2)


async def test_memory_is_bounded(sink: MemorySink) -> None:
    tracker = CallTracker(sink, max_open=50, recent=10)

    def remembered() -> list[int]:
        return [n for n in range(200) if tracker.get(make_call_key("lab", "hotline", f"{n}.0"))]

    for n in range(200):
        await tracker.handle(queued(f"{n}.0", n))
    assert remembered() == list(range(150, 200)), "the 50 newest open calls"
    for n in range(150, 200):
        await tracker.handle(answered(f"{n}.0", 300))
        await tracker.handle(ended(f"{n}.0", 310, talk=10.0))
    assert remembered() == list(range(190, 200)), "the 10 that ended last"


async def test_saved_records_are_copies(tracker: CallTracker, sink: MemorySink) -> None:
    await tracker.handle(queued("1.0"))
    await tracker.handle(answered("1.0", 2))
    assert sink.saves[0].answered_at is None


class ManualClock:
    """The service's receive clock, moved by the test between PBX steps."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Followed:
    """A tracker on the real repository and a floor behind TelephonyService, with a way to
    wait for events."""

    def __init__(self, repo: CallRepository) -> None:
        self.tracker = CallTracker(repo)
        self.floor = Floor(wrapup_s=0)
        self.seen: list[TelephonyEvent] = []
        self.arrived = asyncio.Condition()

    async def __call__(self, event: TelephonyEvent) -> None:
        await self.tracker.handle(event)
        await self.floor.handle(event)
        async with self.arrived:
            self.seen.append(event)
            self.arrived.notify_all()

    async def until(self, kind: type, count: int = 1) -> TelephonyEvent:
        def found() -> TelephonyEvent | None:
            matches = [e for e in self.seen if isinstance(e, kind)]
            return matches[count - 1] if len(matches) >= count else None

        async with asyncio.timeout(10), self.arrived:
            await self.arrived.wait_for(lambda: found() is not None)
        event = found()
        assert event is not None
        return event


async def test_hold_and_blind_transfer_through_the_simulator(db: Database) -> None:
    clock = ManualClock(T0)
    repo = CallRepository(db.pool)
    follow = Followed(repo)
    async with PbxSimulator.lab() as sim:
        sim.set_default_agent_phone(AgentPhone.manual())
        host, port = sim.address
        config = PbxConfig("lab", host, port, "hotline", "hotline")
        service = TelephonyService([config], [follow], clock=clock)
        await service.start()
        try:
            await follow.until(PbxSnapshot)
            call = await sim.place_call("hotline", "+66 81 234 5678", "<b>Somchai</b>")
            ringing = await follow.until(AgentRinging)
            assert isinstance(ringing, AgentRinging)
            clock.advance(5)
            await sim.answer(ringing.interface)
            await follow.until(CallAnswered)
            clock.advance(10)
            await sim.hold(call)
            await follow.until(CallHeld)
            clock.advance(30)
            await sim.unhold(call)
            await follow.until(CallResumed)
            clock.advance(20)
            await sim.transfer(call, "2001")
            await follow.until(CallEnded)
            moved = await follow.until(CallTransferred)
        finally:
            await service.stop()
    row = await repo.get_call(make_call_key("lab", "hotline", call.uniqueid))
    assert row is not None
    assert isinstance(moved, CallTransferred) and moved.target == "2001"
    assert (row.caller_number, row.caller_name) == ("0812345678", "<b>Somchai</b>")
    assert row.agent_interface == ringing.interface
    assert (row.wait_s, row.hold_s, row.talk_s) == (5.0, 30.0, 30.0)
    assert (row.hung_up_by, row.end_reason, row.transferred_to) == (
        "transfer",
        "transferred",
        "2001",
    )
    assert await db.pool.fetchval("SELECT count(*) FROM calls") == 1


async def test_a_restarted_tracker_settles_the_calls_saved_before(db: Database) -> None:
    repo = CallRepository(db.pool)
    before = CallTracker(repo)
    await before.handle(queued("1.0", 0))  # ends while the service is down
    await before.handle(queued("2.0", 1))  # still talking after the restart
    await before.handle(answered("2.0", 4, "PJSIP/agent102"))

    after = CallTracker(repo)
    after.restore(await repo.open_calls("lab"))
    await after.reconcile(snapshot(100, connected=(connected("2.0", 96.0),)))
    await after.handle(ended("2.0", 120, talk=116.0))

    lost = await repo.get_call(make_call_key("lab", "hotline", "1.0"))
    kept = await repo.get_call(make_call_key("lab", "hotline", "2.0"))
    assert lost is not None and kept is not None
    assert (lost.end_reason, lost.ended_at) == ("lost_in_gap", sec(100))
    assert (kept.end_reason, kept.talk_s, kept.recovered) == ("completed", 116.0, False)
    assert kept.answered_at == sec(4) and kept.joined_at == sec(1)
    assert await db.pool.fetchval("SELECT count(*) FROM calls") == 2
    assert await repo.open_calls("lab") == []


@dataclass(frozen=True)
class Mark:
    """A change to a call's row, as the panel makes them (here only named)."""

    call_key: str
    what: str

    async def apply(self, conn: object) -> bool:
        raise AssertionError("the in-memory sink makes the change itself")


class GatedBatchSink:
    """A batch sink that holds each batch until the test lets it through, or fails it; like
    the repository, it makes a change only to a call it has a row for."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[str, datetime | None]]] = []
        self.rows: dict[str, list[str]] = {}
        self.gate = asyncio.Event()
        self.gate.set()
        self.failures = 0

    async def save_calls(
        self, records: Sequence[CallRecord], changes: Sequence[Mark] = ()
    ) -> list[Mark]:
        await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database down")
        self.batches.append([(r.call_key, r.answered_at) for r in records])
        for record in records:
            self.rows.setdefault(record.call_key, [])
        for change in changes:
            if change.call_key in self.rows:
                self.rows[change.call_key].append(change.what)
        return [change for change in changes if change.call_key not in self.rows]


async def test_writer_coalesces_saves_while_the_database_is_busy() -> None:
    sink = GatedBatchSink()
    writer = CallWriter(sink)
    await writer.start()
    try:
        sink.gate.clear()
        first = call_record("1", queue="q")
        await writer.save_call(first)
        await asyncio.sleep(0)
        await writer.save_call(replace(first, answered_at=sec(1)))
        await writer.save_call(call_record("2", queue="q"))
        await writer.save_call(replace(first, answered_at=sec(2)))
        assert writer.pending == 2
        sink.gate.set()
        await writer.flush()
    finally:
        await writer.stop()
    assert sink.batches == [[("lab/q/1", None)], [("lab/q/2", None), ("lab/q/1", sec(2))]]
    assert writer.pending == 0


async def test_writer_retries_a_failed_batch_keeping_the_newest_record() -> None:
    sink = GatedBatchSink()
    writer = CallWriter(sink, retry_s=0)
    sink.failures = 1
    sink.gate.clear()
    await writer.start()
    try:
        record = call_record("1", queue="q")
        await writer.save_call(record)
        await writer.save_call(call_record("2", queue="q"))
        await asyncio.sleep(0)
        await writer.save_call(replace(record, answered_at=sec(3)))
        sink.gate.set()
        await writer.flush()
    finally:
        await writer.stop()
    assert sink.batches == [[("lab/q/2", None), ("lab/q/1", sec(3))]]


async def test_writer_stop_flushes_what_was_handed_in() -> None:
    sink = GatedBatchSink()
    writer = CallWriter(sink, max_batch=2)
    await writer.start()
    for n in range(5):
        await writer.save_call(call_record(str(n), queue="q"))
    await writer.stop()
    assert [key for batch in sink.batches for key, _ in batch] == [f"lab/q/{n}" for n in range(5)]
    assert all(len(batch) <= 2 for batch in sink.batches)


async def test_a_change_to_a_call_waits_for_its_row_then_follows_it() -> None:
    """The panel may mark a phase before the tracker's first save of that call is stored."""
    sink = GatedBatchSink()
    writer = CallWriter(sink)
    record = call_record("1", queue="q")
    await writer.start()
    try:
        writer.change(Mark(record.call_key, "greeting"))
        await writer.flush()
        assert (sink.rows, writer.pending) == ({}, 1), "it waits, and holds up no flush()"
        writer.change(Mark(record.call_key, "inquiry"))
        await writer.save_call(record)
        await writer.flush()
    finally:
        await writer.stop()
    assert sink.rows == {record.call_key: ["greeting", "inquiry"]}
    assert writer.pending == 0


async def test_changes_survive_a_failed_batch_in_their_order() -> None:
    sink = GatedBatchSink()
    writer = CallWriter(sink, retry_s=0)
    record = call_record("1", queue="q")
    sink.failures = 1
    sink.gate.clear()
    await writer.start()
    try:
        await writer.save_call(record)
        writer.change(Mark(record.call_key, "greeting"))
        await asyncio.sleep(0)
        writer.change(Mark(record.call_key, "inquiry"))
        assert writer.pending == 1, "the batch in flight is not counted"
        sink.gate.set()
        await writer.flush()
    finally:
        await writer.stop()
    assert sink.rows == {record.call_key: ["greeting", "inquiry"]}


async def test_tracker_through_the_writer_into_postgresql(db: Database) -> None:
    repo = CallRepository(db.pool)
    writer = CallWriter(repo)
    tracker = CallTracker(writer)
    await writer.start()
    try:
        for uid in ("1.0", "2.0", "3.0"):
            await tracker.handle(queued(uid))
            await tracker.handle(answered(uid, 2))
            await tracker.handle(ended(uid, 9, talk=7.0))
    finally:
        await writer.stop()
    assert await db.pool.fetchval("SELECT count(*) FROM calls WHERE talk_s = 7") == 3


def ringing_interface(call: QueueCall) -> str:
    assert call.ringing is not None
    return call.ringing.member.interface


async def test_an_ami_gap_through_the_simulator_is_reconciled(db: Database) -> None:
    repo = CallRepository(db.pool)
    follow = Followed(repo)
    async with PbxSimulator.lab() as sim:
        sim.set_default_agent_phone(AgentPhone.manual())
        host, port = sim.address
        config = PbxConfig("lab", host, port, "hotline", "hotline", reconnect_min=0.05)
        service = TelephonyService([config], [follow])
        await service.start()
        try:
            await follow.until(PbxSnapshot)
            talking = await sim.place_call("hotline", "0811111111")
            await sim.answer(ringing_interface(talking))
            await follow.until(CallAnswered)
            waiting = await sim.place_call("hotline", "0822222222")
            await follow.until(AgentRinging, 2)

            await sim.refuse_connections()
            sim.drop_connections()
            await follow.until(LinkDown)
            await sim.hangup(talking, by="caller")
            await sim.abandon(waiting)
            unseen = await sim.place_call("hotline", "0833333333")
            await sim.answer(ringing_interface(unseen))
            still = await sim.place_call("hotline", "0844444444")
            await sim.accept_connections()
            await follow.until(PbxSnapshot, 2)

            view = follow.floor.view(datetime.now(UTC))
            (hotline,) = view["queues"]
            assert [w["caller_number"] for w in hotline["waiting"]] == ["0844444444"]
            assert [
                (a["call"]["caller_number"], a["interface"]) for a in view["agents"] if a["call"]
            ] == [("0833333333", unseen.member.interface if unseen.member else None)]
            await sim.hangup(unseen, by="agent")
            await follow.until(CallEnded)
            await sim.abandon(still)
            await follow.until(CallAbandoned)
        finally:
            await service.stop()

    rows = {r["caller_number"]: r for r in await db.pool.fetch("SELECT * FROM calls")}
    assert sorted(rows) == ["0811111111", "0822222222", "0833333333", "0844444444"]
    lost_talking, lost_waiting = rows["0811111111"], rows["0822222222"]
    assert lost_talking["end_reason"] == "lost_in_gap" and lost_talking["answered_at"] is not None
    assert lost_waiting["end_reason"] == "lost_in_gap" and lost_waiting["abandoned"] is False
    adopted = rows["0833333333"]
    assert (adopted["recovered"], adopted["end_reason"], adopted["hung_up_by"]) == (
        True,
        "completed",
        "agent",
    )
    assert adopted["answered_at"] is not None and adopted["talk_s"] is not None
    late = rows["0844444444"]
    assert (late["recovered"], late["end_reason"], late["abandoned"]) == (True, "abandoned", True)
    assert all(r["ended_at"] is not None for r in rows.values())


async def test_the_panels_hangup_says_who_ended_a_call_the_pbx_calls_the_callers(
    tracker: CallTracker, sink: MemorySink
) -> None:
    for uid, by in (("1.0", "agent"), ("2.0", "supervisor")):
        await tracker.handle(queued(uid))
        channel = f"PJSIP/agent101-0000000{uid[0]}"
        await tracker.handle(replace(answered(uid, 2), agent_channel=channel))
        tracker.hangup_requested("lab", channel, by)
        await tracker.handle(ended(uid, 9, 7.0, "caller"))
    assert [sink.rows[make_call_key("lab", "hotline", u)].hung_up_by for u in ("1.0", "2.0")] == [
        "agent",
        "supervisor",
    ]


async def test_a_hangup_request_does_not_rewrite_another_ending(
    tracker: CallTracker, sink: MemorySink
) -> None:
    """The agent's phone (Reason agent) or a restart ended it before the panel's Hangup."""
    await tracker.handle(queued("1.0"))
    await tracker.handle(replace(answered("1.0", 2), agent_channel="PJSIP/agent101-00000001"))
    tracker.hangup_requested("lab", "PJSIP/agent101-00000001", "supervisor")
    await tracker.handle(ended("1.0", 9, 7.0, "system"))
    assert sink.rows[make_call_key("lab", "hotline", "1.0")].hung_up_by == "system"
    await tracker.handle(queued("2.0"))
    tracker.hangup_requested("lab", "PJSIP/agent101-00000001", "agent")  # that call is over
    tracker.hangup_requested("lab2", "PJSIP/agent101-00000002", "agent")  # another PBX
    await tracker.handle(replace(answered("2.0", 2), agent_channel="PJSIP/agent101-00000002"))
    await tracker.handle(ended("2.0", 9, 7.0, "caller"))
    assert sink.rows[make_call_key("lab", "hotline", "2.0")].hung_up_by == "caller"
    with pytest.raises(ValueError, match="agent or a supervisor"):
        tracker.hangup_requested("lab", "PJSIP/agent101-00000002", "caller")


async def test_a_snapshot_knows_a_requeued_call_by_its_caller(
    tracker: CallTracker, sink: MemorySink
) -> None:
    """The PBX cannot know the visit number: a caller sent back into the queue and still
    waiting after a gap is the open second call, not a lost one and a recovered one."""
    await tracker.handle(queued("1.0"))
    await tracker.handle(answered("1.0", 2))
    await tracker.handle(ended("1.0", 5, 3.0, "transfer"))
    again = make_call_key("lab", "hotline", "1.0", visit=2)
    await tracker.handle(replace(queued("1.0", 5), call_key=again, came_from="lab/hotline/1.0"))
    await tracker.reconcile(snapshot(30, waiting=(waiting("1.0", 25.0),)))
    assert set(sink.rows) == {"lab/hotline/1.0", again}
    second = sink.rows[again]
    assert (second.ended_at, second.recovered, second.came_from) == (None, False, "lab/hotline/1.0")
    assert sink.rows["lab/hotline/1.0"].end_reason == "transferred"


async def test_a_call_answered_in_a_gap_gets_a_join_time_from_the_callers_channel(
    tracker: CallTracker, sink: MemorySink
) -> None:
    """Recovered as already answered: joined no later than the caller's channel was made."""
    await tracker.reconcile(
        snapshot(60, connected=(replace(connected("7.0", 20.0), caller_age_s=26.0),))
    )
    [record] = sink.rows.values()
    assert record.recovered is True
    assert (record.joined_at, record.answered_at) == (sec(34), sec(40))
    assert record.wait_s == 6.0


async def test_a_caller_cut_while_waiting_is_stored_as_the_systems_end(
    tracker: CallTracker, sink: MemorySink
) -> None:
    await tracker.handle(queued("1.0"))
    cut = CallExitedQueue(
        "lab", sec(6), "lab/hotline/1.0", "hotline", "unknown", 6.0, 1, hung_up_by="system"
    )
    await tracker.handle(cut)
    record = sink.rows["lab/hotline/1.0"]
    assert (record.end_reason, record.hung_up_by, record.abandoned) == ("unknown", "system", False)


async def test_a_hangup_requested_before_the_tracker_saw_the_answer_still_counts(
    tracker: CallTracker, sink: MemorySink
) -> None:
    """The panel may press hang-up while the answer is still queued for the tracker."""
    tracker.hangup_requested("lab", "PJSIP/agent101-00000001", "agent")
    await tracker.handle(queued("1.0"))
    await tracker.handle(replace(answered("1.0", 2), agent_channel="PJSIP/agent101-00000001"))
    await tracker.handle(ended("1.0", 3, 1.0, "caller"))
    assert sink.rows["lab/hotline/1.0"].hung_up_by == "agent"


async def test_a_hold_in_progress_at_a_restart_is_not_counted_as_talk(sink: MemorySink) -> None:
    """hotline restarts while the agent holds the caller: the restored record knows when the
    hold began and when the call was answered; the fresh translator knows neither."""
    before = CallTracker(sink)
    await before.handle(queued("1.0"))
    await before.handle(answered("1.0", 2))
    await before.handle(CallHeld("lab", sec(10), "lab/hotline/1.0", "hotline", "PJSIP/agent101"))
    saved = sink.rows["lab/hotline/1.0"]
    assert saved.held_since == sec(10)

    after = CallTracker(sink)
    after.restore([saved])
    # The new translator adopts the call from the agent channel's age (it rang 1 s).
    await after.reconcile(snapshot(20, connected=(connected("1.0", 19.0, "PJSIP/agent101"),)))
    await after.handle(CallResumed("lab", sec(30), "lab/hotline/1.0", "hotline", "", 0.0))
    await after.handle(replace(ended("1.0", 40, talk=39.0), hold_s=0.0))
    record = sink.rows["lab/hotline/1.0"]
    assert (record.answered_at, record.hold_s, record.held_since) == (sec(2), 20.0, None)
    assert record.talk_s == 18.0  # 2 -> 40 is 38 s, 20 of them on hold


async def test_a_hold_open_at_the_end_counts_as_hold(
    tracker: CallTracker, sink: MemorySink
) -> None:
    await tracker.handle(queued("1.0"))
    await tracker.handle(answered("1.0", 2))
    await tracker.handle(CallHeld("lab", sec(10), "lab/hotline/1.0", "hotline", "PJSIP/agent101"))
    await tracker.handle(replace(ended("1.0", 16, talk=8.0), hold_s=6.0))
    record = sink.rows["lab/hotline/1.0"]
    assert (record.hold_s, record.talk_s, record.held_since) == (6.0, 8.0, None)
