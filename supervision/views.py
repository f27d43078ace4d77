"""Supervisors' pages: the live board (with its JSON for polling) and the period reports with
their Excel and CSV exports. Supervisors and admins only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, Literal
from urllib.parse import urlencode

from aiohttp import web

from calls.floor import SHOWN_STATES
from cases.dates import Era, Lang, as_era, as_lang, format_date, parse_date
from config.settings import RESERVED_PAUSE_CODES, Settings, ShiftSettings, Standards
from supervision.board_privacy import board_for
from supervision.charts import build_charts
from supervision.export import CSV_TYPE, XLSX_TYPE, to_csv, to_xlsx
from supervision.periods import (
    PRESETS,
    Preset,
    as_preset,
    neighbour,
    preset_period,
    preset_title,
)
from supervision.report_tables import (
    TODAY_COLUMNS,
    SupervisorReport,
    Table,
    Text,
    build_tables,
    display,
    grouped_table,
    has_callers_numbers,
    load_report,
)
from supervision.stats import Period, Thresholds, figures, queue_names
from web.auth import require_role, signed_in
from web.i18n import request_language
from web.keys import (
    cases_key,
    catalog_key,
    clock_key,
    db_key,
    floor_key,
    settings_key,
    surveys_key,
    workers_key,
)
from web.templating import render

ROLES = ("supervisor", "admin")
MAX_PERIOD_DAYS = 366


class BadPeriod(Exception):
    """The report's dates are missing their form, reversed or too far apart."""

    code = "bad-period"
    status = 400


def thresholds_of(standards: Standards) -> Thresholds:
    return Thresholds(
        sl_s=standards.sl_threshold_s,
        short_abandon_s=standards.short_abandon_s,
        fcr_days=standards.fcr_days,
        greeting_max_s=standards.greeting_max_s,
        inquiry_min_s=standards.inquiry_min_s,
        inquiry_max_s=standards.inquiry_max_s,
        closing_max_s=standards.closing_max_s,
    )


def _reader(request: web.Request) -> tuple[Text, Era, Lang]:
    """The translation lookup, era and language this page is read in."""
    settings: Settings = request.app[settings_key]
    lang = as_lang(request_language(request, settings.language))
    era = as_era(request.query.get("era", settings.era))
    return partial(request.app[catalog_key].text, lang=lang), era, lang


def _period(request: web.Request) -> tuple[Period, Preset | None]:
    """A preset (day, month, quarter, fiscal year) holding the date `at` (today by default),
    else from/to as ISO or Thai dates; by default this month up to today."""
    settings = request.app[settings_key]
    today = Period.day_of(request.app[clock_key].now(), settings.tz).first
    preset = as_preset(request.query.get("preset", ""))
    if preset is not None:
        return preset_period(preset, _date(request, "at", today), settings.tz), preset
    first = _date(request, "from", today.replace(day=1))
    last = _date(request, "to", today)
    if first > last:
        raise BadPeriod("the period ends before it starts")
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise BadPeriod(f"a report covers at most {MAX_PERIOD_DAYS} days")
    return Period(first, last, settings.tz), None


def _date(request: web.Request, name: str, default: date) -> date:
    text = request.query.get(name, "")
    if not text.strip():
        return default
    value = parse_date(text)
    if value is None:
        raise BadPeriod(f"{name} is not a date")
    return value


def _queue(request: web.Request) -> str | None:
    return request.query.get("queue", "").strip()[:80] or None


async def _live_data(request: web.Request) -> dict[str, Any]:
    """The board now, with today's figures so far per queue and in total."""
    app = request.app
    now = app[clock_key].now()
    t = _reader(request)[0]
    today = Period.day_of(now, app[settings_key].tz)
    thresholds = thresholds_of(app[settings_key].standards)
    pool = app[db_key].pool
    per_queue = await figures(pool, today, thresholds, group="queue", now=now, calls_only=True)
    total = await figures(pool, today, thresholds, now=now, calls_only=True)
    table = grouped_table(
        "today", [*per_queue, *total], t, lambda f: f.label or t("sup.all"), TODAY_COLUMNS
    )
    sees_numbers = signed_in(request).role in app[settings_key].security.board_numbers_for
    return {
        "board": board_for(app[floor_key].view(now), sees_numbers),
        "today": {"headers": table.headers, "rows": [[display(c) for c in r] for r in table.rows]},
    }


def _pause_labels(shift: ShiftSettings, t: Text, lang: Lang) -> dict[str, str]:
    """Each pause reason the board may show, in the page's language; the service's own too."""
    labels = {code: t(f"panel.reason.{code}") for code in RESERVED_PAUSE_CODES}
    return labels | {c.code: c.label(lang) for c in shift.pause_codes}


@require_role(*ROLES)
async def live_page(request: web.Request) -> web.Response:
    t, _, lang = _reader(request)
    labels: dict[str, Any] = {state: t(f"sup.state.{state}") for state in SHOWN_STATES}
    labels |= {
        key: t(f"sup.live.{key}")
        for key in ("waiting", "longest", "nobody_waiting", "held", "link_down", "stale")
    }
    context = {
        "data": await _live_data(request),
        "labels": labels | {"reasons": _pause_labels(request.app[settings_key].shift, t, lang)},
        "sl_s": request.app[settings_key].standards.sl_threshold_s,
    }
    return render(request, "supervisor/live.html", context)


