"""The demo's knowledge base: its articles are found in Thai and its form is a real PDF."""

from __future__ import annotations

from demo.knowledge import ensure_articles
from knowledge.repository import KnowledgeRepository
from tests.knowledge.conftest import NOW


async def test_the_demo_articles_are_written_once_and_found(
    knowledge: KnowledgeRepository, editor: int
) -> None:
    await ensure_articles(knowledge, editor, NOW)
    await ensure_articles(knowledge, editor, NOW)
    assert len(await knowledge.articles()) == 2
    hits = await knowledge.search("ใบอนุญาตส่งออก", published_only=True)
    article = await knowledge.article(hits[0].id, published_only=True)
    assert article is not None
    assert [(a.filename, a.content_type) for a in article.attachments] == [
        ("คำขอใบอนุญาตส่งออก.pdf", "application/pdf")
    ]
