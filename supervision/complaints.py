"""The complaint reports PWA's process asks for (DOMAIN.md, PWA steps 8 and 9).

Daily (step 8): the results of complaint handling per region and unit. A complaint's unit is
the one it was forwarded to; its region is that unit's parent (a PWA branch's regional
office), or the unit itself when it has none. For the period: complaints received, resolved,
resolved within their SLA, and those still open at its end, with how many of them are past
due. A complaint not forwarded yet has no unit and no region.

Quarterly (step 9): complaints resolved in each quarter by the root cause recorded when they
were resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from supervision.stats import Period, percent


@dataclass(frozen=True, slots=True)
class UnitComplaints:
    """One unit's figures, or with `unit_id` None its region's subtotal."""

    region_id: int | None
    region: str
    unit_id: int | None
    unit: str
    subtotal: bool
    received: int
    resolved: int
    resolved_in_sla: int
    open: int
    overdue: int

    @property
    def in_sla_rate(self) -> float | None:
        return percent(self.resolved_in_sla, self.resolved)


@dataclass(frozen=True, slots=True)
class RootCauseCount:
    """Complaints resolved in one quarter (its first day) with one root cause ('' unknown)."""

    cause: str
    quarter: date
    complaints: int


# $1/$2 the period, $3 now. Complaints still open at the period's end were received before
# it ends and not resolved by then; only those and the ones of the period are read.
_BY_UNIT_SQL = """
WITH p AS (SELECT $1::timestamptz AS t0, $2::timestamptz AS t1, $3::timestamptz AS now_),
k AS (
    SELECT k.unit_id, k.received_at, k.resolved_at, k.due_at,
           k.resolved_at IS NULL OR k.resolved_at >= p.t1 AS open_at_end
    FROM cases k CROSS JOIN p
    WHERE k.case_type = 'complaint' AND k.received_at < p.t1
      AND (k.received_at >= p.t0 OR k.resolved_at IS NULL OR k.resolved_at >= p.t0)
),
placed AS (
    SELECT k.*, COALESCE(r.id, u.id) AS region_id, COALESCE(r.name, u.name, '') AS region,
           u.id AS unit, COALESCE(u.name, '') AS unit_name
    FROM k
    LEFT JOIN units u ON u.id = k.unit_id
    LEFT JOIN units r ON r.id = u.parent_id
)
SELECT region_id, region, unit AS unit_id, unit_name AS unit,
    GROUPING(unit, unit_name) = 3 AS subtotal,
    count(*) FILTER (WHERE received_at >= p.t0) AS received,
    count(*) FILTER (WHERE resolved_at >= p.t0 AND resolved_at < p.t1) AS resolved,
    count(*) FILTER (
        WHERE resolved_at >= p.t0 AND resolved_at < p.t1 AND resolved_at <= due_at
    ) AS resolved_in_sla,
    count(*) FILTER (WHERE open_at_end) AS open,
    count(*) FILTER (WHERE open_at_end AND due_at < LEAST(p.t1, p.now_)) AS overdue
FROM placed CROSS JOIN p
GROUP BY GROUPING SETS ((region_id, region, unit, unit_name), (region_id, region))
ORDER BY region, region_id NULLS FIRST, GROUPING(unit, unit_name), unit_name, unit
"""

# $1/$2 the period, $3 the time zone: the quarter is the local one the complaint was
# resolved in (calendar quarters fall on the fiscal year's).
_ROOT_CAUSES_SQL = """
SELECT COALESCE(k.root_cause, '') AS cause,
       date_trunc('quarter', k.resolved_at AT TIME ZONE $3)::date AS quarter,
       count(*) AS complaints
FROM cases k
WHERE k.case_type = 'complaint' AND k.resolved_at >= $1 AND k.resolved_at < $2
GROUP BY 1, 2
ORDER BY 2, 1
"""


async def by_region_and_unit(
    pool: asyncpg.Pool, period: Period, *, now: datetime
) -> list[UnitComplaints]:
    """Each region's units, then the region's subtotal, regions by name; the complaints not
    forwarded yet first, without a subtotal of their own."""
    rows = await pool.fetch(_BY_UNIT_SQL, period.start, period.end, now)
    return [
        UnitComplaints(**dict(row))
        for row in rows
        if not (row["subtotal"] and row["region_id"] is None)
    ]


async def root_causes(pool: asyncpg.Pool, period: Period) -> list[RootCauseCount]:
    rows = await pool.fetch(_ROOT_CAUSES_SQL, period.start, period.end, period.tz.key)
    return [RootCauseCount(**dict(row)) for row in rows]
