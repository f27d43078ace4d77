"""HTTP hardening a browser or a scanner sees: every response tells the browser to run only
the site's own code, never to frame it, and to keep pages with personal data out of its
cache; the server does not say its version; a NUL in the address is a bad request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from config.settings import load_settings
from hotline.app import create_app
from tests.foundation.processes import clean_environment, free_port, hotline


@pytest.mark.parametrize("path", ["/login", "/healthz", "/cases", "/static/base.css", "/nowhere"])
async def test_every_response_carries_the_security_headers(
    app_client: TestClient, path: str
) -> None:
    response = await app_client.get(path, allow_redirects=False)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Server"] == "hotline"
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("path", ["/login", "/cases", "/cases/export.csv", "/panel/state"])
async def test_pages_and_exports_are_never_cached(app_client: TestClient, path: str) -> None:
    response = await app_client.get(path, allow_redirects=False)
    assert response.headers["Cache-Control"] == "no-store"


async def test_static_files_may_be_cached(app_client: TestClient) -> None:
    response = await app_client.get("/static/base.css")
    assert response.status == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


@pytest.fixture
async def behind_https(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[TestClient]:
    settings = load_settings(database_url=fresh_db_url, data_dir=tmp_path, secure_cookies=True)
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


async def test_a_site_served_over_https_asks_browsers_to_stay_on_it(
    behind_https: TestClient,
) -> None:
    response = await behind_https.get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.fixture
async def behind_a_proxy(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[TestClient]:
    settings = load_settings(
        database_url=fresh_db_url, data_dir=tmp_path, security={"trusted_proxies": ["127.0.0.1"]}
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


@pytest.mark.parametrize(("proto", "secure"), [("https", True), ("http", False), (None, False)])
async def test_cookies_are_secure_whenever_a_trusted_proxy_says_https(
    behind_a_proxy: TestClient, proto: str | None, secure: bool
) -> None:
    headers = {"X-Forwarded-Proto": proto} if proto else {}
    response = await behind_a_proxy.get("/login", headers=headers)
    assert response.cookies and all(bool(c["secure"]) is secure for c in response.cookies.values())
    assert ("Strict-Transport-Security" in response.headers) is secure


async def test_a_client_claiming_https_itself_is_not_believed(app_client: TestClient) -> None:
    response = await app_client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert response.cookies and not any(c["secure"] for c in response.cookies.values())
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize(
    "path", ["/cases?q=%00", "/supervisor/reports?from=%00", "/login?next=/%00"]
)
async def test_a_nul_in_the_address_is_a_bad_request(app_client: TestClient, path: str) -> None:
    response = await app_client.get(path, allow_redirects=False)
    assert response.status == 400


@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("127.0.0.1", False)])
async def test_serving_beyond_this_machine_without_secure_cookies_is_warned_about(
    fresh_db_url: str, tmp_path: Path, host: str, warned: bool
) -> None:
    env = clean_environment(
        HOTLINE_DATABASE_URL=fresh_db_url,
        HOTLINE_DATA_DIR=str(tmp_path),
        HOTLINE_WEB_HOST=host,
        HOTLINE_WEB_PORT=str(free_port()),
        HOTLINE_AGI_PORT="0",
        HOTLINE_LOG_FORMAT="json",
    )
    async with hotline("serve", env, ready="hotline is listening on") as output:
        pass
    assert ("session_cookies_not_secure" in output.text) is warned
