"""The event loop's worst stall while the service exports and checks passwords: a ticker on
the service's loop asks to wake every 20 ms and records how late each wake-up is.

    .venv/bin/python -m bench.loop_stall [--cases 100000] [--calls 100000] [--logins 50]
                                         [--freeze]

On a throw-away database (bench.database) holding `cases` cases and `calls` calls over the
last four weeks, the real service runs in this process; its clients (aiohttp, same loop, a
small share of the work) then, one phase at a time: wait (the baseline), export the whole
register as XLSX and as CSV, export the supervisor report over every call as XLSX, and log
`logins` people in at once (a few with a wrong password or a name nobody has, timed apart:
the three must cost the same). Prints the lag's p50/p99/max per phase; the goal is a max
under 50 ms, which is what a screen-pop or the AMI reader would wait on top of their work.

A full garbage collection of the service's heap stalls the loop too, whatever triggered it;
each phase says how many ran and the longest, and `--freeze` shows the figures with the
objects made at start frozen out of the collector (gc.freeze()).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher

from bench.database import fresh_database
from config.settings import load_settings
from hotline.app import create_app
from hotline.logs import configure_logging

TICK_S = 0.02
PASSWORD = "bench password"
AGENTS = 20
QUEUES = ("general", "water", "roads")
#: One login in ten gives a wrong password, one in ten a name nobody has.
WRONG_EVERY, UNKNOWN_EVERY = 10, 10

_SEED = (
    """INSERT INTO users (username, display_name, password_hash, role)
    SELECT 'person' || g, 'Person ' || g, $HASH, CASE WHEN g = 0 THEN 'supervisor' ELSE 'agent' END
    FROM generate_series(0, $PEOPLE) g""",
    # Closed, or open and not yet due: nothing for the escalation job to catch up on.
    """INSERT INTO cases (reference, channel, case_type, topic, status, received_at, due_at,
        resolved_at, province, escalation_level)
    SELECT 'B-' || g,
           (ARRAY['phone', 'online', 'letter', 'email'])[1 + g % 4],
           (ARRAY['inquiry', 'complaint', 'suggestion'])[1 + g % 3],
           'เรื่องน้ำประปา หมู่ ' || g % 50,
           CASE WHEN g % 5 = 0 THEN 'received' ELSE 'closed' END,
           now() - make_interval(secs => g * 60),
           now() + interval '30 days',
           CASE WHEN g % 5 = 0 THEN NULL ELSE now() - make_interval(secs => g * 30) END,
           (ARRAY['กรุงเทพมหานคร', 'เชียงใหม่', 'น่าน'])[1 + g % 3], 0
    FROM generate_series(1, $CASES) g""",
    # One call every ~25 s over four weeks; one in ten abandoned.
    f"""INSERT INTO calls (call_key, pbx, queue, uniqueid, caller_number, caller_name, joined_at,
        answered_at, ended_at, agent_user_id, wait_s, ring_s, talk_s, abandoned, end_reason)
    SELECT 'bench/' || g, 'bench', (ARRAY{list(QUEUES)})[1 + g % 3], g::text,
           '08' || lpad((g % 5000)::text, 8, '0'), 'Caller ' || g % 5000, j,
           CASE WHEN g % 10 = 0 THEN NULL ELSE j + interval '15 s' END,
           j + CASE WHEN g % 10 = 0 THEN interval '40 s' ELSE interval '4 min' END,
           CASE WHEN g % 10 = 0 THEN NULL ELSE 2 + g % {AGENTS} END,
           CASE WHEN g % 10 = 0 THEN 40 ELSE 15 END, 3,
           CASE WHEN g % 10 = 0 THEN NULL ELSE 225 END,
           g % 10 = 0, CASE WHEN g % 10 = 0 THEN 'abandoned' ELSE 'completed' END
    FROM generate_series(1, $CALLS) g,
         LATERAL (SELECT now() - make_interval(secs => g * 2419200.0 / $CALLS)) AS t(j)""",
    "VACUUM (ANALYZE)",
)


class Ticker:
    """Sleeps `TICK_S` over and over on the loop and keeps how late each wake-up was, and how
    much of that lateness at most was the loop thread's own work: its CPU time while the tick
    waited. The rest is the machine's scheduler giving the CPU to someone else (which on a
    shared machine can dwarf what the service does) or another thread of this process
    holding the GIL."""

    def __init__(self) -> None:
        self.lags: list[tuple[float, float]] = []

    async def run(self) -> None:
        while True:
            asked, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(TICK_S)
            lag = time.perf_counter() - asked - TICK_S
            self.lags.append((lag, min(lag, time.thread_time() - cpu)))

    def take(self) -> list[tuple[float, float]]:
        lags, self.lags = self.lags, []
        return lags


async def seed(url: str, cases: int, calls: int, logins: int) -> None:
    password_hash = await asyncio.to_thread(PasswordHasher().hash, PASSWORD)
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        for statement in _SEED:
            sql = statement.replace("$CASES", str(cases)).replace("$CALLS", str(calls))
            sql = sql.replace("$PEOPLE", str(max(logins, AGENTS)))
            if "$HASH" in sql:
                await conn.execute(sql.replace("$HASH", "$1"), password_hash)
            else:
                await conn.execute(sql)
    finally:
        await conn.close()
    print(f"seeded {cases} cases and {calls} calls in {time.perf_counter() - started:.1f} s")


def browser(base: str) -> aiohttp.ClientSession:
    """A client that keeps its cookies, as a browser on the service's address would."""
    return aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def login_form(session: aiohttp.ClientSession) -> str:
    """Open the login page; its CSRF token."""
    async with session.get("/login") as page:
        html = await page.text()
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


