"""The report's period presets: a day, a month, a quarter, a Thai fiscal year.

The Thai government's fiscal year runs 1 October to 30 September and is named by the year it
ends in: FY 2570 (BE) is 1 Oct 2026 - 30 Sep 2027. Quarters are the fiscal year's quarters
(Q1 = October to December), which fall on the calendar's quarters, so one set of dates serves
both readings; they are named the fiscal way, as agencies report them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from cases.dates import BE_OFFSET, ENGLISH_MONTHS_LONG, THAI_MONTHS_LONG, Era, Lang
from supervision.stats import Period

Preset = Literal["day", "month", "quarter", "fiscal_year"]
PRESETS: tuple[Preset, ...] = get_args(Preset)
FISCAL_YEAR_FIRST_MONTH = 10


def as_preset(text: str) -> Preset | None:
    return next((p for p in PRESETS if p == text), None)


def fiscal_year(day: date) -> int:
    """The CE year the fiscal year holding `day` ends in."""
    return day.year + 1 if day.month >= FISCAL_YEAR_FIRST_MONTH else day.year


def _month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def _span_months(preset: Preset) -> int:
    return {"month": 1, "quarter": 3, "fiscal_year": 12}[preset]


def preset_period(preset: Preset, day: date, tz: ZoneInfo) -> Period:
    """The day, month, quarter or fiscal year that holds `day`."""
    if preset == "day":
        return Period(day, day, tz)
    months = _span_months(preset)
    # Months since the fiscal year began, then back to the start of the block holding `day`.
    into_year = (day.month - FISCAL_YEAR_FIRST_MONTH) % 12
    first = _month_start(day, into_year % months)
    after = _month_start(first, -months)
    return Period(first, after - timedelta(days=1), tz)


def neighbour(preset: Preset, period: Period, step: int) -> Period:
    """The period of the same preset before (step -1) or after (step 1) this one."""
    if preset == "day":
        return preset_period(preset, period.first + timedelta(days=step), period.tz)
    day = period.first if step < 0 else period.last
    return preset_period(preset, day + timedelta(days=step), period.tz)


def month_title(year: int, month: int, era: Era, lang: Lang) -> str:
    """ "มีนาคม 2569" / "March 2026"."""
    names = THAI_MONTHS_LONG if lang == "th" else ENGLISH_MONTHS_LONG
    return f"{names[month - 1]} {year + BE_OFFSET if era == 'be' else year}"


def preset_title(
    preset: Preset, period: Period, t: Callable[[str], str], era: Era, lang: Lang
) -> str:
    """ "ไตรมาส 1 ปีงบประมาณ 2570", "Fiscal year 2570", "March 2026", ... in the reader's era;
    a day's title is its date, which the page already shows."""
    first = period.first
    if preset == "month":
        return month_title(first.year, first.month, era, lang)
    if preset == "day":
        return ""
    fy = fiscal_year(first) + (BE_OFFSET if era == "be" else 0)
    quarter = (first.month - FISCAL_YEAR_FIRST_MONTH) % 12 // 3 + 1
    return t(f"sup.preset.{preset}_title").format(year=fy, quarter=quarter)
