"""Articles kept with every revision, found by Thai words written without spaces, title
matches first, drafts hidden from agents, and each call's basket of documents."""

from __future__ import annotations

from datetime import timedelta

import pytest

from database.pool import Database
from knowledge.errors import DocumentRefused, InvalidArticle
from knowledge.repository import KnowledgeRepository
from tests.cases.factories import add_user
from tests.knowledge.conftest import NOW, PDF, content

CALL = "sim/1169/1700000000.1"


async def test_each_save_keeps_a_revision_and_the_latest_is_read(
    knowledge: KnowledgeRepository, editor: int
) -> None:
    article_id = await knowledge.create(content(title_th="ส่งออกข้าว", published=False), editor, NOW)
    later = NOW + timedelta(hours=1)
    await knowledge.update(article_id, content(title_th="การส่งออกข้าวหอมมะลิ"), editor, later)
    found = await knowledge.article(article_id, published_only=True)
    assert found is not None and found.title("th") == "การส่งออกข้าวหอมมะลิ"
    revisions = await knowledge.revisions(article_id)
    assert [(r.revision, r.published, r.saved_at) for r in revisions] == [
        (2, True, later),
        (1, False, NOW),
    ]
    assert {r.saved_by for r in revisions} == {"Editor"}


async def test_thai_words_are_found_inside_unspaced_text(
    knowledge: KnowledgeRepository, editor: int
) -> None:
    await knowledge.create(
        content(
            title_th="ขั้นตอนการขอใบอนุญาตส่งออกสินค้า",
            body_th="<p>ผู้ประกอบการต้องยื่นเอกสารที่กรมการค้าต่างประเทศ</p>",
        ),
        editor,
        NOW,
    )
    await knowledge.create(content(title_th="การนำเข้าสินค้าเกษตร"), editor, NOW)
    titles = [h.title_th for h in await knowledge.search("ใบอนุญาต", published_only=True)]
    assert titles == ["ขั้นตอนการขอใบอนุญาตส่งออกสินค้า"]
    # Two words typed together, as a caller says them, and a word of the body only.
    assert len(await knowledge.search("ใบอนุญาตส่งออก", published_only=True)) == 1
    assert len(await knowledge.search("ยื่นเอกสาร", published_only=True)) == 1
    assert len(await knowledge.search("สินค้า", published_only=True)) == 2
    assert await knowledge.search("ประกันสังคม", published_only=True) == []


async def test_english_versions_are_searched_too(
    knowledge: KnowledgeRepository, editor: int
) -> None:
    await knowledge.create(
        content(title_th="ใบรับรองถิ่นกำเนิดสินค้า", title_en="Certificate of Origin"),
        editor,
        NOW,
    )
    hits = await knowledge.search("certificate ORIGIN", published_only=True)
    assert [h.title("en") for h in hits] == ["Certificate of Origin"]


async def test_a_match_in_the_title_ranks_before_matches_in_bodies(
    knowledge: KnowledgeRepository, editor: int
) -> None:
    for n in range(3):
        await knowledge.create(
            content(title_th=f"เรื่องทั่วไป {n}", body_th="ข้าวหอมมะลิ " * 5), editor, NOW
        )
    titled = await knowledge.create(content(title_th="ราคาข้าวหอมมะลิ"), editor, NOW)
    hits = await knowledge.search("ข้าวหอมมะลิ", published_only=True)
    assert hits[0].id == titled and hits[0].in_title
    assert len(hits) == 4 and not any(h.in_title for h in hits[1:])


async def test_agents_find_and_read_published_articles_only(
    knowledge: KnowledgeRepository, editor: int
) -> None:
    draft = await knowledge.create(content(title_th="ร่างประกาศ", published=False), editor, NOW)
    assert await knowledge.search("ประกาศ", published_only=True) == []
    assert await knowledge.article(draft, published_only=True) is None
    assert [h.id for h in await knowledge.search("ประกาศ", published_only=False)] == [draft]


async def test_an_unknown_unit_is_refused(knowledge: KnowledgeRepository, editor: int) -> None:
    with pytest.raises(InvalidArticle):
        await knowledge.create(content(title_th="x", unit_id="999"), editor, NOW)


async def test_the_basket_is_kept_per_call(
    knowledge: KnowledgeRepository, editor: int, db: Database
) -> None:
    agent = await add_user(db, "agent", "agent")
    article_id = await knowledge.create(content(title_th="แบบฟอร์มคำขอ"), editor, NOW)
    form = await knowledge.add_attachment(article_id, "คำขอ.pdf", PDF, editor, NOW)
    assert form is not None
    assert await knowledge.add_to_basket(CALL, form, agent, NOW)
    assert await knowledge.add_to_basket(CALL, form, agent, NOW)  # twice is still once
    assert [(i.filename, i.article_title("th")) for i in await knowledge.basket(CALL)] == [
        ("คำขอ.pdf", "แบบฟอร์มคำขอ")
    ]
    assert await knowledge.basket("sim/1169/other") == []
    await knowledge.remove_from_basket(CALL, form)
    assert await knowledge.basket(CALL) == []


async def test_a_drafts_documents_cannot_go_to_a_caller(
    knowledge: KnowledgeRepository, editor: int
) -> None:
    draft = await knowledge.create(content(title_th="ร่าง", published=False), editor, NOW)
    form = await knowledge.add_attachment(draft, "a.pdf", PDF, editor, NOW)
    assert form is not None
    assert not await knowledge.add_to_basket(CALL, form, editor, NOW)
    assert await knowledge.attachment(form, published_only=True) is None


async def test_an_attachment_is_stored_and_read_back_byte_for_byte(
    knowledge: KnowledgeRepository, editor: int
) -> None:
    article_id = await knowledge.create(content(title_th="ก"), editor, NOW)
    form = await knowledge.add_attachment(article_id, "a.pdf", PDF, editor, NOW)
    assert form is not None
    document = await knowledge.attachment(form, published_only=True)
    assert document is not None and document.data == PDF
    assert document.content_type == "application/pdf"
    with pytest.raises(DocumentRefused):
        await knowledge.add_attachment(article_id, "a.pdf", PDF * 2000, editor, NOW)
