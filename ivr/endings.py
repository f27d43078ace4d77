"""Surveys for ended calls, taken from the calls' outbox (`call_endings`, calls.endings).

Each outbox row is taken once, in the transaction that schedules its call's survey, so a
survey is owed for every ended call the database ever stored, whatever failed in between:
a database outage delays the rows, a kill rolls back a take half done. Several instances
take different rows (SKIP LOCKED).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ivr.scheduler import EndedCall, SurveyScheduler

TAKE_BATCH = 200

_TAKE = """
SELECT e.id, c.call_key, c.pbx, c.queue, c.caller_number, c.agent_interface, c.ended_at,
       c.answered_at IS NOT NULL AND NOT c.abandoned AS answered
FROM call_endings e
JOIN calls c ON c.call_key = e.call_key
WHERE e.taken_at IS NULL
ORDER BY e.id
LIMIT $1
FOR UPDATE OF e SKIP LOCKED
"""

_TAKEN = "UPDATE call_endings SET taken_at = $2 WHERE id = ANY($1::bigint[])"


class EndedCallSurveys:
    """Turns the outbox's ended calls into survey rows: answered calls only."""

    def __init__(self, pool: Any, scheduler: SurveyScheduler, batch: int = TAKE_BATCH) -> None:
        self._pool = pool
        self._scheduler = scheduler
        self._batch = batch

    async def take(self, now: datetime) -> int:
        """Take every waiting ended call; how many were taken."""
        total = 0
        while taken := await self._take_batch(now):
            total += taken
            if taken < self._batch:
                break
        return total

    async def _take_batch(self, now: datetime) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_TAKE, self._batch)
            for row in rows:
                if row["answered"]:
                    call = EndedCall(
                        call_key=row["call_key"],
                        pbx=row["pbx"],
                        queue=row["queue"],
                        caller_number=row["caller_number"],
                        agent_interface=row["agent_interface"],
                        ended_at=row["ended_at"],
                    )
                    await self._scheduler.on_call_ended(call, now, conn)
            if rows:
                await conn.execute(_TAKEN, [row["id"] for row in rows], now)
        return len(rows)
