"""A browser-like helper over the test client: log in as someone, read CSRF, post forms."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from accounts.users import UserRepository
from cases.repository import CaseRepository
from tests.passwords import password_hash
from web.keys import db_key

PASSWORD = "pass phrase for tests"
HTML = {"Accept": "text/html"}


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "the page has no CSRF token"
    return match.group(1)


class Site:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        app: web.Application = client.app
        self.pool = app[db_key].pool
        self.cases = CaseRepository(self.pool)
        self.csrf = ""

    async def add_user(self, username: str, role: str, unit_id: int | None = None) -> int:
        user = await UserRepository(self.pool).create(
            username=username,
            display_name=username.title(),
            password_hash=await password_hash(PASSWORD),
            role=role,
            unit_id=unit_id,
        )
        return user.id

    async def log_in(self, username: str) -> None:
        self.client.session.cookie_jar.clear()
        page = await self.client.get("/login")
        token = csrf_from(await page.text())
        response = await self.client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
        )
        assert response.status == 303, await response.text()
        self.csrf = csrf_from(await (await self.client.get("/cases", headers=HTML)).text())

    async def get(self, path: str, **params: str) -> tuple[int, str]:
        response = await self.client.get(path, params=params, headers=HTML, allow_redirects=False)
        return response.status, await response.text()

    async def post(self, path: str, data: dict[str, Any]) -> tuple[int, str, str]:
        response = await self.client.post(
            path, data={**data, "csrf_token": self.csrf}, headers=HTML, allow_redirects=False
        )
        return response.status, await response.text(), response.headers.get("Location", "")
