"""The case pages as each role uses them: forms, register, detail, exports, privacy."""

from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook

from cases.lifecycle import Role
from cases.models import Actor
from tests.cases.factories import NOW, complaint_form, forward
from tests.cases.site import HTML, Site

INTAKE = {
    "channel": "phone",
    "case_type": "complaint",
    "topic": "<script>alert(1)</script> น้ำไม่ไหล",
    "details": "ท่อแตกหน้าบ้าน & ไม่มีน้ำใช้",
    "contact_name": "สมชาย <b>ใจดี</b>",
    "contact_phone": "081-234-5678",
    "province": "เชียงใหม่",
}


def references(html: str) -> list[str]:
    return re.findall(r'class="case-row[^"]*" data-reference="([^"]+)"', html)


async def test_an_intake_form_with_errors_keeps_what_was_typed(site: Site) -> None:
    await site.add_user("somchai", "agent")
    await site.log_in("somchai")
    status, html, _ = await site.post(
        "/cases/new", {**INTAKE, "topic": "", "contact_email": "not-an-email"}
    )
    assert status == 422
    assert 'data-field="topic"' in html
    assert 'data-field="contact_email"' in html
    assert "ท่อแตกหน้าบ้าน &amp; ไม่มีน้ำใช้" in html  # kept, and escaped
    assert 'value="สมชาย &lt;b&gt;ใจดี&lt;/b&gt;"' in html
    assert 'value="not-an-email"' in html

    status, _, location = await site.post("/cases/new", INTAKE)
    assert status == 303
    status, html = await site.get(location)
    assert status == 200
    assert "HL-2569-000001" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert 'id="personal-data"' in html
    assert "081-234-5678" in html


async def test_each_role_sees_exactly_what_it_may(site: Site) -> None:
    water = await site.cases.create_unit("Water")
    roads = await site.cases.create_unit("Roads")
    agent = await site.add_user("agent1", "agent")
    await site.add_user("agent2", "agent")
    await site.add_user("boss", "supervisor")
    await site.add_user("water", "unit", water.id)
    await site.add_user("roads", "unit", roads.id)
    actor = Actor(agent, Role.AGENT)
    forwarded = await site.cases.create_case(complaint_form(), actor=actor, now=NOW)
    await forward(site.cases, forwarded.id, water.id, actor)
    kept = await site.cases.create_case(complaint_form(topic="kept"), actor=actor, now=NOW)
    both = sorted([forwarded.reference, kept.reference], reverse=True)

    await site.log_in("water")
    assert references((await site.get("/cases"))[1]) == [forwarded.reference]
    status, html = await site.get(f"/cases/{forwarded.id}")
    assert status == 200 and 'id="personal-data"' in html
    assert 'data-action="resolve"' in html and 'data-action="close"' not in html
    assert (await site.get(f"/cases/{kept.id}"))[0] == 403

    await site.log_in("roads")
    assert references((await site.get("/cases"))[1]) == []
    assert (await site.get(f"/cases/{forwarded.id}"))[0] == 403
    assert (await site.get("/cases/new"))[0] == 403

    await site.log_in("agent2")
    assert references((await site.get("/cases"))[1]) == both
    status, html = await site.get(f"/cases/{forwarded.id}")
    assert 'id="personal-hidden"' in html and "สมชาย" not in html

    await site.log_in("boss")
    assert references((await site.get("/cases"))[1]) == both
    status, html = await site.get(f"/cases/{kept.id}")
    assert "สมชาย ใจดี" in html
    viewers = await site.pool.fetch(
        "SELECT u.username FROM pdpa_view_log l JOIN users u ON u.id = l.user_id ORDER BY l.id"
    )
    assert [v["username"] for v in viewers] == ["water", "boss"]


async def test_a_unit_records_its_decision_and_a_missing_reason_keeps_the_text(
    site: Site,
) -> None:
    water = await site.cases.create_unit("Water")
    agent = await site.add_user("agent1", "agent")
    await site.add_user("water", "unit", water.id)
    actor = Actor(agent, Role.AGENT)
    case = await site.cases.create_case(complaint_form(), actor=actor, now=NOW)
    await forward(site.cases, case.id, water.id, actor)
    await site.log_in("water")
    status, html, _ = await site.post(
        f"/cases/{case.id}/action",
        {"action": "resolve", "decision": "ซ่อมท่อแล้ว", "note": "พบท่อแตก"},
    )
    assert status == 422
    assert 'data-field="decision_reasons"' in html
    assert 'value="ซ่อมท่อแล้ว"' in html and "พบท่อแตก" in html
    # a complaint is resolved with its root cause, one of the configured list
    assert 'data-field="root_cause"' in html
    assert '<option value="pipe_leak" >ท่อแตก/ท่อรั่ว</option>' in html
    resolved = {"action": "resolve", "decision": "ซ่อมท่อแล้ว", "decision_reasons": "ท่อแตก"}
    status, html, _ = await site.post(
        f"/cases/{case.id}/action", resolved | {"root_cause": "made_up"}
    )
    assert status == 422 and 'data-field="root_cause"' in html
    status, _, location = await site.post(
        f"/cases/{case.id}/action", resolved | {"root_cause": "pipe_leak"}
    )
    assert status == 303 and location == f"/cases/{case.id}"
    html = (await site.get(location))[1]
    assert 'data-status="resolved"' in html
    assert html.count('class="event"') == 5
    stored = "SELECT root_cause FROM cases WHERE id = $1"
    assert await site.cases.pool.fetchval(stored, case.id) == "pipe_leak"
    status, html, _ = await site.post(f"/cases/{case.id}/action", {"action": "close"})
    assert status == 403


