"""The calls repository on a real PostgreSQL: one row per call however often it is saved."""

from __future__ import annotations

import uuid
from dataclasses import MISSING, asdict, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from calls.record import RECORD_FIELDS, CallRecord
from calls.repository import CallRepository, StoredCall
from database.pool import Database
from tests.telephony.records import call_record

T0 = datetime(2026, 11, 21, 4, 50, 56, tzinfo=UTC)


def record(uniqueid: str = "1795236655.0", **facts: Any) -> CallRecord:
    """A caller who just joined the queue, with `facts` changed."""
    joined: dict[str, Any] = {
        "linkedid": uniqueid,
        "caller_number": "+66812345678",
        "caller_name": "Customer",
        "joined_at": T0,
        "position": 1,
        "original_position": 1,
    }
    return call_record(uniqueid, **(joined | facts))


def answered(call: CallRecord) -> CallRecord:
    return replace(
        call,
        ringing_at=T0 + timedelta(seconds=0.01),
        answered_at=T0 + timedelta(seconds=2),
        agent_interface="PJSIP/agent101",
        agent_name="Agent 101",
        wait_s=2.0,
        ring_s=2.0,
    )


def ended(call: CallRecord, talk: float = 3.0) -> CallRecord:
    return replace(
        answered(call),
        ended_at=T0 + timedelta(seconds=2 + talk),
        talk_s=talk,
        hung_up_by="caller",
        end_reason="completed",
    )


@pytest.fixture
def repo(db: Database) -> CallRepository:
    return CallRepository(db.pool)


async def stored(repo: CallRepository, key: str = "lab/hotline/1795236655.0") -> StoredCall:
    call = await repo.get_call(key)
    assert call is not None
    return call


async def test_milestones_update_one_row(db: Database, repo: CallRepository) -> None:
    first = record()
    await repo.save_call(first)
    await repo.save_call(answered(first))
    await repo.save_call(ended(first))
    await repo.save_call(ended(first))
    assert await db.pool.fetchval("SELECT count(*) FROM calls") == 1
    call = await stored(repo)
    assert call.caller_number == "0812345678"
    assert call.agent_interface == "PJSIP/agent101"
    assert (call.wait_s, call.ring_s, call.talk_s) == (2.0, 2.0, 3.0)
    assert (call.hung_up_by, call.end_reason) == ("caller", "completed")
    assert call.joined_at == T0 and call.ended_at == T0 + timedelta(seconds=5)


async def test_a_late_save_never_erases_what_was_known(repo: CallRepository) -> None:
    await repo.save_call(ended(record(), talk=3.0))
    late = replace(ended(record(), talk=9.0), talk_s=None, ended_at=T0 + timedelta(seconds=30))
    late = replace(late, hung_up_by="system", end_reason="lost_in_gap", joined_at=None)
    await repo.save_call(late)
    call = await stored(repo)
    assert call.talk_s == 3.0
    assert call.ended_at == T0 + timedelta(seconds=5)
    assert (call.hung_up_by, call.end_reason) == ("caller", "completed")
    assert call.joined_at == T0


async def test_a_real_end_learnt_later_replaces_a_lost_in_gap_guess(repo: CallRepository) -> None:
    guess = replace(answered(record()), ended_at=T0 + timedelta(seconds=40))
    await repo.save_call(replace(guess, end_reason="lost_in_gap"))
    await repo.save_call(replace(ended(record(), talk=6.0), hung_up_by="agent", recovered=True))
    call = await stored(repo)
    assert call.ended_at == T0 + timedelta(seconds=8) and call.talk_s == 6.0
    assert (call.hung_up_by, call.end_reason) == ("agent", "completed")


async def test_transfer_learnt_after_the_end_is_kept(repo: CallRepository) -> None:
    done = replace(ended(record()), hung_up_by="agent")
    await repo.save_call(done)
    await repo.save_call(
        replace(done, transferred_to="2001", end_reason="transferred", hung_up_by="transfer")
    )
    call = await stored(repo)
    assert (call.transferred_to, call.end_reason, call.hung_up_by) == (
        "2001",
        "transferred",
        "transfer",
    )


async def test_callers_are_linked_by_normalised_number(db: Database, repo: CallRepository) -> None:
    await repo.save_call(record("1", caller_number="+66 81 234 5678"))
    await repo.save_call(record("2", caller_number="0812345678"))
    await repo.save_call(record("3", caller_number="15550101"))
    await repo.save_call(record("4", caller_number="anonymous"))
    numbers = await db.pool.fetch("SELECT number FROM callers ORDER BY number")
    assert [r["number"] for r in numbers] == ["0812345678", "15550101"]
    one, two = await stored(repo, "lab/hotline/1"), await stored(repo, "lab/hotline/2")
    assert one.caller_id is not None and one.caller_id == two.caller_id
    anonymous = await stored(repo, "lab/hotline/4")
    assert anonymous.caller_id is None and anonymous.caller_number is None


