from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from pbxsim.pbx import PbxSimulator
from pbxsim.phones import AgentPhone
from telephony.ami.capture import read_capture
from telephony.ami.protocol import AmiMessage, FrameParser
from telephony.config import PbxConfig
from telephony.events import (
    CallQueued,
    ConnectedCall,
    LinkDown,
    LinkUp,
    MemberSnapshot,
    PbxSnapshot,
    TelephonyEvent,
    WaitingCaller,
)
from telephony.resync import build_snapshot
from telephony.service import TelephonyService
from tests.fixtures import AMI_TRACES
from tests.telephony.fake_ami import FakeAmi, error, eventually, replay_answer

AT = datetime(2026, 11, 21, 4, 52, 44, tzinfo=UTC)


def answer_to(capture: str, action_id: str) -> list[AmiMessage]:
    marker = f"ActionID: {action_id}\r\n".encode()
    parser = FrameParser()
    out: list[AmiMessage] = []
    for item in read_capture(AMI_TRACES / capture):
        if item.kind == "rx" and marker in item.data:
            out += parser.feed(item.data)
    return out


def snapshot_capture() -> PbxSnapshot:
    return build_snapshot(
        "pbx1",
        AT,
        answer_to("queue-status-snapshot.txt", "queue-status-snapshot-5"),
        answer_to("queue-status-snapshot.txt", "queue-status-snapshot-4"),
    )


def test_snapshot_lists_the_waiting_caller() -> None:
    snapshot = snapshot_capture()
    assert snapshot.pbx == "pbx1" and snapshot.at == AT
    assert snapshot.waiting == (
        WaitingCaller(
            call_key="pbx1/hotline/1795236761.25",
            queue="hotline",
            uniqueid="1795236761.25",
            caller_number="15550201",
            caller_name="Customer 15550201",
            position=1,
            wait_s=2.0,
        ),
    )


def test_snapshot_pairs_callers_with_agent_legs_by_bridge() -> None:
    connected = sorted(snapshot_capture().connected, key=lambda c: c.uniqueid)
    assert [(c.caller_number, c.interface, c.member_name) for c in connected] == [
        ("15550101", "PJSIP/agent102", "Agent 102"),
        ("15550102", "PJSIP/agent103", "Agent 103"),
        ("15550103", "PJSIP/agent101", "Agent 101"),
    ]
    assert connected[0] == ConnectedCall(
        call_key="pbx1/hotline/1795236759.19",
        queue="hotline",
        uniqueid="1795236759.19",
        linkedid="1795236759.19",
        caller_number="15550101",
        caller_name="Customer 15550101",
        interface="PJSIP/agent102",
        member_name="Agent 102",
        talking_s=4.0,
        caller_age_s=4.0,
    )


def test_snapshot_members_with_state_and_pause() -> None:
    members = snapshot_capture().members
    assert [(m.interface, m.state, m.paused) for m in members] == [
        ("PJSIP/agent101", "in_call", False),
        ("PJSIP/agent102", "in_call", False),
        ("PJSIP/agent103", "in_call", False),
    ]
    paused = build_snapshot("pbx1", AT, answer_to("member-pause.txt", "member-pause-3"), []).members
    assert paused == (
        MemberSnapshot(
            queue="hotline",
            interface="PJSIP/agent101",
            member_name="Agent 101",
            state="paused",
            paused=True,
            reason="Lunch break",
        ),
    )


def test_unusable_items_are_skipped() -> None:
    hostile = [
        AmiMessage([("Event", "QueueEntry"), ("Queue", "hotline"), ("Position", "x")]),
        AmiMessage([("Event", "QueueEntry"), ("Queue", "hotline"), ("Uniqueid", "1.1")]),
        AmiMessage([("Event", "QueueMember"), ("Queue", "hotline")]),
        AmiMessage(
            [
                ("Event", "QueueEntry"),
                ("Queue", "hotline"),
                ("Uniqueid", "1.2"),
                ("Position", "1"),
                ("CallerIDName", "<script>x</script>"),
                ("CallerIDNum", "<unknown>"),
                ("Wait", "soon"),
            ]
        ),
    ]
    channels = [
        AmiMessage(
            [
                ("Event", "CoreShowChannel"),
                ("Channel", "PJSIP/trunk-1"),
                ("Application", "Queue"),
                ("ApplicationData", "hotline"),
                ("Uniqueid", "1.3"),
                ("BridgeId", "no-agent-here"),
            ]
        )
    ]
    snapshot = build_snapshot("pbx1", AT, hostile, channels)
    assert [(w.uniqueid, w.caller_name, w.caller_number, w.wait_s) for w in snapshot.waiting] == [
        ("1.2", "<script>x</script>", "", 0.0)
    ]
    assert snapshot.members == () and snapshot.connected == ()


