"""The real service following the PBX simulator over AMI, with a supervisor bound to the
phone PJSIP/super201, one without a phone, and the agent Anan on PJSIP/agent101: what the
listen / whisper / barge tests (HTTP and Chromium) run against."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from aiohttp.test_utils import TestServer

from accounts.users import User, UserRepository
from pbxsim import AgentPhone, CustomerPhone, PbxSimulator
from pbxsim.queue_calls import QueueCall
from runtime.clock import SystemClock
from telephony.events import CallAnswered, PbxSnapshot, TelephonyEvent
from tests.foundation.conftest import PASSWORD, csrf_from, log_in
from tests.passwords import password_hash
from tests.ui.conftest import build_app
from tests.waiting import until
from web.keys import db_key, event_subscribers_key

QUEUE = "1169"
AGENT = "PJSIP/agent101"
SUPERVISOR_PHONE = "PJSIP/super201"


@dataclass
class Browser:
    """A logged-in person's cookie jar and CSRF token."""

    session: aiohttp.ClientSession
    csrf: str

    async def post(self, path: str, **data: str) -> tuple[int, Any]:
        response = await self.session.post(
            path, data=data, headers={"X-CSRF-Token": self.csrf, "Accept": "application/json"}
        )
        return response.status, await response.json()


@dataclass
class SpySite:
    sim: PbxSimulator
    server: TestServer
    supervisor: User
    agent: User
    answered: list[str]

    async def browser(self, username: str) -> Browser:
        session = aiohttp.ClientSession(
            base_url=str(self.server.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        assert await log_in(session, username) == 303
        page = await session.get("/supervisor/spies" if username != "anan" else "/panel")
        return Browser(session, csrf_from(await page.text()))

    async def talking_call(self) -> tuple[QueueCall, str]:
        """A caller answered by Anan; the call key once hotline follows the call."""
        call = await self.sim.place_call(QUEUE, "0811000601", "Spied Caller")
        await self.sim.answer(AGENT)
        await until(lambda: self.answered, within=10)
        return call, self.answered[-1]

    async def audit(self) -> list[dict[str, Any]]:
        rows = await self.server.app[db_key].pool.fetch("SELECT * FROM spy_audit ORDER BY id")
        return [dict(r) for r in rows]


async def _person(app: Any, username: str, role: str, **phone: str) -> User:
    return await UserRepository(app[db_key].pool).create(
        username=username,
        display_name=username.title(),
        password_hash=await password_hash(PASSWORD),
        role=role,
        language="en",
        **phone,
    )


@pytest_asyncio.fixture(loop_scope="function")
async def spy_site(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[SpySite]:
    sim = PbxSimulator()
    sim.add_queue(QUEUE)
    sim.add_member(QUEUE, AGENT, "Anan", phone=AgentPhone.manual())
    sim.set_customer_phone(SUPERVISOR_PHONE, CustomerPhone(ring=0.2))
    host, port = await sim.start()
    pbx = {"name": "sim", "host": host, "port": port, "username": "hotline", "secret": "hotline"}
    app = build_app(fresh_db_url, tmp_path, SystemClock(), pbx=[pbx])
    synced, answered = asyncio.Event(), []

    async def follow(event: TelephonyEvent) -> None:
        if isinstance(event, PbxSnapshot):
            synced.set()
        if isinstance(event, CallAnswered):
            answered.append(event.call_key)

    app[event_subscribers_key].append(follow)
    async with TestServer(app) as server:
        await asyncio.wait_for(synced.wait(), 10)
        supervisor = await _person(app, "suda", "supervisor", pbx="sim", interface=SUPERVISOR_PHONE)
        await _person(app, "nophone", "supervisor")
        agent = await _person(app, "anan", "agent", pbx="sim", interface=AGENT)
        yield SpySite(sim, server, supervisor, agent, answered)
    await sim.stop()
