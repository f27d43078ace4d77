"""/healthz and /metrics, as an operator's probe sees them."""

from __future__ import annotations

from aiohttp.test_utils import TestClient


async def test_healthz_reports_the_database_up(app_client: TestClient) -> None:
    response = await app_client.get("/healthz")
    body = await response.json()
    assert response.status == 200
    assert body["database"] == {"up": True, "why": "ok"}


async def test_metrics_are_in_prometheus_text_format(app_client: TestClient) -> None:
    await app_client.get("/healthz")
    response = await app_client.get("/metrics")
    text = await response.text()
    assert response.status == 200
    assert response.content_type == "text/plain"
    assert "hotline_database_up 1.0" in text
    assert 'hotline_http_requests_total{status="2xx"}' in text
