"""The calls repository: one row per queue call, whatever order or how often it is saved.

`save_call` is one upsert keyed by call_key, so replays, restarts and resyncs update the
same row. A save never erases what an earlier one learnt (a late Hang-up without talk time
keeps the talk time; the first end of a call is the end). Caller-ID text comes from the
network and is untrusted: stored as capped plain text, NUL bytes removed.

cases must not import telephony, so the record arrives through `CallRecordLike`, the
attributes read here (calls.tracker.CallRecord has them all).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from calls.numbers import normalise

TEXT_LIMIT = 200

# One statement, one round trip: the caller row is created on first sight (a row created by
# a concurrent save after this statement's snapshot is linked by the next save instead), the
# agent is found by (pbx, interface). Identity and first-seen facts keep their first value;
# measurements take the newest non-null value; the end of a call is decided once.
_SAVE_CALL = """
WITH created AS (
    INSERT INTO callers (number) SELECT $6::text WHERE $6::text IS NOT NULL
    ON CONFLICT (number) DO NOTHING
    RETURNING id
)
INSERT INTO calls AS c (
    call_key, pbx, queue, uniqueid, linkedid, caller_id, caller_number, caller_name,
    joined_at, ringing_at, answered_at, ended_at, agent_interface, agent_name, agent_user_id,
    wait_s, ring_s, talk_s, hold_s, hung_up_by, end_reason, abandoned, position,
    original_position, transferred_to, recovered
) VALUES (
    $1, $2, $3, $4, $5,
    COALESCE((SELECT id FROM created), (SELECT id FROM callers WHERE number = $6)),
    $6, $7, $8, $9, $10, $11, $12, $13,
    (SELECT u.id FROM users u WHERE u.pbx = $2 AND u.interface = $12),
    $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24
)
ON CONFLICT (call_key) DO UPDATE SET
    linkedid = COALESCE(c.linkedid, EXCLUDED.linkedid),
    caller_id = COALESCE(c.caller_id, EXCLUDED.caller_id),
    caller_number = COALESCE(c.caller_number, EXCLUDED.caller_number),
    caller_name = COALESCE(c.caller_name, EXCLUDED.caller_name),
    joined_at = LEAST(c.joined_at, EXCLUDED.joined_at),
    ringing_at = COALESCE(EXCLUDED.ringing_at, c.ringing_at),
    answered_at = COALESCE(c.answered_at, EXCLUDED.answered_at),
    ended_at = COALESCE(c.ended_at, EXCLUDED.ended_at),
    agent_interface = COALESCE(EXCLUDED.agent_interface, c.agent_interface),
    agent_name = COALESCE(EXCLUDED.agent_name, c.agent_name),
    agent_user_id = COALESCE(EXCLUDED.agent_user_id, c.agent_user_id),
    wait_s = COALESCE(EXCLUDED.wait_s, c.wait_s),
    ring_s = COALESCE(EXCLUDED.ring_s, c.ring_s),
    talk_s = COALESCE(EXCLUDED.talk_s, c.talk_s),
    hold_s = GREATEST(c.hold_s, EXCLUDED.hold_s),
    hung_up_by = CASE WHEN c.ended_at IS NULL OR EXCLUDED.hung_up_by = 'transfer'
                      THEN COALESCE(EXCLUDED.hung_up_by, c.hung_up_by)
                      ELSE COALESCE(c.hung_up_by, EXCLUDED.hung_up_by) END,
    end_reason = CASE WHEN c.ended_at IS NULL OR EXCLUDED.end_reason = 'transferred'
                      THEN COALESCE(EXCLUDED.end_reason, c.end_reason)
                      ELSE COALESCE(c.end_reason, EXCLUDED.end_reason) END,
    abandoned = c.abandoned OR EXCLUDED.abandoned,
    position = COALESCE(EXCLUDED.position, c.position),
    original_position = COALESCE(c.original_position, EXCLUDED.original_position),
    transferred_to = COALESCE(EXCLUDED.transferred_to, c.transferred_to),
    recovered = c.recovered,
    updated_at = now()
"""

_CALL_COLUMNS = """
    k.id, k.call_key, k.pbx, k.queue, k.uniqueid, k.linkedid, k.caller_id, k.caller_number,
    k.caller_name, k.joined_at, k.ringing_at, k.answered_at, k.ended_at, k.agent_interface,
    k.agent_name, k.agent_user_id, k.wait_s, k.ring_s, k.talk_s, k.hold_s, k.hung_up_by,
    k.end_reason, k.abandoned, k.position, k.original_position, k.transferred_to, k.recovered
"""

_GET_CALL = f"SELECT {_CALL_COLUMNS} FROM calls k WHERE k.call_key = $1"

_CALLS_BETWEEN = f"""
SELECT {_CALL_COLUMNS} FROM calls k
WHERE COALESCE(k.joined_at, k.answered_at) >= $1 AND COALESCE(k.joined_at, k.answered_at) < $2
ORDER BY COALESCE(k.joined_at, k.answered_at), k.id
"""

_OPEN_CALLS = f"""
SELECT {_CALL_COLUMNS} FROM calls k
WHERE k.pbx = $1 AND k.ended_at IS NULL
ORDER BY k.id
"""

_CALLER_HISTORY = """
SELECT k.call_key, k.joined_at, k.answered_at, k.ended_at, k.queue,
       COALESCE(u.display_name, k.agent_name) AS agent, k.wait_s, k.talk_s, k.abandoned,
       k.end_reason,
       (SELECT s.rating FROM surveys s
        WHERE s.call_id = k.id AND s.rating IS NOT NULL
        ORDER BY s.rated_at DESC NULLS LAST LIMIT 1) AS rating
