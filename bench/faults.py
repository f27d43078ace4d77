"""`python -m bench.faults` (`make faults`): issue 11's fault-injection suite.

Each scenario runs a real `hotline serve` (bench/fault_service.py) following the PBX
simulator, which places generated traffic and writes Asterisk's queue_log into a
PostgreSQL server the suite starts itself, and breaks something under that traffic:

* cuts: the AMI link cut for 1-5 s at random moments, through a TCP proxy;
* kills: hotline killed (SIGKILL, and once SIGTERM) and started again 5-15 s later;
* postgres: the PostgreSQL server stopped for a minute, then started on the same data;
* fuzz: damaged AMI frames mixed into the real events (bench/fault_frames.py).

When the traffic is over, the simulator's own record (its queue_log rows and the survey
calls it was asked to originate) is the judge (bench/fault_judge.py): lost, doubled,
wrong outcome, times off by more than 1 s, surveys lost, customers phoned twice, phantom
calls. hotline's own figures are never asked.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.fault_frames import inject
from bench.fault_judge import COUNTS, TIMES
from bench.fault_lab import PROFILE, free_port, hotline_settings, simulator, verdict
from bench.fault_service import HotlineProcess, environment
from database.pool import EmbeddedPostgres
from hotline.logs import configure_logging
from pbxsim import PbxSimulator
from pbxsim.generator import TrafficGenerator
from tests.own_postgres import own_postgres
from tests.tcp_proxy import TcpProxy


@dataclass(frozen=True)
class Size:
    """How hard each scenario pushes: the issue's goal (FULL) or `make test`'s (SHORT)."""

    calls: int
    cuts: int
    kills: int
    postgres_down_s: float
    frames: int
    seed: int = 1


FULL = Size(calls=100, cuts=15, kills=4, postgres_down_s=60.0, frames=10_000)
SHORT = Size(calls=15, cuts=3, kills=1, postgres_down_s=5.0, frames=500)


@dataclass
class Lab:
    sim: PbxSimulator
    server: EmbeddedPostgres
    url: str
    hotline: HotlineProcess
    rng: random.Random
    proxy: TcpProxy | None

    async def traffic(self, calls: int, seed: int) -> None:
        await TrafficGenerator(self.sim, "hotline", PROFILE, seed=seed).run(calls)


@asynccontextmanager
async def lab(size: Size, proxied: bool = False) -> AsyncIterator[Lab]:
    """The PostgreSQL server, the simulator and a started hotline following it (through a
    TCP proxy when `proxied`); hotline gets a SIGTERM at the end."""
    agi_port = free_port()
    async with own_postgres() as (server, url), simulator(url, agi_port) as sim:
        proxy = TcpProxy(sim.address) if proxied else None
        ami = sim.address if proxy is None else await proxy.start()
        with tempfile.TemporaryDirectory(prefix="hl-faults-") as folder:
            settings = hotline_settings(url, ami, agi_port)
            env = environment(settings, Path(folder), free_port())
            hotline = HotlineProcess(env, Path(folder) / "hotline.log")
            await hotline.start()
            try:
                rng = random.Random(f"{size.seed}:faults")
                yield Lab(sim, server, url, hotline, rng, proxy)
            finally:
                await hotline.stop(signal.SIGTERM)
                if proxy is not None:
                    await proxy.close()


Result = tuple[Counter[str], str]


async def ami_cuts(size: Size) -> Result:
    """At least `size.cuts` cuts of 1-5 s, every 0.5-2.5 s, while the calls go on."""
    async with lab(size, proxied=True) as it:
        assert it.proxy is not None
        proxy = it.proxy
        started = time.monotonic()
        traffic = asyncio.create_task(it.traffic(size.calls, size.seed))
        cuts = 0
        while cuts < size.cuts or not traffic.done():
            await asyncio.sleep(it.rng.uniform(0.5, 2.5))
            proxy.cut()
            cuts += 1
            await asyncio.sleep(it.rng.uniform(1.0, 5.0))
            proxy.restore()
        await traffic
        judged = await verdict(it.sim, it.url, started)
    return judged.counts, f"{cuts} AMI cuts of 1-5 s, {judged.seconds:.0f} s"


async def hotline_kills(size: Size) -> Result:
    """`size.kills` SIGKILLs and one SIGTERM, each after 3-8 s up, each followed by 5-15 s
    down, while the calls go on."""
    async with lab(size) as it:
        started = time.monotonic()
        traffic = asyncio.create_task(it.traffic(size.calls, size.seed))
        signals = [signal.SIGKILL] * size.kills + [signal.SIGTERM]
        down = 0.0
        for how in signals:
            await asyncio.sleep(it.rng.uniform(3.0, 8.0))
            await it.hotline.stop(how)
            pause = it.rng.uniform(5.0, 15.0)
            down += pause
            await asyncio.sleep(pause)
            await it.hotline.start()
        await traffic
        judged = await verdict(it.sim, it.url, started)
    what = f"{size.kills} SIGKILLs and 1 SIGTERM, {down:.0f} s down in all"
    return judged.counts, f"{what}, {judged.seconds:.0f} s"


async def postgres_outage(size: Size) -> Result:
    """The server stopped (`pg_ctl stop -m fast`) 5 s into the traffic and started again on
    the same data folder and port `size.postgres_down_s` later; the traffic outlasts it."""
    calls = size.calls + int(PROFILE.rate * size.postgres_down_s)
    async with lab(size) as it:
        started = time.monotonic()
        traffic = asyncio.create_task(it.traffic(calls, size.seed))
        await asyncio.sleep(5.0)
        await asyncio.to_thread(it.server.stop)
        await asyncio.sleep(size.postgres_down_s)
        await asyncio.to_thread(it.server.start)
        await traffic
        judged = await verdict(it.sim, it.url, started)
    what = f"PostgreSQL down {size.postgres_down_s:.0f} s"
    return judged.counts, f"{what}, {judged.seconds:.0f} s"


async def fuzzed_frames(size: Size) -> Result:
    """`size.frames` damaged frames spread over the traffic's expected length."""
    async with lab(size) as it:
        started = time.monotonic()
        per_second = size.frames / (size.calls / PROFILE.rate)
        fuzz = asyncio.create_task(inject(it.sim, size.frames, per_second, size.seed))
        await it.traffic(size.calls, size.seed)
        frames = await fuzz
        judged = await verdict(it.sim, it.url, started)
    return judged.counts, f"{frames} fuzzed frames, {judged.seconds:.0f} s"


SCENARIOS: dict[str, Callable[[Size], Awaitable[Result]]] = {
    "cuts": ami_cuts,
    "kills": hotline_kills,
    "postgres": postgres_outage,
    "fuzz": fuzzed_frames,
}


def report(name: str, counts: Counter[str], what: str) -> str:
    lines = [f"{name}: {counts['calls']} calls, {counts['surveys owed']} surveys owed; {what}"]
    lines += [f"  {count:16} {counts[count]}" for count in COUNTS]
    which = ", ".join(f"{t} {counts[f'{t} off']}" for t in TIMES if counts[f"{t} off"])
    if which:
        lines.append(f"  (times off: {which})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help=f"some of {', '.join(SCENARIOS)}")
    parser.add_argument("--short", action="store_true", help="make test's small sizes")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    configure_logging(level="error")
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    size = SHORT if args.short else FULL
    size = Size(size.calls, size.cuts, size.kills, size.postgres_down_s, size.frames, args.seed)
    for name in args.scenarios or SCENARIOS:
        counts, what = asyncio.run(SCENARIOS[name](size))
        print(report(name, counts, what), flush=True)


if __name__ == "__main__":
    main()
