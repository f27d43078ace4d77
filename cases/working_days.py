"""Working days: weekends, Thai public and government holidays, and the agency's closed days.

Pure and importable by any package (the survey's calling days and expiry use it too). The
SLA counts whole working days after the day the clock starts; a due time is the office's
closing time on the last of those days, in the agency's time zone (the `timezone`
setting; Bangkok unless configured otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

BANGKOK = ZoneInfo("Asia/Bangkok")
DEFAULT_CATEGORIES: tuple[str, ...] = ("public", "government")
SATURDAY = 5


@lru_cache(maxsize=256)
def _thai_holidays(year: int, categories: tuple[str, ...]) -> frozenset[date]:
    """One year's holidays, cached: the library is slow to build and years never change."""
    return frozenset(holidays.country_holidays("TH", years=[year], categories=categories))


def _weekdays_after(start: date, end: date) -> int:
    """Monday-to-Friday days in (start, end]: five a whole week, the rest counted."""
    weeks, rest = divmod((end - start).days, 7)
    tail_start = start + timedelta(days=7 * weeks)
    tail = (tail_start + timedelta(days=i) for i in range(1, rest + 1))
    return 5 * weeks + sum(1 for day in tail if day.weekday() < SATURDAY)


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days the agency works and when its office opens and closes."""

    closed_days: frozenset[date] = field(default_factory=frozenset)
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    opens: time = time(8, 30)
    closes: time = time(16, 30)
    tz: ZoneInfo = BANGKOK

    def with_closed_days(self, days: Iterable[date]) -> WorkingCalendar:
        return WorkingCalendar(
            closed_days=self.closed_days | frozenset(days),
            categories=self.categories,
            opens=self.opens,
            closes=self.closes,
            tz=self.tz,
        )

    def is_working_day(self, day: date) -> bool:
        if day.weekday() >= SATURDAY or day in self.closed_days:
            return False
        return day not in _thai_holidays(day.year, self.categories)

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (`day` itself never counts); n=0 gives the
        next working day on or after `day`."""
        if n < 0:
            raise ValueError("n must not be negative")
        if n == 0:
            return self.next_working_day(day)
        while n > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def count_working_days(self, start: date, end: date) -> int:
        """Working days in the half-open interval (start, end]; 0 when end <= start.

        Counted as weekdays less the days off that fall on weekdays, not day by day: the
        escalation job asks this for every overdue case, some of them years late.
        """
        if end <= start:
            return 0
        off = set(self.closed_days)
        for year in range(start.year, end.year + 1):
            off |= _thai_holidays(year, self.categories)
        days_off = sum(1 for day in off if start < day <= end and day.weekday() < SATURDAY)
        return _weekdays_after(start, end) - days_off

    def sla_start(self, received: datetime) -> datetime:
        """When the SLA clock starts: at receipt during office hours, else at the next
        opening, so a Saturday-night complaint gets the same days as a Monday one."""
        local = received.astimezone(self.tz)
        if self.is_working_day(local.date()) and local.time() < self.closes:
            if local.time() >= self.opens:
                return local
            return datetime.combine(local.date(), self.opens, self.tz)
        day = self.next_working_day(local.date() + timedelta(days=1))
        return datetime.combine(day, self.opens, self.tz)

    def due_at(self, received: datetime, working_days: int) -> datetime:
        """Closing time of the `working_days`-th working day after the SLA start day."""
        start = self.sla_start(received)
        due_day = self.add_working_days(start.date(), working_days)
        return datetime.combine(due_day, self.closes, self.tz)

    def working_days_late(self, due: datetime, now: datetime) -> int:
        """Whole working days elapsed since `due` (0 when not yet due)."""
        if now <= due:
            return 0
        return self.count_working_days(
            due.astimezone(self.tz).date(), now.astimezone(self.tz).date()
        )


DEFAULT_CALENDAR = WorkingCalendar()


def is_working_day(day: date, calendar: WorkingCalendar = DEFAULT_CALENDAR) -> bool:
    return calendar.is_working_day(day)


def add_working_days(day: date, n: int, calendar: WorkingCalendar = DEFAULT_CALENDAR) -> date:
    return calendar.add_working_days(day, n)


def count_working_days(start: date, end: date, calendar: WorkingCalendar = DEFAULT_CALENDAR) -> int:
    return calendar.count_working_days(start, end)
