"""The demo's caught-mail page: what the outbox sent reaches the local catcher and shows
there, escaped, to supervisors and admins only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from config.settings import load_settings
from demo.mail_catcher import MailCatcher
from demo.mail_page import add_mail_page
from hotline.app import create_app
from mail.outbox import OutgoingMail
from tests.cases.site import Site
from web.keys import clock_key, mail_dispatcher_key, mail_outbox_key


@pytest.fixture
async def catcher() -> AsyncIterator[tuple[MailCatcher, int]]:
    catcher = MailCatcher()
    _, port = await catcher.start()
    yield catcher, port
    await catcher.stop()


async def test_caught_mails_show_to_supervisors_only(
    fresh_db_url: str, tmp_path: Path, catcher: tuple[MailCatcher, int]
) -> None:
    caught, port = catcher
    settings = load_settings(
        database_url=fresh_db_url,
        data_dir=tmp_path,
        mail={"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none"},
    )
    app = create_app(settings)
    add_mail_page(app, caught)
    async with TestClient(TestServer(app)) as client:
        site = Site(client)
        await app[mail_outbox_key].enqueue(
            OutgoingMail("nok@example.org", "<b>แบบฟอร์ม</b>", "ข้อความ <script>", kind="documents")
        )
        assert (await app[mail_dispatcher_key].run_once(app[clock_key].now())).sent == 1
        await site.add_user("agent1", "agent")
        await site.add_user("boss", "supervisor")
        await site.log_in("agent1")
        assert (await site.get("/demo/mails"))[0] == 403
        await site.log_in("boss")
        status, html = await site.get("/demo/mails")
    assert status == 200
    assert "&lt;b&gt;แบบฟอร์ม&lt;/b&gt;" in html and "ข้อความ &lt;script&gt;" in html
    assert "nok@example.org" in html
