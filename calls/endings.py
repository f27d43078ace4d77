"""The calls' outbox of ended calls (`call_endings`).

Whatever must follow a call's end (its survey) is told through a row written in the very
transaction that first stores the end, never through a live event: a database outage only
delays both, a kill loses neither alone, and a call whose end is learnt late (a resync, a
restart) gets its row like any other. The consumer takes each row once (ivr.endings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from calls.record import CallRecord
from calls.repository import CallChange

_RECORD_ENDING = """
INSERT INTO call_endings (call_key, ended_at) VALUES ($1, $2)
ON CONFLICT (call_key) DO NOTHING
"""


@dataclass(frozen=True, slots=True)
class EndingRecorded:
    """The outbox row of one ended call, as a change the writer makes after its record."""

    call_key: str
    ended_at: datetime

    async def apply(self, conn: asyncpg.Connection) -> bool:
        await conn.execute(_RECORD_ENDING, self.call_key, self.ended_at)
        return True


def endings_of(records: Sequence[CallRecord]) -> list[CallChange]:
    """The CallWriter's follow-ups: an outbox row for every record that carries an end."""
    return [EndingRecorded(r.call_key, r.ended_at) for r in records if r.ended_at is not None]
