"""`python -m bench.faults` (`make faults`): calls under AMI cuts, judged against the PBX.

The simulator places generated traffic and writes Asterisk's queue_log into the service's
PostgreSQL; a TCP proxy between it and the service cuts the AMI link at random moments for
1-5 s. When the traffic is over, every call the simulator's own queue_log records is looked
up in the service's `calls` table and counted: lost (no row), doubled (more than one row),
wrong outcome, and a join, answer or end time off by more than a second. The service's own
figures are never the judge. The first scenario of issue 11's suite: hotline killed and
restarted and PostgreSQL stopped under traffic are still to come.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from bench.database import fresh_database
from config.settings import load_settings
from hotline.app import create_app
from hotline.logs import configure_logging
from pbxsim import PbxSimulator
from pbxsim.generator import TrafficGenerator, TrafficProfile
from pbxsim.queue_log import QueueLogRow
from tests.tcp_proxy import TcpProxy
from web.keys import call_writer_key, telephony_key

# How app_queue ends a queue call in queue_log, and what hotline must have stored for it.
ENDS = {
    "COMPLETECALLER": "completed",
    "COMPLETEAGENT": "completed",
    "ABANDON": "abandoned",
    "EXITWITHTIMEOUT": "timeout",
    "EXITWITHKEY": "key",
    "BLINDTRANSFER": "transferred",
    "ATTENDEDTRANSFER": "transferred",
}
TOLERANCE_S = 1.0


def truth(rows: list[QueueLogRow]) -> dict[str, dict[str, Any]]:
    """Each queue call the simulator recorded, by callid: its outcome and times."""
    by_call: dict[str, list[QueueLogRow]] = defaultdict(list)
    for row in rows:
        if row.callid not in ("NONE", "MANAGER", "REALTIME"):
            by_call[row.callid].append(row)
    calls = {}
    for callid, events in by_call.items():
        names = {row.event: row for row in events}
        end = next((row for row in events if row.event in ENDS), None)
        if "ENTERQUEUE" not in names or end is None:
            continue
        connect = names.get("CONNECT")
        calls[callid] = {
            "end_reason": ENDS[end.event],
            "joined_at": names["ENTERQUEUE"].time.replace(tzinfo=UTC),
            "answered_at": connect.time.replace(tzinfo=UTC) if connect else None,
            "ended_at": end.time.replace(tzinfo=UTC),
        }
    return calls


def off(stored: datetime | None, true: datetime | None) -> bool:
    if stored is None or true is None:
        return stored is not true
    return abs((stored - true).total_seconds()) > TOLERANCE_S


def judge(true_calls: dict[str, dict[str, Any]], stored: list[dict[str, Any]]) -> Counter[str]:
    """The four counts of the suite, plus how many calls were judged."""
    rows_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in stored:
        rows_of[row["uniqueid"]].append(row)
    counts: Counter[str] = Counter(calls=len(true_calls))
    for callid, expected in true_calls.items():
        rows = rows_of.get(callid, [])
        if not rows:
            counts["lost"] += 1
            continue
        if len(rows) > 1:
            counts["doubled"] += 1
        row = rows[0]
        if row["end_reason"] != expected["end_reason"]:
            counts["wrong outcome"] += 1
        if any(off(row[k], expected[k]) for k in ("joined_at", "answered_at", "ended_at")):
            counts["times off > 1 s"] += 1
    return counts


async def cut_at_random(proxy: TcpProxy, stop: asyncio.Event, rng: random.Random) -> int:
    """Cut the AMI link for 1-5 s every few seconds until `stop`; how many cuts."""
    cuts = 0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(2.0, 6.0))
            break
        except TimeoutError:
            pass
        proxy.cut()
        cuts += 1
        await asyncio.sleep(rng.uniform(1.0, 5.0))
        proxy.restore()
    return cuts


async def settle(server: TestServer, seconds: float) -> None:
    """Wait for the link to be back and the writer to have stored what it holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(h.up for h in server.app[telephony_key].health()):
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(3.0)  # the snapshot after the reconnect, then queue_log's recovery
    await server.app[call_writer_key].flush()


async def run(calls: int, seed: int) -> Counter[str]:
    profile = TrafficProfile(
        rate=2.0, talk_mean=6.0, patience_mean=8.0, hold_ratio=0.1, hold_mean=2.0,
        transfer_ratio=0.0, ring_min=0.5, ring_max=2.0, pause_every=1e9,
    )  # fmt: skip
    async with fresh_database("hotline-faults-") as db:
        sim = PbxSimulator.lab(agents=6, timestamp_events=True, queue_log_url=db.url)
        async with sim:
            proxy = TcpProxy(sim.address)
            host, port = await proxy.start()
            pbx = {"name": "pbx1", "host": host, "port": port, "username": "hotline"}
            with tempfile.TemporaryDirectory() as data_dir:
                settings = load_settings(
                    database_url=db.url,
                    data_dir=Path(data_dir),
                    pbx=[{**pbx, "secret": "hotline", "queue_log_table": "asterisk.queue_log"}],
                )
                async with TestServer(create_app(settings)) as server:
                    await settle(server, 10.0)
                    stop = asyncio.Event()
                    cutter = asyncio.create_task(cut_at_random(proxy, stop, random.Random(seed)))
                    await TrafficGenerator(sim, "hotline", profile, seed=seed).run(calls)
                    stop.set()
                    cuts = await cutter
                    await settle(server, 30.0)
                    await sim.queue_log.flush()
                    rows = await db.pool.fetch(
                        "SELECT uniqueid, end_reason, joined_at, answered_at, ended_at "
                        "FROM calls WHERE pbx = 'pbx1'"
                    )
            await proxy.close()
        counts = judge(truth(sim.queue_log.rows), [dict(r) for r in rows])
        counts["cuts"] = cuts
        return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    configure_logging(level="error")
    counts = asyncio.run(run(args.calls, args.seed))
    print(f"{counts['calls']} calls judged, {counts['cuts']} AMI cuts of 1-5 s")
    for name in ("lost", "doubled", "wrong outcome", "times off > 1 s"):
        print(f"  {name:18} {counts[name]}")


if __name__ == "__main__":
    main()