async def log_in(session: aiohttp.ClientSession, token: str, username: str, password: str) -> int:
    form = {"username": username, "password": password, "csrf_token": token, "next": "/"}
    async with session.post("/login", data=form, allow_redirects=False) as response:
        return response.status


def download(session: aiohttp.ClientSession, path: str) -> Callable[[], Awaitable[str]]:
    async def fetch() -> str:
        async with session.get(path) as response:
            assert response.status == 200, f"{path}: {response.status}"
            size = len(await response.read())
        return f"{size / 1e3:,.0f} kB"

    return fetch


def attempt(n: int) -> tuple[str, str, str]:
    """The n-th login of a crowd: its kind, username and password."""
    if n % UNKNOWN_EVERY == 1:
        return "unknown", f"nobody{n}", PASSWORD
    if n % WRONG_EVERY == 2:
        return "wrong", f"person{n + 1}", "not the password"
    return "ok", f"person{n + 1}", PASSWORD


async def logins(base: str, count: int, at_once: bool) -> Callable[[], Awaitable[str]]:
    """`count` people, each in a browser of their own with the login page already open,
    pressing "log in" all together or one after another; the median answer time of each
    kind of login (alone, they show whether a refusal's speed tells anything)."""
    stack = AsyncExitStack()
    sessions = [await stack.enter_async_context(browser(base)) for _ in range(count)]
    tokens = [await login_form(session) for session in sessions]

    async def one(n: int) -> tuple[str, float]:
        kind, username, password = attempt(n)
        started = time.perf_counter()
        status = await log_in(sessions[n], tokens[n], username, password)
        assert status == (303 if kind == "ok" else 401), (kind, status)
        return kind, time.perf_counter() - started

    async def press() -> str:
        async with stack:
            if at_once:
                answers = await asyncio.gather(*(one(n) for n in range(count)))
            else:
                answers = [await one(n) for n in range(count)]
        times: dict[str, list[float]] = {}
        for kind, took in answers:
            times.setdefault(kind, []).append(took * 1000)
        medians = (f"{kind} {statistics.median(ms):.0f} ms" for kind, ms in times.items())
        return "median answer: " + ", ".join(medians)

    return press