FROM calls k
JOIN callers cl ON cl.id = k.caller_id
LEFT JOIN users u ON u.id = k.agent_user_id
WHERE cl.number = $1 AND k.call_key IS DISTINCT FROM $3
ORDER BY COALESCE(k.joined_at, k.answered_at) DESC NULLS LAST, k.id DESC
LIMIT $2
"""


class CallRecordLike(Protocol):
    """What a call record must offer to be stored (telephony's CallRecord does)."""

    @property
    def call_key(self) -> str: ...
    @property
    def pbx(self) -> str: ...
    @property
    def queue(self) -> str: ...
    @property
    def uniqueid(self) -> str: ...
    @property
    def linkedid(self) -> str | None: ...
    @property
    def caller_number(self) -> str | None: ...
    @property
    def caller_name(self) -> str | None: ...
    @property
    def joined_at(self) -> datetime | None: ...
    @property
    def ringing_at(self) -> datetime | None: ...
    @property
    def answered_at(self) -> datetime | None: ...
    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def agent_interface(self) -> str | None: ...
    @property
    def agent_name(self) -> str | None: ...
    @property
    def wait_s(self) -> float | None: ...
    @property
    def ring_s(self) -> float | None: ...
    @property
    def talk_s(self) -> float | None: ...
    @property
    def hold_s(self) -> float: ...
    @property
    def hung_up_by(self) -> str | None: ...
    @property
    def end_reason(self) -> str | None: ...
    @property
    def abandoned(self) -> bool: ...
    @property
    def position(self) -> int | None: ...
    @property
    def original_position(self) -> int | None: ...
    @property
    def transferred_to(self) -> str | None: ...
    @property
    def recovered(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class StoredCall:
    """A row of `calls` as telephony wrote it, with the ids the rest of hotline joins on."""

    id: int
    call_key: str
    pbx: str
    queue: str
    uniqueid: str
    linkedid: str | None
    caller_id: int | None
    caller_number: str | None
    caller_name: str | None
    joined_at: datetime | None
    ringing_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    agent_interface: str | None
    agent_name: str | None
    agent_user_id: int | None
    wait_s: float | None
    ring_s: float | None
    talk_s: float | None
    hold_s: float
    hung_up_by: str | None
    end_reason: str | None
    abandoned: bool
    position: int | None
    original_position: int | None
    transferred_to: str | None
    recovered: bool

    def record_fields(self) -> dict[str, Any]:
        """The fields telephony's CallRecord takes, to restore open calls after a restart."""
        skip = {"id", "caller_id", "agent_user_id"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}


@dataclass(frozen=True, slots=True)
class CallHistoryItem:
    """One past call of a caller, for the agent's screen."""

    call_key: str
    joined_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    queue: str
    agent: str | None
    wait_s: float | None
    talk_s: float | None
    abandoned: bool
    end_reason: str | None
    rating: int | None


def clean_text(value: str | None, limit: int = TEXT_LIMIT) -> str | None:
    """Untrusted network text made storable: NULs out, invalid UTF-8 replaced, capped."""
    if value is None:
        return None
    text = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:limit]
    return text or None


def _arguments(record: CallRecordLike) -> tuple[Any, ...]:
    """The $n values of _SAVE_CALL for one record, untrusted text cleaned."""
    return (
        record.call_key,
        clean_text(record.pbx),
        clean_text(record.queue),
        clean_text(record.uniqueid),
        clean_text(record.linkedid),
        normalise(record.caller_number),
        clean_text(record.caller_name),
        record.joined_at,
        record.ringing_at,
        record.answered_at,
        record.ended_at,
        clean_text(record.agent_interface),
        clean_text(record.agent_name),
        record.wait_s,
        record.ring_s,
        record.talk_s,
        record.hold_s,
        record.hung_up_by,
        record.end_reason,
        record.abandoned,
        record.position,
        record.original_position,
        clean_text(record.transferred_to),
        record.recovered,
    )


class CallRepository:
    """Stores call records (implements telephony's CallSink) and answers questions on calls."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def save_call(self, record: CallRecordLike) -> None:
        await self.pool.execute(_SAVE_CALL, *_arguments(record))

    async def save_calls(self, records: Sequence[CallRecordLike]) -> None:
        """Several saves in one transaction (one commit), in the order given."""
        if not records:
            return
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.executemany(_SAVE_CALL, [_arguments(r) for r in records])

    async def get_call(self, call_key: str) -> StoredCall | None:
        row = await self.pool.fetchrow(_GET_CALL, call_key)
        return None if row is None else StoredCall(**dict(row))

    async def calls_between(self, start: datetime, end: datetime) -> list[StoredCall]:
        """Calls that joined in [start, end) (answered time for calls adopted mid-talk)."""
        rows = await self.pool.fetch(_CALLS_BETWEEN, start, end)
        return [StoredCall(**dict(r)) for r in rows]

    async def open_calls(self, pbx: str) -> list[StoredCall]:
        """Calls of one PBX with no end yet: what a restarted tracker must settle."""
        rows = await self.pool.fetch(_OPEN_CALLS, pbx)
        return [StoredCall(**dict(r)) for r in rows]

    async def caller_history(
        self, number: str, limit: int = 10, *, exclude_call_key: str | None = None
    ) -> list[CallHistoryItem]:
        """A caller's past calls, newest first, with agent, durations and survey rating."""
        national = normalise(number)
        if national is None:
            return []
        rows = await self.pool.fetch(_CALLER_HISTORY, national, limit, exclude_call_key)
        return [CallHistoryItem(**dict(r)) for r in rows]