LIVE_JOIN = (
    b"Event: QueueCallerJoin\r\nChannel: PJSIP/caller-trunk-00000020\r\n"
    b"CallerIDNum: 0812345678\r\nCallerIDName: \xe0\xb8\xaa\xe0\xb8\xa1\r\n"
    b"Uniqueid: 1795236900.40\r\nLinkedid: 1795236900.40\r\nQueue: hotline\r\n"
    b"Position: 2\r\nCount: 2\r\n\r\n"
)


class Seen:
    def __init__(self) -> None:
        self.events: list[TelephonyEvent] = []

    async def __call__(self, event: TelephonyEvent) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    queue_status = replay_answer("queue-status-snapshot.txt", "queue-status-snapshot-5")
    # A caller joins while the resync runs: it must reach subscribers after the snapshot.
    server.responders["QueueStatus"] = lambda action: LIVE_JOIN + queue_status(action)
    server.responders["CoreShowChannels"] = replay_answer(
        "queue-status-snapshot.txt", "queue-status-snapshot-4"
    )
    await server.start()
    yield server
    await server.close()


async def test_snapshot_comes_before_live_events_of_the_resync(ami: FakeAmi) -> None:
    seen = Seen()
    service = TelephonyService([ami.config()], [seen])
    await service.start()
    try:
        await eventually(lambda: "CallQueued" in seen.kinds())
    finally:
        await service.stop()
    assert seen.kinds() == ["LinkUp", "PbxSnapshot", "CallQueued"]
    snapshot = seen.events[1]
    assert isinstance(snapshot, PbxSnapshot) and len(snapshot.connected) == 3
    joined = seen.events[2]
    assert isinstance(joined, CallQueued) and joined.caller_name == "สม"


async def test_link_cut_and_restored_resyncs_again(ami: FakeAmi) -> None:
    seen = Seen()
    service = TelephonyService([ami.config()])
    service.subscribe(seen)
    await service.start()
    try:
        await eventually(lambda: seen.kinds().count("CallQueued") == 1)
        ami.drop()
        await eventually(lambda: seen.kinds().count("PbxSnapshot") == 2)
        await eventually(lambda: seen.kinds().count("CallQueued") == 2)
        assert service.health()[0].up
    finally:
        await service.stop()
    assert seen.kinds() == [
        "LinkUp",
        "PbxSnapshot",
        "CallQueued",
        "LinkDown",
        "LinkUp",
        "PbxSnapshot",
        "CallQueued",
    ]
    down = seen.events[3]
    assert isinstance(down, LinkDown) and down.why == "connection lost"
    assert isinstance(seen.events[4], LinkUp)
    assert not service.health()[0].up


async def test_failing_subscriber_does_not_stop_the_others(ami: FakeAmi) -> None:
    seen = Seen()

    async def broken(event: TelephonyEvent) -> None:
        raise RuntimeError("bug in a subscriber")

    service = TelephonyService([ami.config()], [broken, seen])
    await service.start()
    try:
        await eventually(lambda: "CallQueued" in seen.kinds())
    finally:
        await service.stop()
    assert seen.kinds() == ["LinkUp", "PbxSnapshot", "CallQueued"]


async def test_failed_resync_is_logged_and_live_events_still_flow(ami: FakeAmi) -> None:
    ami.responders["CoreShowChannels"] = lambda action: error(action, "Permission denied")
    seen = Seen()
    service = TelephonyService([ami.config()], [seen])
    await service.start()
    try:
        await eventually(lambda: "CallQueued" in seen.kinds())
        ami.push(LIVE_JOIN.replace(b"1795236900.40", b"1795236901.41"))
        await eventually(lambda: seen.kinds().count("CallQueued") == 2)
    finally:
        await service.stop()
    assert "PbxSnapshot" not in seen.kinds()


