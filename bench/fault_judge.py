"""What a fault scenario is judged against: the PBX simulator's own record, never hotline's.

The truth of queue calls is the simulator's queue_log as it wrote it (in memory, so rows
a database outage refused still count); the truth of surveys is its own list of originated
calls. hotline's `calls` table is only what is judged.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from pbxsim.queue_log import QueueLogRow

# How app_queue ends a queue call in queue_log, and what hotline must have stored for it.
ENDS = {
    "COMPLETECALLER": "completed",
    "COMPLETEAGENT": "completed",
    "ABANDON": "abandoned",
    "EXITWITHTIMEOUT": "timeout",
    "EXITWITHKEY": "key",
    "BLINDTRANSFER": "transferred",
    "ATTENDEDTRANSFER": "transferred",
}
ANSWERED_ENDS = frozenset({"COMPLETECALLER", "COMPLETEAGENT"})
NOT_A_CALL = frozenset({"NONE", "MANAGER", "REALTIME"})
TOLERANCE_S = 1.0
TIMES = ("joined_at", "answered_at", "ended_at")
COUNTS = (
    "lost",
    "doubled",
    "wrong outcome",
    "times off > 1 s",
    "surveys lost",
    "phoned twice",
    "phantom calls",
)


@dataclass(frozen=True)
class TrueCall:
    """One queue call as the PBX lived it."""

    caller_number: str
    end_reason: str
    answered: bool
    joined_at: datetime
    answered_at: datetime | None
    ended_at: datetime


def _utc(row: QueueLogRow) -> datetime:
    return row.time.replace(tzinfo=UTC)


def true_calls(rows: Iterable[QueueLogRow]) -> dict[str, TrueCall]:
    """Each queue call the simulator ended, by callid (= the caller channel's Uniqueid)."""
    by_call: dict[str, list[QueueLogRow]] = defaultdict(list)
    for row in rows:
        if row.callid not in NOT_A_CALL:
            by_call[row.callid].append(row)
    calls = {}
    for callid, events in by_call.items():
        joined = next((r for r in events if r.event == "ENTERQUEUE"), None)
        end = next((r for r in events if r.event in ENDS), None)
        if joined is None or end is None:
            continue
        connect = next((r for r in events if r.event == "CONNECT"), None)
        calls[callid] = TrueCall(
            caller_number=joined.data[1],
            end_reason=ENDS[end.event],
            answered=end.event in ANSWERED_ENDS,
            joined_at=_utc(joined),
            answered_at=_utc(connect) if connect else None,
            ended_at=_utc(end),
        )
    return calls


def _off(stored: datetime | None, true: datetime | None) -> bool:
    if stored is None or true is None:
        return stored is not true
    return abs((stored - true).total_seconds()) > TOLERANCE_S


def owed_surveys(calls: dict[str, TrueCall]) -> set[str]:
    """The numbers the survey must phone once: every caller an agent answered (the suite
    configures the survey to take every answered call, at any hour, with no delay)."""
    return {call.caller_number for call in calls.values() if call.answered}


def judge(
    calls: dict[str, TrueCall],
    stored: Iterable[dict[str, object]],
    dialled: Iterable[str],
    all_callids: set[str],
) -> Counter[str]:
    """The suite's counts: `stored` are hotline's `calls` rows of the PBX, `dialled` the
    number of every survey call the simulator saw originated, `all_callids` every callid in
    its queue_log (a stored row with none of them is a phantom)."""
    rows_of: dict[str, list[dict[str, object]]] = defaultdict(list)
    for row in stored:
        rows_of[str(row["uniqueid"])].append(row)
    counts: Counter[str] = Counter({name: 0 for name in COUNTS})
    counts["calls"] = len(calls)
    for callid, expected in calls.items():
        rows = rows_of.get(callid, [])
        if not rows:
            counts["lost"] += 1
            continue
        if len(rows) > 1:
            counts["doubled"] += 1
        row = rows[0]
        if row["end_reason"] != expected.end_reason:
            counts["wrong outcome"] += 1
        off = [k for k in TIMES if _off(row[k], getattr(expected, k))]  # type: ignore[arg-type]
        counts["times off > 1 s"] += bool(off)
        counts.update(f"{k} off" for k in off)
    counts["phantom calls"] = sum(len(rows_of[c]) for c in set(rows_of) - all_callids)
    phoned = Counter(dialled)
    owed = owed_surveys(calls)
    counts["surveys owed"] = len(owed)
    counts["surveys lost"] = len(owed - set(phoned))
    counts["phoned twice"] = sum(1 for n in phoned.values() if n > 1)
    return counts
