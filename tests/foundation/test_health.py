"""/healthz and /metrics, as an operator's probe sees them, and as anyone else does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from tests.foundation.conftest import MONITOR, log_in


async def test_healthz_reports_the_database_up(app_client: TestClient) -> None:
    response = await app_client.get("/healthz", headers=MONITOR)
    body = await response.json()
    assert response.status == 200
    assert body["database"] == {"up": True, "why": "ok"}


async def test_metrics_are_in_prometheus_text_format(app_client: TestClient) -> None:
    await app_client.get("/healthz")
    response = await app_client.get("/metrics", headers=MONITOR)
    text = await response.text()
    assert response.status == 200
    assert response.content_type == "text/plain"
    assert "hotline_database_up 1.0" in text
    assert 'hotline_http_requests_total{status="2xx"}' in text


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "probe-7f3a9c2e1b"}]
)
async def test_metrics_need_the_monitoring_token(
    app_client: TestClient, headers: dict[str, str]
) -> None:
    response = await app_client.get("/metrics", headers=headers)
    assert response.status == 401
    assert "hotline_" not in await response.text()


@pytest.mark.parametrize("role", [None, "agent", "supervisor"])
async def test_healthz_tells_others_only_the_status(
    app_client: TestClient, make_user: Callable[..., Awaitable[None]], role: str | None
) -> None:
    if role is not None:
        await make_user(role, role=role)
        assert await log_in(app_client, role) == 303
    response = await app_client.get("/healthz")
    assert (response.status, await response.json()) == (200, {"status": "ok"})


async def test_healthz_shows_an_admin_the_details(
    app_client: TestClient, make_user: Callable[..., Awaitable[None]]
) -> None:
    await make_user("root", role="admin")
    assert await log_in(app_client, "root") == 303
    body = await (await app_client.get("/healthz")).json()
    assert body["database"] == {"up": True, "why": "ok"} and "tasks" in body
