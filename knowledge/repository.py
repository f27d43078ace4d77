"""The knowledge base in PostgreSQL: articles with every revision kept, their attachments
(bytea), search over the segmented words, and the callers' baskets per call."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import asyncpg

from knowledge.articles import (
    Article,
    ArticleContent,
    AttachmentInfo,
    BasketItem,
    Revision,
    SearchHit,
)
from knowledge.documents import Document, checked_document
from knowledge.errors import InvalidArticle
from knowledge.words import tsquery_text, tsvector_text

_COLUMNS = "title_th, title_en, body_th, body_en, tags, unit_id, review_on, published"

_INSERT = f"""
INSERT INTO knowledge_articles ({_COLUMNS}, terms, title_terms, updated_at, updated_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::tsvector, $10::tsvector, $11, $12)
RETURNING id
"""
_UPDATE = """
UPDATE knowledge_articles
SET title_th = $2, title_en = $3, body_th = $4, body_en = $5, tags = $6, unit_id = $7,
    review_on = $8, published = $9, terms = $10::tsvector, title_terms = $11::tsvector,
    updated_at = $12, updated_by = $13
WHERE id = $1
"""
_REVISE = """
INSERT INTO knowledge_revisions (article_id, revision, content, saved_at, saved_by)
SELECT $1, COALESCE(max(revision), 0) + 1, $2, $3, $4
FROM knowledge_revisions WHERE article_id = $1
"""
_ARTICLE = f"""
SELECT id, {_COLUMNS}, updated_at FROM knowledge_articles
WHERE id = $1 AND (published OR NOT $2)
"""
_ALL = f"""
SELECT id, {_COLUMNS}, updated_at FROM knowledge_articles
ORDER BY review_on NULLS LAST, id
"""
_ATTACHMENTS = """
SELECT id, filename, content_type, size FROM knowledge_attachments
WHERE article_id = $1 ORDER BY id
"""
_REVISIONS = """
SELECT r.revision, r.saved_at, u.display_name, (r.content->>'published')::boolean AS published
FROM knowledge_revisions r JOIN users u ON u.id = r.saved_by
WHERE r.article_id = $1 ORDER BY r.revision DESC
"""
# Title (and tag) matches first, every one of them ranked: title_terms are small. Agents
# see published articles only ($2).
_SEARCH_TITLES = """
SELECT id, title_th, title_en, published, true AS in_title FROM knowledge_articles
WHERE title_terms @@ $1::tsquery AND (published OR NOT $2)
ORDER BY ts_rank(title_terms, $1::tsquery) DESC, id
LIMIT $3
"""
# Then, when titles did not fill the page, matches in bodies only. A common word is in
# most bodies, and ranking reads each whole tsvector, so the first $4 candidates are
# ranked (all of them for a rarer word).
_SEARCH_BODIES = """
WITH candidates AS MATERIALIZED (
    SELECT id, title_th, title_en, published, terms FROM knowledge_articles
    WHERE terms @@ $1::tsquery AND NOT title_terms @@ $1::tsquery AND (published OR NOT $2)
    LIMIT $4
)
SELECT id, title_th, title_en, published, false AS in_title FROM candidates
ORDER BY ts_rank(terms, $1::tsquery) DESC, id
LIMIT $3
"""
BODY_CANDIDATES = 500
_CUSTOM_PLANS = "SET LOCAL plan_cache_mode = force_custom_plan"
_ADD_ATTACHMENT = """
INSERT INTO knowledge_attachments
    (article_id, filename, content_type, size, data, uploaded_at, uploaded_by)
