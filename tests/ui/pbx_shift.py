"""The service following the PBX simulator over AMI, for tests of an agent's shift: agents
bound to one phone, logged in over HTTP, and a way to wait for the PBX to get there."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from accounts.users import UserRepository
from pbxsim import AgentPhone, PbxSimulator
from pbxsim.model import Member
from runtime.clock import SystemClock
from telephony.events import PbxSnapshot, TelephonyEvent
from tests.passwords import password_hash
from tests.ui.conftest import PASSWORD, Desk, build_app, open_page
from web.keys import db_key, event_subscribers_key

QUEUE = "1169"
PHONE = "PJSIP/agent101"


@dataclass
class Shift:
    sim: PbxSimulator
    server: TestServer
    sessions: list[aiohttp.ClientSession]

    async def agent(self, username: str = "somchai", *, penalty: int = 0) -> int:
        """An agent bound to PHONE whose profile allows QUEUE at `penalty`."""
        pool = self.server.app[db_key].pool
        user = await UserRepository(pool).create(
            username=username,
            display_name=username.title(),
            password_hash=await password_hash(PASSWORD),
            role="agent",
            pbx="sim",
            interface=PHONE,
            queues=(QUEUE,),
        )
        await pool.execute(
            "UPDATE agent_queues SET penalty = $1 WHERE user_id = $2", penalty, user.id
        )
        return user.id

    async def log_in(self, username: str = "somchai", page: str = "/panel") -> Desk:
        session = aiohttp.ClientSession(
            base_url=str(self.server.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        self.sessions.append(session)
        csrf = await open_page(session, username, page)
        user = await UserRepository(self.server.app[db_key].pool).credentials(username)
        assert user is not None
        return Desk(session, user[0].id, csrf)

    def member(self) -> Member | None:
        return next((m for m in self.sim.members(QUEUE) if m.interface == PHONE), None)


async def until(check: Callable[[], Awaitable[Any] | Any], what: str) -> Any:
    """Wait for the PBX or the service to get there (events travel over TCP)."""
    for _ in range(200):
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.025)
    raise AssertionError(f"never happened: {what}")


@contextlib.asynccontextmanager
async def serve(
    sim: PbxSimulator, db_url: str, data_dir: Path, **standards: float
) -> AsyncIterator[Shift]:
    """The service following `sim`, once it has its first snapshot of the PBX."""
    host, port = sim.address
    pbx = {"name": "sim", "host": host, "port": port, "username": "hotline", "secret": "hotline"}
    app = build_app(db_url, data_dir, SystemClock(), pbx=[pbx], **standards)
    synced = asyncio.Event()

    async def on_snapshot(event: TelephonyEvent) -> None:
        if isinstance(event, PbxSnapshot):
            synced.set()

    app[event_subscribers_key].append(on_snapshot)
    sessions: list[aiohttp.ClientSession] = []
    async with TestServer(app) as server:
        await asyncio.wait_for(synced.wait(), 10)
        try:
            yield Shift(sim, server, sessions)
        finally:
            for session in sessions:
                await session.close()


@contextlib.asynccontextmanager
async def shift_service(db_url: str, data_dir: Path, **standards: float) -> AsyncIterator[Shift]:
    sim = PbxSimulator()
    sim.add_queue(QUEUE)
    sim.set_agent_phone(PHONE, AgentPhone.manual())
    await sim.start()
    try:
        async with serve(sim, db_url, data_dir, **standards) as running:
            yield running
    finally:
        await sim.stop()
