"""The monthly report for executives (TPQI step 6): who called, about what, and what went wrong.

Callers are counted once per value even when they called several times (by caller record,
else by the number they gave, else the case itself). The profile is the one recorded on the
case at intake, falling back to the caller record. Durations and service levels come from
`supervision.stats`; this module adds the breakdowns and the service problems of the period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from supervision.stats import Period, Thresholds, fetch_aggregate

#: The breakdowns of the report, in the order it shows them.
DIMENSIONS = ("occupation", "province", "channel", "gender", "age_band", "case_type", "topic")

# One pass with GROUPING SETS; $3 is the queue (cases from other channels have none).
_BREAKDOWN_SQL = """
WITH k AS (
    SELECT COALESCE(NULLIF(btrim(k.occupation), ''), NULLIF(btrim(cr.occupation), ''), '')
               AS occupation,
           COALESCE(NULLIF(btrim(k.province), ''), NULLIF(btrim(cr.province), ''), '')
               AS province,
           k.channel,
           COALESCE(NULLIF(btrim(k.gender), ''), NULLIF(btrim(cr.gender), ''), '') AS gender,
           COALESCE(NULLIF(btrim(k.age_band), ''), NULLIF(btrim(cr.age_band), ''), '')
               AS age_band,
           k.case_type,
           btrim(k.topic) AS topic,
           COALESCE(k.caller_id::text, NULLIF(k.contact_phone, ''), 'case ' || k.id) AS who
    FROM cases k
    LEFT JOIN callers cr ON cr.id = k.caller_id
    LEFT JOIN calls c ON c.id = k.call_id
    WHERE k.received_at >= $1 AND k.received_at < $2 AND ($3::text IS NULL OR c.queue = $3)
)
SELECT CASE WHEN GROUPING(occupation) = 0 THEN 'occupation'
            WHEN GROUPING(province) = 0 THEN 'province'
            WHEN GROUPING(channel) = 0 THEN 'channel'
            WHEN GROUPING(gender) = 0 THEN 'gender'
            WHEN GROUPING(age_band) = 0 THEN 'age_band'
            WHEN GROUPING(case_type) = 0 THEN 'case_type'
            ELSE 'topic' END AS dimension,
       COALESCE(occupation, province, channel, gender, age_band, case_type, topic) AS value,
       count(DISTINCT who) AS callers,
       count(*) AS cases
FROM k
GROUP BY GROUPING SETS (
    (occupation), (province), (channel), (gender), (age_band), (case_type), (topic)
)
ORDER BY dimension, cases DESC, value
"""

# $4 T, $5 S, $6-$9 phase standards, $10 now. The call problems in one pass over the calls.
_PROBLEMS_SQL = """
WITH q AS (
    SELECT count(*) FILTER (WHERE c.abandoned AND COALESCE(c.wait_s, 0) >= $5) AS abandoned,
        count(*) FILTER (WHERE c.answered_at IS NOT NULL AND c.wait_s > $4) AS answered_late,
        count(*) FILTER (
            WHERE c.end_reason IN ('timeout', 'full', 'empty', 'key', 'redirected')
        ) AS left_unanswered,
        count(*) FILTER (WHERE c.greeting_s > $6) AS long_greetings,
        count(*) FILTER (WHERE c.inquiry_s < $7 OR c.inquiry_s > $8) AS inquiries_off_standard,
        count(*) FILTER (WHERE c.closing_s > $9) AS long_closings
    FROM calls c
    WHERE c.joined_at >= $1 AND c.joined_at < $2 AND ($3::text IS NULL OR c.queue = $3)
)
SELECT q.abandoned, q.answered_late, q.left_unanswered, q.long_greetings,
    q.inquiries_off_standard, q.long_closings,
    (SELECT count(*) FROM cases k LEFT JOIN calls c ON c.id = k.call_id
     WHERE k.due_at >= $1 AND k.due_at < $2 AND ($3::text IS NULL OR c.queue = $3)
       AND COALESCE(k.closed_at, $10) > k.due_at AND k.due_at <= $10) AS cases_overdue,
    (SELECT count(*) FROM cases k LEFT JOIN calls c ON c.id = k.call_id
     WHERE k.received_at >= $1 AND k.received_at < $2 AND ($3::text IS NULL OR c.queue = $3)
       AND k.case_type = 'complaint') AS complaints,
    (SELECT count(*) FROM surveys s LEFT JOIN calls c ON c.id = s.call_id
     WHERE COALESCE(c.joined_at, s.created_at) >= $1 AND COALESCE(c.joined_at, s.created_at) < $2
       AND ($3::text IS NULL OR c.queue = $3) AND s.rating = 3) AS dissatisfied
FROM q
"""

PROBLEMS = (
    "abandoned",
    "answered_late",
    "left_unanswered",
    "long_greetings",
    "inquiries_off_standard",
    "long_closings",
    "cases_overdue",
    "complaints",
    "dissatisfied",
)


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    value: str
    callers: int
    cases: int


@dataclass
class ExecutiveReport:
    """Breakdowns by dimension (each sorted by cases, most first) and the problem counts."""

    breakdowns: dict[str, list[BreakdownRow]] = field(default_factory=dict)
    problems: dict[str, int] = field(default_factory=dict)


async def executive_report(
    pool: asyncpg.Pool,
    period: Period,
    thresholds: Thresholds,
    *,
    queue: str | None = None,
    now: datetime,
) -> ExecutiveReport:
    """The period's breakdowns and service problems; `now` decides which cases are late."""
    report = ExecutiveReport(breakdowns={dimension: [] for dimension in DIMENSIONS})
    for row in await fetch_aggregate(pool, _BREAKDOWN_SQL, period.start, period.end, queue):
        report.breakdowns[row["dimension"]].append(
            BreakdownRow(row["value"], row["callers"], row["cases"])
        )
    t = thresholds
    counts = await pool.fetchrow(
        _PROBLEMS_SQL,
        period.start,
        period.end,
        queue,
        t.sl_s,
        t.short_abandon_s,
        t.greeting_max_s,
        t.inquiry_min_s,
        t.inquiry_max_s,
        t.closing_max_s,
        now,
    )
    report.problems = {name: counts[name] for name in PROBLEMS}
    return report
