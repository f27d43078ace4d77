"""The supervisor report as plain tables: the page renders them and the exports write them,
so what a supervisor reads on screen and in Excel is the same rows, cell for cell.

Cells are text, numbers already rounded (one decimal), or dates that carry both their value
(for the workbook's date cells) and their words in the reader's era and language.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from cases.dates import Era, Lang, format_date, format_datetime
from ivr.results import Satisfaction, SurveyResults
from supervision.complaints import (
    RootCauseCount,
    UnitComplaints,
    by_region_and_unit,
    root_causes,
)
from supervision.executive import DIMENSIONS, PROBLEMS, ExecutiveReport, executive_report
from supervision.periods import month_title, neighbour, preset_period, preset_title
from supervision.stats import (
    CallLine,
    Figures,
    PauseTime,
    Period,
    Thresholds,
    abandoned_calls,
    figures_by,
    longest_waits,
    pause_times,
)


@dataclass(frozen=True, slots=True)
class DateCell:
    """A date, or a local date and time, with the words the page shows for it: the workbook
    writes `value` as a real date cell, the page and the CSV write `text`."""

    value: date | datetime
    text: str


Cell = str | int | float | DateCell
Text = Callable[[str], str]
Surveys = Mapping[str, Satisfaction]
#: The groupings the page shows, each as a table `by_<group>`.
GROUPINGS = ("queue", "agent", "team", "day", "month")


@dataclass(frozen=True, slots=True)
class Table:
    """One titled table; `key` names its sheet and its HTML id."""

    key: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]


@dataclass(frozen=True, slots=True)
class SupervisorReport:
    """Everything the reports page shows for one period (and queue).

    `surveys` holds the survey's own figures (ivr.results) per grouping ("total", "queue",
    "agent", "team", "day", "month"), keyed like the call figures; without them a satisfaction cell
    is empty.
    """

    period: Period
    queue: str | None
    total: Figures
    groups: dict[str, list[Figures]]
    hourly: list[Figures]
    surveys: dict[str, Surveys]
    abandoned: list[CallLine]
    longest_waits: list[CallLine]
    executive: ExecutiveReport
    pause_times: list[PauseTime]
    complaints: list[UnitComplaints]
    root_causes: list[RootCauseCount]


async def _survey_figures(
    results: SurveyResults, period: Period, queue: str | None
) -> dict[str, Surveys]:
    """Satisfaction per grouping. The survey's figures take no queue filter, so with one the
    total is that queue's row and the other groupings are left out rather than shown wrong."""
    start, end = period.start, period.end
    by_queue = {s.key: s for s in await results.by_queue(start, end)}
    if queue is not None:
        return {"total": {"": by_queue[queue]} if queue in by_queue else {}, "queue": by_queue}
    return {
        "total": {"": await results.overall(start, end)},
        "queue": by_queue,
        "agent": {s.key: s for s in await results.by_agent(start, end)},
        "team": {s.key: s for s in await results.by_team(start, end)},
        "day": {s.key: s for s in await results.by_period(start, end, "day")},
        "month": {s.key[:7]: s for s in await results.by_period(start, end, "month")},
    }


async def load_report(
    pool: asyncpg.Pool,
    period: Period,
    thresholds: Thresholds,
    *,
    surveys: SurveyResults,
    queue: str | None,
    now: datetime,
) -> SupervisorReport:
    """Run every query of the reports page for one period: the figures on one connection
    while the lists, surveys and complaint tables run on another, so a report holds at most
    two of the pool's connections."""

    async def the_rest() -> dict[str, Any]:
        return {
            "surveys": await _survey_figures(surveys, period, queue),
            "abandoned": await abandoned_calls(pool, period, thresholds, queue=queue),
            "longest_waits": await longest_waits(pool, period, thresholds, queue=queue),
            "executive": await executive_report(pool, period, thresholds, queue=queue, now=now),
            "pause_times": await pause_times(pool, period, now=now),
            "complaints": await by_region_and_unit(pool, period, now=now),
            "root_causes": await root_causes(pool, period),
        }

    groups, rest = await asyncio.gather(
        figures_by(pool, period, thresholds, ("total", *GROUPINGS, "hour"), queue=queue, now=now),
        the_rest(),
    )
    return SupervisorReport(
        period=period,
        queue=queue,
        total=groups["total"][0],
        groups={group: groups[group] for group in GROUPINGS},
        hourly=groups["hour"],
        **rest,
    )


