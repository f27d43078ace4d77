"""The supervisor report at scale: one month and one Thai fiscal year of a busy hotline.

Run: `.venv/bin/python -m bench.reports [--calls 1000000] [--cases 500000] [--runs 3]`.
The year is FY 2570 (1 Oct 2026 - 30 Sep 2027): `calls` queue calls from 200 agents in 20
units of 10 regions, their availability (ready, lunch pause, wrap-up pauses, signed out),
surveys for a third of the answered calls, and `cases` cases (40 % complaints, most resolved
with a root cause). Rows are generated in Python and loaded with COPY into a fresh embedded
PostgreSQL, then ANALYZEd. Each report is the page's own load (supervision.report_tables
.load_report: every grouping, list, chart series and complaint table), timed `runs` times;
the goal is a month <= 1 s and a year <= 3 s. Prints the best and median seconds and the
figures the report found, so a wrong-but-fast query shows.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from bench.database import fresh_database
from cases.working_days import BANGKOK
from database.pool import Database
from ivr.results import SurveyResults
from supervision.periods import preset_period
from supervision.report_tables import SupervisorReport, load_report
from supervision.stats import Period, Thresholds

FIRST_DAY = date(2026, 10, 1)
DAYS = 365
AGENTS = 200
REGIONS, UNITS = 10, 20
QUEUES = ("q1662", "q1169")
NUMBERS = 100_000
ROOT_CAUSES = ("pipe_leak", "low_pressure", "water_quality", "meter_billing", "other")
TOPICS = [f"topic {n}" for n in range(30)]
NOW = datetime(2027, 10, 1, 9, 0, tzinfo=BANGKOK)
#: Generating and copying a million rows takes minutes on a shared machine.
COPY_TIMEOUT_S = 3600

_CALL_COLUMNS = (
    "call_key", "pbx", "queue", "uniqueid", "caller_number", "joined_at", "answered_at",
    "ended_at", "agent_user_id", "wait_s", "ring_s", "talk_s", "hold_s", "abandoned",
    "end_reason", "greeting_s", "inquiry_s", "closing_s", "wrapup_started_at",
    "wrapup_ended_at", "wrapup_s",
)  # fmt: skip
_SURVEY_COLUMNS = (
    "id", "call_id", "agent_user_id", "caller_number", "pbx", "queue", "status", "not_before",
    "expires_at", "attempts", "rating", "rated_at", "created_at",
)  # fmt: skip
_CASE_COLUMNS = (
    "reference", "call_id", "channel", "case_type", "topic", "status", "unit_id",
    "received_at", "due_at", "resolved_at", "closed_at", "created_by", "contact_phone",
    "root_cause", "province",
)  # fmt: skip


def _local(day: date, seconds: float) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BANGKOK) + timedelta(seconds=seconds)


def _number(rng: random.Random) -> str:
    return f"08{rng.randrange(NUMBERS):08d}"


def _calls(rng: random.Random, count: int, agents: list[int]) -> Iterator[tuple[object, ...]]:
    """Calls spread over the year's days, 07:00-21:00; 85 % answered, 10 % abandoned."""
    for n in range(count):
        day = FIRST_DAY + timedelta(days=n * DAYS // count)
        joined = _local(day, rng.uniform(7 * 3600, 21 * 3600))
        fate = rng.random()
        wait = rng.expovariate(1 / 15)
        key = f"pbx1-{n}"
        if fate < 0.85:
            answered = joined + timedelta(seconds=wait)
            talk, hold = rng.uniform(60, 600), rng.choice((0.0, 0.0, 30.0))
            ended = answered + timedelta(seconds=talk + hold)
            wrapup = rng.uniform(10, 60)
            marked = rng.random() < 0.7
            phases = (rng.uniform(10, 40), rng.uniform(200, 900), rng.uniform(10, 40))
            yield (
                key, "pbx1", rng.choice(QUEUES), str(n), _number(rng), joined, answered, ended,
                rng.choice(agents), wait, rng.uniform(3, 10), talk, hold, False, "completed",
                *(phases if marked else (None, None, None)),
                ended, ended + timedelta(seconds=wrapup), wrapup,
            )  # fmt: skip
        else:
            abandoned = fate < 0.95
            ended = joined + timedelta(seconds=wait)
            yield (
                key, "pbx1", rng.choice(QUEUES), str(n), _number(rng), joined, None, ended,
                None, wait, None, None, 0.0, abandoned, "abandoned" if abandoned else "timeout",
                None, None, None, None, None, None,
            )  # fmt: skip


def _states(agents: list[int]) -> Iterator[tuple[object, ...]]:
    """Each agent's working day: ready 08:00, lunch 12:00-13:00, signed out 20:00."""
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        for agent in agents:
            for hour, availability, reason in (
                (8, "ready", ""),
                (12, "paused", "lunch"),
                (13, "ready", ""),
                (20, "logged_out", ""),
            ):
                yield agent, availability, reason, _local(day, hour * 3600), "panel"


def _cases(
    rng: random.Random, count: int, calls: int, agents: list[int], units: list[int]
) -> Iterator[tuple[object, ...]]:
    for n in range(count):
        day = FIRST_DAY + timedelta(days=n * DAYS // count)
        received = _local(day, rng.uniform(7 * 3600, 21 * 3600))
        complaint = rng.random() < 0.4
        resolved = received + timedelta(hours=rng.uniform(1, 120)) if rng.random() < 0.8 else None
        closed = resolved + timedelta(days=1) if resolved and rng.random() < 0.5 else None
        status = "closed" if closed else "resolved" if resolved else "in_progress"
        yield (
            f"HL-2570-{n:07d}", rng.randrange(1, calls + 1) if rng.random() < 0.6 else None,
            "phone", "complaint" if complaint else "information_unit", rng.choice(TOPICS),
            status, rng.choice(units), received, received + timedelta(days=3), resolved, closed,
            rng.choice(agents), _number(rng),
            rng.choice(ROOT_CAUSES) if complaint and resolved else None,
            rng.choice(("น่าน", "ชลบุรี", "เชียงใหม่")),
        )  # fmt: skip


def _surveys(rng: random.Random, calls: int, agents: list[int]) -> Iterator[tuple[object, ...]]:
    """A survey for about a third of the calls, two thirds of them answered."""
    for call in range(1, calls + 1, 3):
        created = _local(FIRST_DAY + timedelta(days=(call - 1) * DAYS // calls), 12 * 3600)
        rating = rng.choice((1, 1, 2, 2, 3, None, None))
        yield (
            uuid.UUID(int=rng.getrandbits(128)), call, rng.choice(agents), _number(rng), "pbx1",
            rng.choice(QUEUES), "completed" if rating else "failed", created, created, 1,
            rating, created if rating else None, created,
        )  # fmt: skip


async def load(db: Database, calls: int, cases: int) -> None:
    rng = random.Random(2570)
    pool = db.pool
    regions = [
        await pool.fetchval("INSERT INTO units (name) VALUES ($1) RETURNING id", f"เขต {n + 1}")
        for n in range(REGIONS)
    ]
    units = [
        await pool.fetchval(
            "INSERT INTO units (name, parent_id) VALUES ($1, $2) RETURNING id",
            f"สาขา {n + 1}",
            regions[n % REGIONS],
        )
        for n in range(UNITS)
    ]
    agents = [
        await pool.fetchval(
            "INSERT INTO users (username, display_name, password_hash, role, unit_id) "
            "VALUES ($1, $2, 'x', 'agent', $3) RETURNING id",
            f"agent{n}",
            f"Agent {n}",
            units[n % UNITS],
        )
        for n in range(AGENTS)
    ]
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(
            "calls",
            records=_calls(rng, calls, agents),
            columns=_CALL_COLUMNS,
            timeout=COPY_TIMEOUT_S,
        )
        await conn.copy_records_to_table(
            "agent_state_events",
            records=_states(agents),
            columns=("user_id", "availability", "reason", "at", "source"),
            timeout=COPY_TIMEOUT_S,
        )
        await conn.copy_records_to_table(
            "cases",
            records=_cases(rng, cases, calls, agents, units),
            columns=_CASE_COLUMNS,
            timeout=COPY_TIMEOUT_S,
        )
        await conn.copy_records_to_table(
            "surveys",
            records=_surveys(rng, calls, agents),
            columns=_SURVEY_COLUMNS,
            timeout=COPY_TIMEOUT_S,
        )
        await conn.execute("ANALYZE", timeout=COPY_TIMEOUT_S)


async def timed(db: Database, period: Period, runs: int) -> tuple[list[float], SupervisorReport]:
    surveys = SurveyResults(db.pool)
    seconds: list[float] = []
    report = None
    for _ in range(runs):
        started = time.perf_counter()
        report = await load_report(
            db.pool, period, Thresholds(), surveys=surveys, queue=None, now=NOW.astimezone(UTC)
        )
        seconds.append(time.perf_counter() - started)
    assert report is not None
    return seconds, report


def _figures(report: SupervisorReport) -> str:
    q, f = report.total.queue, report.total
    satisfaction = report.surveys["total"][""].satisfied_percent
    complaints = sum(c.received for c in report.complaints if not c.subtotal)
    return (
        f"offered {q.offered:,} answered {q.answered:,} SL {q.service_level or 0:.1f} % "
        f"occupancy {f.occupancy or 0:.1f} % AHT {f.handle.aht_s or 0:.0f} s "
        f"phases {q.phase_compliance or 0:.1f} % of {q.phases_marked_share or 0:.0f} % marked "
        f"satisfaction {satisfaction or 0:.1f} % complaints {complaints:,}"
    )


async def run(calls: int, cases: int, runs: int) -> None:
    async with fresh_database("hotline-bench-reports-") as db:
        started = time.perf_counter()
        await load(db, calls, cases)
        print(
            f"loaded {calls:,} calls and {cases:,} cases in {time.perf_counter() - started:.0f} s"
        )
        month = preset_period("month", date(2027, 3, 1), BANGKOK)
        year = preset_period("fiscal_year", FIRST_DAY, BANGKOK)
        print(f"{'report':<22} {'best s':>7} {'median s':>9} {'goal s':>7}  figures")
        for name, period, goal in (("month (March 2027)", month, 1.0), ("FY 2570", year, 3.0)):
            seconds, report = await timed(db, period, runs)
            best, median = min(seconds), statistics.median(seconds)
            print(f"{name:<22} {best:>7.2f} {median:>9.2f} {goal:>7.1f}  {_figures(report)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.cases, args.runs))


if __name__ == "__main__":
    main()
