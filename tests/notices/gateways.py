"""Local stand-ins for the two services hotline cannot reach from here, speaking their
documented HTTP APIs over real TCP: LINE's Messaging API push endpoint and an HTTP SMS
gateway. Each can be told to answer the next requests with given error statuses."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

LINE_TOKEN = "line-channel-access-token"
SMS_TOKEN = "sms-gateway-token"


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Gateway:
    """What arrived (`received`, accepted or not) and what was delivered (`delivered`)."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    # LINE: accept the message but answer this status (a reply lost on the way).
    accept_then_fail: list[int] = field(default_factory=list)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


def line_app(gateway: Gateway, friends: set[str]) -> web.Application:
    accepted_keys: set[str] = set()

    async def push(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        gateway.received.append(Received(dict(request.headers), body))
        if request.headers.get("Authorization") != f"Bearer {LINE_TOKEN}":
            return _error(401, "Authentication failed. Confirm that the access token is valid.")
        key = request.headers.get("X-Line-Retry-Key", "")
        if key in accepted_keys:
            return _error(409, "The retry key is already accepted")
        if gateway.fail_next:
            return _error(gateway.fail_next.pop(0), "Internal server error")
        messages = body.get("messages")
        if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
            return _error(400, "The request body has 1 error(s)")
        if body.get("to") not in friends:
            return _error(400, "Failed to send messages")
        if key:
            accepted_keys.add(key)
        gateway.delivered.append(body)
        if gateway.accept_then_fail:
            return _error(gateway.accept_then_fail.pop(0), "Internal server error")
        return web.json_response(
            {"sentMessages": [{"id": str(len(gateway.delivered)), "quoteToken": "q"}]},
            headers={"X-Line-Request-Id": f"req-{len(gateway.delivered)}"},
        )

    app = web.Application()
    app.router.add_post("/v2/bot/message/push", push)
    return app


def sms_app(gateway: Gateway) -> web.Application:
    async def send(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        gateway.received.append(Received(dict(request.headers), body))
        if request.headers.get("Authorization") != f"Bearer {SMS_TOKEN}":
            return web.json_response({"error": "unauthorized"}, status=401)
        if gateway.fail_next:
            return web.json_response({"error": "busy"}, status=gateway.fail_next.pop(0))
        if not str(body.get("to", "")).isdigit() or not body.get("text"):
            return web.json_response({"error": "invalid number or text"}, status=422)
        gateway.delivered.append(body)
        return web.json_response({"id": f"sms-{len(gateway.delivered)}", "status": "queued"})

    app = web.Application()
    app.router.add_post("/api/sms", send)
    return app


@asynccontextmanager
async def serving(app: web.Application, gateway: Gateway, path: str) -> AsyncIterator[Gateway]:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    gateway.url = str(server.make_url(path))
    try:
        yield gateway
    finally:
        await server.close()
