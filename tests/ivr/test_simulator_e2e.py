"""The survey against the PBX simulator over TCP: AMI Originate out, FastAGI session back in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calls.endings import endings_of
from calls.repository import CallRepository
from calls.tracker import CallTracker
from calls.writer import CallWriter
from cases.repository import CaseRepository
from database.pool import Database
from ivr.component import SurveyService
from ivr.config import SurveySettings
from pbxsim import PbxSimulator
from pbxsim.phones import CustomerPhone
from runtime.clock import ManualClock
from telephony.ami.link import AmiLink
from telephony.ami.protocol import AmiMessage
from telephony.commands import AmiCallControl
from telephony.config import PbxConfig
from telephony.service import TelephonyService
from tests.ivr.fakes import end_call, seed_agent, seed_call, seed_case

BKK = ZoneInfo("Asia/Bangkok")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=BKK)
SETTINGS = SurveySettings(
    agi_host="127.0.0.1",
    agi_port=0,
    ring_timeout_ms=8_000,
    digit_timeout_ms=3_000,
    agi_header_timeout_s=1.0,
)


async def ignore(message: AmiMessage) -> None:
    return None


@dataclass
class Lab:
    sim: PbxSimulator
    service: SurveyService
    clock: ManualClock
    db: Database

    async def survey_round(self, expected_calls: int) -> None:
        """Let due surveys go out and wait until the simulated phones have hung up."""
        tasks = await self.service.tick()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        await asyncio.wait_for(self.sim.wait_survey_calls(expected_calls), 30)
        await asyncio.wait_for(self.service.fastagi.wait_idle(), 30)

    async def survey_after_call(self, uniqueid: str, number: str, phone: CustomerPhone) -> None:
        """A queue call from `number` ends; two minutes on, its survey rings `phone`."""
        self.sim.set_customer_phone(number, phone)
        await end_call(self.db.pool, self.service, uniqueid, number, MONDAY_10)
        self.clock.advance(timedelta(minutes=2))
        await self.survey_round(1)


@pytest.fixture
async def lab(db: Database) -> AsyncIterator[Lab]:
    sim = PbxSimulator.lab(speed=20.0, prompt_seconds=0.2)
    host, port = await sim.start()
    link = AmiLink(PbxConfig("pbx1", host, port, "hotline", "hotline"), ignore)
    await link.start()
    await eventually(lambda: link.up)
    clock = ManualClock(MONDAY_10)
    service = SurveyService(
        SETTINGS, db.pool, AmiCallControl({"pbx1": link}), clock, cases=CaseRepository(db.pool)
    )
    await service.fastagi.start()
    sim.originate.agi_port = service.fastagi.port
    try:
        yield Lab(sim, service, clock, db)
    finally:
        await service.stop()
        await link.stop()
        await sim.stop()


async def test_call_to_rating_through_the_simulator(lab: Lab) -> None:
    number = "0812345678"
    agent = await seed_agent(lab.db.pool)
    call_id, _ = await seed_call(lab.db.pool, "1795236655.0", number, agent, MONDAY_10)
    case_id = await seed_case(lab.db.pool, call_id, "complaint", MONDAY_10)

    await lab.survey_after_call("1795236655.0", number, CustomerPhone.answers("2"))

    row = await lab.db.pool.fetchrow("SELECT * FROM surveys")
    assert (row["status"], row["rating"]) == ("completed", 2)
    assert (row["call_id"], row["agent_user_id"], row["case_id"]) == (call_id, agent, case_id)
    (call,) = lab.sim.survey_calls
    request = call.request
    assert request is not None
    assert request.dial == f"PJSIP/{number}@trunk"
    assert request.channel_id == str(row["id"])
    assert request.variables["SURVEY_ID"] == str(row["id"])
    assert call.pressed == ["2"]


async def test_wrong_key_then_right_key_through_the_simulator(lab: Lab) -> None:
    await lab.survey_after_call("1795236655.1", "0812345679", CustomerPhone.answers("7", "1"))
    row = await lab.db.pool.fetchrow("SELECT status, rating FROM surveys")
    assert (row["status"], row["rating"]) == ("completed", 1)


@pytest.mark.parametrize(
    ("phone", "outcome"),
    [
        (CustomerPhone.busy(), "busy"),
        (CustomerPhone.congested(), "congestion"),
        (CustomerPhone.no_answer(), "no_answer"),
    ],
)
async def test_unreached_phone_outcome_is_recorded_and_retried(
    lab: Lab, phone: CustomerPhone, outcome: str
) -> None:
    await lab.survey_after_call("1795236655.2", "0812345670", phone)
    row = await lab.db.pool.fetchrow("SELECT id, status, reason FROM surveys")
    assert (row["status"], row["reason"]) == ("pending", outcome)
    attempts = await lab.db.pool.fetch("SELECT outcome FROM survey_attempts")
    assert [a["outcome"] for a in attempts] == [outcome]


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        (CustomerPhone.hangs_up(after=0.5), "caller_hung_up"),
        (CustomerPhone.silent(), "no_valid_input"),
    ],
    ids=["hang_up_mid_survey", "silence"],
)
async def test_a_survey_left_unanswered_through_the_simulator_is_incomplete(
    lab: Lab, phone: CustomerPhone, reason: str
) -> None:
    await lab.survey_after_call("1795236655.3", "0812345671", phone)
    row = await lab.db.pool.fetchrow("SELECT status, reason FROM surveys")
    assert (row["status"], row["reason"]) == ("incomplete", reason)


async def test_queue_call_to_stored_rating_end_to_end(db: Database) -> None:
    """A real queue call on the simulator ends; the tracker stores it, the survey follows."""
    number = "0898765432"
    clock = ManualClock(MONDAY_10)
    sim = PbxSimulator.lab(speed=20.0, prompt_seconds=0.2)
    host, port = await sim.start()
    sim.set_customer_phone(number, CustomerPhone.answers("2"))
    telephony = TelephonyService(
        [PbxConfig("pbx1", host, port, "hotline", "hotline")], clock=clock.now
    )
    service = SurveyService(
        SETTINGS, db.pool, telephony.control, clock, cases=CaseRepository(db.pool)
    )
    writer = CallWriter(CallRepository(db.pool), follow_ups=endings_of)
    telephony.subscribe(CallTracker(writer).handle)
    await writer.start()
    agent = await seed_agent(db.pool)
    await service.fastagi.start()
    sim.originate.agi_port = service.fastagi.port
    await telephony.start()
    try:
        await eventually(lambda: all(h.up for h in telephony.health()))
        call = await sim.place_call("hotline", "+66 89 876 5432")
        await sim.answer("PJSIP/agent101")
        await sim.hangup(call, by="caller")
        ended = "SELECT count(*) FROM calls WHERE ended_at IS NOT NULL"
        await eventually_db(db, ended, 1)
        await writer.flush()
        assert await service.schedule_ended_calls() == 1
        survey_count = "SELECT count(*) FROM surveys WHERE status = 'pending'"
        assert await db.pool.fetchval(survey_count) == 1
        call_id = await db.pool.fetchval("SELECT id FROM calls")
        case_id = await seed_case(db.pool, call_id, "complaint", MONDAY_10)

        clock.advance(timedelta(minutes=2))
        tasks = await service.tick()
        assert len(tasks) == 1
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        await asyncio.wait_for(sim.wait_survey_calls(1), 30)
        await asyncio.wait_for(service.fastagi.wait_idle(), 30)

        row = await db.pool.fetchrow("SELECT * FROM surveys")
        assert (row["status"], row["rating"], row["caller_number"]) == ("completed", 2, number)
        assert (row["call_id"], row["agent_user_id"], row["case_id"]) == (call_id, agent, case_id)
    finally:
        await service.stop()
        await telephony.stop()
        await writer.stop()
        await sim.stop()


async def eventually(check: Callable[[], bool]) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never became true")


async def eventually_db(db: Database, query: str, expected: object) -> None:
    for _ in range(500):
        if await db.pool.fetchval(query) == expected:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{query} never gave {expected}")
