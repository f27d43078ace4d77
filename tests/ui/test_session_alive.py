"""An agent watching the panel is not idle: while its WebSocket is open the session stays
alive past the idle timeout; a tab that requests nothing and has no socket is signed out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio
from aiohttp.test_utils import TestServer

from runtime.clock import ManualClock
from tests.ui.conftest import MakeAgent, build_app

IDLE_S = 0.6  # security.idle_minutes as seconds: the socket touches its session every 0.2 s


@pytest_asyncio.fixture(loop_scope="function")
async def panel_app(
    fresh_db_url: str, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[TestServer]:
    """The panel's service (as make_agent uses it) with a very short idle timeout."""
    app = build_app(fresh_db_url, tmp_path, clock, security={"idle_minutes": IDLE_S / 60})
    async with TestServer(app) as server:
        yield server


async def test_an_open_panel_socket_keeps_the_session_alive(
    panel_app: TestServer, make_agent: MakeAgent, clock: ManualClock
) -> None:
    watching = await make_agent("somchai", "PJSIP/101")
    away = await make_agent("malee", "PJSIP/102")
    origin = str(panel_app.make_url("/")).rstrip("/")
    async with watching.session.ws_connect("/panel/ws", origin=origin):
        for _ in range(4):
            clock.advance(timedelta(seconds=IDLE_S / 2))
            await asyncio.sleep(IDLE_S / 2)
        assert (await watching.session.get("/panel/state")).status == 200
    assert (await away.session.get("/panel/state")).status == 401
