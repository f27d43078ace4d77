"""Reference data pages: units, the agency's closed days, and the escalation list."""

from __future__ import annotations

from datetime import date, datetime

from cases.escalation import EscalationJob
from cases.lifecycle import Role
from cases.models import Actor
from cases.working_days import BANGKOK, WorkingCalendar
from tests.cases.factories import NOW, complaint_form, forward
from tests.cases.site import Site


async def test_an_admin_creates_units_and_a_duplicate_is_refused(site: Site) -> None:
    await site.add_user("root", "admin")
    await site.log_in("root")
    status, _, location = await site.post("/cases/units", {"name": "ฝ่ายบริการลูกค้า"})
    assert status == 303 and location == "/cases/units"
    status, html, _ = await site.post("/cases/units", {"name": "ฝ่ายบริการลูกค้า"})
    assert status == 422 and 'data-field="name"' in html
    status, html = await site.get("/cases/units")
    assert html.count('class="unit"') == 1 and "ฝ่ายบริการลูกค้า" in html


async def test_only_managers_reach_the_reference_pages(site: Site) -> None:
    await site.add_user("boss", "supervisor")
    await site.add_user("agent1", "agent")
    await site.log_in("agent1")
    assert (await site.get("/cases/units"))[0] == 403
    assert (await site.get("/cases/closed-days"))[0] == 403
    await site.log_in("boss")
    assert (await site.get("/cases/units"))[0] == 200
    assert (await site.post("/cases/units", {"name": "x"}))[0] == 403


async def test_a_closed_day_entered_in_be_moves_new_due_dates(site: Site) -> None:
    await site.add_user("boss", "supervisor")
    await site.log_in("boss")
    status, html, _ = await site.post("/cases/closed-days", {"day": "31/02/2569"})
    assert status == 422 and 'data-field="day"' in html and 'value="31/02/2569"' in html
    status, _, _ = await site.post("/cases/closed-days", {"day": "23/11/2569", "reason": "สัมมนา"})
    assert status == 303
    assert "23 พฤศจิกายน 2569 · สัมมนา" in (await site.get("/cases/closed-days"))[1]
    assert await site.cases.closed_days() == [(date(2026, 11, 23), "สัมมนา")]
    case = await site.cases.create_case(
        complaint_form(), actor=Actor(None, Role.SUPERVISOR), now=NOW
    )
    assert case.due_at == datetime(2026, 11, 26, 16, 30, tzinfo=BANGKOK)


async def test_the_escalation_list_shows_a_unit_its_own_cases_only(site: Site) -> None:
    water = await site.cases.create_unit("Water")
    roads = await site.cases.create_unit("Roads")
    agent = await site.add_user("agent1", "agent")
    await site.add_user("water", "unit", water.id)
    await site.add_user("roads", "unit", roads.id)
    actor = Actor(agent, Role.AGENT)
    case = await site.cases.create_case(complaint_form(), actor=actor, now=NOW)
    await forward(site.cases, case.id, water.id, actor)
    await EscalationJob(site.pool, WorkingCalendar()).run_once(
        datetime(2026, 11, 26, 10, 0, tzinfo=BANGKOK)
    )
    await site.log_in("water")
    html = (await site.get("/cases/escalations"))[1]
    assert f'data-reference="{case.reference}"' in html and "หัวหน้าหน่วยงาน" in html
    await site.log_in("roads")
    assert 'class="escalation"' not in (await site.get("/cases/escalations"))[1]
