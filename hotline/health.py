"""What operators and their monitoring read: /healthz (is the database there, is each PBX
link up, is every long-lived task alive and every telephony subscriber working, and if not,
why) and /metrics (the Prometheus figures, backlogs and link states read live at scrape).

The details name hosts, tasks and errors, so anonymous callers (a load balancer) get only
the status; the details and /metrics need `security.monitoring_token` as a Bearer token
(or, for /healthz, an admin's session)."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from calls.writer import CallWriter
from runtime.tasks import TaskSupervisor
from telephony.service import TelephonyService
from web.identity import current_user
from web.keys import db_key, metrics_key, settings_key


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

# Where each kind of part is listed in the /healthz body.
SECTIONS = {
    "pbx": "pbx",
    "service": "services",
    "task": "tasks",
    "subscriber": "subscribers",
    "advisory": "advisories",
}
# Shown but not failing the check: what is missing by configuration, not broken.
ADVISORY = "advisory"


class _Reported(Protocol):
    """What a part's own health report has (LinkHealth, TaskHealth, SubscriberHealth)."""

    @property
    def name(self) -> str: ...
    @property
    def up(self) -> bool: ...
    @property
    def why(self) -> str: ...
    @property
    def since(self) -> datetime: ...


def _parts(kind: str, reports: Iterable[_Reported]) -> list[ComponentHealth]:
    return [ComponentHealth(r.name, r.up, r.why, r.since, kind=kind) for r in reports]


def watch_tasks(app: web.Application, supervisor: TaskSupervisor) -> None:
    """/healthz lists every supervised task, down from its death until it has settled."""
    app[health_sources_key].append(lambda: _parts("task", supervisor.health()))


def watch_telephony(app: web.Application, service: TelephonyService, writer: CallWriter) -> None:
    """/healthz reports each link and subscriber and the writer of the calls rows; /metrics
    reads the link states, the links' and subscribers' backlogs, the frames refused and the
    call records not yet stored at each scrape."""
    app[health_sources_key].append(
        lambda: (
            _parts("pbx", service.health())
            + _parts("subscriber", service.subscriber_health())
            + [ComponentHealth("call-writer", *writer.health(), kind="service")]
        )
    )
    metrics = app[metrics_key]
    metrics.pbx_up.read_from(lambda: [((h.name,), float(h.up)) for h in service.health()])
    metrics.ami_backlog.read_from(lambda: [((h.name,), h.backlog) for h in service.health()])
    metrics.ami_frames.read_from(
        lambda: [((h.name, k), n) for h in service.health() for k, n in h.frames.items()]
    )
    metrics.subscriber_backlog.read_from(lambda: service.backlog().items())
    metrics.ami_frames_rejected.read_from(lambda: service.rejected().items())
    metrics.call_writer_pending.set_function(lambda: writer.pending)


def _monitoring(request: web.Request) -> bool:
    """The request carries the configured monitoring token."""
    token = request.app[settings_key].security.monitoring_token
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if token is None or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(sent.strip().encode(), token.get_secret_value().encode())


def _may_see_details(request: web.Request) -> bool:
    user = current_user(request)
    return _monitoring(request) or (user is not None and user.role == "admin")


async def healthz(request: web.Request) -> web.Response:
    """200 when everything is up, 503 when something is not; the reasons only for the
    monitoring token or an admin."""
    db_up, db_why = await request.app[db_key].check()
    request.app[metrics_key].database_up.set(1 if db_up else 0)
    parts = [part for source in request.app[health_sources_key] for part in source()]
    healthy = db_up and all(part.up for part in parts if part.kind != ADVISORY)
    status = 200 if healthy else 503
    body: dict[str, Any] = {"status": "ok" if healthy else "degraded"}
    if not _may_see_details(request):
        return web.json_response(body, status=status)
    body["database"] = {"up": db_up, "why": db_why}
    for kind, section in SECTIONS.items():
        body[section] = [part.as_json() for part in parts if part.kind == kind]
    return web.json_response(body, status=status)


async def metrics_view(request: web.Request) -> web.Response:
    if not _monitoring(request):
        raise web.HTTPUnauthorized(
            text="send security.monitoring_token as a Bearer token",
            headers={"WWW-Authenticate": 'Bearer realm="hotline"'},
        )
    body = generate_latest(request.app[metrics_key].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
