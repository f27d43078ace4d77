"""Login throttling as a browser sees it (issue 12, M2): after a few failures the login page
answers 429 with the wait, the wait doubles up to a cap, and the right password opens again
only once the wait is over."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from accounts.users import UserRepository
from config.settings import load_settings
from hotline.app import create_app
from runtime.clock import ManualClock
from tests.foundation.conftest import PASSWORD, csrf_from
from tests.passwords import password_hash
from web.keys import db_key

WRONG = "not the password at all"
THROTTLED = "Too many failed attempts: try again in {} seconds"

Rig = tuple[TestClient, ManualClock]


@pytest.fixture
def service(fresh_db_url: str, tmp_path: Path) -> Callable[..., Any]:
    @asynccontextmanager
    async def start(**security: Any) -> AsyncIterator[Rig]:
        rules = {"login_free_per_username": 3, "login_free_per_address": 10, **security}
        settings = load_settings(
            database_url=fresh_db_url, data_dir=tmp_path, language="en", security=rules
        )
        clock = ManualClock(datetime(2026, 12, 2, 3, 0, tzinfo=UTC))
        async with TestClient(TestServer(create_app(settings, clock=clock))) as client:
            assert client.app is not None
            await UserRepository(client.app[db_key].pool).create(
                username="somchai",
                display_name="Somchai",
                password_hash=await password_hash(PASSWORD),
                role="agent",
            )
            yield client, clock

    return start


async def attempt(
    client: TestClient, username: str, password: str, **headers: str
) -> tuple[int, str, str | None]:
    """One login as a browser posts it: the status, the page's text, Retry-After."""
    client.session.cookie_jar.clear()
    page = await client.get("/login")
    form = {"username": username, "password": password, "csrf_token": csrf_from(await page.text())}
    response = await client.post("/login", data=form, headers=headers, allow_redirects=False)
    return response.status, await response.text(), response.headers.get("Retry-After")


async def test_failures_make_the_next_try_wait_and_the_page_says_how_long(
    service: Callable[..., Any],
) -> None:
    async with service() as (client, clock):
        for _ in range(3):
            assert (await attempt(client, "somchai", WRONG))[0] == 401
        status, text, retry_after = await attempt(client, "somchai", PASSWORD)
        assert (status, retry_after) == (429, "1")
        assert THROTTLED.format(1) in text

        clock.advance(timedelta(seconds=1))
        assert (await attempt(client, "somchai", WRONG))[0] == 401
        status, text, _ = await attempt(client, "somchai", PASSWORD)
        assert status == 429 and THROTTLED.format(2) in text, "the wait doubled"

        clock.advance(timedelta(seconds=2))
        assert (await attempt(client, "somchai", PASSWORD))[0] == 303
        for _ in range(2):
            assert (await attempt(client, "somchai", WRONG))[0] == 401
        assert (await attempt(client, "somchai", PASSWORD))[0] == 303, "a login resets the count"


async def test_the_wait_is_capped(service: Callable[..., Any]) -> None:
    async with service(login_max_wait_s=4) as (client, clock):
        for _ in range(2):
            assert (await attempt(client, "somchai", WRONG))[0] == 401
        waits = []
        for _ in range(4):
            assert (await attempt(client, "somchai", WRONG))[0] == 401
            status, _, retry_after = await attempt(client, "somchai", WRONG)
            assert status == 429
            waits.append(int(retry_after or 0))
            clock.advance(timedelta(seconds=waits[-1]))
        assert waits == [1, 2, 4, 4]


async def test_an_unknown_username_is_throttled_the_same_way(
    service: Callable[..., Any],
) -> None:
    async with service() as (client, _):
        seen = []
        for name in ("somchai", "nobody"):
            for _ in range(3):
                await attempt(client, name, WRONG)
            status, text, retry_after = await attempt(client, name, WRONG)
            seen.append((status, retry_after, THROTTLED.format(1) in text))
        assert seen[0] == seen[1] == (429, "1", True)


async def test_one_address_trying_many_names_is_throttled(service: Callable[..., Any]) -> None:
    async with service() as (client, _):
        for n in range(10):
            assert (await attempt(client, f"guess{n}", WRONG))[0] == 401
        assert (await attempt(client, "somchai", PASSWORD))[0] == 429
        # A forwarded-for header from an untrusted client does not make it someone else.
        forged = await attempt(client, "somchai", PASSWORD, **{"X-Forwarded-For": "203.0.113.9"})
        assert forged[0] == 429


async def test_behind_a_trusted_proxy_each_client_address_counts_alone(
    service: Callable[..., Any],
) -> None:
    async with service(trusted_proxies=["127.0.0.1"]) as (client, _):
        for n in range(10):
            await attempt(client, f"guess{n}", WRONG, **{"X-Forwarded-For": "203.0.113.9"})
        same = await attempt(client, "somchai", PASSWORD, **{"X-Forwarded-For": "203.0.113.9"})
        other = await attempt(client, "somchai", PASSWORD, **{"X-Forwarded-For": "198.51.100.7"})
        assert (same[0], other[0]) == (429, 303)
