"""The long-lived parts the composition root starts and stops, each built once from Settings.

Each function is one aiohttp cleanup_ctx: what comes before `yield` starts the part, what
comes after stops it, and aiohttp stops them in the reverse order of starting. Views find
what these build through the keys in web.keys; none of them builds its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from accounts.management import AdminRepository
from accounts.skills import SkillRepository
from accounts.users import UserRepository
from agent_ui.call_control import CallControlService
from agent_ui.call_control_store import CallControlStore
from agent_ui.panel_service import PanelService
from agent_ui.phases import PhaseStandards
from agent_ui.presence import Presence
from agent_ui.screenpop import ScreenPops
from calls.dead_letters import CallDeadLetters
from calls.endings import endings_of
from calls.floor import Floor
from calls.queue_log import GAPS_LOST, GapRecovery, QueueLogSource
from calls.recording_files import RecordingFolder
from calls.recordings import Recorder, RecordingStore
from calls.repository import CallRepository
from calls.tracker import CallTracker
from calls.writer import CallWriter
from cases.escalation import EscalationJob
from cases.intake_service import CaseIntake
from cases.repository import CaseRepository
from cases.retention import RetentionJob
from config.settings import Settings, Standards
from database.migrate import apply_migrations
from database.pool import Database, DatabaseUnavailable, EmbeddedPostgres
from hotline.health import ADVISORY, ComponentHealth, health_sources_key, watch_telephony
from ivr.component import SurveyService
from ivr.config import SurveySettings
from ivr.peers import LOOPBACK
from ivr.results import SurveyResults
from knowledge.repository import KnowledgeRepository
from knowledge.sending import BasketMailer
from mail.templates import MailTemplates
from runtime.jobs import cancel_and_wait
from supervision.spy_audit import SpyAudit
from supervision.spying import SpyService
from telephony.config import PbxConfig
from telephony.events import CallAbandoned, CallEnded, CallExitedQueue, TelephonyEvent
from telephony.service import TelephonyService
from web.keys import (
    accounts_key,
    agent_events_key,
    basket_mailer_key,
    call_control_key,
    call_legs_key,
    call_writer_key,
    calls_key,
    cases_key,
    clock_key,
    db_key,
    escalation_key,
    event_subscribers_key,
    floor_key,
    hub_key,
    intake_key,
    knowledge_key,
    mail_outbox_key,
    metrics_key,
    panel_key,
    presence_key,
    recorder_key,
    recording_folder_key,
    recordings_key,
    retention_key,
    session_closed_key,
    session_opened_key,
    settings_key,
    skills_key,
    spy_key,
    survey_key,
    surveys_key,
    tasks_key,
    telephony_key,
    tracker_key,
    users_key,
)

log = structlog.get_logger()


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    """The pool (on an embedded server when no URL is set), migrated before anything runs,
    and every repository over it, each configured from the settings."""
    settings = app[settings_key]
    embedded: EmbeddedPostgres | None = None
    url = settings.database_url
    if url is None:
        embedded = EmbeddedPostgres(settings.data_dir.resolve() / "postgres")
        url = await asyncio.to_thread(embedded.start)
    db = await Database.connect(url)
    try:
        await apply_migrations(url)
    except Exception as exc:
        await db.close()
        raise DatabaseUnavailable(f"cannot migrate the database: {exc}") from exc
    app[db_key] = db
    _build_repositories(app, db.pool, settings)
    yield
    await db.close()
    if embedded is not None:
        await asyncio.to_thread(embedded.stop)


def _build_repositories(app: web.Application, pool: asyncpg.Pool, settings: Settings) -> None:
    policy = settings.cases.policy(settings.tz)
    cases = CaseRepository(pool, policy)
    escalation = EscalationJob(
        pool,
        policy.calendar,
        settings.cases.chain(),
        interval_s=settings.cases.escalation_interval_s,
    )
    app[users_key] = UserRepository(pool)
    app[skills_key] = SkillRepository(pool)
    app[accounts_key] = AdminRepository(pool)
    app[cases_key] = cases
    app[calls_key] = CallRepository(pool)
    app[surveys_key] = SurveyResults(
        pool,
        target_percent=settings.standards.satisfaction_target * 100,
        timezone=settings.timezone,
    )
    app[escalation_key] = escalation
    app[recordings_key] = RecordingStore(pool)
    app[recording_folder_key] = RecordingFolder(settings.recording.folder)
    app[retention_key] = RetentionJob(
        pool,
        settings.cases.retention_years,
        settings.tz,
        interval_s=settings.cases.retention_interval_s,
        recordings=app[recording_folder_key],
    )
    app[intake_key] = CaseIntake(cases, escalation)
    app[knowledge_key] = KnowledgeRepository(
        pool, max_attachment_bytes=settings.knowledge.max_attachment_bytes
    )


async def case_jobs_ctx(app: web.Application) -> AsyncIterator[None]:
    """Escalation and retention as background tasks, cancelled and awaited on shutdown."""
    clock, spawn = app[clock_key], app[tasks_key].spawn
    tasks = [
        spawn("case_escalation", lambda: app[escalation_key].run_forever(clock)),
        spawn("case_retention", lambda: app[retention_key].run_forever(clock)),
    ]
    yield
    await cancel_and_wait(tasks)


def pbx_configs(settings: Settings) -> list[PbxConfig]:
    return [
        PbxConfig(
            name=pbx.name,
            host=pbx.host,
            port=pbx.port,
            username=pbx.username,
            secret=pbx.secret.get_secret_value(),
            tls=pbx.tls,
            tls_ca_file=pbx.tls_ca_file,
            tls_server_name=pbx.tls_server_name,
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
    repository = app[calls_key]
    spawn = app[tasks_key].spawn
    survey = survey_settings(settings)
    writer = CallWriter(
        repository,
        dead_letters=CallDeadLetters(app[db_key].pool),
        # The survey learns of ended calls from the outbox written with each end.
        follow_ups=endings_of if survey.enabled and survey.mode == "callback" else None,
        spawn=spawn,
    )
    tracker = CallTracker(writer)
    for pbx in settings.pbx:
        tracker.restore(await repository.open_calls(pbx.name))
    floor = Floor(wrapup_s=settings.standards.wrapup_s)
    service = TelephonyService(pbx_configs(settings), clock=clock.now, spawn=spawn)
    service.subscribe(_recover_gaps(app, settings, tracker, writer), name="call-tracker")
    service.subscribe(floor.handle, name="floor")
    service.subscribe(_count_events(app), name="event-counter")
    if settings.recording.enabled:
        recorder = Recorder(app[recordings_key], service.control, settings.recording.pbx_folder)
        app[recorder_key] = recorder
        service.subscribe(recorder, name="recorder")
    for subscriber in app[event_subscribers_key]:
        service.subscribe(subscriber)
    app[call_writer_key] = writer
    app[tracker_key] = tracker
    app[floor_key] = floor
    app[telephony_key] = service
    watch_telephony(app, service, writer)
    app[health_sources_key].append(
        lambda: [ComponentHealth("floor", *floor.health(), kind="service")]
    )
    await writer.start()
    await service.start()
    log.info("telephony_started", pbx=[p.name for p in settings.pbx])
    yield
    await service.stop()
    await writer.stop()


def _recover_gaps(
    app: web.Application, settings: Settings, tracker: CallTracker, writer: CallWriter
) -> Callable[[TelephonyEvent], Awaitable[None]]:
    """The tracker's subscriber: each PBX with a queue_log table has its gaps filled after
    every snapshot, once the tracker has reconciled and before it takes the next event (so
    recovery and the live stream never race); one without is said so at start and on
    /healthz (an advisory: the service still works)."""
    advisories: list[ComponentHealth] = []
    recoveries: dict[str, GapRecovery] = {}
    for pbx in settings.pbx:
        if not pbx.queue_log_table:
            log.warning("queue_log_not_configured", pbx=pbx.name, why=GAPS_LOST)
            why = f"not configured: {GAPS_LOST}"
            advisories.append(ComponentHealth(f"queue_log:{pbx.name}", False, why, kind=ADVISORY))
            continue
        source = QueueLogSource(app[db_key].pool, pbx.queue_log_table)
        recoveries[pbx.name] = GapRecovery(pbx.name, source, tracker, writer, writer.flush)
    app[health_sources_key].append(
        lambda: (
            advisories
            + [
                ComponentHealth(f"queue_log:{name}", *r.health(), kind="service")
                for name, r in recoveries.items()
            ]
        )
    )

    async def track(event: TelephonyEvent) -> None:
        await tracker.handle(event)
        for recovery in recoveries.values():
            await recovery.handle(event)

    return track


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
    # FastAGI sessions come from the PBXes (loopback for a PBX on this host and the demo).
    shared["agi_allowed_peers"] = [*(pbx.host for pbx in settings.pbx), *LOOPBACK]
    return SurveySettings.from_mapping({**shared, **settings.survey})


async def survey_ctx(app: web.Application) -> AsyncIterator[None]:
    """The satisfaction survey: FastAGI server and the dialer, which also takes the ended
    calls from the outbox the call writer fills (telephony_ctx)."""
    cases = app[cases_key]
    service = SurveyService(
        survey_settings(app[settings_key]),
        app[db_key].pool,
        app[telephony_key].control,
        app[clock_key],
        cases=cases,
        calendar=await cases.calendar(),
        spawn=app[tasks_key].spawn,
    )
    app[survey_key] = service

    def health() -> list[ComponentHealth]:
        up, why = service.health()
        return [ComponentHealth("survey", up, why, kind="service")]

    app[health_sources_key].append(health)
    await service.start()
    yield
    await service.stop()


def _phase_standards(standards: Standards) -> PhaseStandards:
    return PhaseStandards.from_limits(
        greeting_max_s=standards.greeting_max_s,
        inquiry_min_s=standards.inquiry_min_s,
        inquiry_max_s=standards.inquiry_max_s,
        closing_max_s=standards.closing_max_s,
        wrapup_s=standards.wrapup_s,
    )


async def panel_ctx(app: web.Application) -> AsyncIterator[None]:
    """The panel's service and its hub, once the database is up; stopped first."""
    telephony = app.get(telephony_key)
    control = telephony.control if telephony is not None else None
    router = app[agent_events_key]
    floor = app[floor_key]

    def tell_floor(user_id: int, at: datetime) -> None:
        """The floor learns that wrap-up ended early: no PBX event says so."""
        phone = router.phone_of(user_id)
        if phone is not None:
            floor.wrapup_ended(*phone, at)

    pool = app[db_key].pool
    pops = ScreenPops(
        pool,
        calls=app[calls_key],
        cases=app[cases_key],
        ratings=app[surveys_key],
        mails=app[mail_outbox_key],
    )
    panel = PanelService(
        pool=pool,
        calls=app[call_writer_key],
        pops=pops,
        hub=app[hub_key],
        clock=app[clock_key],
        standards=_phase_standards(app[settings_key].standards),
        control=control,
        on_wrapup_ended=tell_floor,
    )
    app[panel_key] = panel
    router.know(
        {
            (agent.pbx, agent.interface): agent.id
            for agent in await app[users_key].agents()
            if agent.pbx and agent.interface and agent.active
        }
    )
    sweep_s = app[settings_key].shift.presence_sweep_s
    idle = app[settings_key].security.idle
    presence = Presence(panel, app[users_key], app[skills_key], sweep_s=sweep_s, idle=idle)
    app[presence_key] = presence
    app[session_opened_key].append(presence.sign_in)
    app[session_closed_key].append(presence.session_closed)
    async with app[hub_key].running(), panel.running():
        await panel.restore()
        async with router.running(panel, floor):
            sweep = app[tasks_key].spawn("presence_sweep", presence.sweep_forever)
            yield
            await cancel_and_wait([sweep])


