"""Logging in and out, roles and CSRF, as a browser sees them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from tests.foundation.conftest import csrf_from, log_in


async def test_an_agent_logs_in_and_out(
    app_client: TestClient, make_user: Callable[..., Awaitable[None]]
) -> None:
    await make_user("somchai", "agent")
    assert await log_in(app_client, "somchai") == 303
    home = await app_client.get("/", headers={"Accept": "text/html"})
    assert "Somchai" in await home.text()

    token = csrf_from(await home.text())
    out = await app_client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert out.status == 303
    after = await app_client.get("/", allow_redirects=False)
    assert after.headers["Location"] == "/login"


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    app_client: TestClient, make_user: Callable[..., Awaitable[None]]
) -> None:
    await make_user("somchai", "agent")
    assert await log_in(app_client, "somchai", "not the password") == 401
    assert await log_in(app_client, "nobody") == 401
    page = await app_client.get("/", allow_redirects=False)
    assert page.headers["Location"] == "/login"


async def test_a_form_without_the_csrf_token_is_refused(
    app_client: TestClient, make_user: Callable[..., Awaitable[None]]
) -> None:
    await make_user("somchai", "agent")
    await app_client.get("/login")
    response = await app_client.post(
        "/login", data={"username": "somchai", "password": "x"}, allow_redirects=False
    )
    assert response.status == 403

    assert await log_in(app_client, "somchai") == 303
    forged = await app_client.post("/logout", data={"csrf_token": "forged"})
    assert forged.status == 403
    still_in = await app_client.get("/", headers={"Accept": "text/html"})
    assert "Somchai" in await still_in.text()


async def test_the_stored_password_is_an_argon2_hash(
    app_client: TestClient, make_user: Callable[..., Awaitable[None]]
) -> None:
    from web.keys import db_key

    await make_user("somchai", "agent")
    stored = await app_client.app[db_key].pool.fetchval(  # type: ignore[index]
        "SELECT password_hash FROM users WHERE username = 'somchai'"
    )
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored


# What browsers read as another site: `\\` is taken for `/`, tabs and newlines are dropped.
ELSEWHERE = [
    "//evil.example/x",
    "/\\evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "https://evil.example/",
    "/\\/evil.example/",
]


@pytest.mark.parametrize("target", ELSEWHERE)
async def test_login_never_redirects_to_another_site(
    app_client: TestClient, make_user: Callable[..., Awaitable[None]], target: str
) -> None:
    await make_user("somchai", "agent")
    page = await app_client.get("/login")
    token = csrf_from(await page.text())
    response = await app_client.post(
        "/login",
        data={
            "username": "somchai",
            "password": "correct horse battery",
            "csrf_token": token,
            "next": target,
        },
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ELSEWHERE)
async def test_the_language_switch_never_sends_people_to_another_site(
    app_client: TestClient, target: str
) -> None:
    response = await app_client.get("/lang/en", params={"next": target}, allow_redirects=False)
    assert response.headers["Location"] == "/"


async def test_a_local_next_page_is_kept(app_client: TestClient) -> None:
    response = await app_client.get(
        "/lang/en", params={"next": "/cases?q=น้ำ"}, allow_redirects=False
    )
    assert response.headers["Location"] == "/cases?q=น้ำ"


async def test_the_language_switch_changes_the_page_language(app_client: TestClient) -> None:
    thai = await app_client.get("/login")
    assert "เข้าสู่ระบบ" in await thai.text()
    await app_client.get("/lang/en?next=/login")
    english = await app_client.get("/login")
    assert "Log in" in await english.text()
