"""`hotline demo` on a fresh data folder: it starts, prints the logins, and an agent gets in."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from tests.foundation.conftest import log_in


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_the_demo_starts_and_a_demo_agent_can_log_in(tmp_path: Path) -> None:
    web_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.pop("DATABASE_URL", None)
    env.update(
        HOTLINE_DATA_DIR=str(tmp_path / "var"),
        HOTLINE_WEB_PORT=str(web_port),
        HOTLINE_AGI_PORT=str(free_port()),
        HOTLINE_LOG_LEVEL="warning",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline.cli",
        "demo",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    printed = ""
    try:
        async with asyncio.timeout(90):
            while "Ctrl-C" not in printed:
                line = await process.stdout.readline()
                assert line, f"the demo stopped early:\n{printed}"
                printed += line.decode()
        assert f"http://127.0.0.1:{web_port}/" in printed
        password = re.search(r"^\s+agent1\s+(\S+)\s+agent$", printed, flags=re.M)
        assert password, printed
        jar = aiohttp.CookieJar(unsafe=True)  # cookies from an IP address, as browsers keep
        async with aiohttp.ClientSession(f"http://127.0.0.1:{web_port}", cookie_jar=jar) as browser:
            assert await log_in(browser, "agent1", password.group(1)) == 303
            health = await (await browser.get("/healthz")).json()
            assert health["pbx"][0]["name"] == "demo"
            assert health["database"]["up"]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await process.communicate()
    assert process.returncode == 0
