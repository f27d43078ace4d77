"""Filling the AMI's gaps from Asterisk's own queue_log (docs/queue_log.md).

app_queue writes every milestone of a queue call into queue_log whether or not anyone
listens on the AMI. After each (re)connect (every `PbxSnapshot`, the first one at start
included) the rows beyond the PBX's cursor are read; each call they show ending is built
from all of its rows and stored with its true outcome and times, unless the live stream
already stored its end (a `lost_in_gap` guess is replaced: see calls/repository.py). The
upsert by call_key makes a replay change nothing, so a call is stored exactly once.

What queue_log cannot say stays unknown: holds (not logged; talk is as app_queue counts
it), the agent's interface (only the member name is logged). Calls still in progress are
left to the live stream and the snapshot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog

from calls.record import CallRecord, CallSink
from telephony.events import PbxSnapshot, TelephonyEvent, make_call_key

log = structlog.get_logger()

BATCH = 2000
GAPS_LOST = "gaps cannot be recovered"
_END_EVENTS = (
    "COMPLETECALLER",
    "COMPLETEAGENT",
    "BLINDTRANSFER",
    "ATTENDEDTRANSFER",
    "ABANDON",
    "EXITWITHTIMEOUT",
    "EXITWITHKEY",
    "EXITEMPTY",
)
_EXIT_REASONS = {"EXITWITHTIMEOUT": "timeout", "EXITWITHKEY": "key", "EXITEMPTY": "empty"}

_CURSOR = "SELECT last_id FROM queue_log_cursor WHERE pbx = $1"
_MOVE_CURSOR = """
INSERT INTO queue_log_cursor (pbx, last_id) VALUES ($1, $2)
ON CONFLICT (pbx) DO UPDATE SET last_id = GREATEST(queue_log_cursor.last_id, EXCLUDED.last_id),
    read_at = now()
"""
_NEWEST_CALL = "SELECT max(COALESCE(joined_at, answered_at)) FROM calls WHERE pbx = $1"
_ALREADY_ENDED = """
SELECT call_key FROM calls
WHERE call_key = ANY($1::text[]) AND ended_at IS NOT NULL
  AND end_reason IS DISTINCT FROM 'lost_in_gap'