SELECT $1, $2, $3, $4, $5, $6, $7 FROM knowledge_articles WHERE id = $1
RETURNING id
"""
_ATTACHMENT_DATA = """
SELECT t.filename, t.content_type, t.data
FROM knowledge_attachments t JOIN knowledge_articles a ON a.id = t.article_id
WHERE t.id = $1 AND (a.published OR NOT $2)
"""
_BASKET_ADD = """
INSERT INTO knowledge_baskets (call_key, attachment_id, added_by, added_at)
SELECT $1, t.id, $3, $4
FROM knowledge_attachments t JOIN knowledge_articles a ON a.id = t.article_id
WHERE t.id = $2 AND a.published
ON CONFLICT (call_key, attachment_id) DO NOTHING
RETURNING attachment_id
"""
_BASKET_HAS = "SELECT true FROM knowledge_baskets WHERE call_key = $1 AND attachment_id = $2"
_BASKET_REMOVE = "DELETE FROM knowledge_baskets WHERE call_key = $1 AND attachment_id = $2"
_BASKET = """
SELECT t.id, t.filename, t.content_type, t.size, a.id AS article_id, a.title_th, a.title_en
FROM knowledge_baskets b
JOIN knowledge_attachments t ON t.id = b.attachment_id
JOIN knowledge_articles a ON a.id = t.article_id
WHERE b.call_key = $1 ORDER BY b.added_at, t.id
"""


def _content(row: asyncpg.Record) -> ArticleContent:
    return ArticleContent(
        title_th=row["title_th"],
        title_en=row["title_en"],
        body_th=row["body_th"],
        body_en=row["body_en"],
        tags=tuple(row["tags"]),
        unit_id=row["unit_id"],
        review_on=row["review_on"],
        published=row["published"],
    )


def _values(content: ArticleContent) -> tuple[Any, ...]:
    titles = (content.title_th, content.title_en, *content.tags)
    terms = tsvector_text(titles, (content.body_th, content.body_en))
    return (
        content.title_th,
        content.title_en,
        content.body_th,
        content.body_en,
        list(content.tags),
        content.unit_id,
        content.review_on,
        content.published,
        terms,
        tsvector_text(titles, ()),
    )


@contextlib.contextmanager
def _known_unit() -> Iterator[None]:
    try:
        yield
    except asyncpg.ForeignKeyViolationError:
        raise InvalidArticle("unit_unknown") from None


class KnowledgeRepository:
    def __init__(self, pool: asyncpg.Pool, *, max_attachment_bytes: int) -> None:
        self._pool = pool
        self.max_attachment_bytes = max_attachment_bytes

    async def create(self, content: ArticleContent, by: int, at: datetime) -> int:
        """The new article's id, its first revision kept; InvalidArticle for a unit that
        does not exist."""
        with _known_unit():
            async with self._pool.acquire() as conn, conn.transaction():
                article_id: int = await conn.fetchval(_INSERT, *_values(content), at, by)
                await conn.execute(_REVISE, article_id, content.as_json(), at, by)
        return article_id

    async def update(self, article_id: int, content: ArticleContent, by: int, at: datetime) -> bool:
        """Save a new revision; False when there is no such article."""
        with _known_unit():
            async with self._pool.acquire() as conn, conn.transaction():
                done = await conn.execute(_UPDATE, article_id, *_values(content), at, by)
                if done != "UPDATE 1":
                    return False
                await conn.execute(_REVISE, article_id, content.as_json(), at, by)
        return True

    async def article(self, article_id: int, *, published_only: bool) -> Article | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(_ARTICLE, article_id, published_only)
            if row is None:
                return None
            files = await conn.fetch(_ATTACHMENTS, article_id)
        return Article(
            id=row["id"],
            content=_content(row),
            updated_at=row["updated_at"],
            attachments=tuple(AttachmentInfo(**dict(f)) for f in files),
        )

    async def articles(self) -> list[Article]:
        """Every article, the first to review first (for editors)."""
        rows = await self._pool.fetch(_ALL)
        return [Article(r["id"], _content(r), r["updated_at"], ()) for r in rows]

    async def revisions(self, article_id: int) -> list[Revision]:
        rows = await self._pool.fetch(_REVISIONS, article_id)
        return [
            Revision(r["revision"], r["saved_at"], r["display_name"], r["published"]) for r in rows
        ]

    async def search(self, query: str, *, published_only: bool, limit: int = 20) -> list[SearchHit]:
        words = tsquery_text(query)
        if words is None:
            return []
        async with self._pool.acquire() as conn, conn.transaction():
            # A common word wants a scan, a rare one the index: plan each search for its own
            # words, never with the generic plan PostgreSQL would settle on after five.
            await conn.execute(_CUSTOM_PLANS)
            rows = await conn.fetch(_SEARCH_TITLES, words, published_only, limit)
            if len(rows) < limit:
                rows += await conn.fetch(
                    _SEARCH_BODIES, words, published_only, limit - len(rows), BODY_CANDIDATES
                )
        return [SearchHit(**dict(r)) for r in rows]

    async def add_attachment(
        self, article_id: int, filename: str, data: bytes, by: int, at: datetime
    ) -> int | None:
        """The new attachment's id; None when the article does not exist; DocumentRefused
        when the upload is not a document kept here (knowledge.documents)."""
        document = checked_document(filename, data, self.max_attachment_bytes)
        found: int | None = await self._pool.fetchval(
            _ADD_ATTACHMENT,
            article_id,
            document.filename,
            document.content_type,
            len(document.data),
            document.data,
            at,
            by,
        )
        return found

    async def attachment(self, attachment_id: int, *, published_only: bool) -> Document | None:
        row = await self._pool.fetchrow(_ATTACHMENT_DATA, attachment_id, published_only)
        return None if row is None else Document(row["filename"], row["content_type"], row["data"])

    async def add_to_basket(self, call_key: str, attachment_id: int, by: int, at: datetime) -> bool:
        """Put a published article's document in the call's basket (once); False when there
        is no such document for agents."""
        async with self._pool.acquire() as conn:
            if await conn.fetchval(_BASKET_ADD, call_key, attachment_id, by, at) is not None:
                return True
            return bool(await conn.fetchval(_BASKET_HAS, call_key, attachment_id))

    async def remove_from_basket(self, call_key: str, attachment_id: int) -> None:
        await self._pool.execute(_BASKET_REMOVE, call_key, attachment_id)

    async def basket(self, call_key: str) -> list[BasketItem]:
        rows = await self._pool.fetch(_BASKET, call_key)
        return [
            BasketItem(
                attachment_id=r["id"],
                filename=r["filename"],
                content_type=r["content_type"],
                size=r["size"],
                article_id=r["article_id"],
                article_title_th=r["title_th"],
                article_title_en=r["title_en"],
            )
            for r in rows
        ]
