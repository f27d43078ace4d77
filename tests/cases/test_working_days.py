"""Working days and SLA due times: weekends, Thai holidays, closed days, year ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.working_days import BANGKOK, WorkingCalendar, add_working_days, is_working_day

CAL = WorkingCalendar()
days = st.dates(min_value=date(2015, 1, 1), max_value=date(2040, 12, 31))
closed_sets = st.frozensets(days, max_size=8)


def test_weekends_and_thai_holidays_are_not_working_days() -> None:
    assert is_working_day(date(2026, 11, 20))  # a Friday
    assert not is_working_day(date(2026, 11, 21))  # Saturday
    assert not is_working_day(date(2026, 11, 22))  # Sunday
    assert not is_working_day(date(2026, 4, 13))  # Songkran
    assert not is_working_day(date(2026, 12, 7))  # Father's day, in lieu
    assert not is_working_day(date(2026, 5, 13))  # Royal Ploughing: government offices close


def test_closed_days_of_the_agency_are_skipped() -> None:
    cal = WorkingCalendar().with_closed_days([date(2026, 11, 23)])
    assert not cal.is_working_day(date(2026, 11, 23))
    assert cal.add_working_days(date(2026, 11, 20), 1) == date(2026, 11, 24)


def test_complaint_received_before_a_long_weekend_is_due_after_it() -> None:
    # Friday 4 Dec 2026; Mon 7 Dec (in lieu) and Thu 10 Dec (Constitution Day) are holidays.
    assert add_working_days(date(2026, 12, 4), 3) == date(2026, 12, 11)


def test_year_end_skips_new_year_holidays() -> None:
    # 31 Dec 2026 (Thu) and 1 Jan 2027 (Fri) are holidays.
    assert add_working_days(date(2026, 12, 30), 1) == date(2027, 1, 4)


def test_due_time_is_the_office_closing_on_the_last_day() -> None:
    received = datetime(2026, 11, 20, 10, 0, tzinfo=BANGKOK)
    assert CAL.due_at(received, 3) == datetime(2026, 11, 25, 16, 30, tzinfo=BANGKOK)


def test_clock_starts_at_next_opening_when_received_out_of_hours() -> None:
    saturday_night = datetime(2026, 11, 21, 21, 0, tzinfo=BANGKOK)
    assert CAL.sla_start(saturday_night) == datetime(2026, 11, 23, 8, 30, tzinfo=BANGKOK)
    friday_evening = datetime(2026, 11, 20, 18, 0, tzinfo=BANGKOK)
    assert CAL.due_at(friday_evening, 1) == CAL.due_at(saturday_night, 1)
    early = datetime(2026, 11, 20, 0, 30, tzinfo=UTC)  # 07:30 in Bangkok
    assert CAL.sla_start(early) == datetime(2026, 11, 20, 8, 30, tzinfo=BANGKOK)


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2026, 11, 20), -1)


@settings(max_examples=150, deadline=None)
@given(start=days, n=st.integers(min_value=0, max_value=30), closed=closed_sets)
def test_due_day_is_a_working_day_and_counts_back_to_n(
    start: date, n: int, closed: frozenset[date]
) -> None:
    cal = WorkingCalendar(closed_days=closed)
    due = cal.add_working_days(start, n)
    assert cal.is_working_day(due)
    assert due >= start
    if n > 0:
        assert cal.count_working_days(start, due) == n
        assert due > start


@settings(max_examples=100, deadline=None)
@given(start=days, n=st.integers(min_value=0, max_value=20), extra=st.integers(0, 5))
def test_more_days_never_give_an_earlier_due_date(start: date, n: int, extra: int) -> None:
    assert CAL.add_working_days(start, n) <= CAL.add_working_days(start, n + extra)
    assert CAL.add_working_days(start, n) <= CAL.add_working_days(start + timedelta(days=1), n)


@settings(max_examples=100, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
    ),
    n=st.integers(min_value=1, max_value=10),
    closed=closed_sets,
)
def test_due_time_is_after_receipt_on_a_working_day_at_closing(
    moment: datetime, n: int, closed: frozenset[date]
) -> None:
    cal = WorkingCalendar(closed_days=closed)
    due = cal.due_at(moment, n)
    assert due > moment
    assert cal.is_working_day(due.date())
    assert due.timetz().replace(tzinfo=None) == time(16, 30)
    start = cal.sla_start(moment)
    assert start >= moment
    assert cal.count_working_days(start.date(), due.date()) == n


@settings(max_examples=200, deadline=None)
@given(start=days, span=st.integers(min_value=-30, max_value=1500), closed=closed_sets)
def test_counting_agrees_with_looking_at_every_day(
    start: date, span: int, closed: frozenset[date]
) -> None:
    cal = WorkingCalendar(closed_days=closed)
    end = start + timedelta(days=span)
    one_by_one = sum(1 for i in range(1, span + 1) if cal.is_working_day(start + timedelta(days=i)))
    assert cal.count_working_days(start, end) == one_by_one
