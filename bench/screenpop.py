"""Screen-pop latency: from the PBX simulator sending AgentCalled to the pop arriving on the
ringing agent's WebSocket, through AMI, the call tracker, the pop query and the hub.

    .venv/bin/python bench/screenpop.py [--agents 300] [--rate 20] [--seconds 30]

It builds a database of 1M calls and 200k cases with generate_series (embedded PostgreSQL
unless DATABASE_URL is set; the data is generated once per run), starts the real service
with the simulator over TCP, connects one panel per agent and places `rate` calls a second
from callers with history. Prints p50/p99/max in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp.test_utils import TestServer
from yarl import URL

from accounts.users import UserRepository
from config.settings import load_settings
from database.migrate import apply_migrations
from database.pool import EmbeddedPostgres, database_url_for
from hotline.app import create_app
from hotline.logs import configure_logging
from pbxsim import AgentPhone, PbxSimulator
from telephony.events import AgentRinging, PbxSnapshot, TelephonyEvent, make_call_key
from web.auth import SESSION_COOKIE, token_hash
from web.keys import db_key, event_subscribers_key

PBX, QUEUE = "sim", "bench"
CALLERS, CALLS, CASES, SURVEYS = 200_000, 1_000_000, 200_000, 100_000

_GENERATE = [
    f"""INSERT INTO users (username, display_name, password_hash, role, pbx, interface)
    SELECT 'agent' || g, 'Agent ' || g, 'x', 'agent', '{PBX}', 'PJSIP/a' || g
    FROM generate_series(1, $AGENTS) g""",
    f"INSERT INTO queues (pbx, name) VALUES ('{PBX}', '{QUEUE}')",
    "INSERT INTO agent_queues (user_id, queue_id) SELECT u.id, q.id FROM users u, queues q",
    f"""INSERT INTO callers (number, name, occupation, province)
    SELECT '08' || lpad(g::text, 8, '0'), 'Caller ' || g,
           (ARRAY['farmer', 'student', 'officer', 'trader'])[1 + g % 4], 'Bangkok'
    FROM generate_series(1, {CALLERS}) g""",
    f"""INSERT INTO calls (call_key, pbx, queue, uniqueid, caller_id, caller_number, joined_at,
        answered_at, ended_at, agent_user_id, wait_s, talk_s)
    SELECT 'old/' || g, 'old', '{QUEUE}', g::text, 1 + g % {CALLERS},
           '08' || lpad((1 + g % {CALLERS})::text, 8, '0'),
           now() - make_interval(mins => g), now() - make_interval(mins => g) + interval '20 s',
           now() - make_interval(mins => g) + interval '5 min', 1 + g % $AGENTS, 20, 280
    FROM generate_series(1, {CALLS}) g""",
    # Open cases past due were escalated long ago (the steady state), not all at start.
    f"""INSERT INTO cases (reference, caller_id, channel, case_type, topic, status, received_at,
        due_at, escalation_level)
    SELECT 'B-' || g, 1 + g % {CALLERS}, 'phone', 'complaint', 'Topic ' || g % 50,
           CASE WHEN g % 5 = 0 THEN 'forwarded' ELSE 'closed' END,
           now() - make_interval(mins => 5 * g),
           now() - make_interval(mins => 5 * g) + interval '3 d',
           CASE WHEN g % 5 = 0 THEN 3 ELSE 0 END
    FROM generate_series(1, {CASES}) g""",
    f"""INSERT INTO surveys (id, call_id, caller_number, pbx, status, not_before, expires_at,
        rating, rated_at)
    SELECT gen_random_uuid(), g, '08' || lpad((1 + g % {CALLERS})::text, 8, '0'), 'old',
           'completed', now(), now(), 1 + g % 3, now() - make_interval(mins => g)
    FROM generate_series(1, {SURVEYS}) g""",
    "VACUUM (ANALYZE)",
    "CHECKPOINT",
]


async def build_database(server_url: str, agents: int) -> str:
    name = f"hotline_bench_{os.getpid()}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = database_url_for(server_url, name)
    await apply_migrations(url)
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        for statement in _GENERATE:
            await conn.execute(statement.replace("$AGENTS", str(agents)))
    finally:
        await conn.close()
    print(f"generated {CALLS} calls, {CASES} cases in {time.perf_counter() - started:.1f} s")
    return url


class Stopwatch:
    """When each AgentCalled left the simulator and when its pop reached the panel.

    Both ends read CLOCK_MONOTONIC (`time.perf_counter` on Linux), which is one clock for
    every process on the machine.
    """

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.samples: list[tuple[str, float, float]] = []

    def watch(self, sim: PbxSimulator) -> None:
        broadcast = sim.server.broadcast

        def timed(fields: Any) -> None:
            pairs = dict(fields)
            if pairs.get("Event") == "AgentCalled":
                key = make_call_key(PBX, pairs["Queue"], pairs["Uniqueid"])
                self.sent[key] = time.perf_counter()
            broadcast(fields)

        sim.server.broadcast = timed  # type: ignore[method-assign]

    def arrived(self, call_key: str) -> None:
        sent = self.sent.pop(call_key, None)
        if sent is not None:
            self.samples.append((call_key, sent, time.perf_counter()))


async def panel_client(
    base: str, token: str, watch: Stopwatch, stop: asyncio.Event, ready: asyncio.Semaphore
) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({SESSION_COOKIE: token}, response_url=URL(base))
    async with aiohttp.ClientSession(base_url=base, cookie_jar=jar) as session:
        async with session.get("/panel/state") as response:
            state = await response.json()
        query = {"since": str(state["last_event_id"]), "epoch": state["epoch"]}
        async with session.ws_connect("/panel/ws", params=query) as ws:
            ready.release()
            await receive_pops(ws, watch, stop)


async def receive_pops(
    ws: aiohttp.ClientWebSocketResponse, watch: Stopwatch, stop: asyncio.Event
) -> None:
    """What a panel does with its socket, as far as the measurement goes."""
    while not stop.is_set():
        try:
            message = await ws.receive(timeout=0.5)
        except TimeoutError:
            continue
        if message.type != aiohttp.WSMsgType.TEXT:
            return
        event = json.loads(message.data)
        if event["type"] == "pop":
            watch.arrived(event["data"]["call"]["call_key"])


async def caller(sim: PbxSimulator, number: str, name: str, talk_s: float) -> None:
    """One caller: dials in, is answered by whichever agent the queue rings, hangs up."""
    call = await sim.place_call(QUEUE, number, name)
    await call.connected.wait()
    await asyncio.sleep(talk_s)
    await sim.hangup(call)


async def load(pipe: Connection, args: argparse.Namespace) -> None:
    """The outside world, in a process of its own: the PBX, the callers and the browsers."""
    watch = Stopwatch()
    sim = PbxSimulator(history=1000)
    sim.add_queue(QUEUE)
    sim.set_default_agent_phone(AgentPhone.answers_after(0.3))
    for n in range(1, args.agents + 1):
        sim.add_member(QUEUE, f"PJSIP/a{n}", f"Agent {n}", dynamic=False)
    watch.watch(sim)
    pipe.send(await sim.start())
    base, tokens = await asyncio.to_thread(pipe.recv)
    stop, ready = asyncio.Event(), asyncio.Semaphore(0)
    clients = [asyncio.create_task(panel_client(base, t, watch, stop, ready)) for t in tokens]
    for _ in clients:
        await ready.acquire()
    gc.freeze()
    print(f"{len(clients)} panels connected; {args.rate} calls/s for {args.seconds} s")
    total = int(args.rate * args.seconds)
    callers: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    for n in range(total):
        await asyncio.sleep(max(0.0, started + n / args.rate - time.perf_counter()))
        number = "08" + str(1 + (n * 7919) % CALLERS).zfill(8)
        callers.append(asyncio.create_task(caller(sim, number, f"Caller {n}", args.talk)))
    await asyncio.gather(*callers)
    await asyncio.sleep(1)
    stop.set()
    await asyncio.gather(*clients, return_exceptions=True)
    await sim.stop()
    pipe.send((watch.samples, total))


def load_process(pipe: Connection, args: argparse.Namespace) -> None:
    configure_logging(level="warning")
    asyncio.run(load(pipe, args))


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    external = os.environ.get("DATABASE_URL")
    embedded = None if external else EmbeddedPostgres(folder / "pg")
    try:
        if embedded is not None:
            server_url = await asyncio.to_thread(embedded.start)
        else:
            assert external is not None
            server_url = external
        url = await build_database(server_url, args.agents)
        await serve(url, folder, args)
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        shutil.rmtree(folder, ignore_errors=True)


async def serve(url: str, folder: Path, args: argparse.Namespace) -> None:
    """The service under test in this process; the load in another."""
    pipe, child_end = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=load_process, args=(child_end, args)
    )
    child.start()
    host, port = await asyncio.to_thread(pipe.recv)
    pbx = {"name": PBX, "host": host, "port": port, "username": "hotline", "secret": "hotline"}
    app = create_app(
        load_settings(database_url=url, data_dir=folder, log_level="warning", pbx=[pbx])
    )
    synced = asyncio.Event()
    rang: dict[str, float] = {}

    async def observe(event: TelephonyEvent) -> None:
        """When the service's subscribers got each ring: splits AMI from panel time."""
        if isinstance(event, PbxSnapshot):
            synced.set()
        elif isinstance(event, AgentRinging):
            rang[event.call_key] = time.perf_counter()

    app[event_subscribers_key].append(observe)
    async with TestServer(app) as server:
        pool = app[db_key].pool
        await asyncio.wait_for(synced.wait(), 30)
        pipe.send((str(server.make_url("/")), await open_sessions(pool)))
        samples, placed = await asyncio.to_thread(pipe.recv)
    await asyncio.to_thread(child.join)
    report("total", [(arrived - sent) * 1000 for _key, sent, arrived in samples], placed)
    seen = [(key, sent, arrived) for key, sent, arrived in samples if key in rang]
    report("  PBX -> service", [(rang[key] - sent) * 1000 for key, sent, _ in seen], placed)
    report("  service -> panel", [(arrived - rang[key]) * 1000 for key, _, arrived in seen], placed)


async def open_sessions(pool: asyncpg.Pool) -> list[str]:
    """A logged-in session per agent, straight in the database (no password hashing)."""
    users = UserRepository(pool)
    expires = datetime.now(UTC) + timedelta(hours=1)
    tokens = []
    for row in await pool.fetch("SELECT id FROM users ORDER BY id"):
        token = secrets.token_urlsafe(32)
        await users.open_session(
            token_hash(token),
            row["id"],
            secrets.token_urlsafe(8),
            expires,
            now=datetime.now(UTC),
            keep=1,
        )
        tokens.append(token)
    return tokens


def report(label: str, latencies: Sequence[float], placed: int) -> None:
    if not latencies:
        print(f"{label}: no pops arrived")
        return
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{label}: pops {len(ordered)}/{placed}  p50 {statistics.median(ordered):.1f} ms  "
        f"p99 {p99:.1f} ms  max {ordered[-1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="new calls per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--talk", type=float, default=3.0, help="seconds each call lasts")
    args = parser.parse_args()
    configure_logging(level="warning")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
