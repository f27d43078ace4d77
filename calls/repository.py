"""The calls repository: one row per queue call, whatever order or how often it is saved.

`save_calls` is one upsert per record keyed by call_key, so replays, restarts and resyncs
update the same row. A save never erases what an earlier one learnt (a late Hang-up without
talk time keeps the talk time; the first end of a call is the end). Caller-ID text comes
from the network and is untrusted: stored as capped plain text, NUL bytes removed.

The statements are built from the fields of `CallRecord`; only the facts that merge in a
particular way are named here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from calls.numbers import normalise
from calls.record import RECORD_FIELDS, CallRecord

TEXT_LIMIT = 200

# A save merges into the row already stored: identity and first-seen facts keep their first
# value, the join time its earliest, hold time its longest, an abandon stays; the end of a
# call is decided once (only a transfer learnt later corrects it, and a real end, learnt
# from the PBX's queue_log, replaces a `lost_in_gap` guess); every other fact takes the
# newest known value. Join and answer times estimated from a snapshot yield to exact ones
# (queue_log's ENTERQUEUE and CONNECT), and never replace them.
_KEEP_FIRST = "COALESCE(c.{0}, EXCLUDED.{0})"
_EXACT_NOW = "(c.times_estimated AND NOT EXCLUDED.times_estimated)"
_ESTIMATE_NOW = "(EXCLUDED.times_estimated AND NOT c.times_estimated)"
_TIMED = (
    f"CASE WHEN {_EXACT_NOW} THEN COALESCE(EXCLUDED.{{0}}, c.{{0}})"
    f" WHEN {_ESTIMATE_NOW} THEN COALESCE(c.{{0}}, EXCLUDED.{{0}}) ELSE {{1}} END"
)
_NEWEST = "COALESCE(EXCLUDED.{0}, c.{0})"
_GUESSED_END = (
    "(c.end_reason = 'lost_in_gap' AND EXCLUDED.ended_at IS NOT NULL"
    " AND EXCLUDED.end_reason IS DISTINCT FROM 'lost_in_gap')"
)
_DECIDED_ONCE = f"""CASE WHEN c.ended_at IS NULL OR EXCLUDED.{{0}} = '{{1}}' OR {_GUESSED_END}
        THEN COALESCE(EXCLUDED.{{0}}, c.{{0}}) ELSE COALESCE(c.{{0}}, EXCLUDED.{{0}}) END"""
_MERGE = {
    **{
        column: _KEEP_FIRST.format(column)
        for column in (
            "pbx",
            "queue",
            "uniqueid",
            "linkedid",
            "caller_id",
            "caller_number",
            "caller_name",
            "original_position",
            "recovered",
            "came_from",
        )
    },
    "joined_at": _TIMED.format("joined_at", "LEAST(c.joined_at, EXCLUDED.joined_at)"),
    "answered_at": _TIMED.format("answered_at", _KEEP_FIRST.format("answered_at")),
    "ended_at": f"CASE WHEN {_GUESSED_END} THEN EXCLUDED.ended_at "
    "ELSE COALESCE(c.ended_at, EXCLUDED.ended_at) END",
    "hold_s": "GREATEST(c.hold_s, EXCLUDED.hold_s)",
    "held_since": "EXCLUDED.held_since",
    "abandoned": "c.abandoned OR EXCLUDED.abandoned",
    "hung_up_by": _DECIDED_ONCE.format("hung_up_by", "transfer"),
    "end_reason": _DECIDED_ONCE.format("end_reason", "transferred"),
}

# The record's fields are the statement's $1..$n; the row's ids are found from them: the
# caller row is created on first sight (one created by a concurrent save after this
# statement's snapshot is linked by the next save instead), the agent by (pbx, interface).
_PARAMETERS = {name: f"${n}" for n, name in enumerate(RECORD_FIELDS, start=1)}
_NUMBER = _PARAMETERS["caller_number"]
_VALUES = {
    **_PARAMETERS,
    "caller_id": f"COALESCE((SELECT id FROM created), "
    f"(SELECT id FROM callers WHERE number = {_NUMBER}))",
    "agent_user_id": f"(SELECT u.id FROM users u WHERE u.pbx = {_PARAMETERS['pbx']} "
    f"AND u.interface = {_PARAMETERS['agent_interface']})",
}
_UPDATES = ",\n    ".join(
    f"{column} = {_MERGE.get(column, _NEWEST.format(column))}"
    for column in _VALUES
    if column != "call_key"
)

# One statement, one round trip.
_SAVE_CALL = f"""
WITH created AS (
    INSERT INTO callers (number) SELECT {_NUMBER}::text WHERE {_NUMBER}::text IS NOT NULL
    ON CONFLICT (number) DO NOTHING
    RETURNING id
)
INSERT INTO calls AS c ({", ".join(_VALUES)})
VALUES ({", ".join(_VALUES.values())})
ON CONFLICT (call_key) DO UPDATE SET
    {_UPDATES},
    updated_at = now()
"""

_CALL_COLUMNS = ", ".join(f"k.{c}" for c in ("id", *RECORD_FIELDS, "caller_id", "agent_user_id"))

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


class CallChange(Protocol):
    """A change to a call's stored row that the row must exist for (the panel's phase marks
    and wrap-up end), made by the writer in the same transaction as the records before it."""

    @property
    def call_key(self) -> str: ...

    async def apply(self, conn: asyncpg.Connection) -> bool:
        """Make the change; False, having changed nothing, when the call has no row yet."""
        ...


@dataclass(slots=True, kw_only=True)
class StoredCall(CallRecord):
    """A row of `calls`: the record as stored, with the ids the rest of hotline joins on."""

    id: int
    caller_id: int | None
    agent_user_id: int | None


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


def _arguments(record: CallRecord) -> list[Any]:
    """The $n values of _SAVE_CALL: network text cleaned, the caller's number normalised.
    The call key is the call's identity everywhere (the panel's changes find the row by
    it), so it is stored exactly as given."""
    values: list[Any] = []
    for name in RECORD_FIELDS:
        value = getattr(record, name)
        if name == "caller_number":
            value = normalise(value)
        elif isinstance(value, str) and name != "call_key":
            value = clean_text(value)
        values.append(value)
    return values


class CallRepository:
    """Stores call records and answers questions on calls."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def save_call(self, record: CallRecord) -> None:
        """One save, one commit (a CallSink without the write-behind)."""
        await self.pool.execute(_SAVE_CALL, *_arguments(record))

    async def save_calls(
        self, records: Sequence[CallRecord], changes: Sequence[CallChange] = ()
    ) -> list[CallChange]:
        """Save the records, then make the changes, in one transaction (one commit), in the
        order given. The changes of a call that has no row yet come back untouched, in order
        (a later one would otherwise overtake them)."""
        if not records and not changes:
            return []
        missing: list[CallChange] = []
        async with self.pool.acquire() as conn, conn.transaction():
            if records:
                await conn.executemany(_SAVE_CALL, [_arguments(r) for r in records])
            rowless: set[str] = set()
            for change in changes:
                if change.call_key in rowless or not await change.apply(conn):
                    rowless.add(change.call_key)
                    missing.append(change)
        return missing

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
