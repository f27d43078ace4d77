"""Sessions as people live them (issue 12): one left unused ends, a user has only so many at
once (the oldest ends), and a user, or an admin for them, can sign out everywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from accounts.users import UserRepository
from config.settings import load_settings
from hotline.app import create_app
from runtime.clock import ManualClock
from tests.foundation.conftest import PASSWORD, csrf_from, log_in
from tests.passwords import password_hash
from web.keys import db_key

Browser = aiohttp.ClientSession


class Site:
    """The service on a manual clock, and browsers that each keep their own cookies."""

    def __init__(self, client: TestClient, clock: ManualClock) -> None:
        self.client, self.clock = client, clock
        self.browsers: list[Browser] = []

    async def person(self, username: str, role: str = "agent") -> int:
        assert self.client.app is not None
        user = await UserRepository(self.client.app[db_key].pool).create(
            username=username,
            display_name=username.title(),
            password_hash=await password_hash(PASSWORD),
            role=role,
        )
        return user.id

    async def browser(self, username: str) -> Browser:
        browser = Browser(
            base_url=str(self.client.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        self.browsers.append(browser)
        assert await log_in(browser, username) == 303
        return browser


async def signed_in(browser: Browser) -> bool:
    response = await browser.get("/cases", allow_redirects=False, headers={"Accept": "text/html"})
    response.release()
    return response.status == 200


async def post(browser: Browser, path: str) -> int:
    token = csrf_from(await (await browser.get("/cases")).text())
    response = await browser.post(path, data={"csrf_token": token}, allow_redirects=False)
    response.release()
    return response.status


@pytest.fixture
def site(fresh_db_url: str, tmp_path: Path) -> Callable[..., Any]:
    @asynccontextmanager
    async def start(**security: Any) -> AsyncIterator[Site]:
        settings = load_settings(
            database_url=fresh_db_url, data_dir=tmp_path, language="en", security=security
        )
        clock = ManualClock(datetime(2026, 12, 2, 3, 0, tzinfo=UTC))
        async with TestClient(TestServer(create_app(settings, clock=clock))) as client:
            running = Site(client, clock)
            yield running
            for browser in running.browsers:
                await browser.close()

    return start


async def test_a_session_left_unused_ends_and_one_in_use_does_not(
    site: Callable[..., Any],
) -> None:
    async with site(idle_minutes=15) as s:
        await s.person("somchai")
        await s.person("malee")
        busy, idle = await s.browser("somchai"), await s.browser("malee")
        for _ in range(3):
            s.clock.advance(timedelta(minutes=10))
            assert await signed_in(busy)
        assert not await signed_in(idle), "30 minutes unused, 15 allowed"
        assert await signed_in(busy)


async def test_a_new_login_beyond_the_limit_ends_the_oldest_session(
    site: Callable[..., Any],
) -> None:
    async with site(max_sessions_per_user=2) as s:
        await s.person("somchai")
        first, second = await s.browser("somchai"), await s.browser("somchai")
        third = await s.browser("somchai")
        assert [await signed_in(b) for b in (first, second, third)] == [False, True, True]


async def test_signing_out_everywhere_ends_every_session_of_that_user_only(
    site: Callable[..., Any],
) -> None:
    async with site() as s:
        await s.person("somchai")
        await s.person("malee")
        desk, phone, other = (
            await s.browser("somchai"),
            await s.browser("somchai"),
            await s.browser("malee"),
        )
        assert await post(phone, "/logout/everywhere") == 303
        assert [await signed_in(b) for b in (desk, phone, other)] == [False, False, True]


async def test_an_admin_signs_a_user_out_everywhere_and_it_is_audited(
    site: Callable[..., Any],
) -> None:
    async with site() as s:
        somchai = await s.person("somchai")
        await s.person("root", role="admin")
        desk, phone = await s.browser("somchai"), await s.browser("somchai")
        admin = await s.browser("root")
        assert await post(admin, f"/admin/users/{somchai}/sign-out") == 303
        assert [await signed_in(b) for b in (desk, phone, admin)] == [False, False, True]
        page = await (await admin.get(f"/admin/users/{somchai}")).text()
        assert 'data-action="sign_out"' in page and "ให้ออกจากระบบทุกเครื่อง" in page
