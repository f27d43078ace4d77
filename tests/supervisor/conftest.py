"""A running service on a fresh database, on a manual clock, and people to log in as."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from accounts.users import UserRepository
from config.settings import load_settings
from hotline.app import create_app
from runtime.clock import ManualClock
from tests.foundation.conftest import MONITORING_TOKEN
from tests.passwords import password_hash
from tests.supervisor.factories import local
from web.keys import db_key

#: Monday 2 March 2026, 13:00 in Bangkok.
NOW = local(2, 13)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def app_client(
    fresh_db_url: str, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[TestClient]:
    settings = load_settings(
        database_url=fresh_db_url,
        data_dir=tmp_path,
        security={"monitoring_token": MONITORING_TOKEN},
    )
    async with TestClient(TestServer(create_app(settings, clock=clock))) as client:
        yield client


@pytest.fixture
def app(app_client: TestClient) -> web.Application:
    application: web.Application = app_client.app
    return application


@pytest.fixture
def make_user(app: web.Application) -> Callable[..., Awaitable[None]]:
    async def make(username: str, role: str, language: str = "en") -> None:
        await UserRepository(app[db_key].pool).create(
            username=username,
            display_name=username.title(),
            password_hash=await password_hash("correct horse battery"),
            role=role,
            language=language,
        )

    return make
