"""The survey from hang-up to stored rating: real PostgreSQL, FastAGI over TCP, scripted phones."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cases.repository import CaseRepository
from database.pool import Database
from ivr.component import SurveyService
from ivr.config import SurveySettings
from ivr.queue import Claim
from runtime.clock import ManualClock
from tests.ivr.agi_phone import environment, keypad, run_session
from tests.ivr.fakes import (
    Behaviour,
    Phones,
    Picks,
    end_call,
    presses,
    seed_agent,
    seed_call,
    seed_case,
)

BKK = ZoneInfo("Asia/Bangkok")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=BKK)
NUMBER = "0812345678"
SETTINGS = SurveySettings(
    agi_host="127.0.0.1", agi_port=0, sounds_dir="/snd", agi_header_timeout_s=0.5
)


@dataclass
class Rig:
    db: Database
    clock: ManualClock
    phones: Phones
    service: SurveyService

    @property
    def pool(self) -> Any:
        return self.db.pool

    async def tick(self) -> int:
        tasks = await self.service.tick()
        await asyncio.gather(*tasks)
        await self.phones.settle()
        await self.service.fastagi.wait_idle()
        return len(tasks)

    async def end_call(self, uniqueid: str, number: str, at: datetime) -> None:
        await end_call(self.pool, self.service, uniqueid, number, at)

    async def advance(self, delta: timedelta) -> int:
        self.clock.advance(delta)
        return await self.tick()

    async def survey(self, number: str = NUMBER) -> Any:
        return await self.pool.fetchrow(
            "SELECT * FROM surveys WHERE caller_number = $1 ORDER BY created_at DESC LIMIT 1",
            number,
        )

    async def outcomes(self, survey_id: uuid.UUID) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT outcome FROM survey_attempts WHERE survey_id = $1 ORDER BY id", survey_id
        )
        return [r["outcome"] for r in rows]


RigFactory = Callable[..., Any]


@pytest.fixture
async def make_rig(db: Database) -> AsyncIterator[RigFactory]:
    services: list[SurveyService] = []

    async def make(
        behaviours: dict[str, list[Behaviour]] | None = None,
        settings: SurveySettings = SETTINGS,
        start: datetime = MONDAY_10,
        draw: float = 0.5,
    ) -> Rig:
        clock = ManualClock(start)
        phones = Phones(0, behaviours or {})
        service = SurveyService(
            settings, db.pool, phones, clock, cases=CaseRepository(db.pool), draw=lambda: draw
        )
        await service.fastagi.start()
        phones.agi_port = service.fastagi.port
        services.append(service)
        return Rig(db, clock, phones, service)

    yield make
    for service in services:
        await service.stop()


async def test_completed_call_is_surveyed_and_rating_linked(make_rig: RigFactory) -> None:
    rig: Rig = await make_rig({NUMBER: [presses("2")]})
    agent = await seed_agent(rig.pool)
    call_id, _ = await seed_call(rig.pool, "1795236655.0", NUMBER, agent, MONDAY_10)
    case_id = await seed_case(rig.pool, call_id, "inquiry", MONDAY_10)

    await rig.end_call("1795236655.0", "+66812345678", MONDAY_10)
    assert await rig.tick() == 0, "not before the delay after hang-up"
    assert await rig.advance(SETTINGS.delay_after_hangup) == 1

    survey = await rig.survey()
    assert survey["status"] == "completed"
    assert survey["rating"] == 2
    assert (survey["call_id"], survey["agent_user_id"], survey["case_id"]) == (
        call_id,
        agent,
        case_id,
    )
    assert survey["queue"] == "hotline"
    assert await rig.outcomes(survey["id"]) == ["answered"]
    assert rig.phones.dialled == [(NUMBER, str(survey["id"]))]
    events = await rig.pool.fetch(
        "SELECT from_status, to_status FROM survey_events WHERE survey_id = $1 ORDER BY id",
        survey["id"],
    )
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "pending"),
        ("pending", "dialing"),
        ("dialing", "in_progress"),
        ("in_progress", "completed"),
    ]


async def test_replayed_call_ended_schedules_one_survey(make_rig: RigFactory) -> None:
    rig: Rig = await make_rig()
    await rig.end_call("1795236655.1", NUMBER, MONDAY_10)
    await rig.end_call("1795236655.1", NUMBER, MONDAY_10)
    assert await rig.pool.fetchval("SELECT count(*) FROM surveys") == 1


async def test_no_answer_then_retried_then_answered(make_rig: RigFactory) -> None:
    rig: Rig = await make_rig({NUMBER: ["no_answer", presses("1")]})
    await rig.end_call("1795236655.2", NUMBER, MONDAY_10)
    assert await rig.advance(timedelta(minutes=2)) == 1
    survey = await rig.survey()
    assert survey["status"] == "pending"
    assert survey["reason"] == "no_answer"
    assert await rig.advance(timedelta(minutes=5)) == 0, "backoff not over"
    assert await rig.advance(SETTINGS.backoff[0]) == 1
    survey = await rig.survey()
    assert (survey["status"], survey["rating"], survey["attempts"]) == ("completed", 1, 2)
    assert await rig.outcomes(survey["id"]) == ["no_answer", "answered"]


async def test_busy_three_times_gives_up(make_rig: RigFactory) -> None:
    rig: Rig = await make_rig({NUMBER: ["busy", "busy", "busy"]})
    await rig.end_call("1795236655.3", NUMBER, MONDAY_10)
    for _ in range(6):
        await rig.advance(timedelta(hours=1))
    survey = await rig.survey()
    assert (survey["status"], survey["reason"], survey["attempts"]) == ("failed", "busy", 3)
    assert await rig.outcomes(survey["id"]) == ["busy", "busy", "busy"]
    assert len(rig.phones.dialled) == 3


async def test_outside_calling_hours_waits_for_the_morning(make_rig: RigFactory) -> None:
    evening = datetime(2026, 11, 23, 19, 59, tzinfo=BKK)
    rig: Rig = await make_rig({NUMBER: [presses("3")]}, start=evening)
    await rig.end_call("1795236655.4", NUMBER, evening)
    assert await rig.advance(timedelta(minutes=5)) == 0
    assert await rig.advance(timedelta(hours=10)) == 0, "07:04 is still too early"
    rig.clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=BKK))
    assert await rig.tick() == 1
    assert (await rig.survey())["rating"] == 3


async def test_no_calls_on_a_public_holiday(make_rig: RigFactory) -> None:
    eve = datetime(2026, 12, 9, 19, 30, tzinfo=BKK)
    rig: Rig = await make_rig({NUMBER: [presses("1")]}, start=eve)
    await rig.end_call("1795236655.5", NUMBER, eve)
    rig.clock.set(datetime(2026, 12, 10, 10, 0, tzinfo=BKK))
    assert await rig.tick() == 0, "Constitution Day"
    rig.clock.set(datetime(2026, 12, 11, 8, 0, tzinfo=BKK))
    assert await rig.tick() == 1


async def test_unreached_survey_expires_after_three_working_days(make_rig: RigFactory) -> None:
    friday = datetime(2026, 11, 27, 19, 0, tzinfo=BKK)
    rig: Rig = await make_rig({NUMBER: ["no_answer"] * 3}, start=friday)
    await rig.end_call("1795236655.6", NUMBER, friday)
    survey = await rig.survey()
    assert survey["expires_at"] == datetime(2026, 12, 2, 20, 0, tzinfo=BKK)
    rig.clock.set(datetime(2026, 12, 2, 20, 0, tzinfo=BKK))
    assert await rig.tick() == 0
    survey = await rig.survey()
    assert (survey["status"], survey["attempts"]) == ("expired", 0)


async def test_opted_out_number_is_never_called(make_rig: RigFactory) -> None:
    rig: Rig = await make_rig()
    await rig.service.queue.add_opt_out(NUMBER, MONDAY_10)
    await rig.end_call("1795236655.7", NUMBER, MONDAY_10)
    assert await rig.advance(timedelta(hours=1)) == 0
    survey = await rig.survey()
    assert (survey["status"], survey["reason"]) == ("skipped", "opted_out")


async def test_pressing_9_opts_out_for_good(make_rig: RigFactory) -> None:
    settings = replace(SETTINGS, min_days_between_surveys=0)
    rig: Rig = await make_rig({NUMBER: [presses("9")]}, settings=settings)
    await rig.end_call("1795236655.8", NUMBER, MONDAY_10)
    await rig.advance(timedelta(minutes=2))
    assert (await rig.survey())["reason"] == "opted_out"
    await rig.end_call("1795236655.9", NUMBER, rig.clock.now())
    assert await rig.advance(timedelta(hours=1)) == 0
    assert (await rig.survey())["status"] == "skipped"


async def test_one_survey_per_number_within_the_gap(make_rig: RigFactory) -> None:
    rig: Rig = await make_rig()
    await rig.end_call("1795236656.0", NUMBER, MONDAY_10)
    await rig.end_call("1795236656.1", NUMBER, MONDAY_10)
    statuses = await rig.pool.fetch("SELECT status, reason FROM surveys ORDER BY created_at")
    assert sorted((r["status"], r["reason"]) for r in statuses) == [
        ("pending", None),
        ("skipped", "recently_surveyed"),
    ]


@pytest.mark.parametrize("number", ["anonymous", "1169", "101", "", "+1 555 0100", "08x<script>"])
async def test_uncallable_numbers_are_skipped(make_rig: RigFactory, number: str) -> None:
    rig: Rig = await make_rig()
    await rig.end_call("1795236656.2", number, MONDAY_10)
    assert await rig.advance(timedelta(hours=1)) == 0
    row = await rig.pool.fetchrow("SELECT status, reason FROM surveys")
    assert (row["status"], row["reason"]) == ("skipped", "number_not_callable")


async def test_complaint_only_policy_needs_a_complaint_case(make_rig: RigFactory) -> None:
    settings = replace(SETTINGS, survey_all_answered=False, survey_complaints=True)
    other = "0899999999"
    rig: Rig = await make_rig({NUMBER: [presses("1")]}, settings=settings)
    call_id, _ = await seed_call(rig.pool, "1795236656.3", NUMBER, None, MONDAY_10)
    await seed_case(rig.pool, call_id, "complaint", MONDAY_10)
    await seed_call(rig.pool, "1795236656.4", other, None, MONDAY_10)
    await rig.end_call("1795236656.3", NUMBER, MONDAY_10)
    await rig.end_call("1795236656.4", other, MONDAY_10)
    assert await rig.advance(timedelta(minutes=2)) == 1
    assert (await rig.survey())["rating"] == 1
    skipped = await rig.survey(other)
    assert (skipped["status"], skipped["reason"]) == ("skipped", "no_complaint_case")


@pytest.mark.parametrize(("draw", "status"), [(0.29, "pending"), (0.31, "skipped")])
async def test_random_sample(make_rig: RigFactory, draw: float, status: str) -> None:
    settings = replace(
        SETTINGS, survey_all_answered=False, survey_complaints=False, sample_percent=30
    )
    rig: Rig = await make_rig(settings=settings, draw=draw)
    await rig.end_call("1795236656.5", NUMBER, MONDAY_10)
    assert (await rig.survey())["status"] == status


async def test_at_most_n_channels_at_once(make_rig: RigFactory) -> None:
    numbers = [f"08100000{n:02d}" for n in range(5)]
    settings = replace(SETTINGS, max_channels=2)
    rig: Rig = await make_rig({n: ["rings_until_released"] for n in numbers}, settings=settings)
    for n, number in enumerate(numbers):
        await rig.end_call(f"1795236657.{n}", number, MONDAY_10)
    rig.clock.advance(timedelta(minutes=2))
    first = await rig.service.tick()
    assert len(first) == 2
    assert await rig.service.tick() == [], "both channels still busy"
    rig.phones.release.set()
    await asyncio.gather(*first)
    assert len(await rig.service.tick()) == 2


async def test_restart_loses_nothing_and_doubles_nothing(make_rig: RigFactory) -> None:
    numbers = ["0810000001", "0810000002", "0810000003"]
    crashed: Rig = await make_rig()
    for n, number in enumerate(numbers):
        await crashed.end_call(f"1795236658.{n}", number, MONDAY_10)
    crashed.clock.advance(timedelta(minutes=2))
    in_flight = await crashed.service.queue.claim(crashed.clock.now(), max_channels=1)
    assert len(in_flight) == 1, "the old instance died after claiming, before dialling"
    await crashed.service.stop()

    behaviours: dict[str, list[Behaviour]] = {n: [presses("1")] for n in numbers}
    wide = replace(SETTINGS, max_channels=5)
    rig: Rig = await make_rig(behaviours, settings=wide, start=crashed.clock.now())
    assert await rig.tick() == 2, "the pending surveys go out; the one claimed waits its lease"
    claimed = in_flight[0].caller_number
    assert claimed not in [number for number, _ in rig.phones.dialled]
    await rig.advance(SETTINGS.dial_lease)
    assert sorted(number for number, _ in rig.phones.dialled) == numbers
    rows = await rig.pool.fetch("SELECT status, rating, attempts FROM surveys")
    assert (
        sorted((r["status"], r["rating"], r["attempts"]) for r in rows) == [("completed", 1, 1)] * 3
    ), "the attempt that never dialled is not counted"


async def test_a_survey_dialled_by_a_dialer_that_died_never_phones_the_customer_again(
    make_rig: RigFactory,
) -> None:
    crashed: Rig = await make_rig()
    await crashed.end_call("1795236658.9", NUMBER, MONDAY_10)
    crashed.clock.advance(timedelta(minutes=2))
    (claim,) = await crashed.service.queue.claim(crashed.clock.now(), max_channels=1)
    await crashed.service.queue.mark_dialled(claim, str(claim.survey_id), crashed.clock.now())
    await crashed.service.stop()

    rig: Rig = await make_rig({NUMBER: [presses("1")]}, start=crashed.clock.now())
    rig.phones.live_channels.add(str(claim.survey_id))
    await rig.advance(SETTINGS.dial_lease)
    assert (await rig.survey())["status"] == "dialing", "still ringing: wait for it"
    rig.phones.pbx_down = True
    await rig.advance(SETTINGS.dial_lease)
    assert (await rig.survey())["status"] == "dialing", "the PBX cannot say: wait again"
    rig.phones.pbx_down = False
    rig.phones.live_channels.clear()
    await rig.advance(SETTINGS.dial_lease)
    for backoff in SETTINGS.backoff:
        await rig.advance(backoff)
    survey = await rig.survey()
    assert (survey["status"], survey["reason"]) == ("incomplete", "outcome_unknown")
    assert await rig.outcomes(survey["id"]) == ["unknown"]
    assert rig.phones.dialled == []


async def test_an_originate_left_unanswered_is_checked_with_the_pbx_not_redialled(
    make_rig: RigFactory,
) -> None:
    rig: Rig = await make_rig({NUMBER: ["answer_lost", presses("1")]})
    await rig.end_call("1795236658.8", NUMBER, MONDAY_10)
    assert await rig.advance(timedelta(minutes=2)) == 1
    await rig.advance(SETTINGS.dial_lease)
    assert (await rig.survey())["status"] == "dialing", "its channel still exists"
    rig.phones.live_channels.clear()
    await rig.advance(SETTINGS.dial_lease)
    for backoff in SETTINGS.backoff:
        await rig.advance(backoff)
    assert len(rig.phones.dialled) == 1
    assert (await rig.survey())["reason"] == "outcome_unknown"


async def test_two_instances_never_claim_the_same_survey(make_rig: RigFactory) -> None:
    settings = replace(SETTINGS, max_channels=50)
    one: Rig = await make_rig(settings=settings)
    two: Rig = await make_rig(settings=settings)
    for n in range(20):
        await one.end_call(f"1795236659.{n}", f"08200000{n:02d}", MONDAY_10)
    now = MONDAY_10 + timedelta(minutes=2)
    claims = await asyncio.gather(
        *(rig.service.queue.claim(now, 50) for rig in (one, two, one, two))
    )
    ids = [c.survey_id for batch in claims for c in batch]
    assert len(ids) == 20
    assert len(set(ids)) == 20


async def test_pbx_down_does_not_burn_attempts(make_rig: RigFactory) -> None:
    rig: Rig = await make_rig({NUMBER: [presses("2")]})
    rig.phones.pbx_down = True
    await rig.end_call("1795236660.0", NUMBER, MONDAY_10)
    assert await rig.advance(timedelta(minutes=2)) == 1
    survey = await rig.survey()
    assert (survey["status"], survey["attempts"], survey["reason"]) == (
        "pending",
        0,
        "pbx_unavailable",
    )
    rig.phones.pbx_down = False
    await rig.advance(timedelta(minutes=1))
    survey = await rig.survey()
    assert (survey["status"], survey["rating"], survey["attempts"]) == ("completed", 2, 1)


async def test_caller_hanging_up_mid_survey_is_incomplete(make_rig: RigFactory) -> None:
    def hangs_up(command: str) -> str | None:
        return None if command.startswith("GET DATA") else "200 result=0"

    rig: Rig = await make_rig({NUMBER: [Picks(hangs_up)]})
    await rig.end_call("1795236660.1", NUMBER, MONDAY_10)
    await rig.advance(timedelta(minutes=2))
    survey = await rig.survey()
    assert (survey["status"], survey["reason"], survey["rating"]) == (
        "incomplete",
        "caller_hung_up",
        None,
    )
    assert await rig.advance(timedelta(hours=2)) == 0, "an answered survey is not called again"


async def test_silence_three_times_is_incomplete_and_not_redialled(make_rig: RigFactory) -> None:
    rig: Rig = await make_rig({NUMBER: [presses("", "", "")]})
    await rig.end_call("1795236660.2", NUMBER, MONDAY_10)
    await rig.advance(timedelta(minutes=2))
    survey = await rig.survey()
    assert (survey["status"], survey["reason"]) == ("incomplete", "no_valid_input")
    assert await rig.advance(timedelta(hours=2)) == 0


INCALL = replace(SETTINGS, mode="in_call")


def incall_env(uniqueid: str, caller: str = NUMBER, *args: str) -> bytes:
    env = environment("survey-incall", *(args or ("pbx1", "hotline")), uniqueid=uniqueid)
    return env.replace(b"agi_callerid: 1169", f"agi_callerid: {caller}".encode())


async def test_in_call_survey_after_the_agent_hangs_up(make_rig: RigFactory) -> None:
    rig: Rig = await make_rig(settings=INCALL)
    agent = await seed_agent(rig.pool)
    call_id, _ = await seed_call(rig.pool, "1795236661.0", NUMBER, agent, MONDAY_10)
    await rig.end_call("1795236661.0", NUMBER, MONDAY_10)
    assert await rig.pool.fetchval("SELECT count(*) FROM surveys") == 0, "no callback"

    await run_session(rig.service.fastagi.port, incall_env("1795236661.0"), keypad("1"))
    await rig.service.fastagi.wait_idle()
    survey = await rig.survey()
    assert (survey["status"], survey["rating"], survey["selection"]) == ("completed", 1, "in_call")
    assert (survey["call_id"], survey["agent_user_id"]) == (call_id, agent)
    assert rig.phones.dialled == []


async def test_in_call_survey_runs_once_per_call(make_rig: RigFactory) -> None:
    rig: Rig = await make_rig(settings=INCALL)
    port = rig.service.fastagi.port
    await run_session(port, incall_env("1795236661.1"), keypad("3"))
    again = await run_session(port, incall_env("1795236661.1"), keypad("1"))
    assert again == ["HANGUP"]
    await rig.service.fastagi.wait_idle()
    assert (await rig.survey())["rating"] == 3


@pytest.mark.parametrize("args", [("pbx1",), ("", "hotline"), ("pbx1", "q" * 500)])
async def test_in_call_bad_request_hangs_up(make_rig: RigFactory, args: tuple[str, ...]) -> None:
    rig: Rig = await make_rig(settings=INCALL)
    env = incall_env("1795236661.2", NUMBER, *args)
    assert await run_session(rig.service.fastagi.port, env, keypad("1")) == ["HANGUP"]
    assert await rig.pool.fetchval("SELECT count(*) FROM surveys") == 0


async def test_in_call_hang_up_is_incomplete(
    make_rig: RigFactory,
) -> None:
    rig: Rig = await make_rig(settings=INCALL)
    await run_session(rig.service.fastagi.port, incall_env("1795236661.3"), lambda c: None)
    await rig.service.fastagi.wait_idle()
    survey = await rig.survey()
    assert (survey["status"], survey["reason"]) == ("incomplete", "caller_hung_up")


async def test_in_call_script_is_off_unless_configured(make_rig: RigFactory) -> None:
    rig: Rig = await make_rig()
    commands = await run_session(rig.service.fastagi.port, incall_env("1795236661.4"), keypad("3"))
    assert commands == []
    assert await rig.pool.fetchval("SELECT count(*) FROM surveys") == 0


async def dialling(rig: Rig, *numbers: str) -> list[Claim]:
    """Surveys claimed and rung, as the dialer leaves them until the FastAGI session comes."""
    for n, number in enumerate(numbers):
        await rig.end_call(f"1795236670.{n}", number, MONDAY_10)
    rig.clock.advance(SETTINGS.delay_after_hangup)
    claims = await rig.service.queue.claim(rig.clock.now(), max_channels=len(numbers))
    return sorted(claims, key=lambda claim: claim.caller_number)


async def statuses(rig: Rig) -> dict[str, tuple[str, int | None]]:
    rows = await rig.pool.fetch("SELECT caller_number, status, rating FROM surveys")
    return {r["caller_number"]: (r["status"], r["rating"]) for r in rows}


async def test_fastagi_accepts_only_the_pbx_addresses(make_rig: RigFactory) -> None:
    rig: Rig = await make_rig(settings=replace(SETTINGS, agi_allowed_peers=("127.0.0.1",)))
    (claim,) = await dialling(rig, NUMBER)
    env = environment("survey", str(claim.survey_id), claim.token)
    port = rig.service.fastagi.port

    assert await run_session(port, env, keypad("3"), source="127.0.0.2") == []
    assert await statuses(rig) == {NUMBER: ("dialing", None)}

    await run_session(port, env, keypad("1"), source="127.0.0.1")
    await rig.service.fastagi.wait_idle()
    assert await statuses(rig) == {NUMBER: ("completed", 1)}


async def test_a_forged_session_rates_nothing_and_a_token_works_once(
    make_rig: RigFactory,
) -> None:
    """Raw FastAGI from an allowed address: the survey id alone, a made-up token, or another
    survey's token begin nothing; the survey's own token rates that survey, and only once."""
    allowed = replace(SETTINGS, agi_allowed_peers=("127.0.0.0/24",))
    rig: Rig = await make_rig(settings=allowed)
    mine, other = await dialling(rig, "0810000021", "0810000022")
    port = rig.service.fastagi.port
    forged = [
        environment("survey", str(mine.survey_id)),
        environment("survey", str(mine.survey_id), "guessed-token"),
        environment("survey", str(mine.survey_id), other.token),
    ]
    for env in forged:
        assert await run_session(port, env, keypad("3"), source="127.0.0.2") == ["HANGUP"]
    assert await statuses(rig) == {"0810000021": ("dialing", None), "0810000022": ("dialing", None)}

    real = environment("survey", str(mine.survey_id), mine.token)
    await run_session(port, real, keypad("1"), source="127.0.0.2")
    await rig.service.fastagi.wait_idle()
    replayed = environment("survey", str(mine.survey_id), mine.token)
    assert await run_session(port, replayed, keypad("9"), source="127.0.0.2") == ["HANGUP"]
    assert await statuses(rig) == {"0810000021": ("completed", 1), "0810000022": ("dialing", None)}
    assert await rig.pool.fetchval("SELECT count(*) FROM survey_opt_outs") == 0


async def test_lost_sessions_are_closed_not_redialled(make_rig: RigFactory) -> None:
    rig: Rig = await make_rig()
    queue = rig.service.queue
    for n, number in enumerate(("0810000011", "0810000012")):
        await rig.end_call(f"1795236662.{n}", number, MONDAY_10)
    rig.clock.advance(timedelta(minutes=2))
    talking, answered = await queue.claim(rig.clock.now(), max_channels=2)
    assert await queue.begin_session(talking.survey_id, talking.token, rig.clock.now()) == "th"
    await queue.finish_attempt(answered, "answered", rig.clock.now(), retry_at=None)

    assert await rig.advance(SETTINGS.session_lease) == 0
    statuses = {
        r["caller_number"]: (r["status"], r["reason"])
        for r in await rig.pool.fetch("SELECT caller_number, status, reason FROM surveys")
    }
    assert statuses == {
        talking.caller_number: ("incomplete", "session_lost"),
        answered.caller_number: ("incomplete", "no_script_session"),
    }
    assert await rig.outcomes(talking.survey_id) == ["answered"]
    assert await rig.advance(timedelta(hours=3)) == 0


async def test_resolved_complaint_gets_one_follow_up_survey(make_rig: RigFactory) -> None:
    settings = replace(SETTINGS, followup_pbx="pbx1")
    rig: Rig = await make_rig({NUMBER: [presses("2")]}, settings=settings)
    resolved = MONDAY_10 - timedelta(days=1)
    case_id = await rig.pool.fetchval(
        "INSERT INTO cases (reference, channel, case_type, topic, received_at, status,"
        " resolved_at, contact_phone) VALUES ('HL-2569-000001', 'email', 'complaint', 'bill',"
        " $1, 'resolved', $2, '+66812345678') RETURNING id",
        resolved - timedelta(days=2),
        resolved,
    )
    assert await rig.service.schedule_followups() == 1
    assert await rig.service.schedule_followups() == 0, "owed once"
    assert await rig.tick() == 1
    survey = await rig.survey()
    assert (survey["selection"], survey["case_id"], survey["rating"]) == (
        "case_followup",
        case_id,
        2,
    )


async def test_service_runs_its_own_loop_and_reports_health(make_rig: RigFactory) -> None:
    settings = replace(SETTINGS, poll_interval_s=0.01)
    rig: Rig = await make_rig({NUMBER: [presses("1")]}, settings=settings)
    await rig.service.stop()
    assert rig.service.health() == (False, "FastAGI server not listening")
    await rig.end_call("1795236663.0", NUMBER, MONDAY_10)
    rig.clock.advance(timedelta(minutes=2))
    await rig.service.start()
    rig.phones.agi_port = rig.service.fastagi.port
    for _ in range(500):
        if (await rig.survey())["status"] == "completed":
            break
        await asyncio.sleep(0.01)
    await rig.phones.settle()
    assert (await rig.survey())["rating"] == 1
    assert rig.service.health() == (True, "ok")
