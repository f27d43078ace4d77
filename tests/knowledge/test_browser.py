"""On a live call from the PBX simulator, in real headless Chromium: the agent searches the
knowledge base in Thai, reads an article in the panel without leaving the call, puts its
document in the caller's basket and e-mails it to the address confirmed with the caller."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.cases.factories import add_user
from tests.knowledge.conftest import NOW, PDF, content
from tests.ui.test_browser import AGENT, NUMBER, QUEUE, Live, live, log_in_and_go_ready
from web.keys import db_key, knowledge_key

__all__ = ["live"]
pytestmark = pytest.mark.browser


async def test_an_agent_on_a_call_finds_an_article_in_thai_and_fills_the_basket(
    live: Live,
) -> None:
    app = live.server.app
    editor = await add_user(app[db_key], "editor", "supervisor")
    knowledge = app[knowledge_key]
    article_id = await knowledge.create(
        content(
            title_th="ขั้นตอนการขอใบอนุญาตส่งออกข้าว",
            title_en="Rice export licence",
            body_th='<p>ยื่นคำขอที่กรมการค้าต่างประเทศ</p><img src=x onerror="alert(1)">',
            body_en="<p>Apply at the Department of Foreign Trade</p><script>alert(2)</script>",
        ),
        editor,
        NOW,
    )
    await knowledge.add_attachment(article_id, "คำขอ.pdf", PDF, editor, NOW)
    await knowledge.create(content(title_th="การนำเข้าสินค้าเกษตร"), editor, NOW)

    page = await log_in_and_go_ready(live)
    await live.sim.place_call(QUEUE, NUMBER, "Nok")
    await expect(page.get_by_test_id("caller-number")).to_have_text(NUMBER)
    await live.sim.answer(AGENT)
    await expect(page.get_by_test_id("call-status")).to_have_text("Talking")

    await page.get_by_test_id("knowledge-query").fill("ใบอนุญาตส่งออก")
    await page.get_by_test_id("knowledge-query").press("Enter")
    hits = page.get_by_test_id("knowledge-hit")
    await expect(hits).to_have_count(1)
    await hits.first.get_by_role("link").click()
    article = page.get_by_test_id("knowledge-article")
    await expect(article).to_contain_text("Department of Foreign Trade")
    await expect(page.get_by_test_id("call-status")).to_have_text("Talking")
    assert page.url.endswith("/panel")

    await page.get_by_test_id("basket-add").click()
    await expect(page.get_by_test_id("basket-item")).to_have_text(
        "คำขอ.pdf · Rice export licenceRemove"
    )
    await page.reload()  # the basket is the call's, kept by the server
    await expect(page.get_by_test_id("basket-item")).to_have_count(1)

    await page.get_by_test_id("basket-email").fill("nok@example.org")
    await page.get_by_test_id("basket-send").click()
    await expect(page.locator("#knowledge-error")).to_have_text(
        "Read the address back to the caller first"
    )
    await page.get_by_test_id("basket-confirmed").check()
    await page.get_by_test_id("basket-send").click()
    await expect(page.get_by_test_id("basket-mail")).to_have_text(
        "nok@example.org · 1 · Waiting to send"
    )
    assert live.dialogs == []
