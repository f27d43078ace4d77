"""`hotline demo` on a fresh data folder: it starts, prints the logins, and an agent gets in."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp

from tests.foundation.conftest import MONITOR, MONITORING_TOKEN, log_in
from tests.foundation.processes import clean_environment, free_port, hotline


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
        jar = aiohttp.CookieJar(unsafe=True)  # cookies from an IP address, as browsers keep
        async with aiohttp.ClientSession(f"http://127.0.0.1:{web_port}", cookie_jar=jar) as browser:
            assert await log_in(browser, "agent1", password.group(1)) == 303
            health = await (await browser.get("/healthz", headers=MONITOR)).json()
            assert health["pbx"][0]["name"] == "demo"
            assert health["database"]["up"]