async def test_agent_user_is_linked_by_pbx_and_interface(
    db: Database, repo: CallRepository
) -> None:
    user_id = await db.pool.fetchval(
        "INSERT INTO users (username, display_name, password_hash, role, pbx, interface) "
        "VALUES ('somchai', 'สมชาย', 'x', 'agent', 'lab', 'PJSIP/agent101') RETURNING id"
    )
    await repo.save_call(record())
    assert (await stored(repo)).agent_user_id is None
    await repo.save_call(answered(record()))
    assert (await stored(repo)).agent_user_id == user_id
    other = record("1", pbx="other")
    await repo.save_call(answered(other))
    assert (await stored(repo, "other/hotline/1")).agent_user_id is None


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert('x')</script>",
        "Robert'); DROP TABLE calls;--",
        "x" * 100_000,
        "bad\x00byte",
        "José \ufffd\ufffd ทดสอบ",
        "lone \udcff surrogate",
    ],
)
async def test_hostile_caller_names_are_stored_as_plain_text(
    db: Database, repo: CallRepository, name: str
) -> None:
    await repo.save_call(record(caller_name=name))
    call = await stored(repo)
    assert call.caller_name is not None
    assert "\x00" not in call.caller_name
    assert len(call.caller_name) <= 200
    expected = name.replace("\x00", "").encode("utf-8", "replace").decode()[:200]
    assert call.caller_name == expected
    assert await db.pool.fetchval("SELECT count(*) FROM calls") == 1


async def test_caller_history_newest_first_with_agent_and_rating(
    db: Database, repo: CallRepository
) -> None:
    await db.pool.execute(
        "INSERT INTO users (username, display_name, password_hash, role, pbx, interface) "
        "VALUES ('somchai', 'Somchai J.', 'x', 'agent', 'lab', 'PJSIP/agent101')"
    )
    old = record("1")
    new = record("2", joined_at=T0 + timedelta(days=1))
    now = record("3", joined_at=T0 + timedelta(days=2))
    await repo.save_call(ended(old, talk=60.0))
    await repo.save_call(
        replace(new, ended_at=new.joined_at, abandoned=True, end_reason="abandoned")
    )
    await repo.save_call(now)
    stranger = record("9", caller_number="0899999999")
    await repo.save_call(ended(stranger))
    call_id = (await stored(repo, "lab/hotline/1")).id
    await db.pool.execute(
        "INSERT INTO surveys (id, call_id, caller_number, pbx, not_before, expires_at, status, "
        "rating, rated_at) VALUES ($1, $2, '0812345678', 'lab', $3, $3, 'completed', 1, $3)",
        uuid.uuid4(),
        call_id,
        T0,
    )
    history = await repo.caller_history("+66812345678", exclude_call_key="lab/hotline/3")
    assert [h.call_key for h in history] == ["lab/hotline/2", "lab/hotline/1"]
    assert history[0].abandoned is True and history[0].agent is None and history[0].rating is None
    assert (history[1].agent, history[1].talk_s, history[1].rating) == ("Somchai J.", 60.0, 1)
    assert len(await repo.caller_history("0812345678", limit=1)) == 1
    assert await repo.caller_history("anonymous") == []


async def test_calls_between_and_open_calls(repo: CallRepository) -> None:
    day = timedelta(days=1)
    await repo.save_call(ended(record("1")))
    await repo.save_call(record("2", joined_at=T0 + day))
    adopted = record("3", joined_at=None, recovered=True)
    await repo.save_call(replace(answered(adopted), joined_at=None))
    between = await repo.calls_between(T0, T0 + timedelta(hours=1))
    assert [c.call_key for c in between] == ["lab/hotline/1", "lab/hotline/3"]
    open_calls = await repo.open_calls("lab")
    assert [c.call_key for c in open_calls] == ["lab/hotline/2", "lab/hotline/3"]
    assert open_calls[1].recovered is True
    assert await repo.open_calls("elsewhere") == []
    assert await repo.get_call("lab/hotline/none") is None


async def test_recovered_flag_keeps_its_first_value(repo: CallRepository) -> None:
    await repo.save_call(record())
    await repo.save_call(
        replace(answered(record()), recovered=True, joined_at=T0 + timedelta(seconds=1))
    )
    call = await stored(repo)
    assert call.recovered is False
    assert call.joined_at == T0


