"""Who is surveyed and when: pure decisions, so every rule is testable without a PBX or clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from ivr.config import SurveySettings

Selection = Literal["answered", "complaint", "sample", "case_followup", "in_call"]
IsHoliday = Callable[[date], bool]

SATURDAY = 5
RETRYABLE_OUTCOMES = frozenset({"no_answer", "busy", "congestion", "failure", "hangup", "unknown"})


def choose_selection(settings: SurveySettings, draw: float) -> Selection | None:
    """Why an answered call is surveyed, or None. `draw` is uniform in [0, 1).

    A call picked only by the complaint rule is provisional: the dialer confirms at dial time
    that a complaint case is linked to the call, because agents file the case after hang-up.
    """
    if not settings.enabled:
        return None
    if settings.survey_all_answered:
        return "answered"
    if draw * 100.0 < settings.sample_percent:
        return "sample"
    if settings.survey_complaints:
        return "complaint"
    return None


def next_calling_time(
    settings: SurveySettings, earliest: datetime, is_holiday: IsHoliday
) -> datetime:
    """The first moment at or after `earliest` inside the calling hours on a callable day (UTC)."""
    zone = ZoneInfo(settings.timezone)
    local = earliest.astimezone(zone)
    for _ in range(400):
        day = local.date()
        start = datetime.combine(day, settings.window_start, zone)
        end = datetime.combine(day, settings.window_end, zone)
        callable_day = (settings.call_on_holidays or not is_holiday(day)) and (
            settings.call_on_weekends or day.weekday() < SATURDAY
        )
        if callable_day and local < end:
            return max(local, start).astimezone(earliest.tzinfo)
        local = datetime.combine(day + timedelta(days=1), settings.window_start, zone)
    raise ValueError("no callable day within 400 days: check the holiday calendar")


def in_calling_window(settings: SurveySettings, at: datetime, is_holiday: IsHoliday) -> bool:
    return next_calling_time(settings, at, is_holiday) == at


def retry_time(
    settings: SurveySettings,
    attempts_done: int,
    outcome: str,
    at: datetime,
    is_holiday: IsHoliday,
) -> datetime | None:
    """When to try again after a failed attempt, or None to give up."""
    if outcome not in RETRYABLE_OUTCOMES or attempts_done >= settings.max_attempts:
        return None
    return next_calling_time(settings, at + settings.backoff_after(attempts_done), is_holiday)


def holidays_from(is_working_day: Callable[[date], bool]) -> IsHoliday:
    """A holiday test from a working-day calendar: a weekday that is not a working day."""

    def is_holiday(day: date) -> bool:
        return day.weekday() < SATURDAY and not is_working_day(day)

    return is_holiday