async def test_two_pbxes_are_followed_and_reported_apart(ami: FakeAmi) -> None:
    other = FakeAmi()
    other.secret = "wrong"
    await other.start()
    seen = Seen()
    service = TelephonyService([ami.config(), other.config(name="pbx2")], [seen])
    await service.start()
    try:
        await eventually(lambda: "CallQueued" in seen.kinds())
        await eventually(lambda: service.health()[1].why.startswith("login failed"))
    finally:
        await service.stop()
        await other.close()
    health = service.health()
    assert [h.name for h in health] == ["pbx1", "pbx2"]
    assert {e.pbx for e in seen.events} == {"pbx1"}


async def test_resync_against_the_simulator_after_a_cut() -> None:
    """The PBX simulator over TCP: 3 calls talking and 1 waiting, before and after a cut."""
    sim = PbxSimulator.lab(speed=20.0)
    sim.set_default_agent_phone(AgentPhone.manual())
    host, port = await sim.start()
    seen = Seen()
    service = TelephonyService([PbxConfig("lab", host, port, "hotline", "hotline")], [seen])
    try:
        for n in range(4):
            await sim.place_call("hotline", f"0810000{n:03d}", f"ผู้โทร {n}")
        for agent in ("PJSIP/agent101", "PJSIP/agent102", "PJSIP/agent103"):
            await sim.answer(agent)
        await service.start()
        await eventually(lambda: seen.kinds().count("PbxSnapshot") == 1)
        sim.drop_connections()
        await eventually(lambda: seen.kinds().count("PbxSnapshot") == 2)
    finally:
        await service.stop()
        await sim.stop()
    snapshots = [e for e in seen.events if isinstance(e, PbxSnapshot)]
    for snapshot in snapshots:
        assert len(snapshot.waiting) == 1 and snapshot.waiting[0].caller_name == "ผู้โทร 3"
        assert sorted(c.interface for c in snapshot.connected) == [
            "PJSIP/agent101",
            "PJSIP/agent102",
            "PJSIP/agent103",
        ]
        assert {m.state for m in snapshot.members} == {"in_call"}
    keys = [sorted(c.call_key for c in snapshot.connected) for snapshot in snapshots]
    assert keys[0] == keys[1]
    first = {c.call_key: c.talking_s for c in snapshots[0].connected}
    assert all(c.talking_s >= first[c.call_key] for c in snapshots[1].connected)
    assert seen.kinds().index("LinkDown") < seen.kinds().index("PbxSnapshot", 2)


async def test_resync_that_times_out_reconnects_and_resyncs(ami: FakeAmi) -> None:
    answer = ami.responders["QueueStatus"]
    asked: list[int] = []

    def first_time_silent(action: AmiMessage) -> bytes | None:
        asked.append(1)
        return None if len(asked) == 1 else answer(action)

    ami.responders["QueueStatus"] = first_time_silent
    seen = Seen()
    service = TelephonyService([ami.config(action_timeout=0.3)], [seen])
    await service.start()
    try:
        await eventually(lambda: "PbxSnapshot" in seen.kinds())
    finally:
        await service.stop()
    assert seen.kinds()[:4] == ["LinkUp", "LinkDown", "LinkUp", "PbxSnapshot"]
    down = seen.events[1]
    assert isinstance(down, LinkDown) and down.why == "resync timed out"
    assert ami.logins == 2


class ManualClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_events_keep_their_receive_time_when_the_consumer_lags(ami: FakeAmi) -> None:
    clock = ManualClock(AT)
    gate = asyncio.Event()
    seen = Seen()

    async def slow(event: TelephonyEvent) -> None:
        await seen(event)
        if isinstance(event, CallQueued) and event.uniqueid == "1795236900.40":
            await gate.wait()

    service = TelephonyService([ami.config()], [slow], clock=clock)
    await service.start()
    try:
        await eventually(lambda: "CallQueued" in seen.kinds())
        ami.push(LIVE_JOIN.replace(b"1795236900.40", b"1795236901.41"))
        await eventually(lambda: sum(service.backlog().values()) == 1)
        clock.now = AT + timedelta(minutes=1)
        gate.set()
        await eventually(lambda: seen.kinds().count("CallQueued") == 2)
    finally:
        await service.stop()
    late = seen.events[-1]
    assert isinstance(late, CallQueued) and late.uniqueid == "1795236901.41"
    assert late.at == AT