async def test_exports_hold_the_rows_on_screen(site: Site) -> None:
    agent = await site.add_user("agent1", "agent")
    await site.add_user("boss", "supervisor")
    actor = Actor(agent, Role.AGENT)
    for province in ("เชียงใหม่", "ตาก", "เชียงใหม่"):
        await site.cases.create_case(complaint_form(province=province), actor=actor, now=NOW)
    await site.log_in("boss")
    status, html = await site.get("/cases", province="เชียงใหม่", page_size="1")
    assert status == 200
    assert 'id="total">2<' in html
    shown = references(html) + references(
        (await site.get("/cases", province="เชียงใหม่", page_size="1", page="2"))[1]
    )
    link = re.search(r'id="export-xlsx" href="([^"]+)"', html)
    assert link is not None
    response = await site.client.get(link.group(1).replace("&amp;", "&"), headers=HTML)
    assert response.status == 200
    sheet = load_workbook(io.BytesIO(await response.read())).active
    assert sheet is not None
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[0][0] == "เลขที่เรื่อง"
    assert [line[0] for line in lines[1:]] == shown
    assert {line[7] for line in lines[1:]} == {"เชียงใหม่"}

    response = await site.client.get("/cases/export.csv", params={"province": "ตาก"})
    body = await response.read()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][7] == "ตาก" and rows[1][3] == "เรื่องร้องเรียน"


async def test_dates_show_in_be_or_ce(site: Site) -> None:
    agent = await site.add_user("agent1", "agent")
    await site.cases.create_case(complaint_form(), actor=Actor(agent, Role.AGENT), now=NOW)
    await site.log_in("agent1")
    assert "20 พ.ย. 2569 10:00" in (await site.get("/cases"))[1]
    assert "20 พ.ย. 2026 10:00" in (await site.get("/cases", era="ce"))[1]


async def test_a_note_is_added_to_the_history_and_an_empty_one_refused(site: Site) -> None:
    agent = await site.add_user("agent1", "agent")
    case = await site.cases.create_case(complaint_form(), actor=Actor(agent, Role.AGENT), now=NOW)
    await site.log_in("agent1")
    status, html, _ = await site.post(f"/cases/{case.id}/note", {"note": "   "})
    assert status == 422 and 'data-field="note"' in html
    status, _, location = await site.post(f"/cases/{case.id}/note", {"note": "โทรแจ้งผู้ร้อง <ครั้งที่ 1>"})
    assert status == 303
    html = (await site.get(location))[1]
    assert "โทรแจ้งผู้ร้อง &lt;ครั้งที่ 1&gt;" in html
    assert 'data-status="received"' in html
    history = await site.cases.history(case.id)
    assert [e.action for e in history] == ["created", "note"]


async def test_hostile_input_is_answered_not_crashed_on(site: Site) -> None:
    await site.add_user("agent1", "agent")
    await site.log_in("agent1")
    assert (await site.get("/cases", topic="%_\\", page="-1"))[0] == 200
    assert (await site.get("/cases", q="a\x00b"))[0] == 400
    status, _, location = await site.post("/cases/new", {**INTAKE, "details": "x\x00y"})
    assert status == 303
    status, _, _ = await site.post(f"{location}/note", {"note": "n\x00ote"})
    assert status == 303
    assert (await site.get("/cases/99999999999999999999"))[0] == 404
    assert (await site.get("/cases/424242"))[0] == 404


async def test_pages_speak_english_with_ce_dates_when_asked(site: Site) -> None:
    agent = await site.add_user("agent1", "agent")
    case = await site.cases.create_case(complaint_form(), actor=Actor(agent, Role.AGENT), now=NOW)
    await site.log_in("agent1")
    site.client.session.cookie_jar.update_cookies({"hotline_lang": "en"})
    html = (await site.get(f"/cases/{case.id}", era="ce"))[1]
    assert "Complaint" in html and "20 Nov 2026 10:00" in html and "25 Nov 2026 16:30" in html


async def test_only_those_who_may_see_the_callers_data_open_the_edit_form(site: Site) -> None:
    agent = await site.add_user("agent1", "agent")
    await site.add_user("agent2", "agent")
    case = await site.cases.create_case(complaint_form(), actor=Actor(agent, Role.AGENT), now=NOW)
    await site.log_in("agent2")
    assert (await site.get(f"/cases/{case.id}/edit"))[0] == 403
    status, _, _ = await site.post(f"/cases/{case.id}/edit", {**INTAKE, "topic": "hijack"})
    assert status == 403
    await site.log_in("agent1")
    status, html = await site.get(f"/cases/{case.id}/edit")
    assert status == 200 and 'value="สมชาย ใจดี"' in html
    status, _, _ = await site.post(f"/cases/{case.id}/edit", {**INTAKE, "topic": "แก้ไขแล้ว"})
    assert status == 303
    assert (await site.cases.get_case(case.id, Actor(agent, Role.AGENT))).topic == "แก้ไขแล้ว"
    purposes = await site.pool.fetch("SELECT purpose FROM pdpa_view_log ORDER BY id")
    assert [p["purpose"] for p in purposes] == ["edit_form"]
