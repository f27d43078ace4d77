"""Retention: records older than the period go, open cases stay, anonymous counts remain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cases.lifecycle import CaseType
from cases.repository import CaseRepository
from cases.retention import RetentionJob, retention_cutoff
from database.pool import Database
from tests.cases.factories import NOW, People, complaint_form

THREE_YEARS_AGO = NOW - timedelta(days=3 * 365)


async def add_call(db: Database, key: str, caller_id: int, joined: datetime) -> int:
    call_id: int = await db.pool.fetchval(
        "INSERT INTO calls (call_key, pbx, queue, uniqueid, caller_id, caller_number, joined_at, "
        "answered_at) VALUES ($1, 'pbx1', '1169', $1, $2, '0812345678', $3, $3) RETURNING id",
        key,
        caller_id,
        joined,
    )
    return call_id


async def test_old_records_are_deleted_open_cases_kept_and_counts_remain(
    db: Database, repo: CaseRepository, people: People
) -> None:
    old_caller = await db.pool.fetchval(
        "INSERT INTO callers (number, name, province, updated_at) "
        "VALUES ('0811111111', 'สมหญิง', 'ตาก', $1) RETURNING id",
        THREE_YEARS_AGO,
    )
    old_call = await add_call(db, "old", old_caller, THREE_YEARS_AGO)
    recent_call = await add_call(db, "new", old_caller, NOW - timedelta(days=10))
    old_closed = await repo.create_case(
        complaint_form(case_type=CaseType.INQUIRY, province="ตาก"),
        actor=people.agent,
        now=THREE_YEARS_AGO,
        call_id=old_call,
        caller_id=old_caller,
    )
    old_open = await repo.create_case(complaint_form(), actor=people.agent, now=THREE_YEARS_AGO)
    recent = await repo.create_case(
        complaint_form(case_type=CaseType.INQUIRY), actor=people.agent, now=NOW
    )
    await repo.log_personal_data_view(old_closed, people.supervisor, THREE_YEARS_AGO)
    for status, created in (
        ("completed", THREE_YEARS_AGO),
        ("pending", THREE_YEARS_AGO),
        ("completed", NOW),
    ):
        await db.pool.execute(
            "INSERT INTO surveys (id, caller_number, pbx, status, not_before, expires_at, "
            "rating, created_at) VALUES (gen_random_uuid(), '0811111111', 'pbx1', $1, $2, $2, "
            "1, $2)",
            status,
            created,
        )

    report = await RetentionJob(db.pool).run_once(NOW)

    assert report.cases_deleted == 1
    assert report.calls_deleted == 1
    assert report.views_deleted == 1
    assert report.surveys_anonymised == 1
    surveys = await db.pool.fetch("SELECT status, caller_number, rating FROM surveys ORDER BY 1, 2")
    assert [tuple(r) for r in surveys] == [
        ("completed", "", 1),
        ("completed", "0811111111", 1),
        ("pending", "0811111111", 1),
    ]
    assert report.open_cases_kept == 1
    assert report.callers_anonymised == 0  # the caller still has a recent call
    remaining = {r["id"] for r in await db.pool.fetch("SELECT id FROM cases")}
    assert remaining == {old_open.id, recent.id}
    assert await db.pool.fetchval("SELECT count(*) FROM calls") == 1
    stats = await db.pool.fetch("SELECT case_type, province, status, n FROM case_statistics")
    assert [tuple(r) for r in stats] == [("inquiry", "ตาก", "closed", 1)]
    assert await db.pool.fetchval("SELECT answered FROM call_statistics") == 1
    assert await db.pool.fetchval("SELECT count(*) FROM retention_runs") == 1

    await db.pool.execute("DELETE FROM calls WHERE id = $1", recent_call)
    again = await RetentionJob(db.pool).run_once(NOW)
    assert again.cases_deleted == 0
    assert again.callers_anonymised == 1
    caller = await db.pool.fetchrow("SELECT number, name, province FROM callers")
    assert caller["name"] is None and caller["province"] is None
    assert caller["number"].startswith("anon-")


def test_cutoff_is_two_calendar_years_back_even_from_a_leap_day() -> None:
    assert retention_cutoff(datetime(2028, 2, 29, tzinfo=UTC), 2) == datetime(
        2026, 2, 28, tzinfo=UTC
    )
    assert retention_cutoff(NOW, 2).year == NOW.year - 2
