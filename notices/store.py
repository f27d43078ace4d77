"""The notices' table (`case_notices`) and what it reads of cases.

A notice is planned for every case event that reaches a configured step, when the caller
chose a channel at intake; planning reads the events past a cursor, with an overlap so an
event committed late is not missed (ON CONFLICT keeps each event to one notice). Delivery
takes notices as the mail outbox takes mails: SKIP LOCKED, `sending` under a lease, then
sent, failed with a backoff, or given up; each outcome that matters goes into the case's
history as a `notice_sent` or `notice_given_up` event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from cases.lifecycle import Status
from mail.outbox import MailStatus, RetryPolicy

PLAN_OVERLAP = 500
LEASE = timedelta(minutes=5)

_CURSOR = "SELECT first_event_id, last_event_id FROM notice_cursor FOR UPDATE"
_NEW_EVENTS = """
SELECT e.id, e.case_id, e.to_status, c.notify_by
FROM case_events e JOIN cases c ON c.id = e.case_id
WHERE e.id > $1 ORDER BY e.id LIMIT $2
"""
_PLAN = """
INSERT INTO case_notices (case_id, event_id, step, channel, lang, next_attempt_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $6)
ON CONFLICT (event_id) DO NOTHING
"""
_MOVE_CURSOR = "UPDATE notice_cursor SET last_event_id = GREATEST(last_event_id, $1)"
_CLAIM = """
WITH due AS (
    SELECT id FROM case_notices
    WHERE status IN ('queued', 'failed', 'sending') AND next_attempt_at <= $1
    ORDER BY next_attempt_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE case_notices n
SET status = 'sending', attempts = n.attempts + 1, next_attempt_at = $1 + $3::interval
FROM due WHERE n.id = due.id
RETURNING n.id, n.case_id, n.step, n.channel, n.lang, n.attempts, n.retry_key::text
"""
_FACTS = """
SELECT c.id, c.reference, c.topic, c.decision, c.status, c.contact_email,
       COALESCE(NULLIF(c.contact_phone, ''), cl.number) AS phone, cl.number AS caller_number,
       COALESCE(l.line_user_id, cl.line_user_id) AS line_user_id
FROM cases c
LEFT JOIN callers cl ON cl.id = c.caller_id
LEFT JOIN case_line_links l ON l.case_id = c.id
WHERE c.id = ANY($1::bigint[])
"""
_SENT = """
UPDATE case_notices SET status = 'sent', sent_at = $2, provider_id = $3, mail_id = $4,
    last_error = NULL
WHERE id = $1 AND status = 'sending'
"""
_FAILED = """
UPDATE case_notices
SET status = CASE WHEN $4 OR attempts >= $5 THEN 'given_up' ELSE 'failed' END,
    last_error = $3, next_attempt_at = $2
WHERE id = $1 AND status = 'sending'
RETURNING status
"""
_EVENT = """
INSERT INTO case_events (case_id, at, actor_id, action, note, data)
VALUES ($1, $2, NULL, $3, $4, $5)
"""
_OF_CASE = """
SELECT n.id, n.step, n.channel, n.status, n.attempts, n.last_error, n.created_at, n.sent_at,
       m.status AS mail_status
FROM case_notices n LEFT JOIN mail_outbox m ON m.id = n.mail_id
WHERE n.case_id = $1 ORDER BY n.created_at, n.id
"""
_CASE_BY_REFERENCE = """
SELECT id, caller_id FROM cases WHERE upper(reference) = upper($1) AND anonymised_at IS NULL
"""
_LINK = """
INSERT INTO case_line_links (case_id, line_user_id, linked_at) VALUES ($1, $2, $3)
ON CONFLICT (case_id) DO UPDATE SET line_user_id = EXCLUDED.line_user_id,
                                    linked_at = EXCLUDED.linked_at
"""
_LINK_CALLER = "UPDATE callers SET line_user_id = $2 WHERE id = $1"


@dataclass(frozen=True)
class ClaimedNotice:
    id: int
    case_id: int
    step: Status
    channel: str
    lang: str
    attempts: int
    retry_key: str


@dataclass(frozen=True)
class CaseFacts:
    """What a notice says and where it goes."""

    case_id: int
    reference: str
    topic: str
    decision: str | None
    status: Status
    email: str | None
    phone: str | None
    caller_number: str | None
    line_user_id: str | None


@dataclass(frozen=True)
class NoticeRecord:
    """One notice as the case page shows it."""

    id: int
    step: str
    channel: str
    status: MailStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    mail_status: MailStatus | None


class NoticeStore:
    def __init__(self, pool: Any, retry: RetryPolicy) -> None:
        self._pool = pool
        self._retry = retry

    @property
    def pool(self) -> Any:
        return self._pool

    @property
    def retry(self) -> RetryPolicy:
        return self._retry

    async def plan(
        self, now: datetime, steps: Sequence[Status], lang: str, batch: int = 1000
    ) -> int:
        """Notices for the new events that reach one of `steps`; how many were planned."""
        wanted = {step.value for step in steps}
        planned = 0
        async with self._pool.acquire() as conn, conn.transaction():
            first, last = await conn.fetchrow(_CURSOR)
            events = await conn.fetch(_NEW_EVENTS, max(first, last - PLAN_OVERLAP), batch)
            for event in events:
                if event["to_status"] in wanted and event["notify_by"] in ("email", "sms", "line"):
                    result = await conn.execute(
                        _PLAN,
                        event["case_id"],
                        event["id"],
                        event["to_status"],
                        event["notify_by"],
                        lang,
                        now,
                    )
                    planned += result.endswith(" 1")
            if events:
                await conn.execute(_MOVE_CURSOR, events[-1]["id"])
        return planned

    async def claim(self, now: datetime, batch: int) -> list[tuple[ClaimedNotice, CaseFacts]]:
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_CLAIM, now, batch, LEASE)
            facts = await conn.fetch(_FACTS, list({row["case_id"] for row in rows}))
        by_case = {row["id"]: _facts(row) for row in facts}
        claimed = [
            ClaimedNotice(
                id=row["id"],
                case_id=row["case_id"],
                step=Status(row["step"]),
                channel=row["channel"],
                lang=row["lang"],
                attempts=row["attempts"],
                retry_key=row["retry_key"],
            )
            for row in sorted(rows, key=lambda r: r["id"])
        ]
        return [(notice, by_case[notice.case_id]) for notice in claimed]

    async def mark_sent(
        self,
        notice: ClaimedNotice,
        now: datetime,
        provider_id: str,
        *,
        mail_id: int | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> None:
        """Sent (for e-mail: handed to the outbox), and so in the case's history."""
        if conn is None:
            async with self._pool.acquire() as own, own.transaction():
                await self._sent(own, notice, now, provider_id, mail_id)
            return
        await self._sent(conn, notice, now, provider_id, mail_id)

    async def _sent(
        self,
        conn: asyncpg.Connection,
        notice: ClaimedNotice,
        now: datetime,
        provider_id: str,
        mail_id: int | None,
    ) -> None:
        await conn.execute(_SENT, notice.id, now, provider_id, mail_id)
        await conn.execute(
            _EVENT,
            notice.case_id,
            now,
            "notice_sent",
            "",
            {"notice_id": notice.id, "channel": notice.channel, "step": notice.step.value},
        )

    async def mark_failed(
        self, notice: ClaimedNotice, now: datetime, error: str, *, permanent: bool
    ) -> MailStatus:
        async with self._pool.acquire() as conn, conn.transaction():
            status = MailStatus(
                await conn.fetchval(
                    _FAILED,
                    notice.id,
                    now + self._retry.wait_after(notice.attempts),
                    error[:500],
                    permanent,
                    self._retry.max_attempts,
                )
            )
            if status is MailStatus.GIVEN_UP:
                await conn.execute(
                    _EVENT,
                    notice.case_id,
                    now,
                    "notice_given_up",
                    error[:500],
                    {"notice_id": notice.id, "channel": notice.channel},
                )
        return status

    async def of_case(self, case_id: int) -> list[NoticeRecord]:
        rows = await self._pool.fetch(_OF_CASE, case_id)
        return [
            NoticeRecord(
                id=r["id"],
                step=r["step"],
                channel=r["channel"],
                status=MailStatus(r["status"]),
                attempts=r["attempts"],
                last_error=r["last_error"],
                created_at=r["created_at"],
                sent_at=r["sent_at"],
                mail_status=MailStatus(r["mail_status"]) if r["mail_status"] else None,
            )
            for r in rows
        ]

    async def link_line(self, reference: str, line_user_id: str, now: datetime) -> int | None:
        """Link a LINE user to the case with this reference, and to its caller so their
        later cases reach them too; the case id, or None when there is no such case."""
        async with self._pool.acquire() as conn, conn.transaction():
            case = await conn.fetchrow(_CASE_BY_REFERENCE, reference.strip())
            if case is None:
                return None
            await conn.execute(_LINK, case["id"], line_user_id, now)
            if case["caller_id"] is not None:
                await conn.execute(_LINK_CALLER, case["caller_id"], line_user_id)
            await conn.execute(_EVENT, case["id"], now, "line_linked", "", {"channel": "line"})
        case_id: int = case["id"]
        return case_id


def _facts(row: Any) -> CaseFacts:
    return CaseFacts(
        case_id=row["id"],
        reference=row["reference"],
        topic=row["topic"],
        decision=row["decision"],
        status=Status(row["status"]),
        email=row["contact_email"],
        phone=row["phone"],
        caller_number=row["caller_number"],
        line_user_id=row["line_user_id"],
    )
