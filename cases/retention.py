"""Retention (TPQI section 7): intake records and call records are kept two years, then
deleted; callers left without records are anonymised, and so are the numbers of finished
surveys (their ratings stay). Anonymous monthly counts are kept first, so statistics survive
the deletion. Open cases are never deleted. A call's recording goes with the call: its row
and notice in the transaction, its file from the shared folder once that has committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
import structlog

from calls.recording_files import RecordingFolder
from cases.lifecycle import OPEN_STATUSES
from cases.working_days import BANGKOK
from runtime.clock import Clock
from runtime.jobs import run_every

log = structlog.get_logger()

DEFAULT_RETENTION_YEARS = 2

_OLD_CASES = "c.received_at < $1 AND NOT (c.status = ANY($2::text[]))"
_OLD_CALLS = "COALESCE(k.joined_at, k.created_at) < $1"

_COUNT_CASES = f"""
INSERT INTO case_statistics (month, case_type, channel, status, province, n)
SELECT date_trunc('month', c.received_at AT TIME ZONE $3)::date, c.case_type,
       c.channel, c.status, COALESCE(c.province, ''), count(*)
FROM cases c WHERE {_OLD_CASES}
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (month, case_type, channel, status, province)
DO UPDATE SET n = case_statistics.n + EXCLUDED.n
"""

_COUNT_CALLS = f"""
INSERT INTO call_statistics (month, queue, offered, answered, abandoned)
SELECT date_trunc('month', COALESCE(k.joined_at, k.created_at) AT TIME ZONE $2)::date,
       k.queue, count(*), count(k.answered_at), count(*) FILTER (WHERE k.abandoned)
FROM calls k WHERE {_OLD_CALLS}
GROUP BY 1, 2
ON CONFLICT (month, queue) DO UPDATE SET
    offered = call_statistics.offered + EXCLUDED.offered,
    answered = call_statistics.answered + EXCLUDED.answered,
    abandoned = call_statistics.abandoned + EXCLUDED.abandoned
"""

_DELETE_CASES = f"DELETE FROM cases c WHERE {_OLD_CASES}"
_DELETE_CALLS = f"DELETE FROM calls k WHERE {_OLD_CALLS}"
_DELETE_RECORDINGS = f"""
DELETE FROM call_recordings r USING calls k WHERE r.call_key = k.call_key AND {_OLD_CALLS}
RETURNING r.file_name
"""
_DELETE_NOTICES = f"""
DELETE FROM call_recording_notices n USING calls k WHERE n.call_key = k.call_key AND {_OLD_CALLS}
"""
_DELETE_VIEWS = "DELETE FROM pdpa_view_log WHERE viewed_at < $1"
_KEPT_OPEN = "SELECT count(*) FROM cases c WHERE c.received_at < $1 AND c.status = ANY($2::text[])"

_ANONYMISE_CALLERS = """
UPDATE callers cl SET number = 'anon-' || cl.id, name = NULL, occupation = NULL, gender = NULL,
    age_band = NULL, province = NULL, email = NULL, anonymised_at = $2, updated_at = $2
WHERE cl.anonymised_at IS NULL AND cl.updated_at < $1
  AND NOT EXISTS (SELECT 1 FROM calls k WHERE k.caller_id = cl.id)
  AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.caller_id = cl.id)
"""

_ANONYMISE_SURVEYS = """
UPDATE surveys SET caller_number = ''
WHERE created_at < $1 AND caller_number <> '' AND status = ANY($2::text[])
"""
#: Surveys that will not dial again; a pending one keeps its number until it ends.
FINISHED_SURVEYS = ("completed", "incomplete", "failed", "expired", "skipped")

_RECORD_RUN = """
INSERT INTO retention_runs (ran_at, cutoff, cases_deleted, calls_deleted, callers_deleted,
                            views_deleted, surveys_anonymised, recordings_deleted)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""


@dataclass(frozen=True)
class RetentionReport:
    ran_at: datetime
    cutoff: datetime
    cases_deleted: int
    calls_deleted: int
    callers_anonymised: int
    views_deleted: int
    surveys_anonymised: int
    open_cases_kept: int
    recordings_deleted: int = 0


def retention_cutoff(now: datetime, years: int) -> datetime:
    """The same calendar day `years` earlier (29 Feb falls back to 28 Feb)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


class RetentionJob:
    def __init__(
        self,
        pool: asyncpg.Pool,
        years: int = DEFAULT_RETENTION_YEARS,
        tz: ZoneInfo = BANGKOK,
        *,
        interval_s: float = 24 * 3600,
        recordings: RecordingFolder | None = None,
    ) -> None:
        """`tz` decides which month a call or case near midnight is counted in;
        `recordings` is the folder whose files go with their calls."""
        if years < 1:
            raise ValueError("retention must be at least one year")
        self.pool = pool
        self.years = years
        self.tz = tz
        self.interval_s = interval_s
        self.recordings = recordings

    async def run_once(self, now: datetime) -> RetentionReport:
        """Count, then delete, in one transaction: counts and deletions always agree."""
        cutoff = retention_cutoff(now, self.years)
        open_statuses = [s.value for s in OPEN_STATUSES]
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_COUNT_CASES, cutoff, open_statuses, self.tz.key)
            await conn.execute(_COUNT_CALLS, cutoff, self.tz.key)
            cases = _affected(await conn.execute(_DELETE_CASES, cutoff, open_statuses))
            files = [r["file_name"] for r in await conn.fetch(_DELETE_RECORDINGS, cutoff)]
            await conn.execute(_DELETE_NOTICES, cutoff)
            calls = _affected(await conn.execute(_DELETE_CALLS, cutoff))
            callers = _affected(await conn.execute(_ANONYMISE_CALLERS, cutoff, now))
            views = _affected(await conn.execute(_DELETE_VIEWS, cutoff))
            surveys = _affected(
                await conn.execute(_ANONYMISE_SURVEYS, cutoff, list(FINISHED_SURVEYS))
            )
            kept = int(await conn.fetchval(_KEPT_OPEN, cutoff, open_statuses))
            await conn.execute(
                _RECORD_RUN, now, cutoff, cases, calls, callers, views, surveys, len(files)
            )
        if self.recordings is not None:
            self.recordings.delete(files)
        report = RetentionReport(
            now, cutoff, cases, calls, callers, views, surveys, kept, len(files)
        )
        log.info(
            "retention_run",
            cutoff=cutoff.isoformat(),
            cases_deleted=cases,
            calls_deleted=calls,
            callers_anonymised=callers,
            views_deleted=views,
            surveys_anonymised=surveys,
            open_cases_kept=kept,
            recordings_deleted=len(files),
        )
        return report

    async def run_forever(self, clock: Clock) -> None:
        """The scheduled job, `interval_s` seconds apart."""
        await run_every(self.run_once, clock, self.interval_s, failed="retention_run_failed")


def _affected(status: str) -> int:
    """asyncpg returns the command tag, e.g. 'DELETE 3'."""
    return int(status.rsplit(" ", 1)[-1])