async def call_control_ctx(app: web.Application) -> AsyncIterator[None]:
    """The panel's call control, once the panel runs: its subscriber starts handing it the
    overflow's callback requests."""
    telephony = app.get(telephony_key)
    service = CallControlService(
        control=telephony.control if telephony is not None else None,
        panel=app[panel_key],
        legs=app[call_legs_key],
        store=CallControlStore(app[db_key].pool),
        tracker=app.get(tracker_key),
        clock=app[clock_key],
        settings=app[settings_key].call_control,
        recorder=app.get(recorder_key),
    )
    app[call_control_key] = service
    async with app[call_legs_key].running(service):
        yield


async def spy_ctx(app: web.Application) -> AsyncIterator[None]:
    """Supervisors' listen, whisper and barge: commands through the PBX links, each spy
    followed from the telephony events (subscribed from now on: none is older)."""
    telephony = app.get(telephony_key)
    service = SpyService(
        control=telephony.control if telephony is not None else None,
        tracker=app.get(tracker_key),
        audit=SpyAudit(app[db_key].pool),
        users=app[users_key],
        clock=app[clock_key],
        settings=app[settings_key].spy,
    )
    app[spy_key] = service
    if telephony is not None:
        telephony.subscribe(service.handle, name="spies")
    yield


async def knowledge_ctx(app: web.Application) -> AsyncIterator[None]:
    """The caller's basket goes out through the mail outbox, so this follows `mail_ctx`."""
    app[basket_mailer_key] = BasketMailer(
        app[db_key].pool, app[mail_outbox_key], MailTemplates(), app[settings_key].notices.agency
    )
    yield
