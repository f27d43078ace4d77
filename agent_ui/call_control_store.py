"""What call control stores: the overflow's callback requests and the calls agents place.

A callback request is kept as the caller's phone sent it, even when it is no number we
can dial (it is then shown, never dialled). Click-to-call rows are written before the PBX
is asked, so a call whose answer never comes is still on record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from telephony.events import OutboundCallEnded

_INSERT_REQUEST = """
INSERT INTO callback_requests (pbx, queue, call_key, raw_number, number, requested_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (call_key) DO NOTHING
"""

_OPEN_REQUESTS = """
SELECT id, queue, raw_number, number, requested_at FROM callback_requests
WHERE done_at IS NULL AND ($1::text[] IS NULL OR queue = ANY($1))
ORDER BY requested_at, id LIMIT $2
"""

_REQUEST = "SELECT id, number, done_at FROM callback_requests WHERE id = $1"

_MARK_DONE = """
UPDATE callback_requests SET done_at = $2, done_by = $3 WHERE id = $1 AND done_at IS NULL
"""

_INSERT_OUTBOUND = """
INSERT INTO outbound_calls
    (pbx, channel_id, agent_user_id, number, case_id, callback_request_id, started_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id
"""

_OUTBOUND_RESULT = """
UPDATE outbound_calls SET outcome = $2, answered_at = $3 WHERE id = $1
"""

# The PBX's word on how the call went; a dial by hand (no row of ours) changes nothing.
_OUTBOUND_ENDED = """
UPDATE outbound_calls SET dialled_at = $3, citizen_answered_at = $4, ended_at = $5, talk_s = $6
WHERE pbx = $1 AND channel_id = $2 AND ended_at IS NULL
"""


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """One open request as agents and supervisors see it."""

    id: int
    queue: str
    raw_number: str
    number: str | None
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class OutboundCall:
    """A click-to-call about to be placed: who, to whom, for which case or request."""

    pbx: str
    channel_id: str
    agent_user_id: int
    number: str
    case_id: int | None
    callback_request_id: int | None
    started_at: datetime


class CallControlStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add_request(
        self,
        *,
        pbx: str,
        queue: str,
        call_key: str,
        raw_number: str,
        number: str | None,
        at: datetime,
    ) -> None:
        """Once per call: the same request seen again (a replay) is not a second one."""
        await self._pool.execute(_INSERT_REQUEST, pbx, queue, call_key, raw_number, number, at)

    async def open_requests(
        self, queues: list[str] | None = None, limit: int = 200
    ) -> list[CallbackRequest]:
        """The oldest first; `queues` None means every queue (supervisors)."""
        rows = await self._pool.fetch(_OPEN_REQUESTS, queues, limit)
        return [CallbackRequest(**dict(row)) for row in rows]

    async def request_number(self, request_id: int) -> str | None:
        """The number of an open request that can be dialled, else None."""
        row = await self._pool.fetchrow(_REQUEST, request_id)
        if row is None or row["done_at"] is not None:
            return None
        number: str | None = row["number"]
        return number

    async def mark_done(self, request_id: int, at: datetime, user_id: int) -> None:
        await self._pool.execute(_MARK_DONE, request_id, at, user_id)

    async def add_outbound(self, call: OutboundCall) -> int:
        outbound_id: int = await self._pool.fetchval(
            _INSERT_OUTBOUND,
            call.pbx,
            call.channel_id,
            call.agent_user_id,
            call.number,
            call.case_id,
            call.callback_request_id,
            call.started_at,
        )
        return outbound_id

    async def outbound_result(
        self, outbound_id: int, outcome: str, answered_at: datetime | None
    ) -> None:
        await self._pool.execute(_OUTBOUND_RESULT, outbound_id, outcome, answered_at)

    async def outbound_ended(self, ended: OutboundCallEnded) -> bool:
        """Complete the call placed with the agent's channel `ended.uniqueid` (our ChannelId);
        False when it is none of ours or was completed already (a replay)."""
        status: str = await self._pool.execute(
            _OUTBOUND_ENDED,
            ended.pbx,
            ended.uniqueid,
            ended.dialled_at,
            ended.answered_at,
            ended.at,
            ended.talk_s,
        )
        return status.endswith(" 1")
