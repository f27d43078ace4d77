"""The dynamic-member, transfer and supervisor captures of the real Asterisk 22, replayed byte
for byte through the translator and the tracker: each call is stored as it happened
(timeouts, exits by key, a Redirect away, blind and attended transfers and where they
went, a caller sent back into the queue, who ended a call), and a click-to-call is an
outbound call, never a queue call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime

import pytest

from calls.floor import Floor
from calls.record import RECORD_FIELDS, CallRecord
from calls.repository import CallRepository
from calls.tracker import CallTracker
from database.pool import Database
from pbxsim import PbxSimulator
from telephony.ami.protocol import AmiMessage
from telephony.events import CallAnswered, OutboundCallEnded, TelephonyEvent
from telephony.translate import Translator
from tests.fixtures import AMI_TRACES
from tests.telephony.test_traces import (
    PBX,
    MemorySink,
    Replay,
    ami_messages,
    assert_closed_cleanly,
    followed,
)

# What the shipped AMI account reads (manager.conf read = system,call,agent,user): class
# dialplan (VarSet, Newexten) never reaches hotline, so these replays leave it out.
DIALPLAN_CLASS = frozenset({"VarSet", "Newexten"})

STORED_CAPTURES = [
    "blind-transfer-ami.txt",
    "attended-transfer-ami.txt",
    "redirect-hangup-ami.txt",
    "queue-timeout-exit-dialplan.txt",
    "wrapup-time.txt",
    "agent-shift-dynamic.txt",
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def replay_shipped(
    name: str,
    on_answer: Callable[[CallTracker, CallAnswered], None] | None = None,
    skip: Callable[[AmiMessage], bool] | None = None,
) -> Replay:
    """The capture as the shipped AMI account sees it, through a tracker and a floor;
    `on_answer` acts as the panel would once a call is answered; `skip` leaves frames out."""
    translator = Translator(PBX)
    sink = MemorySink()
    tracker, floor = CallTracker(sink), Floor(wrapup_s=0)
    events: list[TelephonyEvent] = []
    for msg, received in ami_messages(name):
        if msg.name in DIALPLAN_CLASS or (skip is not None and skip(msg)):
            continue
        for event in translator.translate(msg, received):
            events.append(event)
            await tracker.handle(event)
            await floor.handle(event)
            if on_answer is not None and isinstance(event, CallAnswered):
                on_answer(tracker, event)
    return Replay(events, sink, floor, translator)


def row(result: Replay, uniqueid: str) -> CallRecord:
    return result.sink.rows[f"{PBX}/hotline/{uniqueid}"]


async def test_queue_timeout_and_exit_by_key_from_the_dialplan_user_event() -> None:
    result = await replay_shipped("queue-timeout-exit-dialplan.txt")
    assert len(result.sink.rows) == 3
    timeout = row(result, "1796203387.39")
    assert (timeout.end_reason, timeout.abandoned, timeout.hung_up_by) == ("timeout", False, None)
    assert timeout.wait_s == pytest.approx(8.0, abs=0.05)
    assert timeout.ended_at == at("2026-12-02T09:23:16.276017")
    key = row(result, "1796203401.40")
    assert (key.end_reason, key.exit_key, key.abandoned) == ("key", "5", False)
    assert key.ended_at == at("2026-12-02T09:23:24.842253")
    assert key.wait_s == pytest.approx(3.146, abs=0.01)
    answered = row(result, "1796203411.41")
    assert (answered.end_reason, answered.hung_up_by) == ("completed", "agent")
    assert answered.talk_s == pytest.approx(3.0, abs=0.05)
    assert_closed_cleanly(result)


async def test_a_redirect_away_from_the_queue_is_not_an_abandon() -> None:
    result = await replay_shipped("redirect-hangup-ami.txt")
    for uniqueid, waited, left in (
        ("1796203331.36", 4.0, "2026-12-02T09:22:16.242810"),
        ("1796203341.37", 1.0, "2026-12-02T09:22:23.168671"),
    ):
        redirected = row(result, uniqueid)
        assert (redirected.end_reason, redirected.abandoned) == ("redirected", False)
        assert redirected.hung_up_by is None and redirected.answered_at is None
        assert redirected.wait_s == pytest.approx(waited, abs=0.05)
        assert redirected.ended_at == at(left)
    assert_closed_cleanly(result)


async def test_an_ami_hangup_of_the_agent_leg_is_stored_as_who_pressed_it() -> None:
    """Asterisk reports it as Reason caller; the panel says who asked just before."""
    plain = await replay_shipped("redirect-hangup-ami.txt")
    assert row(plain, "1796203322.34").hung_up_by == "caller"

    def supervisor_hangs_up(tracker: CallTracker, answered: CallAnswered) -> None:
        assert answered.agent_channel == "PJSIP/agent101-00000021"
        tracker.hangup_requested(answered.pbx, answered.agent_channel, "supervisor")

    result = await replay_shipped("redirect-hangup-ami.txt", supervisor_hangs_up)
    ended = row(result, "1796203322.34")
    assert (ended.hung_up_by, ended.end_reason) == ("supervisor", "completed")
    assert ended.talk_s == pytest.approx(3.0, abs=0.05)


async def test_blind_transfers_name_where_the_caller_went() -> None:
    result = await replay_shipped("blind-transfer-ami.txt")
    assert len(result.sink.rows) == 4
    # AMI BlindTransfer of the CALLER's channel: the agent's leg moves on, the caller is
    # hung up and reaches no one.
    first = row(result, "1796203136.12")
    assert (first.end_reason, first.hung_up_by, first.transferred_to) == (
        "transferred",
        "transfer",
        "2102",
    )
    assert (first.transfer_kind, first.transfer_destination) == ("blind", "unknown")
    to_agent = row(result, "1796203151.15")
    assert (to_agent.end_reason, to_agent.transferred_to, to_agent.transfer_kind) == (
        "transferred",
        "2102",
        "blind",
    )
    assert (to_agent.transfer_destination, to_agent.transfer_party) == ("agent", "PJSIP/agent102")
    assert to_agent.ended_at == at("2026-12-02T09:19:17.275431")
    assert to_agent.talk_s == pytest.approx(3.0, abs=0.05)
    assert_closed_cleanly(result)


async def test_a_caller_sent_back_into_the_queue_is_a_new_linked_queue_call() -> None:
    result = await replay_shipped("blind-transfer-ami.txt")
    first = row(result, "1796203166.18")
    second = row(result, "1796203166.18#2")
    assert (first.end_reason, first.transfer_destination, first.transfer_party) == (
        "transferred",
        "queue",
        "hotline",
    )
    assert (first.agent_interface, first.transferred_to) == ("PJSIP/agent101", "1169")
    assert first.ended_at == at("2026-12-02T09:19:32.394189")
    assert first.talk_s == pytest.approx(3.0, abs=0.05)
    assert second.came_from == first.call_key
    assert (second.uniqueid, second.caller_number) == (first.uniqueid, "0811000303")
    assert second.joined_at == at("2026-12-02T09:19:32.395487")
    assert (second.agent_interface, second.hung_up_by, second.end_reason) == (
        "PJSIP/agent102",
        "caller",
        "completed",
    )
    assert second.wait_s == pytest.approx(2.0, abs=0.05)
    assert second.talk_s == pytest.approx(5.0, abs=0.05)


async def test_an_attended_transfer_names_the_agent_consulted() -> None:
    result = await replay_shipped("attended-transfer-ami.txt")
    refused = row(result, "1796203281.27")  # Atxfer refused (no feature code): agent hung up
    assert (refused.end_reason, refused.hung_up_by, refused.transfer_kind) == (
        "completed",
        "agent",
        None,
    )
    moved = row(result, "1796203295.29")
    assert (moved.end_reason, moved.hung_up_by, moved.transferred_to) == (
        "transferred",
        "transfer",
        "2102",
    )
    assert (moved.transfer_kind, moved.transfer_destination, moved.transfer_party) == (
        "attended",
        "agent",
        "PJSIP/agent102",
    )
    # The caller heard music on hold during the consultation: hold, not talk.
    assert moved.hold_s == pytest.approx(6.24, abs=0.05)
    assert moved.talk_s == pytest.approx(3.26, abs=0.05)
    assert moved.ended_at == at("2026-12-02T09:21:47.970868")
    assert_closed_cleanly(result)


@pytest.mark.parametrize(
    ("name", "talks"),
    [("wrapup-time.txt", [4.0, 5.5, 4.0, 3.5]), ("agent-shift-dynamic.txt", [4.0, 3.5])],
)
async def test_shift_captures_store_each_answered_call(name: str, talks: list[float]) -> None:
    """Wrap-up (queue or service-held) and dynamic sign-in add no call and change none."""
    result = await replay_shipped(name)
    rows = sorted(result.sink.rows.values(), key=lambda r: r.joined_at or at("2000-01-01"))
    assert [r.talk_s for r in rows] == pytest.approx(talks, abs=0.05)
    assert {(r.end_reason, r.hung_up_by, r.agent_interface) for r in rows} == {
        ("completed", "caller", "PJSIP/agent101")
    }
    assert_closed_cleanly(result)


async def test_click_to_call_is_an_outbound_call_not_a_queue_call() -> None:
    result = await replay_shipped("click-to-call.txt")
    assert result.sink.rows == {}
    [out] = [e for e in result.events if isinstance(e, OutboundCallEnded)]
    assert (out.interface, out.number, out.callback, out.uniqueid) == (
        "PJSIP/agent101",
        "0812345678",
        "case-42",
        "1796203420.43",
    )
    assert out.dialled_at == at("2026-12-02T09:23:42.132077")
    assert out.answered_at == at("2026-12-02T09:23:45.134519")
    assert out.at == at("2026-12-02T09:23:51.138798")
    assert out.answered and out.talk_s == pytest.approx(6.0, abs=0.01)
    assert result.translator.tracked_calls == 0


async def test_outcomes_are_stored_in_postgresql_as_recorded(db: Database) -> None:
    """Every fact of these replays lands in its column, and a replay twice changes nothing."""
    repo = CallRepository(db.pool)
    expected: dict[str, CallRecord] = {}
    for _ in range(2):
        for name in STORED_CAPTURES:
            result = await replay_shipped(name)
            expected.update(result.sink.rows)
            for record in result.sink.saves:
                await repo.save_call(record)
    assert await db.pool.fetchval("SELECT count(*) FROM calls") == len(expected) == 18
    for key, record in expected.items():
        stored = await repo.get_call(key)
        assert stored is not None
        assert {name: getattr(stored, name) for name in RECORD_FIELDS} == asdict(record)


@pytest.mark.parametrize("name", ["queue-timeout-exit-dialplan.txt", "blind-transfer-ami.txt"])
async def test_outcome_capture_over_tcp_lands_in_postgresql(db: Database, name: str) -> None:
    """Through the simulator, the AMI link and the writer, as in production."""
    expected = (await replay_shipped(name)).sink.rows
    async with (
        PbxSimulator(replay=AMI_TRACES / name, replay_autostart=False) as sim,
        followed(sim, db) as repo,
    ):
        await repo.wait_ended(len(expected))
    for key, record in expected.items():
        stored = await repo.get_call(key)
        assert stored is not None
        facts = ("end_reason", "hung_up_by", "exit_key", "came_from", "transfer_destination")
        assert {f: getattr(stored, f) for f in facts} == {f: getattr(record, f) for f in facts}


def test_the_captures_hold_dialplan_events_the_replays_leave_out() -> None:
    """Recorded with read=all: leaving VarSet/Newexten out is what makes the replays true."""
    names = {msg.name for msg, _ in ami_messages("queue-timeout-exit-dialplan.txt")}
    assert names >= DIALPLAN_CLASS
