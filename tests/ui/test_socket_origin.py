"""The panel's WebSocket opens from the panel's own page, never from another site's page
that borrows the agent's session cookie."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.ui.conftest import MakeAgent


async def test_another_sites_page_cannot_open_the_agents_socket(
    panel_app: TestServer, make_agent: MakeAgent
) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await somchai.session.ws_connect("/panel/ws", origin="https://evil.example")
    assert refused.value.status == 403


async def test_the_panels_own_page_opens_it(panel_app: TestServer, make_agent: MakeAgent) -> None:
    somchai = await make_agent("somchai", "PJSIP/101")
    origin = str(panel_app.make_url("/")).rstrip("/")
    socket = await somchai.session.ws_connect("/panel/ws", origin=origin)
    await socket.close()
