"""Every route has an explicit rule for who may use it, and every role gets exactly that.

The router is walked, so a route added without `require_role` (or a place in PUBLIC) fails
here; then each route is requested as nobody and as each role, with a valid CSRF token so
that only the role rule can refuse.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from accounts.users import UserRepository
from cases.repository import CaseRepository
from tests.foundation.conftest import PASSWORD, csrf_from, log_in
from tests.passwords import password_hash
from web.keys import db_key

ROLES = ("agent", "supervisor", "admin", "unit")
ADMIN = frozenset({"admin"})
MANAGERS = frozenset({"supervisor", "admin"})
CENTRE = frozenset({"agent", "supervisor", "admin"})
EVERYONE = frozenset(ROLES)
AGENT = frozenset({"agent"})
SUPERVISOR = frozenset({"supervisor"})
# Who each route is for, written out here rather than read from the code, so a route whose
# guard names the wrong roles fails as surely as one with no guard.
EXPECTED = {
    ("GET", "/admin/users"): ADMIN,
    ("GET", "/admin/users/new"): ADMIN,
    ("POST", "/admin/users/new"): ADMIN,
    ("GET", "/admin/users/{id}"): ADMIN,
    ("POST", "/admin/users/{id}"): ADMIN,
    ("POST", "/admin/users/{id}/deactivate"): ADMIN,
    ("POST", "/admin/users/{id}/password"): ADMIN,
    ("POST", "/admin/users/{id}/reactivate"): ADMIN,
    ("GET", "/admin/queues"): ADMIN,
    ("POST", "/admin/queues"): ADMIN,
    ("GET", "/admin/queues/{id}"): ADMIN,
    ("POST", "/admin/queues/{id}"): ADMIN,
    ("GET", "/callbacks"): CENTRE,
    ("POST", "/admin/users/{id}/sign-out"): ADMIN,
    ("POST", "/admin/agents/{id}/sign-out"): ADMIN,
    ("GET", "/cases"): EVERYONE,
    ("GET", "/cases/closed-days"): MANAGERS,
    ("POST", "/cases/closed-days"): MANAGERS,
    ("GET", "/cases/escalations"): EVERYONE,
    ("GET", "/cases/export.csv"): EVERYONE,
    ("GET", "/cases/export.xlsx"): EVERYONE,
    ("GET", "/cases/new"): CENTRE,
    ("POST", "/cases/new"): CENTRE,
    ("GET", "/cases/units"): MANAGERS,
    ("POST", "/cases/units"): ADMIN,
    ("GET", "/cases/{id}"): EVERYONE,
    ("POST", "/cases/{id}/action"): EVERYONE,
    ("POST", "/cases/{id}/assign"): MANAGERS,
    ("GET", "/cases/{id}/edit"): CENTRE,
    ("POST", "/cases/{id}/edit"): CENTRE,
    ("POST", "/cases/{id}/note"): EVERYONE,
    ("POST", "/logout/everywhere"): EVERYONE,
    ("GET", "/panel"): AGENT,
    ("POST", "/panel/availability"): AGENT,
    ("POST", "/panel/call/hangup"): AGENT,
    ("GET", "/panel/call/targets"): AGENT,
    ("POST", "/panel/call/transfer"): AGENT,
    ("POST", "/panel/call/transfer/cancel"): AGENT,
    ("POST", "/panel/call/transfer/complete"): AGENT,
    ("POST", "/panel/callback"): AGENT,
    ("GET", "/panel/callbacks"): AGENT,
    ("POST", "/panel/intake"): AGENT,
    ("POST", "/panel/phase/next"): AGENT,
    ("GET", "/panel/scripts"): ADMIN,
    ("POST", "/panel/scripts"): ADMIN,
    ("GET", "/panel/state"): AGENT,
    ("POST", "/panel/wrapup/end"): AGENT,
    ("GET", "/panel/ws"): AGENT,
    ("GET", "/supervisor"): MANAGERS,
    ("GET", "/supervisor/live.json"): MANAGERS,
    ("GET", "/supervisor/reports"): MANAGERS,
    ("GET", "/supervisor/reports.csv"): MANAGERS,
    ("GET", "/supervisor/reports.xlsx"): MANAGERS,
    ("GET", "/supervisor/spies"): MANAGERS,
    ("POST", "/supervisor/calls/{call_key}/spy"): SUPERVISOR,
    ("POST", "/supervisor/calls/{call_key}/spy/stop"): SUPERVISOR,
    # The knowledge base (issue 14): supervisors and admins edit, the centre reads.
    ("GET", "/knowledge"): MANAGERS,
    ("GET", "/knowledge/new"): MANAGERS,
    ("POST", "/knowledge/new"): MANAGERS,
    ("GET", "/knowledge/{id}/edit"): MANAGERS,
    ("POST", "/knowledge/{id}/edit"): MANAGERS,
    ("POST", "/knowledge/{id}/attachments"): MANAGERS,
    ("GET", "/knowledge/search"): CENTRE,
    ("GET", "/knowledge/articles/{id}"): CENTRE,
    ("GET", "/knowledge/attachments/{id}"): CENTRE,
    ("GET", "/panel/basket"): AGENT,
    ("POST", "/panel/basket"): AGENT,
    ("POST", "/panel/basket/remove"): AGENT,
    ("POST", "/panel/basket/send"): AGENT,
    # Call recordings (issue 15): the agent only on their own live call (mute), and only
    # their own call's recording (playback, checked per call); never admins.
    ("POST", "/panel/call/recording/mute"): AGENT,
    ("POST", "/panel/call/recording/unmute"): AGENT,
    ("GET", "/calls/{call_id}/recording"): frozenset({"supervisor", "agent"}),
    ("GET", "/calls/{call_id}/recording.wav"): frozenset({"supervisor", "agent"}),
}
# What anyone may reach without logging in: the way in, the language switch, the probes.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/lang/{lang}"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    # LINE's servers: no session, the X-Line-Signature is checked instead.
    ("POST", "/line/webhook"),
}


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    roles: frozenset[str]

    @property
    def path(self) -> str:
        """The route with its placeholders filled by ids (user 1 is the target account)."""
        return re.sub(r"\{\w+(:[^}]*)?\}", "1", self.template)


# Routes that end the caller's own sessions: requested last, or the rest would see no one.
ENDS_OWN_SESSIONS = {("POST", "/logout/everywhere")}


def routes(app: web.Application) -> list[Route]:
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        template = info.get("formatter") or info.get("path") or info.get("prefix", "")
        if route.method == "HEAD" or template.startswith("/static"):
            continue
        roles = getattr(route.handler, "allowed_roles", None)
        if (route.method, template) in PUBLIC:
            continue
        assert roles is not None, f"{route.method} {template} has no role rule"
        found.append(Route(route.method, template, roles))
    return sorted(found, key=lambda r: (r.method, r.template) in ENDS_OWN_SESSIONS)


@pytest.fixture
async def browsers(app_client: TestClient) -> AsyncIterator[dict[str, aiohttp.ClientSession]]:
    """One logged-in browser per role, and one nobody is logged in to; a case and a unit."""
    assert app_client.app is not None
    app = app_client.app
    users = UserRepository(app[db_key].pool)
    unit = await CaseRepository(app[db_key].pool).create_unit("Water")
    # User 1, whom the admin routes act on, is nobody's own account.
    for username, role in (("target", "agent"), *((r, r) for r in ROLES)):
        await users.create(
            username=username,
            display_name=username.title(),
            password_hash=await password_hash(PASSWORD),
            role=role,
            unit_id=unit.id if role == "unit" else None,
        )
    sessions: dict[str, aiohttp.ClientSession] = {}
    for who in (*ROLES, "nobody"):
        session = aiohttp.ClientSession(
            base_url=str(app_client.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        sessions[who] = session
        if who != "nobody":
            assert await log_in(session, who) == 303
    yield sessions
    for session in sessions.values():
        await session.close()


async def _token(session: aiohttp.ClientSession) -> str:
    page = await session.get("/login")
    html = await page.text()
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    return found.group(1) if found else csrf_from(html)


async def test_every_route_is_guarded_for_exactly_the_roles_it_is_for(
    app_client: TestClient,
) -> None:
    assert app_client.app is not None
    declared = {(r.method, r.template): r.roles for r in routes(app_client.app)}
    assert declared == EXPECTED


async def test_each_role_reaches_exactly_the_routes_meant_for_it(
    app_client: TestClient, browsers: dict[str, aiohttp.ClientSession]
) -> None:
    assert app_client.app is not None
    wrong: list[str] = []
    for route in routes(app_client.app):
        for who, session in browsers.items():
            headers = {"X-CSRF-Token": await _token(session), "Accept": "application/json"}
            response = await session.request(
                route.method, route.path, headers=headers, allow_redirects=False
            )
            if who == "nobody":
                expected_refusal = {401}
            elif route.roles and who not in route.roles:
                expected_refusal = {403}
            else:
                expected_refusal = set()
            refused = response.status in (401, 403)
            if expected_refusal and response.status not in expected_refusal:
                wrong.append(f"{who} {route.method} {route.path}: {response.status}")
            elif not expected_refusal and refused:
                wrong.append(f"{who} {route.method} {route.path}: refused {response.status}")
            response.release()
    assert wrong == []
