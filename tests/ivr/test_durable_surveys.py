"""Surveys are owed from what the database stored, not from a live event: calls that end
while PostgreSQL is really down get their survey once it is back, each exactly once."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from config.settings import load_settings
from hotline.app import create_app
from pbxsim import PbxSimulator
from tests.foundation.conftest import MONITOR, MONITORING_TOKEN
from tests.own_postgres import own_postgres
from tests.waiting import until, until_true


async def place_answered_call(sim: PbxSimulator, number: str) -> None:
    call = await sim.place_call("hotline", number)
    await until(lambda: call.ringing is not None, within=10.0)
    assert call.ringing is not None
    await sim.answer(call.ringing.member.interface)
    await sim.hangup(call, by="caller")


async def surveyed_numbers(url: str) -> list[str]:
    """The numbers with a survey row, or [] while the database cannot be reached."""
    try:
        conn = await asyncpg.connect(url, timeout=2)
    except (OSError, asyncpg.PostgresError):
        return []
    try:
        rows = await conn.fetch("SELECT caller_number FROM surveys ORDER BY caller_number")
    finally:
        await conn.close()
    return [r["caller_number"] for r in rows]


async def test_calls_that_end_while_postgresql_is_down_all_get_one_survey(
    tmp_path: Path,
) -> None:
    before = [f"081234500{n}" for n in range(3)]
    during = [f"081234501{n}" for n in range(3)]
    async with own_postgres() as (server, url), PbxSimulator.lab(speed=50.0) as sim:
        host, port = sim.address
        pbx = {"name": "pbx1", "host": host, "port": port, "username": "hotline"}
        settings = load_settings(
            database_url=url,
            data_dir=tmp_path,
            pbx=[{**pbx, "secret": "hotline"}],
            survey={"poll_interval_s": 0.2},
            security={"monitoring_token": MONITORING_TOKEN},
        )
        async with TestClient(TestServer(create_app(settings))) as client:

            async def link_up() -> bool:
                body = await (await client.get("/healthz", headers=MONITOR)).json()
                return all(part["up"] for part in body["pbx"])

            await until_true(link_up, within=10.0)
            for number in before:
                await place_answered_call(sim, number)

            async def surveyed(count: int) -> list[str]:
                numbers = await surveyed_numbers(url)
                return numbers if len(numbers) >= count else []

            await until_true(lambda: surveyed(len(before)), within=10.0)
            server.stop()
            for number in during:
                await place_answered_call(sim, number)
            server.start()
            await until_true(lambda: surveyed(len(before) + len(during)), within=30.0)
            assert await surveyed_numbers(url) == sorted(before + during)
