"""`hotline demo` on a fresh data folder: it starts, prints the logins, and an agent gets in."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import aiohttp

from demo.shift import ShiftPlan, SimulatedAgent
from tests.foundation.conftest import MONITOR, MONITORING_TOKEN, log_in
from tests.foundation.processes import clean_environment, free_port, hotline
from tests.ui.conftest import PASSWORD
from tests.ui.pbx_shift import PHONE, QUEUE, shift_service, until
from web.keys import db_key


async def test_the_demo_starts_and_a_demo_agent_can_log_in(tmp_path: Path) -> None:
    web_port = free_port()
    env = clean_environment(
        HOTLINE_DATA_DIR=str(tmp_path / "var"),
        HOTLINE_WEB_PORT=str(web_port),
        HOTLINE_AGI_PORT=str(free_port()),
        HOTLINE_LOG_LEVEL="warning",
        HOTLINE_SECURITY__MONITORING_TOKEN=MONITORING_TOKEN,
    )
    async with hotline("demo", env, ready="Ctrl-C") as output:
        printed = output.text
        assert f"http://127.0.0.1:{web_port}/" in printed
        password = re.search(r"^\s+agent1\s+(\S+)\s+agent$", printed, flags=re.M)
        assert password, printed
        boss = re.search(r"^\s+supervisor\s+(\S+)\s+supervisor$", printed, flags=re.M)
        assert boss, printed
        jar = aiohttp.CookieJar(unsafe=True)  # cookies from an IP address, as browsers keep
        async with aiohttp.ClientSession(f"http://127.0.0.1:{web_port}", cookie_jar=jar) as browser:
            assert await log_in(browser, "supervisor", boss.group(1)) == 303
            caught = await browser.get("/demo/mails")
            assert caught.status == 200 and 'id="no-mail"' in await caught.text()
            board = await (await browser.get("/supervisor/live.json")).json()
            phones = {agent["interface"] for agent in board["board"]["agents"]}
            assert "PJSIP/agent101" not in phones, "agent1 is in no queue before logging in"
            jar.clear()
            assert await log_in(browser, "agent1", password.group(1)) == 303
            health = await (await browser.get("/healthz", headers=MONITOR)).json()
            assert health["pbx"][0]["name"] == "demo"
            assert health["database"]["up"]


async def test_a_simulated_demo_agent_works_a_whole_shift_through_the_panel(
    fresh_db_url: str, tmp_path: Path
) -> None:
    """Signed out, then signed in and Ready, a call, wrap-up with a code, signed out: all
    through the service's HTTP paths, which tell the PBX."""
    async with shift_service(fresh_db_url, tmp_path, wrapup_s=60) as shift:
        await shift.agent()
        assert shift.member() is None
        plan = ShiftPlan(shift_s=4.0, off_s=60.0, wrapup_min_s=0.1, wrapup_max_s=0.2)
        agent = SimulatedAgent(
            str(shift.server.make_url("")),
            "somchai",
            PASSWORD,
            pause_codes=["break"],
            wrapup_codes=["resolved"],
            plan=plan,
            seed=1,
        )
        task = asyncio.create_task(agent.run())
        try:
            await until(lambda: (m := shift.member()) is not None and not m.paused, "Ready")
            call = await shift.sim.place_call(QUEUE, "0812345678")
            await until(lambda: bool(call.attempts), "rung")
            await shift.sim.answer(PHONE)
            await shift.sim.hangup(call)
            pool = shift.server.app[db_key].pool
            code = await until(
                lambda: pool.fetchval("SELECT wrapup_code FROM calls"), "wrap-up ended with a code"
            )
            assert code == "resolved"
            await until(lambda: shift.member() is None, "signed out at the end of the shift")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