def _r(value: float | None) -> Cell:
    """One decimal, or an empty cell when the figure has no denominator."""
    return "" if value is None else round(float(value), 1)


def display(cell: Cell) -> str:
    """How a cell reads on the page (and how a test compares it with the workbook)."""
    if isinstance(cell, float):
        return f"{cell:.1f}"
    if isinstance(cell, DateCell):
        return cell.text
    return str(cell)


_SUMMARY = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "exited",
    "abandon_rate",
    "service_level",
    "sl1",
    "sl2",
    "asa",
    "longest_wait",
    "handled",
    "avg_talk",
    "avg_hold",
    "avg_acw",
    "aht",
    "occupancy",
    "phase_compliance",
    "phases_marked",
    "fcr",
    "satisfaction",
    "satisfaction_target",
    "rating_1",
    "rating_2",
    "rating_3",
    "response_rate",
    "sla_due",
    "sla_compliance",
)
_GROUP_COLUMNS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "abandon_rate",
    "service_level",
    "sl1",
    "sl2",
    "asa",
    "aht",
    "phase_compliance",
    "satisfaction",
)
#: The live board's "today so far": call figures only, read every poll.
TODAY_COLUMNS = tuple(c for c in _GROUP_COLUMNS if c != "satisfaction")
_AGENT_COLUMNS = (
    "answered",
    "handled",
    "avg_talk",
    "avg_hold",
    "avg_acw",
    "aht",
    "occupancy",
    "phase_compliance",
    "phases_marked",
    "satisfaction",
    "fcr",
)


_SURVEY_VALUES: dict[str, Callable[[Satisfaction], Cell]] = {
    "satisfaction": lambda s: _r(s.satisfied_percent),
    "satisfaction_target": lambda s: _r(s.target_percent),
    "rating_1": lambda s: s.impressed,
    "rating_2": lambda s: s.satisfied,
    "rating_3": lambda s: s.dissatisfied,
    "response_rate": lambda s: _r(s.response_rate_percent),
}


def _value(f: Figures, name: str, survey: Satisfaction | None) -> Cell:
    """A figure by its name; ratios and durations rounded to one decimal."""
    q, h = f.queue, f.handle
    if name in _SURVEY_VALUES:
        return "" if survey is None else _SURVEY_VALUES[name](survey)
    counts: dict[str, int] = {
        "offered": q.offered,
        "answered": q.answered,
        "abandoned": q.abandoned,
        "short_abandoned": q.short_abandoned,
        "exited": q.exited,
        "handled": h.handled,
        "sla_due": f.sla.due,
    }
    if name in counts:
        return counts[name]
    ratios: dict[str, float | None] = {
        "abandon_rate": q.abandon_rate,
        "service_level": q.service_level,
        "sl1": q.sl1,
        "sl2": q.sl2,
        "asa": q.asa_s,
        "longest_wait": q.longest_wait_s,
        "avg_talk": h.avg_talk_s,
        "avg_hold": h.avg_hold_s,
        "avg_acw": h.avg_acw_s,
        "aht": h.aht_s,
        "occupancy": f.occupancy,
        "phase_compliance": q.phase_compliance,
        "phases_marked": q.phases_marked_share,
        "fcr": f.first_contact.rate,
        "sla_compliance": f.sla.rate,
    }
    return _r(ratios[name])


def _summary(f: Figures, survey: Satisfaction | None, t: Text) -> Table:
    return Table(
        "summary",
        t("sup.table.summary"),
        [t("sup.col.figure"), t("sup.col.value")],
        [[t(f"sup.metric.{name}"), _value(f, name, survey)] for name in _SUMMARY],
    )


