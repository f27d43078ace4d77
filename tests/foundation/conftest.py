"""A running service (real aiohttp app on a fresh database) and people to log in as."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer

from accounts.users import UserRepository
from config.settings import load_settings
from hotline.app import create_app
from tests.passwords import password_hash
from web.keys import db_key

PASSWORD = "correct horse battery"
MONITORING_TOKEN = "probe-7f3a9c2e1b"
# What Prometheus and the operators' probe send to read /metrics and the detailed /healthz.
MONITOR = {"Authorization": f"Bearer {MONITORING_TOKEN}"}


@pytest.fixture
async def app_client(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[TestClient]:
    settings = load_settings(
        database_url=fresh_db_url,
        data_dir=tmp_path,
        security={"monitoring_token": MONITORING_TOKEN},
    )
    app = create_app(settings)
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
def make_user(app_client: TestClient) -> Callable[..., Awaitable[None]]:
    async def make(username: str, role: str = "agent", **extra: object) -> None:
        assert app_client.app is not None
        app = app_client.app
        await UserRepository(app[db_key].pool).create(
            username=username,
            display_name=username.title(),
            password_hash=await password_hash(PASSWORD),
            role=role,
            **extra,  # type: ignore[arg-type]
        )

    return make


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def log_in(
    client: TestClient | ClientSession, username: str, password: str = PASSWORD
) -> int:
    page = await client.get("/login")
    token = csrf_from(await page.text())
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        allow_redirects=False,
    )
    return response.status
