"""Deactivation ends sessions at once, an admin always remains, and every change is audited
without ever a password."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestServer

from accounts.management import AdminRepository, InvalidAccount
from accounts.users import UserRepository
from tests.admin.conftest import PBX, Browser, MakeUser, field_error, new_agent
from web.keys import db_key

SECRET = "first secret passphrase"
NEXT_SECRET = "second secret passphrase"
AT = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)


async def test_deactivating_ends_the_users_session_at_once(
    admin: Browser, browser: Callable[[], Browser], make_user: MakeUser, server: TestServer
) -> None:
    agent_id = await make_user("agent1", "agent")
    agent = browser()
    assert await agent.log_in("agent1") == 303
    assert (await agent.get("/cases"))[0] == 200
    status, _, location = await admin.post(f"/admin/users/{agent_id}/deactivate", {})
    assert status == 303 and location.endswith("?done=deactivated")
    response = await agent.session.get(
        "/cases", headers={"Accept": "text/html"}, allow_redirects=False
    )
    assert response.status == 302 and response.headers["Location"].startswith("/login")
    sessions = await server.app[db_key].pool.fetchval(
        "SELECT count(*) FROM web_sessions WHERE user_id = $1", agent_id
    )
    assert sessions == 0
    assert await browser().log_in("agent1") == 401
    _, html = await admin.get("/admin/users")
    assert 'class="user inactive" data-username="agent1"' in html
    status, _, _ = await admin.post(f"/admin/users/{agent_id}/reactivate", {})
    assert status == 303 and await browser().log_in("agent1") == 303


async def test_an_admin_cannot_deactivate_or_demote_themself(
    admin: Browser, users: UserRepository
) -> None:
    root = await users.credentials("root")
    assert root is not None
    root_id = root[0].id
    _, html = await admin.get(f"/admin/users/{root_id}")
    assert f"/admin/users/{root_id}/deactivate" not in html
    status, html, _ = await admin.post(f"/admin/users/{root_id}/deactivate", {})
    assert status == 422 and field_error(html, "active") == "ไม่สามารถทำกับบัญชีของตนเองได้"
    edit = {"display_name": "Root", "role": "supervisor", "language": "th"}
    status, html, _ = await admin.post(f"/admin/users/{root_id}", edit)
    assert status == 422 and field_error(html, "role") == "ไม่สามารถทำกับบัญชีของตนเองได้"
    assert 'value="supervisor" selected' in html
    user = await users.get(root_id)
    assert user is not None and user.active and user.role == "admin"
    assert (await admin.get("/admin/users"))[0] == 200


async def test_the_last_active_admin_cannot_be_removed(
    make_user: MakeUser, server: TestServer, users: UserRepository
) -> None:
    """Two admins removing each other at the same moment: one of them stays."""
    repo = AdminRepository(server.app[db_key].pool)
    first = await make_user("admin1", "admin")
    second = await make_user("admin2", "admin")
    outcomes = await asyncio.gather(
        repo.set_active(first, False, actor_id=second, at=AT),
        repo.set_active(second, False, actor_id=first, at=AT),
        return_exceptions=True,
    )
    errors = [o for o in outcomes if isinstance(o, InvalidAccount)]
    assert len(errors) == 1 and errors[0].field_errors == {"active": "last_admin"}
    remaining = [u for u in (await users.get(first), await users.get(second)) if u and u.active]
    assert len(remaining) == 1
    survivor, gone = (first, second) if remaining[0].id == first else (second, first)
    row = await repo.get(survivor)
    assert row is not None
    with pytest.raises(InvalidAccount) as refused:
        await repo.update(survivor, replace(row.account, role="supervisor"), actor_id=gone, at=AT)
    assert refused.value.field_errors == {"role": "last_admin"}


async def test_the_audit_shows_each_change_and_never_a_password(
    admin: Browser, server: TestServer
) -> None:
    form = new_agent(display_name="Mali", password=SECRET, password2=SECRET)
    _, _, location = await admin.post("/admin/users/new", form)
    user_path = location.split("?")[0]
    edit = {k: v for k, v in form.items() if "password" not in k}
    await admin.post(user_path, {**edit, "display_name": "Mali S.", "queues": "1662"})
    status, html, _ = await admin.post(
        f"{user_path}/password", {"password": NEXT_SECRET, "password2": "not the same one"}
    )
    assert status == 422 and field_error(html, "password2") == "รหัสผ่านทั้งสองช่องไม่ตรงกัน"
    assert NEXT_SECRET not in html
    await admin.post(f"{user_path}/password", {"password": NEXT_SECRET, "password2": NEXT_SECRET})
    await admin.post(f"{user_path}/deactivate", {})
    _, html = await admin.get(user_path)
    actions = re.findall(r'class="audit-entry" data-action="(\w+)"', html)
    assert actions == ["deactivate", "password_reset", "update", "create"]
    assert "<del>Mali</del> → <ins>Mali S.</ins>" in html
    assert "<del>hotline</del> → <ins>1662</ins>" in html
    assert html.count("<td>root</td>") == 4
    stored = await server.app[db_key].pool.fetch("SELECT changes::text FROM admin_audit")
    trail = html + " ".join(r[0] for r in stored)
    assert SECRET not in trail and NEXT_SECRET not in trail and "argon2" not in trail
    assert "password_hash" not in trail


async def test_a_password_reset_lets_the_user_in_with_the_new_one_only(
    admin: Browser, browser: Callable[[], Browser], make_user: MakeUser
) -> None:
    agent_id = await make_user("agent1", "agent", pbx=PBX, interface="PJSIP/agent101")
    logged_in = browser()
    assert await logged_in.log_in("agent1") == 303
    status, _, location = await admin.post(
        f"/admin/users/{agent_id}/password", {"password": NEXT_SECRET, "password2": NEXT_SECRET}
    )
    assert status == 303 and location.endswith("?done=password_reset")
    assert (await logged_in.get("/cases"))[0] == 302
    assert await browser().log_in("agent1") == 401
    assert await browser().log_in("agent1", NEXT_SECRET) == 303
