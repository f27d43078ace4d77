"""Survey queue and FastAGI throughput on a fresh embedded PostgreSQL.

Run: `.venv/bin/python -m bench.survey_queue [--surveys 2000] [--sessions 300]`

Prints: CallEnded -> survey row scheduling rate; claims per second by two dialer instances
racing on one database (and that no survey was claimed twice); complete FastAGI survey
sessions per second (environment, ANSWER, prompts, GET DATA, rating stored in PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog

from bench.database import fresh_database
from cases.repository import CaseRepository
from database.pool import Database
from ivr.component import SurveyService
from ivr.config import SurveySettings
from runtime.clock import ManualClock
from telephony.events import CallEnded, make_call_key
from tests.ivr.agi_phone import environment, keypad, run_session
from tests.ivr.fakes import Phones

START = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Bangkok"))
SETTINGS = SurveySettings(agi_port=0, min_days_between_surveys=0)


def ended(n: int) -> CallEnded:
    return CallEnded(
        pbx="pbx1",
        at=START,
        call_key=make_call_key("pbx1", "hotline", f"1795236655.{n}"),
        queue="hotline",
        interface="PJSIP/agent101",
        member_name="Agent 101",
        caller_number=f"081{n:07d}",
        hung_up_by="caller",
        talk_s=60.0,
        hold_s=0.0,
        wait_s=5.0,
    )


async def run(db: Database, surveys: int, sessions: int) -> None:
    clock = ManualClock(START)
    one = SurveyService(SETTINGS, db.pool, Phones(0, {}), clock, cases=CaseRepository(db.pool))
    other = SurveyService(SETTINGS, db.pool, Phones(0, {}), clock, cases=CaseRepository(db.pool))

    began = time.perf_counter()
    for n in range(surveys):
        await one.on_event(ended(n))
    took = time.perf_counter() - began
    print(f"schedule: {surveys} surveys in {took:.2f} s = {surveys / took:.0f}/s")

    now = START + timedelta(minutes=2)
    claimed: list[list[str]] = [[], []]

    async def dial_all(service: SurveyService, into: list[str]) -> None:
        """Claim (100 live channels across both instances) and fail each call at once."""
        pending = "SELECT count(*) FROM surveys WHERE status = 'pending'"
        while await db.pool.fetchval(pending):
            claims = await service.queue.claim(now, 100)
            for claim in claims:
                await service.queue.finish_attempt(claim, "busy", now, retry_at=None)
            into.extend(str(c.survey_id) for c in claims)

    began = time.perf_counter()
    await asyncio.gather(dial_all(one, claimed[0]), dial_all(other, claimed[1]))
    took = time.perf_counter() - began
    every = claimed[0] + claimed[1]
    print(
        f"claim+finish: {len(every)} by two instances in {took:.2f} s"
        f" = {len(every) / took:.0f}/s; split {len(claimed[0])}/{len(claimed[1])};"
        f" claimed twice: {len(every) - len(set(every))}"
    )

    for n in range(surveys, surveys + sessions):
        await one.on_event(ended(n))
    ids = [str(c.survey_id) for c in await one.queue.claim(now, sessions)]
    await one.fastagi.start()
    try:
        began = time.perf_counter()
        for chunk in range(0, len(ids), 20):
            await asyncio.gather(
                *(
                    run_session(one.fastagi.port, environment("survey", sid), keypad("2"))
                    for sid in ids[chunk : chunk + 20]
                )
            )
        await one.fastagi.wait_idle()
        took = time.perf_counter() - began
        rated = await db.pool.fetchval("SELECT count(*) FROM surveys WHERE rating = 2")
        print(
            f"fastagi: {len(ids)} complete sessions (20 at a time) in {took:.2f} s"
            f" = {len(ids) / took:.0f}/s; rated {rated}"
        )
    finally:
        await one.stop()
        await other.stop()


async def main_async(surveys: int, sessions: int) -> None:
    async with fresh_database("hotline-bench-ivr-") as db:
        await run(db, surveys, sessions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--surveys", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=300)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main_async(args.surveys, args.sessions))


if __name__ == "__main__":
    main()
