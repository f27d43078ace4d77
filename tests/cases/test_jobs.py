"""The case background jobs start with the service, do their work, and stop with it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from cases.lifecycle import Role
from cases.models import Actor
from cases.repository import CaseRepository
from cases.settings import CaseSettings
from config.settings import load_settings
from database.pool import Database
from hotline.app import create_app
from runtime.clock import ManualClock
from tests.cases.factories import NOW, add_user, complaint_form
from tests.cases.site import Site


def service(fresh_db_url: str, tmp_path: Path, clock: ManualClock) -> TestServer:
    """The service with the case pages and jobs; an hour between escalation passes."""
    settings = load_settings(
        database_url=fresh_db_url,
        data_dir=tmp_path,
        cases=CaseSettings(escalation_interval_s=3600),
    )
    return TestServer(create_app(settings, clock=clock))


async def wait_for(db: Database, query: str, *args: object) -> list[object]:
    """Polls until the query returns rows (the jobs run beside the test), at most ~20 s."""
    rows: list[object] = []
    for _ in range(400):
        rows = [r[0] for r in await db.pool.fetch(query, *args)]
        if rows:
            break
        await asyncio.sleep(0.05)
    return rows


async def test_an_overdue_complaint_is_escalated_once_the_service_runs(
    db: Database, fresh_db_url: str, tmp_path: Path
) -> None:
    agent = await add_user(db, "agent1", "agent")
    case = await CaseRepository(db.pool).create_case(
        complaint_form(), actor=Actor(agent, Role.AGENT), now=NOW
    )
    async with TestClient(service(fresh_db_url, tmp_path, ManualClock(NOW + timedelta(days=7)))):
        levels = await wait_for(
            db, "SELECT level FROM case_escalations WHERE case_id = $1 ORDER BY level", case.id
        )
        runs = await wait_for(db, "SELECT id FROM retention_runs")
    assert levels == [1, 2]
    assert len(runs) == 1


async def test_a_significant_complaint_is_escalated_without_waiting_for_the_interval(
    db: Database, fresh_db_url: str, tmp_path: Path
) -> None:
    agent = await add_user(db, "agent0", "agent")
    await CaseRepository(db.pool).create_case(
        complaint_form(), actor=Actor(agent, Role.AGENT), now=NOW - timedelta(days=7)
    )
    async with TestClient(service(fresh_db_url, tmp_path, ManualClock(NOW))) as client:
        site = Site(client)
        await site.add_user("agent1", "agent")
        await site.log_in("agent1")
        await wait_for(db, "SELECT id FROM case_escalations")  # the first pass is done
        status, _, _ = await site.post(
            "/cases/new",
            {"channel": "phone", "case_type": "complaint", "topic": "ทุจริต", "significant": "on"},
        )
        assert status == 303
        names = await wait_for(db, "SELECT level_name FROM case_escalations WHERE level = 3")
    assert names == ["deputy_governor"]
