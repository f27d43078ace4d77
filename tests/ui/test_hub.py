"""The hub on its own: numbered events, resume, reload, heartbeats, slow readers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from agent_ui.hub import Hub


def _app(hub: Hub) -> web.Application:
    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        return await hub.serve(request, int(request.query["user"]))

    async def run_hub(app: web.Application) -> AsyncIterator[None]:
        async with hub.running():
            yield

    app = web.Application()
    app.router.add_get("/ws", ws_handler)
    app.cleanup_ctx.append(run_hub)
    return app


@pytest_asyncio.fixture(loop_scope="function")
async def hub_client() -> AsyncIterator[tuple[Hub, TestClient[Any, Any]]]:
    hub = Hub(replay_size=3, heartbeat_s=0.05, epoch="e1")
    async with TestClient(TestServer(_app(hub))) as client:
        yield hub, client


async def _next(ws: aiohttp.ClientWebSocketResponse, skip_heartbeats: bool = True) -> Any:
    while True:
        message = json.loads(await ws.receive_str(timeout=5))
        if not (skip_heartbeats and message["type"] == "heartbeat"):
            return message


async def test_each_agent_gets_only_their_own_events(hub_client: Any) -> None:
    hub, client = hub_client
    async with client.ws_connect("/ws?user=1") as ws1, client.ws_connect("/ws?user=2") as ws2:
        assert (await _next(ws1))["type"] == "hello"
        assert (await _next(ws2))["type"] == "hello"
        hub.publish(2, "pop", {"caller": "0812345678"})
        hub.publish(1, "state", {"state": "ready"})
        first = await _next(ws1)
        assert first["type"] == "state"
        second = await _next(ws2)
        assert (second["type"], second["data"]["caller"]) == ("pop", "0812345678")


async def test_two_tabs_receive_the_same_numbered_event_once(hub_client: Any) -> None:
    hub, client = hub_client
    async with client.ws_connect("/ws?user=7") as tab1, client.ws_connect("/ws?user=7") as tab2:
        await _next(tab1)
        await _next(tab2)
        event_id = hub.publish(7, "pop", {"n": 1})
        hub.publish(7, "state", {"n": 2})
        for tab in (tab1, tab2):
            got = [await _next(tab), await _next(tab)]
            assert [m["id"] for m in got] == [event_id, event_id + 1]
            assert [m["type"] for m in got] == ["pop", "state"]


async def test_a_reconnecting_panel_resumes_after_its_last_event(hub_client: Any) -> None:
    hub, client = hub_client
    hub.publish(1, "a", {})
    hub.publish(1, "b", {})
    hub.publish(1, "c", {})
    async with client.ws_connect("/ws?user=1&since=1&epoch=e1") as ws:
        hello = await _next(ws)
        assert (hello["type"], hello["last_event_id"]) == ("hello", 3)
        assert [(await _next(ws))["type"] for _ in range(2)] == ["b", "c"]


async def test_a_panel_too_far_behind_is_told_to_reload(hub_client: Any) -> None:
    hub, client = hub_client
    for kind in "abcde":
        hub.publish(1, kind, {})
    async with client.ws_connect("/ws?user=1&since=1&epoch=e1") as ws:
        message = await _next(ws)
        assert (message["type"], message["last_event_id"]) == ("reload", 5)


async def test_a_panel_from_before_a_restart_is_told_to_reload(hub_client: Any) -> None:
    hub, client = hub_client
    hub.publish(1, "a", {})
    async with client.ws_connect("/ws?user=1&since=1&epoch=older") as ws:
        assert (await _next(ws))["type"] == "reload"


async def test_idle_links_get_heartbeats(hub_client: Any) -> None:
    _hub, client = hub_client
    async with client.ws_connect("/ws?user=1") as ws:
        await _next(ws)
        assert (await _next(ws, skip_heartbeats=False))["type"] == "heartbeat"


async def test_a_reader_that_falls_behind_is_disconnected_and_can_resume() -> None:
    hub = Hub(replay_size=50, heartbeat_s=60, outbox_size=4, epoch="e")
    async with (
        TestClient(TestServer(_app(hub))) as client,
        client.ws_connect("/ws?user=1") as ws,
    ):
        await _next(ws)
        for n in range(10):
            hub.publish(1, "x", {"n": n})
        closing = await ws.receive(timeout=5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        async with client.ws_connect("/ws?user=1&since=0&epoch=e") as again:
            assert (await _next(again))["type"] == "reload"
        async with client.ws_connect("/ws?user=1&since=8&epoch=e") as again:
            assert (await _next(again))["type"] == "hello"
            assert [(await _next(again))["data"]["n"] for _ in range(2)] == [8, 9]
