"""Filling the AMI's gaps from Asterisk's own queue_log (docs/queue_log.md).

app_queue writes every milestone of a queue call into queue_log whether or not anyone
listens on the AMI. After each (re)connect (every `PbxSnapshot`, the first one at start
included), once the tracker has reconciled, the rows beyond the PBX's cursor written up to
the snapshot are read and every call they show is settled, ended or not:

* one the tracker holds (open, or just closed as `lost_in_gap`) is handed to it: the join
  and answer a snapshot guessed from channel ages become ENTERQUEUE's and CONNECT's, and
  queue_log's end, if any, closes it;
* one it does not hold is stored from queue_log, unless the live stream already stored
  its end; a call with no end row is closed by the next QUEUESTART (Asterisk restarted)
  or, when the snapshot no longer shows it, as `lost_in_gap` (METRICS.md: queue_log
  misses some ends).

The upsert by call_key makes a replay change nothing, so a call is stored exactly once.
What queue_log cannot say stays unknown: holds (not logged), the agent's interface (only
the member name is logged).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import takewhile

import asyncpg
import structlog

from calls.record import CallRecord, CallSink
from calls.tracker import CallTracker
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
# The callids of rows that are not a caller's (members, restarts, manager actions).
_NOT_CALLERS = frozenset({"NONE", "MANAGER", "REALTIME", ""})
_EXIT_REASONS = {"EXITWITHTIMEOUT": "timeout", "EXITWITHKEY": "key", "EXITEMPTY": "empty"}

_CURSOR = "SELECT last_id FROM queue_log_cursor WHERE pbx = $1"
_MOVE_CURSOR = """
INSERT INTO queue_log_cursor (pbx, last_id) VALUES ($1, $2)
ON CONFLICT (pbx) DO UPDATE SET last_id = GREATEST(queue_log_cursor.last_id, EXCLUDED.last_id),
    read_at = now()
"""
_NEWEST_CALL = "SELECT max(COALESCE(joined_at, answered_at)) FROM calls WHERE pbx = $1"
# The calls of a PBX that a restart at $2 may have cut: still open, or closed as lost by
# the reconcile after it.
_OPEN_AT = """
SELECT uniqueid FROM calls
WHERE pbx = $1 AND COALESCE(joined_at, answered_at) <= $2
  AND (ended_at IS NULL OR (end_reason = 'lost_in_gap' AND ended_at >= $2))
"""
_ENDED = """
SELECT call_key, end_reason = 'lost_in_gap' AS guessed FROM calls
WHERE call_key = ANY($1::text[]) AND ended_at IS NOT NULL
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


def _cut_by_restart(record: CallRecord, restart: QueueLogRow) -> None:
    """A call still in progress when Asterisk restarted: app_queue wrote no end for it (the
    process is replaced right after the channels are cut), so the next QUEUESTART closes
    it, as the live stream does on a Shutdown: hung up by the system, completed when it
    was answered, else an exit for an unknown reason. Late by at most the restart's
    length: nothing is logged while Asterisk is down."""
    record.ended_at, record.hung_up_by = restart.time, "system"
    if record.answered_at is not None:
        record.end_reason = "completed"
        record.talk_s = max(0.0, (restart.time - record.answered_at).total_seconds())
    else:
        record.end_reason = "unknown"
        if record.joined_at is not None:
            record.wait_s = max(0.0, (restart.time - record.joined_at).total_seconds())


