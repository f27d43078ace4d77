"""Dates as Thai and English readers expect them: Buddhist Era (BE = CE + 543) or Common Era.

Templates call these through filters, so every page shows the same forms, e.g.
"21 พ.ย. 2569" / "21 Nov 2026", in the agency's time zone (`tz`, Bangkok unless the
`timezone` setting says otherwise).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from cases.working_days import BANGKOK

Era = Literal["be", "ce"]
Lang = Literal["th", "en"]

BE_OFFSET = 543
THAI_MONTHS_SHORT = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)  # fmt: skip
THAI_MONTHS_LONG = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip
ENGLISH_MONTHS_SHORT = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
ENGLISH_MONTHS_LONG = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def as_era(code: str) -> Era:
    """An era asked for (a query, a setting) as one dates are written in: BE unless "ce"."""
    return "ce" if code == "ce" else "be"


def as_lang(code: str) -> Lang:
    """A reader's language as one dates are written in: Thai unless "en"."""
    return "en" if code == "en" else "th"


def be_year(value: date | datetime, tz: ZoneInfo = BANGKOK) -> int:
    """The Buddhist Era year of a date (a datetime is first taken to local time)."""
    return _local_date(value, tz).year + BE_OFFSET


def format_date(
    value: date | datetime | None,
    era: Era = "be",
    lang: Lang = "th",
    long: bool = False,
    tz: ZoneInfo = BANGKOK,
) -> str:
    """ "21 พ.ย. 2569", "21 Nov 2026", or with long=True "21 พฤศจิกายน 2569"; "" for None."""
    if value is None:
        return ""
    day = _local_date(value, tz)
    year = day.year + BE_OFFSET if era == "be" else day.year
    if lang == "th":
        months = THAI_MONTHS_LONG if long else THAI_MONTHS_SHORT
    else:
        months = ENGLISH_MONTHS_LONG if long else ENGLISH_MONTHS_SHORT
    return f"{day.day} {months[day.month - 1]} {year}"


def format_datetime(
    value: datetime | None,
    era: Era = "be",
    lang: Lang = "th",
    seconds: bool = False,
    tz: ZoneInfo = BANGKOK,
) -> str:
    """ "21 พ.ย. 2569 14:05" in local time; a naive datetime is taken as UTC."""
    if value is None:
        return ""
    local = _to_local(value, tz)
    clock = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{format_date(local.date(), era, lang)} {clock}"


def format_numeric_date(
    value: date | datetime | None, era: Era = "be", tz: ZoneInfo = BANGKOK
) -> str:
    """ "21/11/2569" as on Thai forms and registers; "" for None."""
    if value is None:
        return ""
    day = _local_date(value, tz)
    year = day.year + BE_OFFSET if era == "be" else day.year
    return f"{day.day:02d}/{day.month:02d}/{year}"


def parse_date(text: str) -> date | None:
    """Reads "2026-11-21" (HTML date inputs) or "21/11/2569" / "21/11/2026"; a 4-digit year
    above 2400 is BE. None when the text is not a date: it comes from users."""
    text = text.strip()
    if not text:
        return None
    try:
        if "/" in text:
            day_s, month_s, year_s = text.split("/")
            year = int(year_s)
            if year > 2400:
                year -= BE_OFFSET
            return date(year, int(month_s), int(day_s))
        return date.fromisoformat(text)
    except ValueError:
        return None


def _to_local(value: datetime, tz: ZoneInfo) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz)


def _local_date(value: date | datetime, tz: ZoneInfo) -> date:
    if isinstance(value, datetime):
        return _to_local(value, tz).date()
    return value
