"""The knowledge base over HTTP: supervisors write and attach, agents on a call search,
read and fill the caller's basket; what is shown and downloaded is safe."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest_asyncio
from aiohttp.test_utils import TestServer

from accounts.users import UserRepository
from runtime.clock import ManualClock
from tests.foundation.conftest import csrf_from, log_in
from tests.knowledge.conftest import PDF
from tests.passwords import password_hash
from tests.ui.conftest import PASSWORD, MakeAgent, clock, make_agent, panel_app
from tests.ui.test_panel import NUMBER, answered, feed, queued, ringing
from web.keys import db_key, knowledge_key, mail_outbox_key

__all__ = ["clock", "make_agent", "panel_app"]

AGENT = "PJSIP/agent101"
HOSTILE_BODY = (
    '<p onclick="alert(1)">ยื่นคำขอ<script>alert(1)</script></p><img src=x onerror=alert(2)>'
)


class Editor:
    def __init__(self, session: aiohttp.ClientSession, csrf: str) -> None:
        self.session = session
        self.csrf = csrf

    async def save(self, path: str = "/knowledge/new", **fields: str) -> aiohttp.ClientResponse:
        data = {"csrf_token": self.csrf, **fields}
        return await self.session.post(path, data=data, allow_redirects=False)

    async def attach(self, article_id: int, name: str, data: bytes) -> aiohttp.ClientResponse:
        form = aiohttp.FormData()
        form.add_field("csrf_token", self.csrf)
        form.add_field("file", data, filename=name, content_type="application/pdf")
        return await self.session.post(
            f"/knowledge/{article_id}/attachments", data=form, allow_redirects=False
        )

    async def create(self, **fields: str) -> int:
        response = await self.save(**fields)
        assert response.status == 303, await response.text()
        found = re.search(r"/knowledge/(\d+)/edit", response.headers["Location"])
        assert found
        return int(found.group(1))


@pytest_asyncio.fixture(loop_scope="function")
async def editor(panel_app: TestServer) -> AsyncIterator[Editor]:
    await UserRepository(panel_app.app[db_key].pool).create(
        username="sup",
        display_name="Sup",
        password_hash=await password_hash(PASSWORD),
        role="supervisor",
    )
    async with aiohttp.ClientSession(
        base_url=str(panel_app.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        assert await log_in(session, "sup") == 303
        page = await session.get("/knowledge/new")
        yield Editor(session, csrf_from(await page.text()))


async def test_a_supervisor_writes_an_article_and_an_agent_finds_it_in_thai(
    editor: Editor, make_agent: MakeAgent
) -> None:
    article_id = await editor.create(
        title_th="ขั้นตอนการขอใบอนุญาตส่งออกข้าว",
        title_en="Rice export licence",
        body_th=HOSTILE_BODY,
        tags="ส่งออก, ข้าว",
        published="on",
    )
    agent = await make_agent("somchai")
    found = await agent.session.get("/knowledge/search", params={"q": "ใบอนุญาตส่งออก"})
    assert [h["id"] for h in (await found.json())["hits"]] == [article_id]
    article = await (await agent.session.get(f"/knowledge/articles/{article_id}")).json()
    assert article["title"] == "ขั้นตอนการขอใบอนุญาตส่งออกข้าว"
    assert article["body_html"] == "<p>ยื่นคำขอ</p>"


async def test_drafts_stay_with_the_editors(editor: Editor, make_agent: MakeAgent) -> None:
    draft = await editor.create(title_th="ร่างประกาศใหม่")
    agent = await make_agent("somchai")
    found = await agent.session.get("/knowledge/search", params={"q": "ประกาศ"})
    assert (await found.json())["hits"] == []
    assert (await agent.session.get(f"/knowledge/articles/{draft}")).status == 404
    listed = await editor.session.get("/knowledge")
    assert "ร่างประกาศใหม่" in await listed.text()


async def test_an_article_past_its_review_date_is_shown_overdue(
    editor: Editor, clock: ManualClock
) -> None:
    today = clock.now().date()
    await editor.create(title_th="เก่า", review_on=(today - timedelta(days=1)).isoformat())
    await editor.create(title_th="ใหม่", review_on=(today + timedelta(days=30)).isoformat())
    page = await (await editor.session.get("/knowledge")).text()
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    overdue = [row for row in rows if "overdue" in row]
    assert len(overdue) == 1 and "เก่า" in overdue[0]


async def test_an_edit_keeps_the_revision_before_it(editor: Editor) -> None:
    article_id = await editor.create(title_th="ฉบับแรก")
    response = await editor.save(f"/knowledge/{article_id}/edit", title_th="ฉบับสอง", published="on")
    assert response.status == 303
    page = await (await editor.session.get(f"/knowledge/{article_id}/edit")).text()
    revisions = re.search(r'data-testid="knowledge-revisions">(.*?)</ol>', page, re.S)
    assert revisions and revisions.group(1).count("<li>") == 2
    assert 'value="ฉบับสอง"' in page


async def test_a_document_downloads_as_what_it_is_and_never_inline(
    editor: Editor, make_agent: MakeAgent
) -> None:
    article_id = await editor.create(title_th="แบบฟอร์ม", published="on")
    assert (await editor.attach(article_id, "คำขอ ส่งออก.pdf", PDF)).status == 303
    refused = await editor.attach(article_id, "form.pdf", b"<html><script>alert(1)</script>")
    assert refused.status == 422
    assert "ไม่รับไฟล์ประเภทนี้" in await refused.text()
    agent = await make_agent("somchai")
    article = await (await agent.session.get(f"/knowledge/articles/{article_id}")).json()
    assert [a["filename"] for a in article["attachments"]] == ["คำขอ ส่งออก.pdf"]
    download = await agent.session.get(f"/knowledge/attachments/{article['attachments'][0]['id']}")
    assert await download.read() == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"] == (
        "attachment; filename*=UTF-8''%E0%B8%84%E0%B8%B3%E0%B8%82%E0%B8%AD%20"
        "%E0%B8%AA%E0%B9%88%E0%B8%87%E0%B8%AD%E0%B8%AD%E0%B8%81.pdf"
    )


async def test_an_agent_fills_the_basket_of_the_call_on_their_desk_only(
    editor: Editor, make_agent: MakeAgent, panel_app: TestServer, clock: ManualClock
) -> None:
    article_id = await editor.create(title_th="แบบฟอร์มคำขอ", published="on")
    assert (await editor.attach(article_id, "คำขอ.pdf", PDF)).status == 303
    attachment = await panel_app.app[knowledge_key].article(article_id, published_only=True)
    assert attachment is not None
    file_id = str(attachment.attachments[0].id)
    agent = await make_agent("somchai", AGENT)
    other = await make_agent("malee", "PJSIP/agent102")
    await feed(panel_app, queued(clock, "1.1"), ringing(clock, "1.1", AGENT))
    await feed(panel_app, answered(clock, "1.1", AGENT))
    call_key = (await agent.state())["call"]["call_key"]
    status, basket = await agent.post("/panel/basket", call_key=call_key, attachment_id=file_id)
    assert status == 200
    assert [(i["filename"], i["article_title"]) for i in basket["items"]] == [
        ("คำขอ.pdf", "แบบฟอร์มคำขอ")
    ]
    kept = await agent.session.get("/panel/basket", params={"call_key": call_key})
    assert [i["filename"] for i in (await kept.json())["items"]] == ["คำขอ.pdf"]
    refused = await other.session.post(
        "/panel/basket",
        data={"call_key": call_key, "attachment_id": file_id},
        headers={"X-CSRF-Token": other.csrf, "Accept": "application/json"},
    )
    assert refused.status == 404
    peek = await other.session.get("/panel/basket", params={"call_key": call_key})
    assert peek.status == 404
    status, basket = await agent.post(
        "/panel/basket/remove", call_key=call_key, attachment_id=file_id
    )
    assert status == 200 and basket["items"] == []


async def test_the_basket_goes_to_the_confirmed_address_through_the_outbox(
    editor: Editor, make_agent: MakeAgent, panel_app: TestServer, clock: ManualClock
) -> None:
    article_id = await editor.create(title_th="แบบฟอร์มคำขอ", published="on")
    assert (await editor.attach(article_id, "คำขอ.pdf", PDF)).status == 303
    article = await panel_app.app[knowledge_key].article(article_id, published_only=True)
    assert article is not None
    agent = await make_agent("somchai", AGENT)
    await feed(panel_app, queued(clock, "2.1"), ringing(clock, "2.1", AGENT))
    await feed(panel_app, answered(clock, "2.1", AGENT))
    call_key = (await agent.state())["call"]["call_key"]
    status, empty = await agent.post(
        "/panel/basket/send", call_key=call_key, email="nok@example.org", confirmed="on"
    )
    assert (status, empty["error"]) == (409, "basket_empty")
    await agent.post(
        "/panel/basket", call_key=call_key, attachment_id=str(article.attachments[0].id)
    )
    status, refused = await agent.post(
        "/panel/basket/send", call_key=call_key, email="nok@example.org"
    )
    assert (status, refused["error"]) == (422, "confirm_needed")
    status, refused = await agent.post(
        "/panel/basket/send", call_key=call_key, email="nok.example.org", confirmed="on"
    )
    assert (status, refused["error"]) == (422, "invalid_email")
    status, sent = await agent.post(
        "/panel/basket/send", call_key=call_key, email="nok@example.org", confirmed="on"
    )
    assert status == 200
    assert sent["sent"] == [{"to": "nok@example.org", "status": "queued", "documents": 1}]
    # The caller's mail history holds it, with the document attached.
    history = await panel_app.app[mail_outbox_key].history(caller_number=NUMBER)
    assert [(m.kind, m.to) for m in history] == [("documents", "nok@example.org")]
    claimed = await panel_app.app[mail_outbox_key].claim(clock.now(), 10)
    assert [c.attachments for c in claimed] == [[("คำขอ.pdf", "application/pdf", PDF)]]
    assert "แบบฟอร์มคำขอ" in claimed[0].text
