"""The case background jobs start with the service, do their work, and stop with it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from agent_ui.app import create_app
from agent_ui.settings import load_settings
from agent_ui.views import cases as cases_views
from cases.clock import ManualClock
from cases.db import Database
from cases.lifecycle import Role
from cases.models import Actor
from cases.repository import CaseRepository
from cases.settings import CaseSettings
from tests.cases.factories import NOW, add_user, complaint_form


async def test_an_overdue_complaint_is_escalated_once_the_service_runs(
    db: Database, fresh_db_url: str, tmp_path: Path
) -> None:
    agent = await add_user(db, "agent1", "agent")
    case = await CaseRepository(db.pool).create_case(
        complaint_form(), actor=Actor(agent, Role.AGENT), now=NOW
    )
    app = create_app(
        load_settings(database_url=fresh_db_url, data_dir=tmp_path),
        clock=ManualClock(NOW + timedelta(days=7)),
    )
    if not any(getattr(r, "canonical", None) == "/cases" for r in app.router.resources()):
        cases_views.setup(app, CaseSettings(escalation_interval_s=3600))
        app.cleanup_ctx.append(cases_views.case_jobs_ctx)
    async with TestClient(TestServer(app)):
        levels: list[int] = []
        runs = 0
        for _ in range(400):
            levels = [
                r["level"]
                for r in await db.pool.fetch(
                    "SELECT level FROM case_escalations WHERE case_id = $1", case.id
                )
            ]
            runs = await db.pool.fetchval("SELECT count(*) FROM retention_runs")
            if levels and runs:
                break
            await asyncio.sleep(0.05)
    assert levels == [1, 2]
    assert runs == 1