def grouped_table(
    key: str,
    items: Sequence[Figures],
    t: Text,
    label: Callable[[Figures], Cell],
    columns: Sequence[str] = _GROUP_COLUMNS,
    surveys: Surveys | None = None,
) -> Table:
    """One row per group (queue, agent, day, ...) with the figures named in `columns`."""
    found = surveys or {}
    return Table(
        key,
        t(f"sup.table.{key}"),
        [t(f"sup.col.{key}"), *(t(f"sup.metric.{c}") for c in columns)],
        [[label(f), *(_value(f, c, found.get(f.key)) for c in columns)] for f in items],
    )


# The tables that list calls with the caller's number.
WITH_CALLERS_NUMBERS = frozenset({"abandoned", "longest_waits"})


def has_callers_numbers(tables: Sequence[Table]) -> bool:
    return any(table.key in WITH_CALLERS_NUMBERS and table.rows for table in tables)


def _calls(
    key: str, lines: Sequence[CallLine], t: Text, era: Era, lang: Lang, tz: ZoneInfo
) -> Table:
    headers = ["joined_at", "queue", "caller_number", "caller_name", "wait", "position"]
    headers += ["short"] if key == "abandoned" else ["outcome", "agent"]
    rows: list[list[Cell]] = []
    for line in lines:
        row: list[Cell] = [
            DateCell(
                line.joined_at.astimezone(tz).replace(tzinfo=None),
                format_datetime(line.joined_at, era, lang, seconds=True, tz=tz),
            ),
            line.queue,
            line.caller_number,
            line.caller_name,
            _r(line.wait_s),
            "" if line.position is None else line.position,
        ]
        if key == "abandoned":
            row.append(t("sup.yes") if line.short else t("sup.no"))
        else:
            row += [t(f"sup.outcome.{line.outcome}"), line.agent]
        rows.append(row)
    return Table(key, t(f"sup.table.{key}"), [t(f"sup.col.{h}") for h in headers], rows)


#: Recorded codes that other areas' catalogues already put into words.
_CODE_PREFIXES = {
    "channel": "cases.channel.",
    "case_type": "cases.type.",
    "gender": "panel.gender.",
    "age_band": "panel.age.",
}


def _code(t: Text, dimension: str, value: str) -> str:
    """Channels and case types read as words; other values are what was recorded."""
    if not value:
        return t("sup.unknown")
    prefix = _CODE_PREFIXES.get(dimension)
    if prefix is None:
        return value
    label = t(prefix + value)
    return value if label == prefix + value else label


def _executive(report: ExecutiveReport, t: Text) -> list[Table]:
    tables = [
        Table(
            f"by_{dimension}",
            t(f"sup.table.by_{dimension}"),
            [t(f"sup.dim.{dimension}"), t("sup.col.callers"), t("sup.col.cases")],
            [
                [_code(t, dimension, row.value), row.callers, row.cases]
                for row in report.breakdowns[dimension]
            ],
        )
        for dimension in DIMENSIONS
    ]
    tables.append(
        Table(
            "problems",
            t("sup.table.problems"),
            [t("sup.col.problem"), t("sup.col.count")],
            [[t(f"sup.problem.{name}"), report.problems[name]] for name in PROBLEMS],
        )
    )
    return tables


def _day(key: str, era: Era, lang: Lang) -> DateCell:
    day = date.fromisoformat(key)
    return DateCell(day, format_date(day, era, lang))


def _month(key: str, era: Era, lang: Lang) -> str:
    """ "มีนาคม 2569" / "March 2026" from "2026-03"."""
    year, month = (int(part) for part in key.split("-"))
    return month_title(year, month, era, lang)