def rebuilt_calls(
    pbx: str, rows: Iterable[QueueLogRow], restarts: Sequence[QueueLogRow] = ()
) -> list[CallRecord]:
    """Every queue call these rows (all rows of each caller, in id order) show, ended or
    still going (`ended_at` None); one with no end before a restart is closed by it.

    A caller's visits are counted by ENTERQUEUE, like the translator counts a caller sent
    back into a queue, so each visit gets the same call_key as if it had been seen live.
    """
    records: list[CallRecord] = []
    visits: dict[str, int] = {}
    current: dict[str, CallRecord] = {}
    last_row: dict[str, int] = {}
    for row in rows:
        if row.event == "ENTERQUEUE":
            visits[row.callid] = visits.get(row.callid, 0) + 1
            key = make_call_key(pbx, row.queuename, row.callid, visits[row.callid])
            current[row.callid] = CallRecord(
                call_key=key, pbx=pbx, queue=row.queuename, uniqueid=row.callid, recovered=True
            )
            records.append(current[row.callid])
        visit = current.get(row.callid)
        if visit is None or visit.ended_at is not None:
            continue
        _apply(visit, row)
        last_row[visit.call_key] = row.id
    for record in current.values():  # a caller's earlier visits were over before the last
        if record.ended_at is None:
            after = (r for r in restarts if r.id > last_row[record.call_key])
            restart = next(after, None)
            if restart is not None:
                _cut_by_restart(record, restart)
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
    """After each snapshot of its PBX (handed on by the tracker, once it has reconciled),
    settle every call the rows up to the snapshot show: through the tracker when it holds
    the call, else stored once from queue_log."""

    def __init__(
        self,
        pbx: str,
        source: QueueLogSource,
        tracker: CallTracker,
        sink: CallSink,
        flush: Callable[[], Awaitable[None]],
    ) -> None:
        self.pbx = pbx
        self.source = source
        self.tracker = tracker
        self.sink = sink
        self.flush = flush
        self.pool = source.pool
        self.recovered = 0
        self._health: tuple[bool, str] = (True, "ok")

    def health(self) -> tuple[bool, str]:
        return self._health

    async def handle(self, event: TelephonyEvent) -> None:
        if isinstance(event, PbxSnapshot) and event.pbx == self.pbx:
            await self.recover(event.at)

    async def recover(self, until: datetime) -> int:
        """Read the rows beyond the cursor written up to `until` (the snapshot's moment:
        later ones are the live stream's); returns how many calls were stored or settled."""
        stored = 0
        try:
            # What the live stream handed in before the gap is stored first, so it is seen.
            await self.flush()
            while True:
                batch = await self.source.after(await self._cursor())
                seen = list(takewhile(lambda r: r.time <= until, batch))
                if not seen:
                    break
                stored += await self._apply(seen, until)
                await self.pool.execute(_MOVE_CURSOR, self.pbx, seen[-1].id)
                if len(seen) < len(batch):
                    break
        except (OSError, asyncpg.PostgresError) as exc:
            self._health = (False, f"queue_log unreadable ({exc}): {GAPS_LOST}")
            log.warning("queue_log_recovery_failed", pbx=self.pbx, reason=str(exc))
            return stored
        self._health = (True, "ok")
        self.recovered += stored
        if stored:
            log.info("queue_log_calls_settled", pbx=self.pbx, calls=stored)
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

    async def _apply(self, batch: list[QueueLogRow], until: datetime) -> int:
        restarts = [r for r in batch if r.event == "QUEUESTART"]
        callers = {r.callid for r in batch if r.callid not in _NOT_CALLERS}
        if restarts:
            # Calls that were going on at the restart may have no row since.
            found = await self.pool.fetch(_OPEN_AT, self.pbx, restarts[0].time)
            callers.update(r["uniqueid"] for r in found)
        if not callers:
            return 0
        records = rebuilt_calls(
            self.pbx, await self.source.of_callers(sorted(callers), batch[-1].id), restarts
        )
        keys = [c.call_key for c in records]
        # Stored ends stay (an end is decided once), but a `lost_in_gap` guess yields to
        # an end queue_log shows.
        ended = {r["call_key"]: r["guessed"] for r in await self.pool.fetch(_ENDED, keys)}
        stored = 0
        for record in records:
            guessed = ended.get(record.call_key)
            if guessed is False or (guessed and record.ended_at is None):
                continue
            if await self.tracker.take_logged(record):
                stored += 1
                continue
            if record.ended_at is None:
                # Neither ended in queue_log nor going on now (the snapshot would have
                # shown it to the tracker): its end was missed (METRICS.md), and it is
                # closed like any call the snapshot no longer shows.
                record.ended_at, record.end_reason = until, "lost_in_gap"
            await self.sink.save_call(record)
            stored += 1
        await self.flush()
        return stored