@require_role(*ROLES)
async def live_json(request: web.Request) -> web.Response:
    return web.json_response(await _live_data(request))


async def _load_report(request: web.Request) -> SupervisorReport:
    app = request.app
    return await load_report(
        app[db_key].pool,
        _period(request)[0],
        thresholds_of(app[settings_key].standards),
        surveys=app[surveys_key],
        queue=_queue(request),
        now=app[clock_key].now(),
    )


def _tables_of(request: web.Request, report: SupervisorReport) -> list[Table]:
    t, era, lang = _reader(request)
    settings = request.app[settings_key]
    codes = _pause_labels(settings.shift, t, lang)
    causes = {c.code: c.label(lang) for c in settings.reports.root_causes}
    return build_tables(report, t, era, lang, codes, causes)


async def _report_tables(request: web.Request) -> tuple[Period, str | None, list[Table]]:
    report = await _load_report(request)
    return report.period, report.queue, _tables_of(request, report)


@dataclass(frozen=True, slots=True)
class PresetLink:
    text: str
    query: str
    current: bool = False
    rel: str = ""


def _preset_links(
    period: Period, preset: Preset | None, t: Text, base: dict[str, str]
) -> list[PresetLink]:
    """A link per preset to the one holding this period's first day; for the preset shown,
    links to the one before and the one after as well."""

    def link(text: str, kind: Preset, at: date, **extra: Any) -> PresetLink:
        query = urlencode(base | {"preset": kind, "at": at.isoformat()})
        return PresetLink(t(text), query, **extra)

    links = [link(f"sup.preset.{p}", p, period.first, current=p == preset) for p in PRESETS]
    if preset is not None:
        for step, rel in ((-1, "prev"), (1, "next")):
            day = neighbour(preset, period, step).first
            links.append(link(f"sup.preset.{rel}", preset, day, rel=rel))
    return links


@require_role(*ROLES)
async def reports_page(request: web.Request) -> web.Response:
    report = await _load_report(request)
    period, queue, preset = report.period, report.queue, _period(request)[1]
    t, era, lang = _reader(request)
    groups = report.groups
    query = {"from": period.first.isoformat(), "to": period.last.isoformat(), "era": era}
    if queue:
        query["queue"] = queue
    base = {"era": era} | ({"queue": queue} if queue else {})
    context = {
        "presets": _preset_links(period, preset, t, base),
        "preset_title": preset_title(preset, period, t, era, lang) if preset else "",
        "tables": _tables_of(request, report),
        "charts": build_charts(period, report.hourly, groups, report.surveys, t, era, lang),
        "display": display,
        "period": period,
        "period_text": (format_date(period.first, era, lang), format_date(period.last, era, lang)),
        "queue": queue or "",
        "queues": await queue_names(request.app[db_key].pool),
        "export_query": query,
        "page_era": era,
    }
    return render(request, "supervisor/reports.html", context)


def _download(body: bytes, kind: Literal["xlsx", "csv"], period: Period) -> web.Response:
    name = f"hotline-report-{period.first.isoformat()}-{period.last.isoformat()}.{kind}"
    content_type = XLSX_TYPE if kind == "xlsx" else CSV_TYPE
    return web.Response(
        body=body,
        content_type=content_type,
        charset="utf-8" if kind == "csv" else None,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _log_export(
    request: web.Request, kind: str, period: Period, queue: str | None, tables: list[Table]
) -> None:
    """PDPA: an export that carries callers' numbers is logged like a case's data view."""
    if not has_callers_numbers(tables):
        return
    subject = f"report {period.first.isoformat()}..{period.last.isoformat()}"
    if queue:
        subject += f" queue {queue}"
    await request.app[cases_key].log_personal_data_export(
        signed_in(request).id, subject, f"report_export_{kind}", request.app[clock_key].now()
    )


@require_role(*ROLES)
async def reports_xlsx(request: web.Request) -> web.Response:
    """The workbook is built in the export process: openpyxl would hold the loop."""
    period, queue, tables = await _report_tables(request)
    _t, era, lang = _reader(request)
    body = await request.app[workers_key].export(to_xlsx, tables, era, lang)
    await _log_export(request, "xlsx", period, queue, tables)
    return _download(body, "xlsx", period)


@require_role(*ROLES)
async def reports_csv(request: web.Request) -> web.Response:
    period, queue, tables = await _report_tables(request)
    await _log_export(request, "csv", period, queue, tables)
    return _download(to_csv(tables), "csv", period)


def setup(app: web.Application) -> None:
    """The supervisor routes; the board they show is the floor (calls.floor), which the
    telephony lifetime keeps."""
    app.router.add_get("/supervisor", live_page)
    app.router.add_get("/supervisor/live.json", live_json)
    app.router.add_get("/supervisor/reports", reports_page)
    app.router.add_get("/supervisor/reports.xlsx", reports_xlsx)
    app.router.add_get("/supervisor/reports.csv", reports_csv)
