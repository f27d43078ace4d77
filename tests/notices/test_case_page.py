"""The agent asks at intake how the caller wants to hear; the case page shows it, the LINE
code to give, and each notice with its delivery status and last error."""

from __future__ import annotations

import aiohttp

from cases.lifecycle import Action, Move, Role
from cases.models import Actor
from mail.outbox import MailOutbox
from notices.dispatcher import NoticeDispatcher
from notices.line import LinePush
from notices.settings import NoticeSettings
from notices.sms import SmsGateway
from notices.store import NoticeStore
from runtime.clock import ManualClock
from tests.cases.factories import NOW, complaint_form, forward
from tests.cases.site import Site

INTAKE = {
    "channel": "phone",
    "case_type": "complaint",
    "topic": "น้ำไม่ไหล",
    "contact_name": "สมชาย",
    "contact_phone": "0812345678",
}


async def test_notify_by_email_needs_an_address_and_line_shows_the_code(site: Site) -> None:
    await site.add_user("somchai", "agent")
    await site.log_in("somchai")
    status, html, _ = await site.post("/cases/new", {**INTAKE, "notify_by": "email"})
    assert status == 422 and 'data-field="contact_email"' in html

    status, _, location = await site.post("/cases/new", {**INTAKE, "notify_by": "line"})
    assert status == 303
    _, html = await site.get(location)
    assert 'id="line-code"' in html and "HL-2569-000001" in html


async def test_a_failing_notice_is_shown_on_the_case_with_its_error(site: Site) -> None:
    agent = Actor(await site.add_user("somchai", "agent"), Role.AGENT)
    unit = await site.cases.create_unit("Water")
    unit_user = Actor(await site.add_user("water", "unit", unit.id), Role.UNIT, unit.id)
    await site.add_user("boss", "supervisor")
    case = await site.cases.create_case(
        complaint_form(notify_by="sms"),
        actor=agent,
        now=NOW,
    )
    await forward(site.cases, case.id, unit.id, agent)
    await site.cases.transition(
        case.id,
        Move(Action.RESOLVE, decision="fixed", decision_reasons="pipe", root_cause="pipe_leak"),
        actor=unit_user,
        now=NOW,
    )
    settings = NoticeSettings.model_validate({"sms": {"url": "http://127.0.0.1:9/sms"}})
    async with aiohttp.ClientSession() as http:
        dispatcher = NoticeDispatcher(
            settings,
            NoticeStore(site.pool, settings.retry_policy()),
            MailOutbox(site.pool, ManualClock(NOW)),
            site.cases,
            SmsGateway(settings.sms, http),
            LinePush(settings.line, http),
        )
        assert (await dispatcher.run_once(NOW)).failed == 1
    await site.log_in("boss")
    _, html = await site.get(f"/cases/{case.id}")
    assert 'id="case-notices"' in html
    assert 'class="notice" data-status="failed"' in html
    assert "SMS unreachable" in html
