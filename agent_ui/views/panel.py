"""The agent panel's pages and actions: the desk page, its WebSocket, state and phase
changes, wrap-up, the intake form, and the admin's scripts.

Actions answer JSON for the panel's script; every one needs the session's CSRF token.
"""

from __future__ import annotations

import json

import structlog
from aiohttp import web

from accounts.users import User
from agent_ui.agent_events import AgentEventRouter
from agent_ui.desk import Availability
from agent_ui.hub import Hub
from agent_ui.panel_service import Agent
from agent_ui.panel_store import SCRIPT_KINDS
from calls.numbers import normalise
from cases.errors import InvalidCaseData
from cases.intake import IntakeForm
from cases.lifecycle import CaseType, Channel, Role
from cases.models import Actor
from ivr.results import Satisfaction
from telephony.errors import TelephonyError
from web.auth import require_role, session_kept_alive, signed_in
from web.i18n import LANGUAGES, LOCALES_DIR, request_language
from web.keys import (
    agent_events_key,
    cases_key,
    catalog_key,
    clock_key,
    event_subscribers_key,
    hub_key,
    intake_key,
    panel_key,
    presence_key,
    settings_key,
    surveys_key,
    tasks_key,
    users_key,
)
from web.origin import from_own_page
from web.templating import render

log = structlog.get_logger()


# The keys of the panel's own texts, which its script needs in the page's language.
PANEL_KEYS = tuple(json.loads((LOCALES_DIR / "panel.json").read_text("utf-8")))
AVAILABILITIES: tuple[Availability, ...] = ("ready", "paused", "logged_out")
SHORTCUT = "Alt+N"


def _strings(request: web.Request, lang: str) -> dict[str, str]:
    """The panel's texts in the page's language, for its script."""
    catalog = request.app[catalog_key]
    return {key: catalog.text(key, lang) for key in PANEL_KEYS}


async def _agent(request: web.Request, user: User) -> Agent:
    agent = await request.app[presence_key].agent(user.id)
    assert agent is not None, "require_role('agent') let only agents in"
    return agent


def _codes(request: web.Request, lang: str) -> dict[str, list[tuple[str, str]]]:
    """The pause and wrap-up codes the agent may choose, labelled in the page's language."""
    shift = request.app[settings_key].shift
    return {
        "pause": [(c.code, c.label(lang)) for c in shift.pause_codes],
        "wrapup": [(c.code, c.label(lang)) for c in shift.wrapup_codes],
    }


async def _scripts(request: web.Request) -> dict[str, dict[str, str]]:
    """Each script in each language: the admin's text, else the default from the catalog."""
    stored = await request.app[panel_key].store.scripts()
    catalog = request.app[catalog_key]
    return {
        kind: {
            lang: stored.get(kind, {}).get(lang)
            or catalog.text(f"panel.script.default.{kind}", lang)
            for lang in LANGUAGES
        }
        for kind in SCRIPT_KINDS
    }


@require_role("agent")
async def panel_page(request: web.Request) -> web.Response:
    user = signed_in(request)
    panel = request.app[panel_key]
    settings = request.app[settings_key]
    lang = request_language(request, settings.language)
    strings = _strings(request, lang)
    codes = _codes(request, lang)
    # The script shows a pause reason in the page's language, the configured ones included.
    strings |= {f"panel.reason.{code}": label for code, label in codes["pause"]}
    desk, last_event_id = await panel.snapshot(user.id)
    boot = {
        "desk": desk,
        "last_event_id": last_event_id,
        "epoch": panel.hub.epoch,
        "standards": panel.standards.as_json(),
        "strings": strings,
        "scripts": {kind: texts[lang] for kind, texts in (await _scripts(request)).items()},
        "lang": lang,
        "era": settings.era,
        "timezone": settings.timezone,
        "heartbeat_s": panel.hub.heartbeat_s,
    }
    context = {
        "boot": boot,
        "mine": await _month_satisfaction(request, user.id),
        "codes": codes,
        "channels": [c.value for c in Channel],
        "case_types": [c.value for c in CaseType],
        "shortcut": SHORTCUT,
    }
    return render(request, "panel/panel.html", context)


async def _month_satisfaction(request: web.Request, user_id: int) -> Satisfaction | None:
    """The agent's own survey figures since the first of this month (local time)."""
    settings = request.app[settings_key]
    now = request.app[clock_key].now()
    local = now.astimezone(settings.tz)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rows = await request.app[surveys_key].by_agent(month_start, now)
    return next((row for row in rows if row.key == str(user_id)), None)


@require_role("agent")
async def panel_state(request: web.Request) -> web.Response:
    """The desk again, for a panel told to reload after missing too much."""
    user = signed_in(request)
    panel = request.app[panel_key]
    desk, last_event_id = await panel.snapshot(user.id)
    return web.json_response(
        {"desk": desk, "last_event_id": last_event_id, "epoch": panel.hub.epoch}
    )


@require_role("agent")
async def panel_socket(request: web.Request) -> web.StreamResponse:
    if not from_own_page(request):
        log.warning("panel_socket_foreign_origin", origin=request.headers.get("Origin"))
        raise web.HTTPForbidden(text="the panel's socket opens only from its own page")
    async with session_kept_alive(request):
        return await request.app[hub_key].serve(request, signed_in(request).id)


