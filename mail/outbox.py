"""The e-mail outbox (`mail_outbox`): the one way hotline sends a mail.

A mail is a row written in the caller's own connection or transaction, so the basket of
documents or the notice is sent only if what asked for it was stored. A dispatcher claims
due rows (FOR UPDATE SKIP LOCKED, then `sending` with a lease) so two workers never take the
same mail, sends it, and marks it sent, or failed with its next attempt after a growing
wait, or given up. A sender killed mid-send leaves its row `sending`; the lease expires and
the row is tried again (SMTP itself cannot be exactly-once across a crash).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import asyncpg

from runtime.clock import Clock


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    GIVEN_UP = "given_up"


@dataclass(frozen=True)
class SendFailed(Exception):
    """The server or the network refused a message (a mail, an SMS, a LINE push);
    `permanent` when retrying cannot help."""

    reason: str
    permanent: bool

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class OutgoingMail:
    """What a feature asks to send. `attachments` are (filename, content type, bytes)."""

    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: Sequence[tuple[str, str, bytes]] = ()
    case_id: int | None = None
    caller_number: str | None = None
    kind: str = "documents"


@dataclass(frozen=True)
class ClaimedMail:
    """A mail a dispatcher has claimed: everything the SMTP sender needs."""

    id: int
    attempts: int
    to: str
    subject: str
    text: str
    html: str | None
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


@dataclass(frozen=True)
class MailRecord:
    """One line of a caller's or a case's mail history."""

    id: int
    kind: str
    to: str
    subject: str
    status: MailStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    case_id: int | None

    @classmethod
    def from_row(cls, row: Any) -> MailRecord:
        return cls(
            id=row["id"],
            kind=row["kind"],
            to=row["to_address"],
            subject=row["subject"],
            status=MailStatus(row["status"]),
            attempts=row["attempts"],
            last_error=row["last_error"],
            created_at=row["created_at"],
            sent_at=row["sent_at"],
            case_id=row["case_id"],
        )


@dataclass(frozen=True)
class RetryPolicy:
    """Waits between attempts double from `first_s` up to `max_s`; `max_attempts` in all."""

    max_attempts: int = 8
    first_s: float = 60.0
    max_s: float = 3600.0
    lease_s: float = 300.0

    def wait_after(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.max_s, self.first_s * 2 ** max(0, attempts - 1)))


_ENQUEUE = """
INSERT INTO mail_outbox (kind, to_address, subject, text_body, html_body, case_id,
                         caller_number, next_attempt_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
RETURNING id
"""
_ATTACH = """
INSERT INTO mail_attachments (mail_id, position, filename, content_type, content)
VALUES ($1, $2, $3, $4, $5)
"""
_CLAIM = """
WITH due AS (
    SELECT id FROM mail_outbox
    WHERE status IN ('queued', 'failed', 'sending') AND next_attempt_at <= $1
    ORDER BY next_attempt_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE mail_outbox m
SET status = 'sending', attempts = m.attempts + 1, next_attempt_at = $1 + $3::interval
FROM due WHERE m.id = due.id
RETURNING m.id, m.attempts, m.to_address, m.subject, m.text_body, m.html_body
"""
_ATTACHMENTS_OF = """
SELECT mail_id, filename, content_type, content FROM mail_attachments
WHERE mail_id = ANY($1::bigint[]) ORDER BY mail_id, position
"""
_SENT = """
UPDATE mail_outbox SET status = 'sent', sent_at = $2, message_id = $3, last_error = NULL
WHERE id = $1 AND status = 'sending'
"""
_FAILED = """
UPDATE mail_outbox
SET status = CASE WHEN $4 OR attempts >= $5 THEN 'given_up' ELSE 'failed' END,
    last_error = $3, next_attempt_at = $2
WHERE id = $1 AND status = 'sending'
RETURNING status
"""
_HISTORY = """
SELECT id, kind, to_address, subject, status, attempts, last_error, created_at, sent_at, case_id
FROM mail_outbox
WHERE ($1::bigint IS NOT NULL AND case_id = $1) OR ($2::text IS NOT NULL AND caller_number = $2)
ORDER BY created_at DESC, id DESC
LIMIT $3
"""


class MailOutbox:
    """The outbox table: enqueue in any transaction, claim and mark for the dispatcher."""

    def __init__(self, pool: Any, clock: Clock, retry: RetryPolicy | None = None) -> None:
        self._pool = pool
        self._clock = clock
        self._retry = retry or RetryPolicy()

    @property
    def retry(self) -> RetryPolicy:
        return self._retry

    async def enqueue(self, mail: OutgoingMail, conn: asyncpg.Connection | None = None) -> int:
        """Store the mail (and its attachments) in `conn`'s transaction (a savepoint inside
        it), or in a transaction of its own without `conn`; the row id."""
        now = self._clock.now()
        if conn is None:
            async with self._pool.acquire() as own, own.transaction():
                return await self._insert(own, mail, now)
        async with conn.transaction():
            return await self._insert(conn, mail, now)

    async def _insert(self, conn: asyncpg.Connection, mail: OutgoingMail, now: datetime) -> int:
        mail_id: int = await conn.fetchval(
            _ENQUEUE,
            mail.kind,
            mail.to,
            mail.subject,
            mail.text,
            mail.html,
            mail.case_id,
            mail.caller_number,
            now,
        )
        if mail.attachments:
            await conn.executemany(
                _ATTACH,
                [
                    (mail_id, position, filename, content_type, content)
                    for position, (filename, content_type, content) in enumerate(mail.attachments)
                ],
            )
        return mail_id

    async def claim(self, now: datetime, batch: int) -> list[ClaimedMail]:
        """Due mails, now `sending` under a lease, taken by no other worker."""
        lease = timedelta(seconds=self._retry.lease_s)
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_CLAIM, now, batch, lease)
            files = await conn.fetch(_ATTACHMENTS_OF, [row["id"] for row in rows])
        attached: dict[int, list[tuple[str, str, bytes]]] = {}
        for f in files:
            attached.setdefault(f["mail_id"], []).append(
                (f["filename"], f["content_type"], bytes(f["content"]))
            )
        return [
            ClaimedMail(
                id=row["id"],
                attempts=row["attempts"],
                to=row["to_address"],
                subject=row["subject"],
                text=row["text_body"],
                html=row["html_body"],
                attachments=attached.get(row["id"], []),
            )
            for row in sorted(rows, key=lambda r: r["id"])
        ]

    async def mark_sent(self, mail_id: int, now: datetime, message_id: str | None) -> None:
        await self._pool.execute(_SENT, mail_id, now, message_id)

    async def mark_failed(
        self, mail: ClaimedMail, now: datetime, error: str, *, permanent: bool
    ) -> MailStatus:
        """`failed` with its next attempt after the backoff, or `given_up`."""
        status = await self._pool.fetchval(
            _FAILED,
            mail.id,
            now + self._retry.wait_after(mail.attempts),
            error[:500],
            permanent,
            self._retry.max_attempts,
        )
        return MailStatus(status)

    async def history(
        self, *, case_id: int | None = None, caller_number: str | None = None, limit: int = 20
    ) -> list[MailRecord]:
        """Mails of a case or to a caller's number, newest first."""
        rows = await self._pool.fetch(_HISTORY, case_id, caller_number, limit)
        return [MailRecord.from_row(row) for row in rows]