class FullCollections:
    """Full garbage collections (generation 2) while a phase runs: how many, the longest."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0
        gc.callbacks.append(self._seen)

    def _seen(self, stage: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if stage == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)

    def take(self) -> str:
        pauses, self.pauses = self.pauses, []
        return f"{len(pauses)} ({max(pauses) * 1000:.0f} ms)" if pauses else "0"


def percentile(ordered: Sequence[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def phase(
    name: str, ticker: Ticker, collections: FullCollections, work: Callable[[], Awaitable[str]]
) -> None:
    """One load, its figures printed. The garbage left by what ran before is collected
    first, so a full collection it would have caused does not land in this phase."""
    gc.collect()
    await asyncio.sleep(2 * TICK_S)  # the tick the collection delayed belongs to no phase
    ticker.take()
    collections.take()
    started = time.perf_counter()
    outcome = await work()
    took = time.perf_counter() - started
    samples = ticker.take()
    lags = sorted(lag * 1000 for lag, _own in samples)
    own = max(own * 1000 for _lag, own in samples)
    print(
        f"{name:<30} {took:5.1f} s {len(lags):5d} {statistics.median(lags):6.1f} "
        f"{percentile(lags, 0.99):6.1f} {lags[-1]:6.1f} {own:6.1f}  {collections.take():<9} "
        f"{outcome}",
        flush=True,
    )


async def run(args: argparse.Namespace) -> None:
    async with fresh_database() as db:
        await seed(db.url, args.cases, args.calls, args.logins)
        with tempfile.TemporaryDirectory(prefix="hotline-bench-") as folder:
            await measure(db.url, Path(folder), args)


async def measure(url: str, folder: Path, args: argparse.Namespace) -> None:
    app = create_app(load_settings(database_url=url, data_dir=folder, log_level="warning"))
    async with TestServer(app) as server:
        base = str(server.make_url("/"))
        async with browser(base) as boss:
            assert await log_in(boss, await login_form(boss), "person0", PASSWORD) == 303
            since = time.strftime("%Y-%m-%d", time.localtime(time.time() - 29 * 86400))
            work = {
                "idle (baseline)": _idle,
                f"register XLSX, {args.cases} cases": download(boss, "/cases/export.xlsx"),
                f"register CSV, {args.cases} cases": download(boss, "/cases/export.csv"),
                f"report XLSX, {args.calls} calls": download(
                    boss, f"/supervisor/reports.xlsx?from={since}"
                ),
                f"{args.logins} logins at once": await logins(base, args.logins, at_once=True),
                f"{args.logins} logins one by one": await logins(base, args.logins, at_once=False),
            }
            if args.freeze:
                gc.freeze()
            ticker, collections = Ticker(), FullCollections()
            ticking = asyncio.create_task(ticker.run())
            print(f"\n{'ticker lag, ms (goal: max < 50)':<30} {'took':>7} {'ticks':>5} ", end="")
            print(f"{'p50':>6} {'p99':>6} {'max':>6} {'loop':>6}  full GCs")
            for name, step in work.items():
                await phase(name, ticker, collections, step)
            ticking.cancel()
            print(full_collection())


def full_collection() -> str:
    """What one full garbage collection of this process costs the loop, and what it costs
    once the objects made at start are frozen out of it (gc.freeze)."""
    gc.collect()
    started = time.perf_counter()
    gc.collect()
    full = time.perf_counter() - started
    gc.freeze()
    started = time.perf_counter()
    gc.collect()
    frozen = time.perf_counter() - started
    gc.unfreeze()
    return (
        f"a full garbage collection here stalls the loop {full * 1000:.0f} ms "
        f"({frozen * 1000:.1f} ms after gc.freeze())"
    )


async def _idle() -> str:
    await asyncio.sleep(3)
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--logins", type=int, default=50)
    parser.add_argument(
        "--freeze", action="store_true", help="gc.freeze() once the service has started"
    )
    args = parser.parse_args()
    configure_logging(level="warning")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
