"""The executives' monthly report: callers by profile, topics and service problems."""

from __future__ import annotations

from datetime import date

from database.pool import Database
from supervision.executive import executive_report
from supervision.stats import Period, Thresholds
from tests.supervisor.factories import add_call, add_caller, add_case, local

MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))


async def test_callers_are_counted_once_per_value_and_profiles_fall_back(db: Database) -> None:
    pool = db.pool
    farmer = await add_caller(pool, "0811111111", occupation="เกษตรกร", province="เชียงใหม่")
    await add_case(pool, local(2, 9), caller_id=farmer, topic="ค่าน้ำ", gender="หญิง")
    await add_case(pool, local(9, 9), caller_id=farmer, topic="ค่าน้ำ", channel="live_chat")
    await add_case(
        pool,
        local(3, 9),
        contact_phone="0822222222",
        occupation="ค้าขาย",
        province="เชียงใหม่",
        topic="น้ำไม่ไหล",
        case_type="inquiry",
    )
    await add_case(pool, local(4, 9), topic="ค่าน้ำ", channel="letter")
    await add_case(pool, local(1, 9, month=4), caller_id=farmer, topic="April")

    report = await executive_report(pool, MARCH, Thresholds(), now=local(31, 12))
    rows = {d: [(r.value, r.callers, r.cases) for r in v] for d, v in report.breakdowns.items()}
    assert rows["occupation"] == [("เกษตรกร", 1, 2), ("", 1, 1), ("ค้าขาย", 1, 1)]
    assert rows["province"] == [("เชียงใหม่", 2, 3), ("", 1, 1)]
    assert rows["channel"] == [("phone", 2, 2), ("letter", 1, 1), ("live_chat", 1, 1)]
    assert rows["gender"] == [("", 3, 3), ("หญิง", 1, 1)]
    assert rows["topic"] == [("ค่าน้ำ", 2, 3), ("น้ำไม่ไหล", 1, 1)]
    assert rows["case_type"] == [("complaint", 2, 3), ("inquiry", 1, 1)]
    assert report.problems["complaints"] == 3


async def test_service_problems_of_the_month(db: Database) -> None:
    pool = db.pool
    await add_call(pool, "a", local(2, 9), 3, abandoned=True)  # short: not a problem
    await add_call(pool, "b", local(2, 9), 30, abandoned=True)
    await add_call(pool, "c", local(2, 9), 21, answered=True, talk_s=60, phases=(31.0, 200.0, 30.0))
    await add_call(
        pool, "d", local(2, 9), 20, answered=True, talk_s=60, phases=(30.0, 1300.0, 45.0)
    )
    await add_call(pool, "e", local(2, 9), 300, end_reason="timeout")
    await add_case(pool, local(2, 9), due_at=local(5, 16, 30), closed_at=local(6, 9))
    await add_case(pool, local(2, 9), due_at=local(5, 16, 30), closed_at=local(5, 9))

    report = await executive_report(pool, MARCH, Thresholds(), now=local(31, 12))
    assert report.problems == {
        "abandoned": 1,
        "answered_late": 1,
        "left_unanswered": 1,
        "long_greetings": 1,
        "inquiries_off_standard": 2,
        "long_closings": 1,
        "cases_overdue": 1,
        "complaints": 2,
        "dissatisfied": 0,
    }
