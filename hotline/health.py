"""What operators and their monitoring read: /healthz (is the database there, is each PBX
link up, and if not, why) and /metrics (the Prometheus figures)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from web.keys import db_key, metrics_key


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    name: str
    up: bool
    why: str
    since: datetime | None = None
    kind: str = "pbx"

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "up": self.up, "why": self.why}
        if self.since is not None:
            data["since"] = self.since.isoformat()
        return data


HealthSource = Callable[[], list[ComponentHealth]]
health_sources_key = web.AppKey("health_sources", list[HealthSource])


async def healthz(request: web.Request) -> web.Response:
    """200 when everything is up, 503 with the reasons when something is not."""
    metrics = request.app[metrics_key]
    db_up, db_why = await request.app[db_key].check()
    metrics.database_up.set(1 if db_up else 0)
    parts = [part for source in request.app[health_sources_key] for part in source()]
    for part in parts:
        if part.kind == "pbx":
            metrics.pbx_up.labels(part.name).set(1 if part.up else 0)
    healthy = db_up and all(part.up for part in parts)
    body: dict[str, Any] = {
        "status": "ok" if healthy else "degraded",
        "database": {"up": db_up, "why": db_why},
        "pbx": [part.as_json() for part in parts if part.kind == "pbx"],
        "services": [part.as_json() for part in parts if part.kind != "pbx"],
    }
    return web.json_response(body, status=200 if healthy else 503)


async def metrics_view(request: web.Request) -> web.Response:
    body = generate_latest(request.app[metrics_key].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