@require_role("agent")
async def change_availability(request: web.Request) -> web.Response:
    form = await request.post()
    availability = str(form.get("availability", ""))
    reason = str(form.get("reason", "")) if availability == "paused" else ""
    pause_codes = {c.code for c in request.app[settings_key].shift.pause_codes}
    if availability not in AVAILABILITIES or (
        availability == "paused" and reason not in pause_codes
    ):
        return web.json_response({"error": "invalid_state"}, status=422)
    user = signed_in(request)
    panel = request.app[panel_key]
    try:
        await panel.change_availability(await _agent(request, user), availability, reason)
    except TelephonyError as exc:
        log.warning("availability_change_failed", agent=user.id, error=str(exc))
        return web.json_response({"error": "pbx_refused"}, status=502)
    desk, _ = await panel.snapshot(user.id)
    return web.json_response({"desk": desk})


@require_role("agent")
async def next_phase(request: web.Request) -> web.Response:
    mark = await request.app[panel_key].next_phase(signed_in(request).id)
    if mark is None:
        return web.json_response({"error": "no_next_phase"}, status=409)
    return web.json_response({"phase": mark.phase.value, "at": mark.at.isoformat()})


@require_role("agent")
async def end_wrapup(request: web.Request) -> web.Response:
    """End after-call work with the call's wrap-up code (disposition), one of the list."""
    code = str((await request.post()).get("code", ""))
    if code not in {c.code for c in request.app[settings_key].shift.wrapup_codes}:
        return web.json_response({"error": "wrapup_code_needed"}, status=422)
    ended = await request.app[panel_key].end_wrapup(signed_in(request).id, code)
    return web.json_response({"ended": ended}, status=200 if ended else 409)


@require_role("agent")
async def save_intake(request: web.Request) -> web.Response:
    """Create (or correct) the case of the call on the desk from the intake form."""
    user = signed_in(request)
    app = request.app
    form = await request.post()
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    try:
        intake = IntakeForm.parse(fields)
    except InvalidCaseData as exc:
        return web.json_response({"errors": exc.field_errors}, status=422)
    panel, now = app[panel_key], app[clock_key].now()
    call_key = fields.get("call_key", "")
    on_desk = (await panel.desk(user.id)).current(call_key)
    if call_key and on_desk is None and not await panel.store.took_call(call_key, user):
        log.warning("intake_names_another_call", agent=user.id, call_key=call_key[:80])
        return web.json_response({"error": "not_your_call"}, status=403)
    # The case belongs to the caller even when the agent left the telephone field empty.
    number = normalise(intake.contact_phone) or normalise(on_desk.caller_number if on_desk else "")
    actor = Actor(user_id=user.id, role=Role(user.role), unit_id=user.unit_id)
    case_id = _int(fields.get("case_id"))
    if case_id is not None:
        # Refused before anything is written: the caller's details go with the form.
        await app[cases_key].ensure_may_edit(case_id, actor)
    caller_id = None
    if number is not None:
        caller_id = await panel.store.remember_caller(
            number,
            name=intake.contact_name,
            occupation=intake.occupation,
            gender=intake.gender,
            age_band=intake.age_band,
            province=intake.province,
            email=intake.contact_email,
            at=now,
        )
    intake_service = app[intake_key]
    if case_id is None:
        call_id = await panel.store.call_id(call_key) if call_key else None
        case = await intake_service.create(
            intake, actor=actor, now=now, call_id=call_id, caller_id=caller_id
        )
    else:
        case = await intake_service.update(case_id, intake, actor=actor, now=now)
    if call_key:
        await panel.case_saved(user.id, call_key, case.id, case.reference)
    log.info("intake_saved", agent=user.id, call_key=call_key, case_id=case.id)
    return web.json_response({"case_id": case.id, "reference": case.reference})


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@require_role("admin")
async def scripts_page(request: web.Request) -> web.Response:
    return render(
        request, "panel/scripts.html", {"scripts": await _scripts(request), "saved": False}
    )


@require_role("admin")
async def save_scripts(request: web.Request) -> web.Response:
    form = await request.post()
    panel, now, user = request.app[panel_key], request.app[clock_key].now(), signed_in(request)
    for kind in SCRIPT_KINDS:
        texts = {lang: str(form.get(f"{kind}_{lang}", "")).strip()[:4000] for lang in LANGUAGES}
        await panel.store.save_script(kind, texts, now, user.id)
    log.info("panel_scripts_saved", user=user.id)
    return render(
        request, "panel/scripts.html", {"scripts": await _scripts(request), "saved": True}
    )


async def _find_user(request_app: web.Application, pbx: str, interface: str) -> int | None:
    found = await request_app[users_key].by_interface(pbx, interface)
    return found.id if found is not None and found.role == "agent" else None


def setup(app: web.Application) -> None:
    """Routes of the panel, its hub and its telephony subscriber. The subscriber is
    registered now, so it sees every event from the first link-up; it handles them once
    the panel's lifetime (hotline.lifetimes.panel_ctx) has started."""
    app[hub_key] = Hub(spawn=app[tasks_key].spawn)
    router = AgentEventRouter(lambda pbx, interface: _find_user(app, pbx, interface))
    app[agent_events_key] = router
    app[event_subscribers_key].append(router)
    app.router.add_get("/panel", panel_page)
    app.router.add_get("/panel/state", panel_state)
    app.router.add_get("/panel/ws", panel_socket)
    app.router.add_post("/panel/availability", change_availability)
    app.router.add_post("/panel/phase/next", next_phase)
    app.router.add_post("/panel/wrapup/end", end_wrapup)
    app.router.add_post("/panel/intake", save_intake)
    app.router.add_get("/panel/scripts", scripts_page)
    app.router.add_post("/panel/scripts", save_scripts)
