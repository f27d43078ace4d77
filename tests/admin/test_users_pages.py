"""An admin adds and edits people, phones and queues through the pages; nobody else can."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestServer

from accounts.users import UserRepository
from cases.repository import CaseRepository
from tests.admin.conftest import NEW_PASSWORD, PBX, Browser, MakeUser, field_error, new_agent
from web.keys import db_key


async def test_an_admin_creates_an_agent_who_can_then_log_in(
    admin: Browser, browser: Callable[[], Browser], users: UserRepository
) -> None:
    status, _, location = await admin.post("/admin/users/new", new_agent())
    assert status == 303 and re.fullmatch(r"/admin/users/\d+\?done=created", location)
    status, html = await admin.get(location)
    assert status == 200 and "สร้างผู้ใช้งานแล้ว" in html and "สมชาย ใจดี" in html
    status, html = await admin.get("/admin/users")
    row = re.search(r'<tr class="user" data-username="somchai">.*?</tr>', html, re.S)
    assert row and "PJSIP/agent104" in row.group(0) and "hotline" in row.group(0)
    agent = await users.by_interface(PBX, "PJSIP/agent104")
    assert agent is not None and agent.username == "somchai" and agent.role == "agent"
    assert await users.queues_of(agent.id) == [(PBX, "hotline")]
    somchai = browser()
    assert await somchai.log_in("somchai", NEW_PASSWORD) == 303
    assert "สมชาย ใจดี" in (await somchai.get("/cases"))[1]


async def test_only_admins_reach_the_admin_pages(
    admin: Browser, browser: Callable[[], Browser], make_user: MakeUser
) -> None:
    await make_user("agent1", "agent")
    await make_user("boss", "supervisor")
    target_id = await make_user("unit1", "unit")
    for username in ("agent1", "boss", "unit1"):
        person = browser()
        assert await person.log_in(username) == 303
        assert (await person.get("/admin/users"))[0] == 403
        assert (await person.get(f"/admin/users/{target_id}"))[0] == 403
        assert (await person.post("/admin/users/new", new_agent()))[0] == 403
        assert (await person.post(f"/admin/users/{target_id}/deactivate", {}))[0] == 403
        assert 'href="/admin/users"' not in (await person.get("/cases"))[1]
    anonymous = browser()
    response = await anonymous.session.get(
        "/admin/users", headers={"Accept": "text/html"}, allow_redirects=False
    )
    assert response.status == 302 and response.headers["Location"].startswith("/login")
    assert 'href="/admin/users"' in (await admin.get("/cases"))[1]


async def test_a_taken_username_and_phone_are_shown_on_their_fields_with_input_kept(
    admin: Browser, make_user: MakeUser
) -> None:
    await make_user("somchai", "agent", pbx=PBX, interface="PJSIP/agent104")
    form = new_agent(display_name="สมชาย คนที่สอง", interface="PJSIP/agent104")
    status, html, _ = await admin.post("/admin/users/new", form)
    assert status == 422
    assert field_error(html, "username") == "มีผู้ใช้งานอื่นใช้อยู่แล้ว"
    assert field_error(html, "interface") == "มีผู้ใช้งานอื่นใช้อยู่แล้ว"
    for kept in ('value="somchai"', 'value="สมชาย คนที่สอง"', 'value="PJSIP/agent104"'):
        assert kept in html
    assert 'value="hotline"' in html and NEW_PASSWORD not in html
    status, html, _ = await admin.post("/admin/users/new", {**form, "password": "short"})
    assert status == 422 and field_error(html, "username") == "มีผู้ใช้งานอื่นใช้อยู่แล้ว"
    assert field_error(html, "password") == "รหัสผ่านต้องมีอย่างน้อย 12 ตัวอักษร"
    status, html, _ = await admin.post(
        "/admin/users/new", new_agent(username="somsri", interface="PJSIP/agent105")
    )
    assert status == 303


async def test_phones_are_unique_per_pbx_and_a_retired_pbx_is_kept_on_edit(
    admin: Browser, make_user: MakeUser, server: TestServer
) -> None:
    other_id = await make_user("other", "agent", pbx="pbx-old", interface="PJSIP/agent104")
    taken_id = await make_user("mali", "agent", pbx=PBX, interface="PJSIP/agent101")
    assert (await admin.post("/admin/users/new", new_agent()))[0] == 303
    edit = {k: v for k, v in new_agent(interface="PJSIP/agent104").items() if "password" not in k}
    status, html, _ = await admin.post(f"/admin/users/{taken_id}", edit)
    assert status == 422 and field_error(html, "interface") == "มีผู้ใช้งานอื่นใช้อยู่แล้ว"
    mali = await UserRepository(server.app[db_key].pool).get(taken_id)
    assert mali is not None and mali.interface == "PJSIP/agent101"
    _, html = await admin.get(f"/admin/users/{other_id}")
    assert '<option value="pbx-old" selected>' in html
    kept = {**edit, "username": "other", "display_name": "Other Person", "pbx": "pbx-old"}
    assert (await admin.post(f"/admin/users/{other_id}", kept))[0] == 303
    other = await UserRepository(server.app[db_key].pool).get(other_id)
    assert other is not None and (other.pbx, other.display_name) == ("pbx-old", "Other Person")


async def test_each_mistake_is_told_beside_its_field(admin: Browser) -> None:
    form = new_agent(
        username="No Spaces!",
        display_name=" ",
        pbx="nowhere",
        interface="agent104",
        queues="hotline, bad queue",
        password="short",
        password2="short",
    )
    status, html, _ = await admin.post("/admin/users/new", form)
    assert status == 422
    assert field_error(html, "username") == "รูปแบบไม่ถูกต้อง"
    assert field_error(html, "display_name") == "กรุณากรอกช่องนี้"
    assert field_error(html, "pbx") == "ไม่พบในระบบ"
    assert field_error(html, "interface") == "รูปแบบไม่ถูกต้อง"
    assert field_error(html, "queues") == "รูปแบบไม่ถูกต้อง"
    assert field_error(html, "password") == "รหัสผ่านต้องมีอย่างน้อย 12 ตัวอักษร"
    assert 'value="No Spaces!"' in html and 'value="hotline, bad queue"' in html
    status, html, _ = await admin.post(
        "/admin/users/new", new_agent(password2="a different passphrase")
    )
    assert status == 422 and field_error(html, "password2") == "รหัสผ่านทั้งสองช่องไม่ตรงกัน"
    status, html, _ = await admin.post(
        "/admin/users/new", new_agent(role="unit", interface="", pbx="", queues="")
    )
    assert status == 422 and field_error(html, "unit_id") == "กรุณากรอกช่องนี้"


async def test_an_admin_edits_everything_but_the_username(
    admin: Browser, users: UserRepository
) -> None:
    _, _, location = await admin.post("/admin/users/new", new_agent(queues="hotline, 1169"))
    user_path = location.split("?")[0]
    _, html = await admin.get(user_path)
    assert 'name="queues" value="hotline" checked' in html
    edit = [
        ("display_name", "Somchai J."),
        ("role", "supervisor"),
        ("pbx", PBX),
        ("interface", "PJSIP/agent110"),
        ("queues", "1169"),
        ("queues", "1662"),
        ("language", "en"),
        ("username", "hijacked"),
    ]
    status, _, location = await admin.post(user_path, edit)
    assert status == 303 and location == f"{user_path}?done=saved"
    user = await users.get(int(user_path.rsplit("/", 1)[1]))
    assert user is not None
    assert (user.username, user.display_name, user.role) == ("somchai", "Somchai J.", "supervisor")
    assert (user.interface, user.language) == ("PJSIP/agent110", "en")
    assert await users.queues_of(user.id) == [(PBX, "1169"), (PBX, "1662")]
    status, html = await admin.get("/admin/users?role=supervisor")
    assert 'data-username="somchai"' in html and 'data-username="root"' not in html


async def test_html_typed_in_a_name_is_shown_as_text(admin: Browser) -> None:
    hostile = '<script>alert("x")</script><b>Boss</b>'
    _, _, location = await admin.post("/admin/users/new", new_agent(display_name=hostile))
    for page in (location, "/admin/users"):
        status, html = await admin.get(page)
        assert status == 200
        assert "<script>alert" not in html and "<b>Boss</b>" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;Boss&lt;/b&gt;" in html


async def test_a_post_without_the_csrf_token_is_refused(
    admin: Browser, make_user: MakeUser, users: UserRepository
) -> None:
    agent_id = await make_user("agent1", "agent")
    status, _, _ = await admin.post("/admin/users/new", new_agent(), csrf=False)
    assert status == 403 and await users.credentials("somchai") is None
    status, _, _ = await admin.post(f"/admin/users/{agent_id}/deactivate", {}, csrf=False)
    assert status == 403
    status, _, _ = await admin.post(
        f"/admin/users/{agent_id}/deactivate", [("csrf_token", "forged")], csrf=False
    )
    agent = await users.get(agent_id)
    assert status == 403 and agent is not None and agent.active


async def test_unit_staff_belong_to_a_unit_and_the_pages_speak_english(
    admin: Browser, server: TestServer
) -> None:
    unit = await CaseRepository(server.app[db_key].pool).create_unit("กองตรวจสอบ")
    form = new_agent(username="unit1", role="unit", unit_id=str(unit.id), pbx="", interface="")
    status, _, _ = await admin.post("/admin/users/new", {**form, "queues": ""})
    assert status == 303
    await admin.session.get("/lang/en", allow_redirects=False)
    _, html = await admin.get("/admin/users?role=unit")
    row = re.search(r'<tr class="user" data-username="unit1">.*?</tr>', html, re.S)
    assert row and "กองตรวจสอบ" in row.group(0) and "Unit staff" in row.group(0)
    assert "Add a user" in html and 'data-username="somchai"' not in html


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Password1234", "รหัสผ่านนี้เดาง่ายหรือใช้กันทั่วไป กรุณาใช้วลีที่ยาวขึ้น"),
        ("qwertyuiop123", "รหัสผ่านนี้เดาง่ายหรือใช้กันทั่วไป กรุณาใช้วลีที่ยาวขึ้น"),
        ("somchai-2569!x", "รหัสผ่านต้องไม่มีชื่อผู้ใช้อยู่ในนั้น"),
        ("eleven char", "รหัสผ่านต้องมีอย่างน้อย 12 ตัวอักษร"),
    ],
)
async def test_weak_passwords_are_refused_with_the_reason(
    admin: Browser, password: str, message: str
) -> None:
    form = new_agent(password=password, password2=password)
    status, html, _ = await admin.post("/admin/users/new", form)
    assert status == 422
    assert field_error(html, "password") == message
