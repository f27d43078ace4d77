"""The report's charts, drawn on the server as SVG: calls by hour, service level, satisfaction
and abandons over the period.

This module does the arithmetic (where each bar or point goes, the axis ticks); the template
`supervisor/_chart.html` writes the SVG with autoescaping, with a title and a description for
screen readers and every value as text beside it. No chart library: four simple charts are
less code than wiring one, and nothing is sent to the browser but markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from cases.dates import ENGLISH_MONTHS_SHORT, THAI_MONTHS_SHORT, Era, Lang, format_date
from ivr.results import Satisfaction
from supervision.periods import month_title
from supervision.stats import Figures, Period

Text = Callable[[str], str]
Kind = Literal["bar", "line"]

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 32
#: Up to this many days a period is charted by day, beyond it by month.
DAILY_UP_TO_DAYS = 92
#: The most x-axis labels written under a chart; the others are in the values table.
MAX_X_LABELS = 16


@dataclass(frozen=True, slots=True)
class Point:
    """One bar or point: its short axis label, its full label and value for the text."""

    tick: str
    label: str
    value: float | None


@dataclass(frozen=True, slots=True)
class Chart:
    key: str
    title: str
    desc: str
    value_header: str
    kind: Kind
    points: list[Point]
    percent: bool = False
    target: float | None = None


@dataclass(frozen=True, slots=True)
class Mark:
    """A drawn bar (x, y, w, h) or point (x, y), with what it says as text."""

    x: float
    y: float
    w: float
    h: float
    text: str


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    text: str


@dataclass(frozen=True, slots=True)
class Drawing:
    chart: Chart
    width: int
    height: int
    marks: list[Mark]
    line: str
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    target_y: float | None
    baseline: float

    @property
    def rows(self) -> list[tuple[str, str]]:
        """The values as text, for the table beside the chart."""
        return [(p.label, _value_text(p.value, self.chart.percent)) for p in self.chart.points]


def _value_text(value: float | None, percent: bool) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if percent else f"{value:.0f}"


def _nice_top(highest: float) -> float:
    """An axis top at 1, 2 or 5 times a power of ten, above the highest value."""
    if highest <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(highest))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= highest)


def draw(chart: Chart) -> Drawing:
    """Where every bar, point, tick and target line of a chart goes."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [p.value for p in chart.points if p.value is not None]
    top = 100.0 if chart.percent else _nice_top(max(values, default=0))
    baseline = TOP + plot_h

    def y_of(value: float) -> float:
        return round(baseline - plot_h * min(value, top) / top, 1)

    slot = plot_w / max(1, len(chart.points))
    marks: list[Mark] = []
    for index, point in enumerate(chart.points):
        if point.value is None or (chart.kind == "bar" and point.value == 0):
            continue
        text = f"{point.label}: {_value_text(point.value, chart.percent)}"
        x = LEFT + slot * index
        if chart.kind == "bar":
            y = y_of(point.value)
            marks.append(
                Mark(round(x + slot * 0.15, 1), y, round(slot * 0.7, 1), baseline - y, text)
            )
        else:
            marks.append(Mark(round(x + slot / 2, 1), y_of(point.value), 0, 0, text))
    line = " ".join(f"{m.x},{m.y}" for m in marks) if chart.kind == "line" else ""
    every = max(1, math.ceil(len(chart.points) / MAX_X_LABELS))
    x_ticks = [
        Tick(round(LEFT + slot * (i + 0.5), 1), p.tick)
        for i, p in enumerate(chart.points)
        if i % every == 0
    ]
    y_ticks = [Tick(y_of(top * share), f"{top * share:g}") for share in (0, 0.25, 0.5, 0.75, 1)]
    target = None if chart.target is None else y_of(chart.target)
    return Drawing(chart, WIDTH, HEIGHT, marks, line, y_ticks, x_ticks, target, baseline)


def _by_month(period: Period) -> bool:
    return period.days > DAILY_UP_TO_DAYS


def _time_points(
    period: Period,
    keys: Sequence[str],
    value: Callable[[str], float | None],
    era: Era,
    lang: Lang,
) -> list[Point]:
    """One point per day (or month) of the period, in order, empty ones included."""
    months = THAI_MONTHS_SHORT if lang == "th" else ENGLISH_MONTHS_SHORT
    points = []
    for key in keys:
        if len(key) == 7:
            year, month = (int(part) for part in key.split("-"))
            points.append(Point(months[month - 1], month_title(year, month, era, lang), value(key)))
        else:
            day = date.fromisoformat(key)
            points.append(Point(str(day.day), format_date(day, era, lang), value(key)))
    return points


def _period_keys(period: Period) -> list[str]:
    """The period's days ("2026-03-02") or, for a long one, its months ("2026-03")."""
    days = [date.fromordinal(period.first.toordinal() + n) for n in range(period.days)]
    if not _by_month(period):
        return [d.isoformat() for d in days]
    return sorted({d.isoformat()[:7] for d in days})


def build_charts(
    period: Period,
    hourly: Sequence[Figures],
    over_time: Mapping[str, Sequence[Figures]],
    surveys: Mapping[str, Mapping[str, Satisfaction]],
    t: Text,
    era: Era,
    lang: Lang,
) -> list[Drawing]:
    """The four charts of the report; `over_time` and `surveys` are keyed by "day" and
    "month" like the report's groupings."""
    unit = "month" if _by_month(period) else "day"
    keys = _period_keys(period)
    figures = {f.key: f for f in over_time.get(unit, ())}
    ratings = surveys.get(unit, {})
    per_hour = {f.key: f.queue.offered for f in hourly}
    total = surveys.get("total", {}).get("")

    def chart(
        key: str, title: str, kind: Kind, points: list[Point], target: float | None = None
    ) -> Chart:
        return Chart(
            key=key,
            title=t(title),
            desc=t(f"sup.chart.{key}.desc"),
            value_header=t(f"sup.chart.{key}.value"),
            kind=kind,
            points=points,
            percent=kind == "line",
            target=target,
        )

    def over(value: Callable[[str], float | None]) -> list[Point]:
        return _time_points(period, keys, value, era, lang)

    hours = [f"{h:02d}" for h in range(24)]
    by_hour = [Point(h, f"{h}:00–{h}:59", float(per_hour.get(h, 0))) for h in hours]
    sl = over(lambda k: figures[k].queue.service_level if k in figures else None)
    satisfied = over(lambda k: ratings[k].satisfied_percent if k in ratings else None)
    abandons = over(lambda k: float(figures[k].queue.abandoned if k in figures else 0))
    target = None if total is None else total.target_percent
    charts = [
        chart("calls", "sup.chart.calls_by_hour", "bar", by_hour),
        chart("service_level", f"sup.chart.service_level_by_{unit}", "line", sl),
        chart("satisfaction", f"sup.chart.satisfaction_by_{unit}", "line", satisfied, target),
        chart("abandons", f"sup.chart.abandons_by_{unit}", "bar", abandons),
    ]
    return [draw(c) for c in charts]