async def test_a_batch_of_saves_is_the_same_as_saving_one_by_one(
    db: Database, repo: CallRepository
) -> None:
    first, second = record(), record("2")
    await repo.save_calls([])
    await repo.save_calls([first, answered(first), second, ended(first), ended(first, talk=7.0)])
    assert await db.pool.fetchval("SELECT count(*) FROM calls") == 2
    assert await db.pool.fetchval("SELECT count(*) FROM callers") == 1
    call = await stored(repo)
    assert (call.talk_s, call.end_reason, call.agent_interface) == (
        7.0,
        "completed",
        "PJSIP/agent101",
    )
    assert call.ended_at == T0 + timedelta(seconds=5)


async def test_every_fact_of_a_record_reads_back_as_it_was_saved(repo: CallRepository) -> None:
    """Each field of the record is a column; what the tracker knew is what comes back."""
    known = ended(
        record(
            "7.1",
            caller_number="0812345678",
            position=2,
            original_position=3,
            hold_s=4.0,
            abandoned=True,
            recovered=True,
        ),
        talk=9.0,
    )
    known = replace(
        known,
        hung_up_by="transfer",
        end_reason="transferred",
        transferred_to="2001",
        came_from="lab/hotline/7.1#0",
        transfer_kind="attended",
        transfer_destination="agent",
        transfer_party="PJSIP/agent102",
        exit_key="5",
        held_since=T0 + timedelta(seconds=3),
        times_estimated=True,
    )
    unset = [
        f.name
        for f in fields(CallRecord)
        if f.default is not MISSING and getattr(known, f.name) == f.default
    ]
    assert unset == [], "give every fact a value, so each one is seen to round-trip"
    await repo.save_call(known)
    call = await stored(repo, known.call_key)
    assert {name: getattr(call, name) for name in RECORD_FIELDS} == asdict(known)
    assert call.caller_id is not None and call.id > 0


@dataclass(frozen=True)
class Noted:
    """A change to a call's row: its wrap-up time (as the panel's changes are made)."""

    call_key: str
    wrapup_s: float

    async def apply(self, conn: asyncpg.Connection) -> bool:
        found = await conn.fetchval(
            "UPDATE calls SET wrapup_s = $2 WHERE call_key = $1 RETURNING id",
            self.call_key,
            self.wrapup_s,
        )
        return found is not None


async def test_changes_follow_the_records_and_wait_when_their_call_has_no_row(
    db: Database, repo: CallRepository
) -> None:
    first, second = record("1"), record("2")
    early, late = Noted(second.call_key, 5.0), Noted(second.call_key, 6.0)
    changes = [Noted(first.call_key, 3.0), early, late]
    assert await repo.save_calls([first], changes) == [early, late]
    assert (await stored(repo, first.call_key)).call_key == first.call_key
    rows = await db.pool.fetch("SELECT call_key, wrapup_s FROM calls")
    assert [(r["call_key"], r["wrapup_s"]) for r in rows] == [(first.call_key, 3.0)]
    assert await repo.save_calls([second], [early, late]) == []
    assert (
        await db.pool.fetchval("SELECT wrapup_s FROM calls WHERE call_key = $1", second.call_key)
        == 6.0
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("end_reason", "hung_up"),
        ("hung_up_by", "nobody"),
        ("transfer_kind", "sideways"),
        ("transfer_destination", "moon"),
    ],
)
async def test_outcomes_outside_the_known_sets_are_refused(
    repo: CallRepository, column: str, value: str
) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await repo.save_call(replace(record("7.2"), **{column: value}))


async def test_the_new_outcomes_are_accepted(repo: CallRepository) -> None:
    for n, (reason, by) in enumerate(
        [("full", None), ("redirected", None), ("completed", "supervisor"), ("key", None)]
    ):
        await repo.save_call(replace(record(f"7.{n + 3}"), end_reason=reason, hung_up_by=by))
    assert await repo.pool.fetchval("SELECT count(*) FROM calls") == 4


async def test_a_hold_in_progress_is_stored_and_cleared_when_it_ends(repo: CallRepository) -> None:
    held = replace(record("7.9"), held_since=T0 + timedelta(seconds=4))
    await repo.save_call(held)
    assert (await stored(repo, held.call_key)).held_since == T0 + timedelta(seconds=4)
    await repo.save_call(replace(held, held_since=None, hold_s=6.0))
    resumed = await stored(repo, held.call_key)
    assert (resumed.held_since, resumed.hold_s) == (None, 6.0)
