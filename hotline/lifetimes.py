"""The long-lived parts the composition root starts and stops: PBX links and call tracking.

Each function is one aiohttp cleanup_ctx: what comes before `yield` starts the part, what
comes after stops it, and aiohttp stops them in the reverse order of starting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from calls.floor import Floor, floor_key
from calls.repository import CallRepository
from calls.tracker import CallTracker
from calls.writer import CallWriter
from cases.repository import CaseRepository
from config.settings import Settings
from hotline.health import ComponentHealth, health_sources_key
from ivr.component import SurveyService
from ivr.config import SurveySettings
from telephony.config import PbxConfig
from telephony.events import CallAbandoned, CallEnded, CallExitedQueue, TelephonyEvent
from telephony.service import TelephonyService
from web.keys import (
    call_writer_key,
    clock_key,
    db_key,
    event_subscribers_key,
    metrics_key,
    settings_key,
    telephony_key,
    tracker_key,
)

log = structlog.get_logger()


def pbx_configs(settings: Settings) -> list[PbxConfig]:
    return [
        PbxConfig(
            name=pbx.name,
            host=pbx.host,
            port=pbx.port,
            username=pbx.username,
            secret=pbx.secret.get_secret_value(),
        )
        for pbx in settings.pbx
    ]


def _count_events(app: web.Application) -> Callable[[TelephonyEvent], Awaitable[None]]:
    metrics = app[metrics_key]

    async def count(event: TelephonyEvent) -> None:
        metrics.telephony_events.labels(event.pbx, type(event).__name__).inc()
        if isinstance(event, CallEnded | CallAbandoned | CallExitedQueue):
            outcome = getattr(event, "reason", None) or type(event).__name__
            metrics.calls_ended.labels(event.pbx, event.queue, outcome).inc()

    return count


async def telephony_ctx(app: web.Application) -> AsyncIterator[None]:
    """Follow every PBX: links up, calls tracked and stored (open calls taken back first),
    and the live floor that the board, the panel and /healthz read."""
    settings = app[settings_key]
    clock = app[clock_key]
    repository = CallRepository(app[db_key].pool)
    writer = CallWriter(repository)
    tracker = CallTracker(writer)
    for pbx in settings.pbx:
        tracker.restore(await repository.open_calls(pbx.name))
    floor = Floor(wrapup_s=settings.standards.wrapup_s)
    service = TelephonyService(pbx_configs(settings), clock=clock.now)
    service.subscribe(tracker.handle)
    service.subscribe(floor.handle)
    service.subscribe(_count_events(app))
    for subscriber in app[event_subscribers_key]:
        service.subscribe(subscriber)
    app[call_writer_key] = writer
    app[tracker_key] = tracker
    app[floor_key] = floor
    app[telephony_key] = service
    app[health_sources_key].append(
        lambda: [ComponentHealth(h.name, h.up, h.why, h.since) for h in service.health()]
    )
    app[health_sources_key].append(
        lambda: [ComponentHealth("floor", *floor.health(), kind="service")]
    )
    await writer.start()
    await service.start()
    log.info("telephony_started", pbx=[p.name for p in settings.pbx])
    yield
    await service.stop()
    await writer.stop()


def survey_settings(settings: Settings) -> SurveySettings:
    """The survey's own settings, with the addresses and targets the service already knows."""
    shared: dict[str, Any] = {
        "agi_host": settings.agi_host,
        "agi_port": settings.agi_port,
        "timezone": settings.timezone,
        "satisfaction_target_percent": settings.standards.satisfaction_target * 100,
    }
    if settings.pbx:
        shared["followup_pbx"] = settings.pbx[0].name
    return SurveySettings.from_mapping({**shared, **settings.survey})


async def survey_ctx(app: web.Application) -> AsyncIterator[None]:
    """The satisfaction survey: FastAGI server, dialer, and the CallEnded subscriber."""
    pool = app[db_key].pool
    calendar = await CaseRepository(pool).calendar()
    service = SurveyService(
        survey_settings(app[settings_key]),
        pool,
        app[telephony_key].control,
        app[clock_key],
        calendar=calendar,
    )
    app[telephony_key].subscribe(service.on_event)

    def health() -> list[ComponentHealth]:
        up, why = service.health()
        return [ComponentHealth("survey", up, why, kind="service")]

    app[health_sources_key].append(health)
    await service.start()
    yield
    await service.stop()
