"""The case pages: the register with its filters and exports, case detail with history and
the actions the user's role allows, the intake and correction forms, escalations, and the
agency's closed days.

Forms keep everything typed and show each error next to its field; caller-supplied text is
only ever rendered through autoescaping.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web

from accounts.users import User
from cases.dates import Era, Lang, as_era, as_lang, format_date, format_datetime, parse_date
from cases.errors import AccessDenied, InvalidCaseData
from cases.escalation import visible_escalations
from cases.export import (
    CODE_KEYS,
    COLUMNS,
    ExportLabels,
    csv_rows,
    csv_start,
    packed,
    xlsx_of_packed,
)
from cases.intake import AGE_BANDS, FIELD_NAMES, GENDERS, NOTIFY_BY, IntakeForm
from cases.lifecycle import Action, CaseType, Channel, Move, Role, Status, allowed_actions
from cases.models import Actor, Case
from cases.register import ExportRows, RegisterFilter, RegisterRow, export_rows, search
from cases.repository import CaseRepository
from web.auth import require_role, see_other, signed_in
from web.forms import posted_text
from web.i18n import request_language
from web.keys import (
    cases_key,
    catalog_key,
    clock_key,
    db_key,
    intake_key,
    mail_outbox_key,
    notices_key,
    settings_key,
    users_key,
    workers_key,
)
from web.templating import render

log = structlog.get_logger()

ALL_ROLES = ("agent", "supervisor", "admin", "unit")
CENTRE = ("agent", "supervisor", "admin")
MANAGERS = ("supervisor", "admin")
ACTION_FIELDS = ("action", "note", "decision", "decision_reasons", "unit_id")
#: Rows read and formatted between two writes of a CSV export: ~2 ms of the loop a batch.
CSV_CHUNK_ROWS = 100


def setup(app: web.Application) -> None:
    """Register the case pages; what they read and write is built by the composition root."""
    app.router.add_get("/cases", register_page)
    app.router.add_get("/cases/export.xlsx", export_xlsx)
    app.router.add_get("/cases/export.csv", export_csv)
    app.router.add_get("/cases/new", new_case_page)
    app.router.add_post("/cases/new", new_case_submit)
    app.router.add_get("/cases/escalations", escalations_page)
    app.router.add_get("/cases/closed-days", closed_days_page)
    app.router.add_post("/cases/closed-days", closed_days_submit)
    app.router.add_get("/cases/units", units_page)
    app.router.add_post("/cases/units", units_submit)
    app.router.add_get(r"/cases/{id:\d+}", detail_page)
    app.router.add_get(r"/cases/{id:\d+}/edit", edit_case_page)
    app.router.add_post(r"/cases/{id:\d+}/edit", edit_case_submit)
    app.router.add_post(r"/cases/{id:\d+}/action", action_submit)
    app.router.add_post(r"/cases/{id:\d+}/note", note_submit)
    app.router.add_post(r"/cases/{id:\d+}/assign", assign_submit)


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, role=Role(user.role), unit_id=user.unit_id)


def _repo(request: web.Request) -> CaseRepository:
    return request.app[cases_key]


def _now(request: web.Request) -> datetime:
    return request.app[clock_key].now()


def _case_id(request: web.Request) -> int:
    value = int(request.match_info["id"])
    if value >= 2**63:
        raise web.HTTPNotFound()
    return value


def _era(request: web.Request) -> Era:
    return as_era(request.query.get("era", request.app[settings_key].era))


def _tz(request: web.Request) -> ZoneInfo:
    return request.app[settings_key].tz


def _lang(request: web.Request) -> Lang:
    return as_lang(request_language(request, request.app[settings_key].language))


def _context(request: web.Request, **values: Any) -> dict[str, Any]:
    """What every case page uses: date formatters in the page's era and language, and the
    choices the forms and filters offer."""
    era, lang = _era(request), _lang(request)
    return {
        "fmt_date": partial(format_date, era=era, lang=lang, tz=_tz(request)),
        "fmt_dt": partial(format_datetime, era=era, lang=lang, tz=_tz(request)),
        "page_era": era,
        "case_types": list(CaseType),
        "channels": list(Channel),
        "statuses": list(Status),
        "genders": sorted(g for g in GENDERS if g),
        "age_bands": sorted(a for a in AGE_BANDS if a),
        "notify_choices": NOTIFY_BY,
        "now": _now(request),
        **values,
    }


def _optional_id(text: str) -> int | None:
    """A unit chosen in a form, or none: anything but plain digits means none."""
    return int(text) if text.isascii() and text.isdigit() else None


# The register and its exports.


@require_role(*ALL_ROLES)
async def register_page(request: web.Request) -> web.Response:
    user = signed_in(request)
    flt = RegisterFilter.from_query(request.query, _tz(request))
    page = await search(request.app[db_key].pool, flt, actor_of(user), _now(request))
    units = await _repo(request).list_units()
    query = flt.to_query()
    if "era" in request.query:
        query["era"] = _era(request)
    context = _context(
        request,
        flt=flt,
        page=page,
        units=units,
        query_string=urlencode(query),
        prev_query=urlencode(flt.to_query(page=page.page - 1)),
        next_query=urlencode(flt.to_query(page=page.page + 1)),
        era_query=urlencode({**query, "era": "ce" if _era(request) == "be" else "be"}),
        may_create=user.role in CENTRE,
    )
    return render(request, "cases/register.html", context)


def _labels(request: web.Request) -> ExportLabels:
    lang = _lang(request)
    catalog = request.app[catalog_key]
    return ExportLabels(
        headers={c: catalog.text(f"cases.col.{c}", lang) for c in COLUMNS},
        codes={key: catalog.text(f"cases.{key}", lang) for key in CODE_KEYS},
        era=_era(request),
        lang=lang,
        tz=_tz(request),
    )


def _export_rows(request: web.Request) -> AbstractAsyncContextManager[ExportRows]:
    flt = RegisterFilter.from_query(request.query, _tz(request))
    actor = actor_of(signed_in(request))
    return export_rows(request.app[db_key].pool, flt, actor, _now(request))


def _download(request: web.Request, rows: ExportRows, kind: str) -> dict[str, str]:
    """The headers naming the download (by when it was made); logs who took how many rows."""
    log.info("register_exported", user_id=signed_in(request).id, rows=rows.total, kind=kind)
    stamp = _now(request).strftime("%Y%m%d-%H%M")
    return {"Content-Disposition": f'attachment; filename="register-{stamp}.{kind}"'}


@require_role(*ALL_ROLES)
async def export_xlsx(request: web.Request) -> web.Response:
    """Rows read in chunks on the loop, the workbook built in the export process."""
    async with _export_rows(request) as rows:
        headers = _download(request, rows, "xlsx")
        chunks = await packed(rows.chunks())
    title = request.app[catalog_key].text("cases.register.title", _lang(request))
    body = await request.app[workers_key].export(xlsx_of_packed, chunks, _labels(request), title)
    return web.Response(
        body=body,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=headers,
    )


@require_role(*ALL_ROLES)
async def export_csv(request: web.Request) -> web.StreamResponse:
    """Streamed a chunk at a time while the rows are read, so neither the loop nor the
    memory ever holds the whole file."""
    labels = _labels(request)
    async with _export_rows(request) as rows:
        response = web.StreamResponse(headers=_download(request, rows, "csv"))
        response.content_type = "text/csv"
        response.charset = "utf-8"
        await response.prepare(request)
        await response.write(csv_start(labels))
        async for chunk in rows.chunks(CSV_CHUNK_ROWS):
            await response.write(csv_rows(map(RegisterRow.from_values, chunk), labels))
    await response.write_eof()
    return response


# Case detail and lifecycle actions.


async def _detail(
    request: web.Request,
    case: Case,
    *,
    action_values: Mapping[str, str] | None = None,
    action_errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    user = signed_in(request)
    actor = actor_of(user)
    repo = _repo(request)
    show_personal = await repo.may_see_personal_data(case, actor)
    managing = user.role in MANAGERS
    agents = await request.app[users_key].agents() if managing else []
    if show_personal:
        await repo.log_personal_data_view(case, actor, _now(request))
    context = _context(
        request,
        case=case,
        history=await repo.history(case.id),
        actions=allowed_actions(case.status, actor.role) if show_personal else [],
        agents=[a for a in agents if a.active],
        assignee=next((a for a in agents if a.id == case.assigned_to), None),
        units=await repo.list_units(),
        escalations=await visible_escalations(repo.pool, actor, case.id),
        show_personal=show_personal,
        may_edit=managing or (user.role == "agent" and show_personal),
        views=await repo.personal_data_views(case.id) if managing else [],
        action_values=action_values or {},
        action_errors=action_errors or {},
        overdue=case.is_overdue(_now(request)),
        notices=await request.app[notices_key].of_case(case.id),
        mails=await request.app[mail_outbox_key].history(case_id=case.id) if show_personal else [],
    )
    return render(request, "cases/detail.html", context, status=status)


@require_role(*ALL_ROLES)
async def detail_page(request: web.Request) -> web.Response:
    case = await _repo(request).get_case(_case_id(request), actor_of(signed_in(request)))
    return await _detail(request, case)


@require_role(*ALL_ROLES)
async def action_submit(request: web.Request) -> web.StreamResponse:
    """One lifecycle step; on a missing reason the page comes back with the text kept."""
    case_id = _case_id(request)
    actor = actor_of(signed_in(request))
    values = await posted_text(request, ACTION_FIELDS)
    repo = _repo(request)
    try:
        action = Action(values.get("action", ""))
    except ValueError:
        case = await repo.get_case(case_id, actor)
        return await _detail(
            request, case, action_values=values, action_errors={"action": "invalid"}, status=422
        )
    move = Move(
        action=action,
        note=values.get("note", "").strip(),
        decision=values.get("decision", "").strip(),
        decision_reasons=values.get("decision_reasons", "").strip(),
        unit_id=_optional_id(values.get("unit_id", "")),
    )
    try:
        await repo.transition(case_id, move, actor=actor, now=_now(request))
    except InvalidCaseData as exc:
        case = await repo.get_case(case_id, actor)
        return await _detail(
            request, case, action_values=values, action_errors=exc.field_errors, status=422
        )
    return see_other(f"/cases/{case_id}")


@require_role(*MANAGERS)
async def assign_submit(request: web.Request) -> web.StreamResponse:
    """A supervisor names the agent who handles the case (and may see the caller's data)."""
    case_id = _case_id(request)
    actor = actor_of(signed_in(request))
    values = await posted_text(request, ("assigned_to",))
    agent_id = _optional_id(values.get("assigned_to", ""))
    repo = _repo(request)
    try:
        if agent_id is None:
            raise InvalidCaseData({"assigned_to": "required"})
        await repo.assign(case_id, agent_id, actor=actor, now=_now(request))
    except InvalidCaseData as exc:
        case = await repo.get_case(case_id, actor)
        assign_values = {"action": "assign", **values}
        return await _detail(
            request, case, action_values=assign_values, action_errors=exc.field_errors, status=422
        )
    return see_other(f"/cases/{case_id}")


@require_role(*ALL_ROLES)
async def note_submit(request: web.Request) -> web.StreamResponse:
    case_id = _case_id(request)
    actor = actor_of(signed_in(request))
    values = await posted_text(request, ("note",))
    repo = _repo(request)
    try:
        await repo.add_note(case_id, values.get("note", ""), actor=actor, now=_now(request))
    except InvalidCaseData as exc:
        case = await repo.get_case(case_id, actor)
        note_values = {"action": "note", **values}
        return await _detail(
            request, case, action_values=note_values, action_errors=exc.field_errors, status=422
        )
    return see_other(f"/cases/{case_id}")


# Intake and correction forms.


def _form_page(
    request: web.Request,
    *,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    case: Case | None,
    status: int = 200,
) -> web.Response:
    context = _context(request, values=values, errors=errors, case=case)
    return render(request, "cases/form.html", context, status=status)


def _values_of(case: Case) -> dict[str, str]:
    values = {name: str(getattr(case, name) or "") for name in FIELD_NAMES}
    values["significant"] = "on" if case.significant else ""
    return values


@require_role(*CENTRE)
async def new_case_page(request: web.Request) -> web.Response:
    return _form_page(request, values={"channel": "phone"}, errors={}, case=None)


async def _submit_form(
    request: web.Request, case: Case | None, save: Callable[[IntakeForm], Awaitable[Case]]
) -> web.StreamResponse:
    """The posted intake form: shown again with its errors, or saved (CaseIntake escalates a
    significant complaint at once) and the user sent to the case."""
    values = await posted_text(request, (*FIELD_NAMES, "significant"))
    try:
        form = IntakeForm.parse(values)
    except InvalidCaseData as exc:
        return _form_page(request, values=values, errors=exc.field_errors, case=case, status=422)
    saved = await save(form)
    return see_other(f"/cases/{saved.id}")


@require_role(*CENTRE)
async def new_case_submit(request: web.Request) -> web.StreamResponse:
    actor = actor_of(signed_in(request))
    return await _submit_form(
        request,
        None,
        lambda form: request.app[intake_key].create(form, actor=actor, now=_now(request)),
    )


async def _editable_case(request: web.Request, repo: CaseRepository, actor: Actor) -> Case:
    """The form holds the caller's personal data: only those who may see it may edit."""
    case = await repo.get_case(_case_id(request), actor)
    if not await repo.may_see_personal_data(case, actor):
        raise AccessDenied("not your case", case_id=case.id)
    return case


@require_role(*CENTRE)
async def edit_case_page(request: web.Request) -> web.Response:
    repo, actor = _repo(request), actor_of(signed_in(request))
    case = await _editable_case(request, repo, actor)
    await repo.log_personal_data_view(case, actor, _now(request), purpose="edit_form")
    return _form_page(request, values=_values_of(case), errors={}, case=case)


@require_role(*CENTRE)
async def edit_case_submit(request: web.Request) -> web.StreamResponse:
    repo, actor = _repo(request), actor_of(signed_in(request))
    case = await _editable_case(request, repo, actor)
    return await _submit_form(
        request,
        case,
        lambda form: request.app[intake_key].update(case.id, form, actor=actor, now=_now(request)),
    )


# Escalations and closed days.


@require_role(*ALL_ROLES)
async def escalations_page(request: web.Request) -> web.Response:
    actor = actor_of(signed_in(request))
    escalations = await visible_escalations(request.app[db_key].pool, actor)
    return render(request, "cases/escalations.html", _context(request, escalations=escalations))


async def _closed_days(
    request: web.Request, values: Mapping[str, str], errors: Mapping[str, str], status: int = 200
) -> web.Response:
    days = await _repo(request).closed_days()
    context = _context(request, days=days, values=values, errors=errors)
    return render(request, "cases/closed_days.html", context, status=status)


@require_role(*MANAGERS)
async def closed_days_page(request: web.Request) -> web.Response:
    return await _closed_days(request, {}, {})


@require_role(*MANAGERS)
async def closed_days_submit(request: web.Request) -> web.StreamResponse:
    values = await posted_text(request, ("day", "reason"))
    day = parse_date(values.get("day", ""))
    reason = values.get("reason", "").strip()
    errors: dict[str, str] = {}
    if day is None:
        errors["day"] = "invalid"
    if len(reason) > 200:
        errors["reason"] = "too_long"
    if errors or day is None:
        return await _closed_days(request, values, errors, status=422)
    await _repo(request).add_closed_day(day, reason, signed_in(request).id)
    return see_other("/cases/closed-days")


async def _units(
    request: web.Request, values: Mapping[str, str], errors: Mapping[str, str], status: int = 200
) -> web.Response:
    workload = await _repo(request).unit_workload()
    context = _context(request, workload=workload, values=values, errors=errors)
    return render(request, "cases/units.html", context, status=status)


@require_role(*MANAGERS)
async def units_page(request: web.Request) -> web.Response:
    return await _units(request, {}, {})


@require_role("admin")
async def units_submit(request: web.Request) -> web.StreamResponse:
    values = await posted_text(request, ("name", "parent_id"))
    try:
        await _repo(request).create_unit(
            values.get("name", ""), _optional_id(values.get("parent_id", ""))
        )
    except InvalidCaseData as exc:
        return await _units(request, values, exc.field_errors, status=422)
    return see_other("/cases/units")
