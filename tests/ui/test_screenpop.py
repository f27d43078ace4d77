"""The screen-pop read model against a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent_ui.screenpop import ScreenPops
from calls.repository import CallRepository
from cases.repository import CaseRepository
from database.pool import Database
from ivr.results import SurveyResults
from mail.outbox import MailOutbox, OutgoingMail
from runtime.clock import ManualClock

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _seed(db: Database) -> None:
    pool = db.pool
    agent = await pool.fetchval(
        "INSERT INTO users (username, display_name, password_hash, role) "
        "VALUES ('somchai', 'สมชาย', 'x', 'agent') RETURNING id"
    )
    caller = await pool.fetchval(
        "INSERT INTO callers (number, name, occupation, province) "
        "VALUES ('0812345678', '<b>Nok</b>', 'farmer', 'Chiang Mai') RETURNING id"
    )
    for n in range(7):
        call_id = await pool.fetchval(
            "INSERT INTO calls (call_key, pbx, queue, uniqueid, caller_id, caller_number, "
            "joined_at, agent_user_id, talk_s) VALUES ($1, 'p', 'q', $2, $3, '0812345678', "
            "$4, $5, 60) RETURNING id",
            f"p/q/{n}",
            str(n),
            caller,
            NOW - timedelta(days=n + 1),
            agent,
        )
        if n == 0:
            await pool.execute(
                "INSERT INTO surveys (id, call_id, caller_number, pbx, not_before, expires_at, "
                "status, rating, rated_at) VALUES (gen_random_uuid(), $1, '0812345678', 'p', "
                "$2, $2, 'completed', 2, $2)",
                call_id,
                NOW - timedelta(days=1),
            )
    for status, received in (("closed", 200), ("forwarded", 100), ("closed", 10)):
        await pool.execute(
            "INSERT INTO cases (reference, caller_id, channel, case_type, topic, status, "
            "received_at, due_at) VALUES ($1, $2, 'phone', 'complaint', 'water bill', $3, $4, $4)",
            f"HL-{received}",
            caller,
            status,
            NOW - timedelta(days=received),
        )


def pops(db: Database) -> ScreenPops:
    pool = db.pool
    return ScreenPops(
        pool,
        calls=CallRepository(pool),
        cases=CaseRepository(pool),
        ratings=SurveyResults(pool),
        mails=MailOutbox(pool, ManualClock(NOW)),
    )


async def test_a_known_caller_pops_profile_calls_cases_and_ratings(db: Database) -> None:
    await _seed(db)
    pop = await pops(db).pop("+66812345678", now=NOW, this_call="p/q/0")
    assert pop["known"] is True
    assert pop["number"] == "0812345678"
    assert pop["profile"]["name"] == "<b>Nok</b>"
    assert pop["profile"]["province"] == "Chiang Mai"
    assert pop["profile"]["email"] == ""
    assert len(pop["calls"]) == 5
    assert pop["calls"][0]["agent"] == "สมชาย"
    assert [c["reference"] for c in pop["cases"]] == ["HL-100", "HL-10"]
    assert pop["cases"][0]["status"] == "forwarded"
    assert [r["rating"] for r in pop["ratings"]] == [2]


async def test_the_survey_rating_shows_on_its_call(db: Database) -> None:
    await _seed(db)
    pop = await pops(db).pop("0812345678", now=NOW, this_call="p/q/new")
    assert pop["calls"][0]["rating"] == 2
    assert pop["calls"][1]["rating"] is None


async def test_a_number_never_seen_pops_an_empty_profile(db: Database) -> None:
    pop = await pops(db).pop("0999999999", now=NOW)
    assert pop["known"] is False
    assert set(pop["profile"].values()) == {""}
    assert pop["calls"] == pop["cases"] == pop["ratings"] == []


async def test_a_call_without_a_usable_number_pops_empty(db: Database) -> None:
    pop = await pops(db).pop("anonymous", now=NOW)
    assert pop["known"] is False
    assert pop["calls"] == pop["cases"] == pop["ratings"] == []


async def test_the_mails_sent_to_the_caller_pop_with_their_status(db: Database) -> None:
    await _seed(db)
    outbox = MailOutbox(db.pool, ManualClock(NOW))
    await outbox.enqueue(
        OutgoingMail("nok@example.org", "แบบฟอร์ม", "t", caller_number="0812345678")
    )
    await outbox.enqueue(OutgoingMail("x@example.org", "other", "t", caller_number="0899999999"))
    pop = await pops(db).pop("0812345678", now=NOW, this_call="p/q/new")
    assert [(m["subject"], m["status"], m["to"]) for m in pop["mails"]] == [
        ("แบบฟอร์ม", "queued", "nok@example.org")
    ]
