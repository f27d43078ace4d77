"""The service running for real on a fresh database, with one PBX configured (unreachable:
the admin pages only need its name), and a browser per person, each with its own cookies."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from accounts.users import UserRepository
from config.settings import load_settings
from hotline.app import create_app
from tests.passwords import password_hash
from web.keys import db_key

PASSWORD = "correct horse battery"
PBX = "pbx1"
HTML = {"Accept": "text/html"}
NEW_PASSWORD = "a long new passphrase"


def new_agent(**changes: str) -> dict[str, str]:
    """The new-user form for agent somchai on PJSIP/agent104 serving hotline."""
    form = {
        "username": "somchai",
        "display_name": "สมชาย ใจดี",
        "role": "agent",
        "pbx": PBX,
        "interface": "PJSIP/agent104",
        "queues": "hotline",
        "language": "th",
        "password": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    return {**form, **changes}


def field_error(html: str, field: str) -> str:
    """The error text shown beside `field`, or "" if none."""
    match = re.search(rf'data-field="{field}">([^<]*)<', html)
    return match.group(1) if match else ""


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


class Browser:
    """One person's browser: follows no redirects, so tests see where they would go."""

    def __init__(self, server: TestServer) -> None:
        self.session = aiohttp.ClientSession(
            base_url=str(server.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        self.csrf = ""

    async def log_in(self, username: str, password: str = PASSWORD) -> int:
        page = await self.session.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
        assert token
        response = await self.session.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token.group(1)},
            allow_redirects=False,
        )
        if response.status == 303:
            self.csrf = csrf_from((await self.get("/cases"))[1])
        return response.status

    async def get(self, path: str) -> tuple[int, str]:
        response = await self.session.get(path, headers=HTML, allow_redirects=False)
        return response.status, await response.text()

    async def post(
        self, path: str, data: dict[str, Any] | list[tuple[str, str]], *, csrf: bool = True
    ) -> tuple[int, str, str]:
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf:
            fields.append(("csrf_token", self.csrf))
        response = await self.session.post(path, data=fields, headers=HTML, allow_redirects=False)
        return response.status, await response.text(), response.headers.get("Location", "")


@pytest.fixture
async def server(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[TestServer]:
    pbx = {"name": PBX, "host": "127.0.0.1", "port": _closed_port(), "username": "hotline"}
    settings = load_settings(
        database_url=fresh_db_url, data_dir=tmp_path, pbx=[{**pbx, "secret": "x"}]
    )
    test_server = TestServer(create_app(settings))
    await test_server.start_server()
    yield test_server
    await test_server.close()


@pytest.fixture
def users(server: TestServer) -> UserRepository:
    return UserRepository(server.app[db_key].pool)


MakeUser = Callable[..., Awaitable[int]]


@pytest.fixture
def make_user(users: UserRepository) -> MakeUser:
    async def make(username: str, role: str = "agent", **extra: Any) -> int:
        user = await users.create(
            username=username,
            display_name=username.title(),
            password_hash=await password_hash(PASSWORD),
            role=role,
            **extra,
        )
        return user.id

    return make


@pytest.fixture
async def browser(server: TestServer) -> AsyncIterator[Callable[[], Browser]]:
    opened: list[Browser] = []

    def open_browser() -> Browser:
        opened.append(Browser(server))
        return opened[-1]

    yield open_browser
    for each in opened:
        await each.session.close()


@pytest.fixture
async def admin(make_user: MakeUser, browser: Callable[[], Browser]) -> Browser:
    """Root, the one admin, logged in."""
    await make_user("root", "admin")
    root = browser()
    assert await root.log_in("root") == 303
    return root
