"""The lab every fault scenario runs in: the PBX simulator with six agents writing its
queue_log into the suite's PostgreSQL, generated traffic, hotline's settings for it, and
the verdict read from the database once the traffic is over."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench.fault_judge import judge, true_calls
from pbxsim import PbxSimulator
from pbxsim.generator import TrafficProfile
from pbxsim.phones import CustomerPhone

PBX = "pbx1"
QUEUE_LOG_TABLE = "asterisk.queue_log"
# Short calls, few holds, no transfers: many calls of every outcome in a minute or two.
PROFILE = TrafficProfile(
    rate=2.0, talk_mean=6.0, patience_mean=8.0, hold_ratio=0.1, hold_mean=2.0,
    transfer_ratio=0.0, ring_min=0.5, ring_max=2.0, pause_every=1e9,
)  # fmt: skip
# Every answered call is surveyed at once, at any hour, so each is owed exactly one survey
# call; a dialled survey whose dialer died is looked at again after 10 s, not 2 minutes.
SURVEY = {
    "delay_after_hangup": 0,
    "window_start": "00:00",
    "window_end": "23:59:59",
    "call_on_holidays": True,
    "call_on_weekends": True,
    "poll_interval_s": 0.5,
    "max_channels": 20,
    "ring_timeout_ms": 5000,
    "dial_lease": 10,
    "backoff": [2, 2],
}
OPEN_SURVEYS = "SELECT count(*) FROM surveys WHERE status IN ('pending', 'dialing', 'in_progress')"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def simulator(database_url: str, agi_port: int) -> PbxSimulator:
    """The PBX: six agents, its queue_log into `database_url`, surveys dialled to hotline's
    FastAGI port and answered with a 1 by every customer."""
    return PbxSimulator.lab(
        agents=6,
        timestamp_events=True,
        queue_log_url=database_url,
        agi_port=agi_port,
        default_customer_phone=CustomerPhone.answers("1", ring=0.5, after=0.5),
    )


def hotline_settings(database_url: str, ami: tuple[str, int], agi_port: int) -> dict[str, Any]:
    """hotline's settings for the lab, as plain values (keyword arguments or environment)."""
    host, port = ami
    pbx = {"name": PBX, "host": host, "port": port, "username": "hotline", "secret": "hotline"}
    return {
        "database_url": database_url,
        "agi_port": agi_port,
        "pbx": [{**pbx, "queue_log_table": QUEUE_LOG_TABLE}],
        "survey": SURVEY,
    }


@dataclass
class Verdict:
    counts: Counter[str]
    seconds: float


async def _read(url: str) -> tuple[list[dict[str, Any]], int] | None:
    """hotline's call rows and how many surveys are still open; None while unreachable."""
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        rows = await conn.fetch(
            "SELECT uniqueid, end_reason, joined_at, answered_at, ended_at FROM calls "
            "WHERE pbx = $1",
            PBX,
        )
        return [dict(r) for r in rows], int(await conn.fetchval(OPEN_SURVEYS))
    finally:
        await conn.close()


async def verdict(sim: PbxSimulator, url: str, started: float, within: float = 90.0) -> Verdict:
    """Wait until hotline has stored every call and phoned every owed survey with none still
    open (or `within` s passed), then count against the simulator's record."""
    await sim.queue_log.flush()
    calls = true_calls(sim.queue_log.rows)
    callids = {row.callid for row in sim.queue_log.rows}
    deadline = time.monotonic() + within
    counts: Counter[str] = Counter()
    while True:
        read = await _read(url)
        if read is not None:
            stored, open_surveys = read
            dialled = [c.number for c in sim.originate.calls]
            counts = judge(calls, stored, dialled, callids)
            in_progress = any(not c.ended.is_set() for c in sim.originate.calls)
            settled = not (counts["lost"] or counts["surveys lost"] or open_surveys)
            if settled and not in_progress:
                break
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    return Verdict(counts, time.monotonic() - started)