def _pause_codes(times: Sequence[PauseTime], t: Text, codes: Mapping[str, str]) -> Table:
    """A code the PBX set that is not configured (paused on the phone) reads as it came."""
    headers = [t(f"sup.col.{h}") for h in ("agent", "pause_code", "pause_time")]
    rows: list[list[Cell]] = [
        [p.agent or t("sup.no_agent"), codes.get(p.code, p.code) or t("sup.unknown"), _r(p.seconds)]
        for p in times
    ]
    return Table("pause_codes", t("sup.table.pause_codes"), headers, rows)


def _complaints_by_unit(rows: Sequence[UnitComplaints], t: Text) -> Table:
    """PWA's daily results per region and unit, each region closed by its subtotal."""
    names = ("region", "unit", "received", "resolved", "resolved_in_sla", "in_sla_rate")
    headers = [t(f"sup.complaints.{h}") for h in (*names, "open", "overdue")]
    body: list[list[Cell]] = []
    for row in rows:
        if row.subtotal:
            unit = t("sup.complaints.region_total")
        else:
            unit = row.unit or t("sup.complaints.not_forwarded")
        body.append(
            [
                row.region,
                unit,
                row.received,
                row.resolved,
                row.resolved_in_sla,
                _r(row.in_sla_rate),
                row.open,
                row.overdue,
            ]
        )
    return Table("complaints_by_unit", t("sup.table.complaints_by_unit"), headers, body)


def _quarters(period: Period) -> list[Period]:
    """The (fiscal) quarters the period touches, in order."""
    quarter = preset_period("quarter", period.first, period.tz)
    found = [quarter]
    while quarter.last < period.last:
        quarter = neighbour("quarter", quarter, 1)
        found.append(quarter)
    return found


def _root_causes(
    report: SupervisorReport, t: Text, era: Era, lang: Lang, causes: Mapping[str, str]
) -> Table:
    """Complaints resolved per root cause and quarter: every configured cause, then any
    other code found, then those resolved before a cause was recorded."""
    quarters = _quarters(report.period)
    counts = {(c.cause, c.quarter): c.complaints for c in report.root_causes}
    found = {c.cause for c in report.root_causes}
    order = [*causes, *sorted(found - set(causes) - {""}), *([""] if "" in found else [])]
    headers = [t("sup.col.root_cause")]
    headers += [preset_title("quarter", q, t, era, lang) for q in quarters]
    headers.append(t("sup.col.total"))
    body: list[list[Cell]] = []
    for cause in order:
        per_quarter = [counts.get((cause, q.first), 0) for q in quarters]
        label = causes.get(cause, cause) or t("sup.complaints.not_recorded")
        body.append([label, *per_quarter, sum(per_quarter)])
    return Table("root_causes", t("sup.table.root_causes"), headers, body)


def build_tables(
    report: SupervisorReport,
    t: Text,
    era: Era,
    lang: Lang,
    codes: Mapping[str, str],
    causes: Mapping[str, str],
) -> list[Table]:
    """Every table of the report, in page order; `codes` labels the pause codes and
    `causes` the complaints' root causes (in their configured order)."""
    labels: dict[str, Callable[[Figures], Cell]] = {
        "queue": lambda f: f.label,
        "agent": lambda f: f.label or t("sup.no_agent"),
        "team": lambda f: f.label or t("sup.no_team"),
        "day": lambda f: _day(f.key, era, lang),
        "month": lambda f: _month(f.key, era, lang),
    }
    columns = {"agent": _AGENT_COLUMNS, "team": _AGENT_COLUMNS}
    return [
        _summary(report.total, report.surveys.get("total", {}).get(""), t),
        *(
            grouped_table(
                f"by_{group}",
                report.groups[group],
                t,
                labels[group],
                columns.get(group, _GROUP_COLUMNS),
                report.surveys.get(group),
            )
            for group in GROUPINGS
        ),
        _calls("abandoned", report.abandoned, t, era, lang, report.period.tz),
        _calls("longest_waits", report.longest_waits, t, era, lang, report.period.tz),
        _pause_codes(report.pause_times, t, codes),
        *_executive(report.executive, t),
        _complaints_by_unit(report.complaints, t),
        _root_causes(report, t, era, lang, causes),
    ]
