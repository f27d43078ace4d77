"""LINE's webhook on the running service: a signed message carrying a case number links
the sender's LINE account to that case; a forged one is refused and links nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from cases.lifecycle import Role
from cases.models import Actor
from config.settings import load_settings
from hotline.app import create_app
from tests.cases.factories import NOW, add_user, complaint_form
from web.keys import cases_key, db_key

SECRET = "webhook-secret"
CITIZEN = "U0123456789abcdef0123456789abcdef"


@pytest.fixture
async def service(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[TestClient]:
    settings = load_settings(
        database_url=fresh_db_url,
        data_dir=tmp_path,
        notices={"enabled": False, "line": {"channel_secret": SECRET}},
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


def event_body(text: str) -> bytes:
    event = {
        "type": "message",
        "source": {"type": "user", "userId": CITIZEN},
        "message": {"id": "7", "type": "text", "text": text},
        "replyToken": "r",
        "timestamp": 1764660000000,
    }
    return json.dumps({"destination": "Uoa", "events": [event]}, ensure_ascii=False).encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


async def test_a_signed_case_number_links_and_a_forged_one_does_not(service: TestClient) -> None:
    assert service.app is not None
    db = service.app[db_key]
    agent = Actor(await add_user(db, "agent1", "agent"), Role.AGENT)
    case = await service.app[cases_key].create_case(
        complaint_form(notify_by="line"), actor=agent, now=NOW
    )
    forged = event_body(f"เลขเรื่อง {case.reference}")
    answer = await service.post(
        "/line/webhook", data=forged, headers={"X-Line-Signature": signature(forged, "guess")}
    )
    assert answer.status == 401
    assert await db.pool.fetchval("SELECT count(*) FROM case_line_links") == 0

    body = event_body(f"เลขเรื่อง {case.reference}")
    answer = await service.post(
        "/line/webhook",
        data=body,
        headers={"X-Line-Signature": signature(body), "Content-Type": "application/json"},
    )
    assert answer.status == 200
    linked = await db.pool.fetchval(
        "SELECT line_user_id FROM case_line_links WHERE case_id = $1", case.id
    )
    assert linked == CITIZEN
