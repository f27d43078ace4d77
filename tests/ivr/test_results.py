"""Survey figures from stored surveys: the 85 % target, the 1/2/3 split, response rate."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from database.pool import Database
from ivr.results import SurveyResults
from tests.ivr.fakes import seed_agent

BKK = ZoneInfo("Asia/Bangkok")
DAY = datetime(2026, 11, 23, 9, 0, tzinfo=BKK)


async def add(
    pool: Any,
    *,
    rating: int | None,
    agent: int | None = None,
    queue: str = "hotline",
    at: datetime = DAY,
    attempts: int = 1,
    status: str | None = None,
    number: str = "0811111111",
) -> None:
    await pool.execute(
        "INSERT INTO surveys (id, agent_user_id, caller_number, pbx, queue, status, attempts,"
        " rating, rated_at, not_before, expires_at, created_at, updated_at)"
        " VALUES ($1, $2, $3, 'pbx1', $4, $5, $6, $7, $8, $8, $8, $8, $8)",
        uuid.uuid4(),
        agent,
        number,
        queue,
        status or ("completed" if rating else "failed"),
        attempts,
        rating,
        at,
    )


async def test_satisfaction_distribution_and_response_rate(db: Database) -> None:
    pool = db.pool
    one = await seed_agent(pool, "agent101")
    two = await seed_agent(pool, "agent102")
    for rating in (1, 1, 2, 2, 2, 2, 2, 3):
        await add(pool, rating=rating, agent=one)
    await add(pool, rating=3, agent=two, queue="1662")
    await add(pool, rating=None, agent=two)
    await add(pool, rating=None, attempts=0, status="skipped")
    await add(pool, rating=1, at=DAY + timedelta(days=40))

    results = SurveyResults(pool)
    start, end = DAY - timedelta(hours=9), DAY + timedelta(days=1)
    overall = await results.overall(start, end)
    assert (overall.impressed, overall.satisfied, overall.dissatisfied) == (2, 5, 2)
    assert overall.responses == 9
    assert overall.attempted == 10
    assert overall.satisfied_percent == 100 * 7 / 9
    assert overall.response_rate_percent == 90.0
    assert overall.meets_target is False

    agents = {f.label: f for f in await results.by_agent(start, end)}
    assert agents["Agent101"].satisfied_percent == 87.5
    assert agents["Agent101"].meets_target is True
    assert (agents["Agent102"].responses, agents["Agent102"].attempted) == (1, 2)

    queues = {f.key: f.responses for f in await results.by_queue(start, end)}
    assert queues == {"1662": 1, "hotline": 8}

    months = await results.by_period(start, DAY + timedelta(days=60), "month")
    assert [(m.key, m.responses) for m in months] == [("2026-11-01", 9), ("2027-01-01", 1)]


async def test_no_surveys_gives_no_percentages(db: Database) -> None:
    overall = await SurveyResults(db.pool).overall(DAY, DAY + timedelta(days=1))
    assert overall.satisfied_percent is None
    assert overall.response_rate_percent is None
    assert overall.meets_target is None


async def test_caller_last_ratings_newest_first(db: Database) -> None:
    for n, rating in enumerate((3, 2, 1)):
        await add(db.pool, rating=rating, at=DAY + timedelta(days=n))
    await add(db.pool, rating=2, number="0822222222")
    last = await SurveyResults(db.pool).caller_last_ratings("0811111111", limit=2)
    assert [r.rating for r in last] == [1, 2]
