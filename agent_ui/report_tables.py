"""The supervisor report as plain tables: the page renders them and the exports write them,
so what a supervisor reads on screen and in Excel is the same rows, cell for cell.

Cells are text or numbers already rounded (one decimal); dates are formatted in the reader's
era and language here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from cases.dates import Era, Lang, format_date, format_datetime
from cases.reports import DIMENSIONS, PROBLEMS, ExecutiveReport, executive_report
from cases.stats import (
    CallLine,
    Figures,
    Period,
    Thresholds,
    abandoned_calls,
    figures,
    longest_waits,
)

Cell = str | int | float
Text = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Table:
    """One titled table; `key` names its sheet and its HTML id."""

    key: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]


@dataclass(frozen=True, slots=True)
class SupervisorReport:
    """Everything the reports page shows for one period (and queue)."""

    period: Period
    queue: str | None
    total: Figures
    by_queue: list[Figures]
    by_agent: list[Figures]
    by_day: list[Figures]
    abandoned: list[CallLine]
    longest_waits: list[CallLine]
    executive: ExecutiveReport


async def load_report(
    pool: asyncpg.Pool,
    period: Period,
    thresholds: Thresholds,
    *,
    queue: str | None,
    now: datetime,
) -> SupervisorReport:
    """Run every query of the reports page for one period."""

    async def by(group: str) -> list[Figures]:
        return await figures(pool, period, thresholds, group=group, queue=queue, now=now)

    return SupervisorReport(
        period=period,
        queue=queue,
        total=(await by("total"))[0],
        by_queue=await by("queue"),
        by_agent=await by("agent"),
        by_day=await by("day"),
        abandoned=await abandoned_calls(pool, period, thresholds, queue=queue),
        longest_waits=await longest_waits(pool, period, thresholds, queue=queue),
        executive=await executive_report(pool, period, thresholds, queue=queue, now=now),
    )


def _r(value: float | None) -> Cell:
    """One decimal, or an empty cell when the figure has no denominator."""
    return "" if value is None else round(float(value), 1)


def display(cell: Cell) -> str:
    """How a cell reads on the page (and how a test compares it with the workbook)."""
    if isinstance(cell, float):
        return f"{cell:.1f}"
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
    "fcr",
    "satisfaction",
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
_AGENT_COLUMNS = (
    "answered",
    "handled",
    "avg_talk",
    "avg_hold",
    "avg_acw",
    "aht",
    "occupancy",
    "phase_compliance",
    "satisfaction",
    "fcr",
)


def _value(f: Figures, name: str) -> Cell:
    """A figure by its name; ratios and durations rounded to one decimal."""
    q, h, s = f.queue, f.handle, f.satisfaction
    counts: dict[str, int] = {
        "offered": q.offered,
        "answered": q.answered,
        "abandoned": q.abandoned,
        "short_abandoned": q.short_abandoned,
        "exited": q.exited,
        "handled": h.handled,
        "rating_1": s.impressed,
        "rating_2": s.satisfied,
        "rating_3": s.dissatisfied,
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
        "fcr": f.first_contact.rate,
        "satisfaction": s.rate,
        "response_rate": s.response_rate,
        "sla_compliance": f.sla.rate,
    }
    return _r(ratios[name])


def _summary(f: Figures, t: Text) -> Table:
    return Table(
        "summary",
        t("sup.table.summary"),
        [t("sup.col.figure"), t("sup.col.value")],
        [[t(f"sup.metric.{name}"), _value(f, name)] for name in _SUMMARY],
    )


def grouped_table(
    key: str,
    items: Sequence[Figures],
    t: Text,
    label: Callable[[Figures], str],
    columns: Sequence[str] = _GROUP_COLUMNS,
) -> Table:
    """One row per group (queue, agent, day, ...) with the figures named in `columns`."""
    return Table(
        key,
        t(f"sup.table.{key}"),
        [t(f"sup.col.{key}"), *(t(f"sup.metric.{c}") for c in columns)],
        [[label(f), *(_value(f, c) for c in columns)] for f in items],
    )


def _calls(key: str, lines: Sequence[CallLine], t: Text, era: Era, lang: Lang) -> Table:
    headers = ["joined_at", "queue", "caller_number", "caller_name", "wait", "position"]
    headers += ["short"] if key == "abandoned" else ["outcome", "agent"]
    rows: list[list[Cell]] = []
    for line in lines:
        row: list[Cell] = [
            format_datetime(line.joined_at, era, lang, seconds=True),
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


def build_tables(report: SupervisorReport, t: Text, era: Era, lang: Lang) -> list[Table]:
    """Every table of the report, in page order."""

    def agent_label(f: Figures) -> str:
        return f.label or t("sup.no_agent")

    def day_label(f: Figures) -> str:
        return format_date(date.fromisoformat(f.key), era, lang)

    return [
        _summary(report.total, t),
        grouped_table("by_queue", report.by_queue, t, lambda f: f.label),
        grouped_table("by_agent", report.by_agent, t, agent_label, _AGENT_COLUMNS),
        grouped_table("by_day", report.by_day, t, day_label),
        _calls("abandoned", report.abandoned, t, era, lang),
        _calls("longest_waits", report.longest_waits, t, era, lang),
        *_executive(report.executive, t),
    ]
