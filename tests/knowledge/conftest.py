"""The knowledge base on a fresh database: a repository, an editor, and articles to find."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from database.pool import Database
from knowledge.articles import ArticleContent
from knowledge.repository import KnowledgeRepository
from tests.cases.factories import add_user

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
# The smallest well-formed PDF header and a PNG signature: content a browser reads as such.
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17


def content(*, published: bool = True, **fields: str) -> ArticleContent:
    """An article as its editor's form would post it."""
    return ArticleContent.parse({**fields, "published": "on" if published else ""})


@pytest.fixture
def knowledge(db: Database) -> KnowledgeRepository:
    return KnowledgeRepository(db.pool, max_attachment_bytes=64 * 1024)


@pytest.fixture
async def editor(db: Database) -> int:
    return await add_user(db, "editor", "supervisor")
