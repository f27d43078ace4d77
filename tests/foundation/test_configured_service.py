"""What an agency that configured hotline notices: its own SLA days and time zone on every
case, whichever page the case was saved from, and significant complaints escalated at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from accounts.users import UserRepository
from cases.working_days import BANGKOK, WorkingCalendar
from config.settings import load_settings
from hotline.app import create_app
from runtime.clock import ManualClock
from tests.foundation.conftest import PASSWORD, csrf_from, log_in
from tests.passwords import password_hash
from web.keys import db_key, survey_key

# Monday 09:00 in Bangkok is still Sunday evening in New York.
RECEIVED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
COMPLAINT = {"channel": "phone", "case_type": "complaint", "topic": "No water for a week"}


@dataclass
class Agency:
    client: TestClient

    async def agent_saves_on_the_panel(self, **fields: str) -> int:
        await log_in(self.client, "agent1")
        page = await self.client.get("/panel")
        token = csrf_from(await page.text())
        response = await self.client.post(
            "/panel/intake", data={**COMPLAINT, **fields}, headers={"X-CSRF-Token": token}
        )
        assert response.status == 200, await response.text()
        return int((await response.json())["case_id"])

    async def agent_saves_on_the_case_form(self, **fields: str) -> int:
        await log_in(self.client, "agent1")
        page = await self.client.get("/cases/new", headers={"Accept": "text/html"})
        form = {**COMPLAINT, **fields, "csrf_token": csrf_from(await page.text())}
        response = await self.client.post("/cases/new", data=form, allow_redirects=False)
        assert response.status == 303, await response.text()
        return int(response.headers["Location"].rsplit("/", 1)[-1])

    async def due_at(self, case_id: int) -> datetime:
        assert self.client.app is not None
        due = await self.client.app[db_key].pool.fetchval(
            "SELECT due_at FROM cases WHERE id = $1", case_id
        )
        assert isinstance(due, datetime)
        return due

    async def escalation_levels(self, case_id: int) -> list[Any]:
        assert self.client.app is not None
        rows = await self.client.app[db_key].pool.fetch(
            "SELECT level FROM case_escalations WHERE case_id = $1", case_id
        )
        return [r["level"] for r in rows]


async def _agency(fresh_db_url: str, tmp_path: Path, **settings: Any) -> AsyncIterator[Agency]:
    values = {"database_url": fresh_db_url, "data_dir": tmp_path, **settings}
    app = create_app(load_settings(**values), clock=ManualClock(RECEIVED))
    async with TestClient(TestServer(app)) as client:
        await UserRepository(app[db_key].pool).create(
            username="agent1",
            display_name="Agent One",
            password_hash=await password_hash(PASSWORD),
            role="agent",
        )
        yield Agency(client)


@pytest.fixture
async def fifteen_days(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[Agency]:
    async for agency in _agency(
        fresh_db_url, tmp_path, cases={"sla_days": {"complaint": 15}, "escalation_interval_s": 3600}
    ):
        yield agency


@pytest.fixture
async def new_york(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[Agency]:
    async for agency in _agency(fresh_db_url, tmp_path, timezone="America/New_York"):
        yield agency


async def test_a_complaint_is_due_in_the_configured_days_from_either_page(
    fifteen_days: Agency,
) -> None:
    due = WorkingCalendar().due_at(RECEIVED, 15)
    from_panel = await fifteen_days.agent_saves_on_the_panel()
    from_form = await fifteen_days.agent_saves_on_the_case_form()
    assert await fifteen_days.due_at(from_panel) == due
    assert await fifteen_days.due_at(from_form) == due
    assert due != WorkingCalendar().due_at(RECEIVED, 3)


@pytest.mark.parametrize("page", ["agent_saves_on_the_panel", "agent_saves_on_the_case_form"])
async def test_a_significant_complaint_reaches_senior_management_at_once(
    fifteen_days: Agency, page: str
) -> None:
    case_id = await getattr(fifteen_days, page)(significant="on")
    levels: list[Any] = []
    for _ in range(100):
        levels = await fifteen_days.escalation_levels(case_id)
        if levels:
            break
        await asyncio.sleep(0.05)
    assert levels, "escalated only at the next hourly pass"


async def test_due_times_follow_the_configured_time_zone(new_york: Agency) -> None:
    case_id = await new_york.agent_saves_on_the_panel()
    due = await new_york.due_at(case_id)
    assert due == WorkingCalendar(tz=NEW_YORK).due_at(RECEIVED, 3)
    assert due.astimezone(NEW_YORK).strftime("%H:%M") == "16:30"
    assert due != WorkingCalendar(tz=BANGKOK).due_at(RECEIVED, 3)


async def test_survey_calling_hours_follow_the_configured_time_zone(new_york: Agency) -> None:
    assert new_york.client.app is not None
    assert new_york.client.app[survey_key].settings.timezone == "America/New_York"