"""


@dataclass(frozen=True, slots=True)
class QueueLogRow:
    id: int
    time: datetime
    callid: str
    queuename: str
    agent: str
    event: str
    data: tuple[str, str, str, str, str]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _position(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _apply(record: CallRecord, row: QueueLogRow) -> None:
    """One row's facts into the call's record (fields as app_queue.c logs them)."""
    d1, d2, d3, d4, d5 = row.data
    event = row.event
    if event == "ENTERQUEUE":
        record.joined_at = row.time
        record.caller_number = d2 or None
        record.original_position = record.position = _position(d3)
    elif event == "CONNECT":
        record.answered_at = row.time
        record.wait_s, record.ring_s = _number(d1), _number(d3)
        record.agent_name = row.agent or None
    elif event in ("COMPLETECALLER", "COMPLETEAGENT"):
        record.talk_s = _number(d2)
        record.hung_up_by = "caller" if event == "COMPLETECALLER" else "agent"
        record.end_reason = "completed"
    elif event in ("BLINDTRANSFER", "ATTENDEDTRANSFER"):
        blind = event == "BLINDTRANSFER"
        link = not blind and d1 == "LINK"
        record.talk_s = _number(d5.split("|", 1)[0] if link else d4)
        record.hung_up_by, record.end_reason = "transfer", "transferred"
        record.transfer_kind = "blind" if blind else "attended"
        record.transferred_to = d1 if blind else None
    elif event == "ABANDON":
        record.abandoned, record.hung_up_by, record.end_reason = True, "caller", "abandoned"
        record.position, record.wait_s = _position(d1), _number(d3)
    elif event in _EXIT_REASONS:
        record.end_reason = _EXIT_REASONS[event]
        if event == "EXITWITHKEY":
            record.exit_key, record.position, record.wait_s = d1 or None, _position(d2), _number(d4)
        else:
            record.position, record.wait_s = _position(d1), _number(d3)
    if event in _END_EVENTS:
        record.ended_at = row.time


def ended_calls(pbx: str, rows: Iterable[QueueLogRow]) -> list[CallRecord]:
    """The queue calls these rows (all rows of each caller, in id order) show ended.

    A caller's visits are counted by ENTERQUEUE, like the translator counts a caller sent
    back into a queue, so each visit gets the same call_key as if it had been seen live.
    """
    records: list[CallRecord] = []
    visits: dict[str, int] = {}
    current: dict[str, CallRecord] = {}
    for row in rows:
        if row.event == "ENTERQUEUE":
            visits[row.callid] = visits.get(row.callid, 0) + 1
            key = make_call_key(pbx, row.queuename, row.callid, visits[row.callid])
            current[row.callid] = CallRecord(
                call_key=key, pbx=pbx, queue=row.queuename, uniqueid=row.callid, recovered=True
            )
        record = current.get(row.callid)
        if record is None or record.ended_at is not None:
            continue
        _apply(record, row)
        if record.ended_at is not None:
            records.append(record)
    return records


class QueueLogSource:
    """One PBX's queue_log table, read by hotline (Asterisk's role only inserts)."""

    def __init__(self, pool: asyncpg.Pool, table: str) -> None:
        self.pool = pool
        self.table = table
        columns = "id, time, callid, queuename, agent, event, data1, data2, data3, data4, data5"
        self._after = f"SELECT {columns} FROM {table} WHERE id > $1 ORDER BY id LIMIT $2"
        self._last = f"SELECT COALESCE(max(id), 0) FROM {table}"
        self._last_before = f"{self._last} WHERE time < $1"
        self._of_callers = (
            f"SELECT {columns} FROM {table} WHERE callid = ANY($1::text[]) AND id <= $2 ORDER BY id"
        )

    async def last_before(self, moment: datetime | None) -> int:
        """The id of the last row written before `moment` (any time: the last row; 0 when
        there is none)."""
        if moment is None:
            return int(await self.pool.fetchval(self._last))
        naive_utc = moment.astimezone(UTC).replace(tzinfo=None)
        return int(await self.pool.fetchval(self._last_before, naive_utc))

    async def after(self, last_id: int, limit: int = BATCH) -> list[QueueLogRow]:
        return _rows(await self.pool.fetch(self._after, last_id, limit))

    async def of_callers(self, callids: Sequence[str], up_to: int) -> list[QueueLogRow]:
        return _rows(await self.pool.fetch(self._of_callers, list(callids), up_to))


def _rows(found: Iterable[asyncpg.Record]) -> list[QueueLogRow]:
    return [
        QueueLogRow(
            id=r["id"],
            time=r["time"].replace(tzinfo=UTC),
            callid=r["callid"],
            queuename=r["queuename"],
            agent=r["agent"],
            event=r["event"],
            data=(r["data1"], r["data2"], r["data3"], r["data4"], r["data5"]),
        )
        for r in found
    ]


class GapRecovery:
    """After each snapshot of its PBX, store the calls queue_log shows ended unseen."""

    def __init__(
        self,
        pbx: str,
        source: QueueLogSource,
        sink: CallSink,
        flush: Callable[[], Awaitable[None]],
    ) -> None:
        self.pbx = pbx
        self.source = source
        self.sink = sink
        self.flush = flush
        self.pool = source.pool
        self.recovered = 0
        self._health: tuple[bool, str] = (True, "ok")

    def health(self) -> tuple[bool, str]:
        return self._health

    async def handle(self, event: TelephonyEvent) -> None:
        if isinstance(event, PbxSnapshot) and event.pbx == self.pbx:
            await self.recover()

    async def recover(self) -> int:
        """Read every row beyond the cursor; returns how many calls were stored."""
        stored = 0
        try:
            # What the live stream handed in before the gap is stored first, so it is seen.
            await self.flush()
            while True:
                last_id = await self._cursor()
                batch = await self.source.after(last_id)
                if not batch:
                    break
                stored += await self._apply(batch)
                await self.pool.execute(_MOVE_CURSOR, self.pbx, batch[-1].id)
        except (OSError, asyncpg.PostgresError) as exc:
            self._health = (False, f"queue_log unreadable ({exc}): {GAPS_LOST}")
            log.warning("queue_log_recovery_failed", pbx=self.pbx, reason=str(exc))
            return stored
        self._health = (True, "ok")
        self.recovered += stored
        if stored:
            log.info("queue_log_calls_recovered", pbx=self.pbx, calls=stored)
        return stored

    async def _cursor(self) -> int:
        """Where reading resumes. The first time, after the rows older than the newest call
        hotline stored for this PBX (the gap since its last stop), or after every row when
        it never stored one: the PBX's history from before hotline is not imported (its
        calls would get surveys months late)."""
        last_id: int | None = await self.pool.fetchval(_CURSOR, self.pbx)
        if last_id is not None:
            return last_id
        newest: datetime | None = await self.pool.fetchval(_NEWEST_CALL, self.pbx)
        last_id = await self.source.last_before(newest)
        await self.pool.execute(_MOVE_CURSOR, self.pbx, last_id)
        return last_id

    async def _apply(self, batch: list[QueueLogRow]) -> int:
        ending = sorted({r.callid for r in batch if r.event in _END_EVENTS})
        if not ending:
            return 0
        rows = await self.source.of_callers(ending, batch[-1].id)
        records = ended_calls(self.pbx, rows)
        keys = [c.call_key for c in records]
        ended = {r["call_key"] for r in await self.pool.fetch(_ALREADY_ENDED, keys)}
        fresh = [r for r in records if r.call_key not in ended]
        for record in fresh:
            await self.sink.save_call(record)
        await self.flush()
        return len(fresh)
