"""Sending a caller's basket: its documents attached to one e-mail in the agent's
language of the call, written to the mail outbox in the same transaction that records
which documents of which call went to which address (the outbox sends and retries it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from knowledge.articles import in_language
from mail.outbox import MailOutbox, MailStatus, OutgoingMail
from mail.templates import MailTemplates

_DOCUMENTS = """
SELECT t.id, t.filename, t.content_type, t.data, a.title_th, a.title_en
FROM knowledge_baskets b
JOIN knowledge_attachments t ON t.id = b.attachment_id
JOIN knowledge_articles a ON a.id = t.article_id
WHERE b.call_key = $1 AND a.published
ORDER BY b.added_at, t.id
"""
_RECORD = """
INSERT INTO knowledge_basket_mails (mail_id, call_key, attachment_ids, sent_by, sent_at)
VALUES ($1, $2, $3, $4, $5)
"""
_SENT = """
SELECT m.mail_id, o.to_address, o.status, m.sent_at, cardinality(m.attachment_ids) AS documents
FROM knowledge_basket_mails m JOIN mail_outbox o ON o.id = m.mail_id
WHERE m.call_key = $1 ORDER BY m.sent_at, m.mail_id
"""


@dataclass(frozen=True)
class BasketMail:
    """Where the basket goes: the address the agent confirmed with the caller."""

    call_key: str
    to: str
    lang: str
    caller_name: str = ""
    caller_number: str | None = None
    case_id: int | None = None
    case_reference: str | None = None


@dataclass(frozen=True)
class SentBasket:
    mail_id: int
    to: str
    status: MailStatus
    sent_at: datetime
    documents: int


class BasketMailer:
    def __init__(
        self, pool: asyncpg.Pool, outbox: MailOutbox, templates: MailTemplates, agency: str
    ) -> None:
        self._pool = pool
        self._outbox = outbox
        self._templates = templates
        self._agency = agency

    async def send(self, basket: BasketMail, by: int, at: datetime) -> int | None:
        """The outbox mail carrying the basket's documents; None for an empty basket."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_DOCUMENTS, basket.call_key)
            if not rows:
                return None
            titles = [in_language(basket.lang, r["title_th"], r["title_en"]) for r in rows]
            rendered = self._templates.render(
                "documents",
                basket.lang,
                {
                    "agency": self._agency,
                    "name": basket.caller_name,
                    "documents": [
                        f"{title} ({r['filename']})" for title, r in zip(titles, rows, strict=True)
                    ],
                    "case_reference": basket.case_reference,
                },
            )
            mail = OutgoingMail(
                to=basket.to,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                attachments=[(r["filename"], r["content_type"], bytes(r["data"])) for r in rows],
                case_id=basket.case_id,
                caller_number=basket.caller_number,
                kind="documents",
            )
            mail_id = await self._outbox.enqueue(mail, conn)
            await conn.execute(_RECORD, mail_id, basket.call_key, [r["id"] for r in rows], by, at)
        return mail_id

    async def sent(self, call_key: str) -> list[SentBasket]:
        """The baskets of this call sent so far, with whether each mail went out yet."""
        rows = await self._pool.fetch(_SENT, call_key)
        return [
            SentBasket(
                r["mail_id"], r["to_address"], MailStatus(r["status"]), r["sent_at"], r["documents"]
            )
            for r in rows
        ]
