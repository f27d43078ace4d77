"""The agent panel running for real: the service on a fresh database, agents bound to phones,
and logged-in sessions; telephony events are fed to the panel's subscriber directly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from accounts.users import UserRepository
from config.settings import load_settings
from hotline.app import create_app
from runtime.clock import ManualClock
from tests.foundation.conftest import PASSWORD, csrf_from, log_in
from tests.passwords import password_hash
from web.keys import db_key

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
PBX = "pbx1"


def build_app(
    database_url: str,
    data_dir: Path,
    clock: Any,
    *,
    pbx: list[dict[str, Any]] | None = None,
    security: dict[str, Any] | None = None,
    **standards: float,
) -> web.Application:
    """The real service with the given phase standards (and PBXs to follow, if any)."""
    settings = load_settings(
        database_url=database_url,
        data_dir=data_dir,
        standards=standards,
        pbx=pbx or [],
        security=security or {},
    )
    return create_app(settings, clock=clock)


@dataclass
class Desk:
    """A logged-in agent's browser session (a cookie jar of its own)."""

    session: aiohttp.ClientSession
    user_id: int
    csrf: str

    async def post(self, path: str, **data: str) -> tuple[int, Any]:
        response = await self.session.post(
            path, data=data, headers={"X-CSRF-Token": self.csrf, "Accept": "application/json"}
        )
        return response.status, await response.json()

    async def state(self) -> Any:
        """The desk as the panel reloads it."""
        response = await self.session.get("/panel/state")
        return (await response.json())["desk"]

    def socket(self, since: int | None = None, epoch: str = "") -> Any:
        query = "" if since is None else f"?since={since}&epoch={epoch}"
        return self.session.ws_connect("/panel/ws" + query)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest_asyncio.fixture(loop_scope="function")
async def panel_app(
    fresh_db_url: str, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[TestServer]:
    app = build_app(fresh_db_url, tmp_path, clock, wrapup_s=30)
    async with TestServer(app) as server:
        yield server


async def open_page(session: aiohttp.ClientSession, username: str, path: str = "/panel") -> str:
    """Log in and open a page (the panel); the page's CSRF token."""
    assert await log_in(session, username) == 303
    page = await session.get(path)
    assert page.status == 200, await page.text()
    return csrf_from(await page.text())


MakeAgent = Callable[..., Awaitable[Desk]]


@pytest_asyncio.fixture(loop_scope="function")
async def make_agent(panel_app: TestServer) -> AsyncIterator[MakeAgent]:
    sessions: list[aiohttp.ClientSession] = []

    async def make(
        username: str,
        interface: str = "",
        queues: tuple[str, ...] = ("1169",),
        *,
        existing: bool = False,
        page: str = "/panel",
    ) -> Desk:
        """A new agent bound to `interface`, logged in; or an `existing` user logged in."""
        repository = UserRepository(panel_app.app[db_key].pool)
        if existing:
            found = await repository.credentials(username)
            assert found is not None
            user_id = found[0].id
        else:
            user = await repository.create(
                username=username,
                display_name=username.title(),
                password_hash=await password_hash(PASSWORD),
                role="agent",
                pbx=PBX if interface else None,
                interface=interface or None,
                queues=queues,
            )
            user_id = user.id
        session = aiohttp.ClientSession(
            base_url=str(panel_app.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        sessions.append(session)
        return Desk(session, user_id, await open_page(session, username, page))

    yield make
    for session in sessions:
        await session.close()
