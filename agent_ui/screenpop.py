"""The screen-pop: everything known about a caller, gathered in one round trip.

It runs on every ring of every agent, so it is one SQL statement over indexed lookups
(callers by number, calls and surveys by number, cases by caller) that returns JSON ready
for the panel; the panel renders it as text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from cases.lifecycle import OPEN_STATUSES

PROFILE_FIELDS = ("name", "occupation", "gender", "age_band", "province", "email")

_POP = """
WITH caller AS (
    SELECT id, name, occupation, gender, age_band, province, email
    FROM callers WHERE number = $1 AND anonymised_at IS NULL
)
SELECT
    (SELECT row_to_json(c) FROM caller c) AS profile,
    (SELECT coalesce(json_agg(x), '[]'::json) FROM (
        SELECT k.joined_at, coalesce(u.display_name, k.agent_name) AS agent, k.queue,
               k.talk_s, k.abandoned,
               (SELECT s.rating FROM surveys s
                WHERE s.call_id = k.id AND s.rating IS NOT NULL LIMIT 1) AS rating
        FROM calls k LEFT JOIN users u ON u.id = k.agent_user_id
        WHERE k.caller_number = $1 AND k.call_key <> $6
        ORDER BY k.joined_at DESC LIMIT $2
    ) x) AS calls,
    (SELECT coalesce(json_agg(x), '[]'::json) FROM (
        SELECT c.id, c.reference, c.case_type, c.status, c.topic, c.received_at, c.due_at,
               c.status = ANY($3::text[]) AS open
        FROM cases c
        WHERE c.caller_id = (SELECT id FROM caller)
          AND (c.status = ANY($3::text[]) OR c.received_at >= $4)
        ORDER BY c.status = ANY($3::text[]) DESC, c.received_at DESC LIMIT $2
    ) x) AS cases,
    (SELECT coalesce(json_agg(x), '[]'::json) FROM (
        SELECT s.rating, s.rated_at FROM surveys s
        WHERE s.caller_number = $1 AND s.rating IS NOT NULL
        ORDER BY s.created_at DESC LIMIT $5
    ) x) AS ratings
"""


@dataclass(frozen=True, slots=True)
class PopLimits:
    """How much history a pop carries."""

    rows: int = 5
    ratings: int = 3
    recent_days: int = 90


async def screen_pop(
    pool: asyncpg.Pool,
    number: str,
    *,
    now: datetime,
    this_call: str = "",
    limits: PopLimits | None = None,
) -> dict[str, Any]:
    """The caller's profile, last calls, open and recent cases and last survey ratings.

    An unknown number gives an empty profile (every field "") for the agent to fill in.
    """
    limits = limits or PopLimits()
    row = await pool.fetchrow(
        _POP,
        number,
        limits.rows,
        [status.value for status in OPEN_STATUSES],
        now - timedelta(days=limits.recent_days),
        limits.ratings,
        this_call,
    )
    profile = _decode(row["profile"]) if row and row["profile"] else None
    return {
        "known": profile is not None,
        "profile": {name: (profile or {}).get(name) or "" for name in PROFILE_FIELDS},
        "calls": _decode(row["calls"]) if row else [],
        "cases": _decode(row["cases"]) if row else [],
        "ratings": _decode(row["ratings"]) if row else [],
    }


def _decode(value: Any) -> Any:
    """asyncpg hands json (not jsonb) back as text."""
    return json.loads(value) if isinstance(value, str) else value
