"""Selection, calling hours and retries: pure rules, checked without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cases.working_days import DEFAULT_CALENDAR
from ivr.config import SurveySettings
from ivr.policy import (
    choose_selection,
    holidays_from,
    in_calling_window,
    next_calling_time,
    retry_time,
)

BKK = ZoneInfo("Asia/Bangkok")
SETTINGS = SurveySettings()
IS_HOLIDAY = holidays_from(DEFAULT_CALENDAR.is_working_day)


def never(day: date) -> bool:
    return False


@pytest.mark.parametrize(
    ("earliest", "expected"),
    [
        (datetime(2026, 11, 23, 7, 59, tzinfo=BKK), datetime(2026, 11, 23, 8, 0, tzinfo=BKK)),
        (datetime(2026, 11, 23, 12, 0, tzinfo=BKK), datetime(2026, 11, 23, 12, 0, tzinfo=BKK)),
        (datetime(2026, 11, 23, 20, 0, tzinfo=BKK), datetime(2026, 11, 24, 8, 0, tzinfo=BKK)),
        (datetime(2026, 12, 9, 21, 0, tzinfo=BKK), datetime(2026, 12, 11, 8, 0, tzinfo=BKK)),
        (datetime(2026, 11, 21, 10, 0, tzinfo=BKK), datetime(2026, 11, 21, 10, 0, tzinfo=BKK)),
    ],
    ids=["before-opening", "inside", "at-closing", "holiday-skipped", "saturday-allowed"],
)
def test_next_calling_time(earliest: datetime, expected: datetime) -> None:
    assert next_calling_time(SETTINGS, earliest.astimezone(UTC), IS_HOLIDAY) == expected


def test_holidays_may_be_allowed() -> None:
    allowed = SurveySettings(call_on_holidays=True)
    holiday = datetime(2026, 12, 10, 9, 0, tzinfo=BKK)
    assert in_calling_window(allowed, holiday, IS_HOLIDAY)
    assert not in_calling_window(SETTINGS, holiday, IS_HOLIDAY)


@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31)))
def test_next_calling_time_is_inside_the_window_and_never_earlier(naive: datetime) -> None:
    earliest = naive.replace(tzinfo=UTC)
    found = next_calling_time(SETTINGS, earliest, IS_HOLIDAY)
    local = found.astimezone(BKK)
    assert found >= earliest
    assert SETTINGS.window_start <= local.time() < SETTINGS.window_end
    assert not IS_HOLIDAY(local.date())
    assert found - earliest < timedelta(days=10)


def test_retries_back_off_then_give_up() -> None:
    at = datetime(2026, 11, 23, 10, 0, tzinfo=BKK)
    first = retry_time(SETTINGS, 1, "busy", at, never)
    second = retry_time(SETTINGS, 2, "no_answer", at, never)
    assert first == at + SETTINGS.backoff[0]
    assert second == at + SETTINGS.backoff[1]
    assert retry_time(SETTINGS, 3, "busy", at, never) is None
    assert retry_time(SETTINGS, 1, "answered", at, never) is None


def test_selection_rules() -> None:
    assert choose_selection(SETTINGS, 0.99) == "answered"
    sample_only = SurveySettings(
        survey_all_answered=False, survey_complaints=False, sample_percent=10
    )
    assert choose_selection(sample_only, 0.05) == "sample"
    assert choose_selection(sample_only, 0.5) is None
    complaints = SurveySettings(survey_all_answered=False, sample_percent=10)
    assert choose_selection(complaints, 0.5) == "complaint"
    assert choose_selection(SurveySettings(enabled=False), 0.0) is None


@pytest.mark.parametrize(
    "bad",
    [
        {"window_start": SETTINGS.window_end},
        {"sample_percent": 101},
        {"max_attempts": 0},
        {"dial_lease": timedelta(seconds=10)},
        {"dial_template": "PJSIP/trunk"},
        {"mode": "sometimes"},
    ],
)
def test_unsafe_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SurveySettings(**bad)  # type: ignore[arg-type]


def test_settings_from_plain_values() -> None:
    settings = SurveySettings.from_mapping(
        {
            "window_start": "09:00",
            "delay_after_hangup": 60,
            "backoff": [600, 3600],
            "max_channels": 4,
            "dial_template": "PJSIP/{number}@ntrunk",
        }
    )
    assert settings.window_start.hour == 9
    assert settings.delay_after_hangup == timedelta(minutes=1)
    assert settings.backoff == (timedelta(minutes=10), timedelta(hours=1))
    assert settings.dial_string("0812345678") == "PJSIP/0812345678@ntrunk"
    with pytest.raises(ValueError, match="unknown survey settings: windw_start"):
        SurveySettings.from_mapping({"windw_start": "09:00"})


def test_weekends_may_be_excluded() -> None:
    weekdays_only = SurveySettings(call_on_weekends=False)
    saturday = datetime(2026, 11, 21, 10, 0, tzinfo=BKK)
    monday_8 = datetime(2026, 11, 23, 8, 0, tzinfo=BKK)
    assert next_calling_time(weekdays_only, saturday, IS_HOLIDAY) == monday_8
