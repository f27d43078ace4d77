"""Call records the database refuses, set aside so the others flow on.

A record PostgreSQL will never accept (a number out of range, text it cannot hold) would
otherwise be retried forever at the head of the writer's queue, stopping every later save.
Only errors about the data itself count as a refusal; a database that is down or busy is
retried, never taken for a bad record.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import asyncpg
import structlog

from calls.record import CallRecord

log = structlog.get_logger()

# SQLSTATE classes about the values sent: 22 data exception, 23 integrity constraint; and
# asyncpg's own check of a parameter (a number out of range), which is a ValueError.
_REFUSALS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, ValueError)

_SET_ASIDE = "INSERT INTO call_dead_letters (call_key, record, reason) VALUES ($1, $2, $3)"


class CallDeadLetters:
    """The `call_dead_letters` table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    def refused(self, error: BaseException) -> bool:
        """True when the database refused the values themselves (retrying cannot help)."""
        return isinstance(error, _REFUSALS)

    async def set_aside(self, record: CallRecord, reason: str) -> None:
        """Keep the record as JSON text (NULs escaped, so storable) with why it was refused."""
        text = json.dumps(asdict(record), default=str, ensure_ascii=True)
        key = record.call_key.replace("\x00", "\\u0000")
        await self._pool.execute(_SET_ASIDE, key, text, reason.replace("\x00", ""))
        log.error("call_record_set_aside", call_key=key, reason=reason)
