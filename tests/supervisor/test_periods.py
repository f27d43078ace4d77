"""Period presets: a day, a month, a quarter and the Thai fiscal year (October to September,
named by the year it ends in)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from cases.working_days import BANGKOK
from supervision.periods import neighbour, preset_period
from tests.foundation.conftest import log_in
from tests.supervisor.factories import add_call, local
from tests.supervisor.test_pages import _tables
from web.keys import db_key


@pytest.mark.parametrize(
    ("preset", "day", "first", "last"),
    [
        ("day", date(2026, 3, 2), date(2026, 3, 2), date(2026, 3, 2)),
        ("month", date(2028, 2, 10), date(2028, 2, 1), date(2028, 2, 29)),
        ("quarter", date(2026, 11, 5), date(2026, 10, 1), date(2026, 12, 31)),
        ("quarter", date(2027, 3, 31), date(2027, 1, 1), date(2027, 3, 31)),
        ("fiscal_year", date(2026, 10, 1), date(2026, 10, 1), date(2027, 9, 30)),
        ("fiscal_year", date(2027, 9, 30), date(2026, 10, 1), date(2027, 9, 30)),
        ("fiscal_year", date(2026, 9, 30), date(2025, 10, 1), date(2026, 9, 30)),
    ],
)
def test_a_preset_is_the_whole_period_holding_the_day(
    preset: str, day: date, first: date, last: date
) -> None:
    period = preset_period(preset, day, BANGKOK)  # type: ignore[arg-type]
    assert (period.first, period.last) == (first, last)


def test_the_period_before_and_after() -> None:
    q1 = preset_period("quarter", date(2026, 11, 5), BANGKOK)
    assert neighbour("quarter", q1, -1).first == date(2026, 7, 1)
    assert neighbour("quarter", q1, 1).last == date(2027, 3, 31)
    fy = preset_period("fiscal_year", date(2026, 11, 5), BANGKOK)
    assert neighbour("fiscal_year", fy, 1).first == date(2027, 10, 1)


async def test_the_fiscal_year_preset_reads_fy_2570_in_thai(
    app_client: TestClient, app: web.Application, make_user: Callable[..., Awaitable[None]]
) -> None:
    pool = app[db_key].pool
    await add_call(pool, "sep", local(30, 23, 59, month=9), 5, abandoned=True)
    await add_call(pool, "oct", local(1, 0, 1, month=10), 5, abandoned=True)
    await make_user("hua_na", "supervisor", language="th")
    await log_in(app_client, "hua_na")

    html = await (
        await app_client.get("/supervisor/reports?preset=fiscal_year&at=2026-10-15")
    ).text()
    assert "ปีงบประมาณ 2570" in html
    assert "1 ต.ค. 2569" in html and "30 ก.ย. 2570" in html
    assert dict(_tables(html)["summary"])["สายเข้าคิว"] == "1"  # September's is FY 2569's
    assert "preset=fiscal_year&amp;at=2027-10-01" in html  # the next fiscal year

    quarter = await (
        await app_client.get("/supervisor/reports?preset=quarter&at=2026-10-15")
    ).text()
    assert "ไตรมาส 1 ปีงบประมาณ 2570" in quarter
