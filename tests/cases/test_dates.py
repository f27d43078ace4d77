"""Buddhist Era and Common Era date formatting as pages and exports show them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from cases.dates import be_year, format_date, format_datetime, format_numeric_date, parse_date


def test_thai_be_and_english_ce_forms() -> None:
    day = date(2026, 11, 21)
    assert format_date(day) == "21 พ.ย. 2569"
    assert format_date(day, era="ce", lang="en") == "21 Nov 2026"
    assert format_date(day, era="be", lang="en") == "21 Nov 2569"
    assert format_date(day, long=True) == "21 พฤศจิกายน 2569"
    assert format_numeric_date(day) == "21/11/2569"
    assert format_date(None) == ""


def test_datetimes_are_shown_in_bangkok_time() -> None:
    # 17:30 UTC on 31 Dec is already 1 Jan in Bangkok: the BE year changes too.
    moment = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)
    assert format_datetime(moment) == "1 ม.ค. 2570 00:30"
    assert format_datetime(moment, era="ce", lang="en") == "1 Jan 2027 00:30"
    assert be_year(moment) == 2570


def test_parse_accepts_iso_be_and_ce_and_rejects_garbage() -> None:
    assert parse_date("2026-11-21") == date(2026, 11, 21)
    assert parse_date("21/11/2569") == date(2026, 11, 21)
    assert parse_date("21/11/2026") == date(2026, 11, 21)
    assert parse_date("31/02/2569") is None
    assert parse_date("<script>") is None
    assert parse_date("1/2") is None
    assert parse_date("") is None
