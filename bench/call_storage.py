"""Call storage: the whole AMI pipeline into PostgreSQL, saving each milestone directly vs.
through the write-behind CallWriter.

Run: `.venv/bin/python -m bench.call_storage [--passes N]`. Same workload as
bench.ami_throughput (every capture, Uniqueids renumbered per pass), over real TCP into a
fresh embedded PostgreSQL with durable commits. Wall-clock seconds; the writer's figure
includes the final flush, so both rows measure "until every record is stored".
"""

from __future__ import annotations

import argparse
import asyncio

from bench.ami_throughput import bench_end_to_end, build_stream, through_writer
from bench.database import fresh_database
from calls.repository import CallRepository
from database.pool import Database


async def run(stream: bytes, expected: int) -> list[tuple[str, float, int]]:
    rows: list[tuple[str, float, int]] = []
    async with fresh_database() as db:
        repo = CallRepository(db.pool)
        _, timing = await bench_end_to_end(stream, expected, repo)
        rows.append(("save per milestone", timing.wall, await _count(db)))
        await db.pool.execute("TRUNCATE calls, callers CASCADE")
        timing = await through_writer(stream, expected, repo)
        rows.append(("CallWriter (write-behind)", timing.wall, await _count(db)))
    return rows


async def _count(db: Database) -> int:
    return int(await db.pool.fetchval("SELECT count(*) FROM calls"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=20, help="workload repetitions")
    args = parser.parse_args()
    stream, expected = build_stream(args.passes)
    print(f"workload: {expected} events, {args.passes} passes")
    print(f"{'storage':<28} {'seconds':>8} {'events/s':>10} {'rows':>6}")
    for name, seconds, count in asyncio.run(run(stream, expected)):
        print(f"{name:<28} {seconds:>8.3f} {expected / seconds:>10,.0f} {count:>6}")


if __name__ == "__main__":
    main()
