"""Survey figures: % satisfied against the target, the 1/2/3 split and the response rate.

Definitions (shared/METRICS.md): satisfied % = (ratings 1 + 2) / responses; response rate =
responses / surveys attempted (at least one call placed, or an in-call survey begun). A
survey counts in the period of its call's end (the survey's creation), by agent and queue of
that call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Period = Literal["day", "week", "month"]

# What each key means, as the caller heard it (DITP 1169), for screens and reports.
RATING_LABELS = {
    1: {"th": "ประทับใจ", "en": "impressed"},
    2: {"th": "พึงพอใจ", "en": "satisfied"},
    3: {"th": "ไม่พึงพอใจ", "en": "dissatisfied"},
}

_COUNTS = """
    count(*) FILTER (WHERE s.attempts > 0 OR s.selection = 'in_call') AS attempted,
    count(s.rating) AS responses,
    count(*) FILTER (WHERE s.rating = 1) AS impressed,
    count(*) FILTER (WHERE s.rating = 2) AS satisfied,
    count(*) FILTER (WHERE s.rating = 3) AS dissatisfied
"""

_GROUPS = {
    "all": ("''", "''"),
    "agent": ("s.agent_user_id::text", "COALESCE(max(u.display_name), '')"),
    "queue": ("COALESCE(s.queue, '')", "COALESCE(s.queue, '')"),
    # The unit of the call's agent, '' for an agent of none; '-' (no team row) for no agent.
    "team": ("CASE WHEN u.id IS NULL THEN '-' ELSE COALESCE(u.unit_id::text, '') END", "''"),
    "day": ("date_trunc('day', s.created_at AT TIME ZONE $3)::date::text", "''"),
    "week": ("date_trunc('week', s.created_at AT TIME ZONE $3)::date::text", "''"),
    "month": ("date_trunc('month', s.created_at AT TIME ZONE $3)::date::text", "''"),
}

_LAST_RATINGS = """
SELECT s.rating, s.rated_at, s.call_id, s.case_id, COALESCE(u.display_name, '') AS agent
FROM surveys s LEFT JOIN users u ON u.id = s.agent_user_id
WHERE s.caller_number = $1 AND s.rating IS NOT NULL
ORDER BY s.rated_at DESC
LIMIT $2
"""


@dataclass(frozen=True)
class Satisfaction:
    """One group's figures; `key` is the agent id, queue or period start ('' overall)."""

    key: str
    label: str
    attempted: int
    responses: int
    impressed: int
    satisfied: int
    dissatisfied: int
    target_percent: float

    @property
    def satisfied_percent(self) -> float | None:
        if not self.responses:
            return None
        return 100.0 * (self.impressed + self.satisfied) / self.responses

    @property
    def response_rate_percent(self) -> float | None:
        if not self.attempted:
            return None
        return 100.0 * self.responses / self.attempted

    @property
    def meets_target(self) -> bool | None:
        percent = self.satisfied_percent
        return None if percent is None else percent >= self.target_percent


@dataclass(frozen=True)
class CallerRating:
    rating: int
    rated_at: datetime
    call_id: int | None
    case_id: int | None
    agent: str


class SurveyResults:
    """Read-only figures over the surveys table."""

    def __init__(
        self, pool: Any, *, target_percent: float = 85.0, timezone: str = "Asia/Bangkok"
    ) -> None:
        self._pool = pool
        self.target_percent = target_percent
        self.timezone = timezone

    async def overall(self, start: datetime, end: datetime) -> Satisfaction:
        (figures,) = await self._grouped("all", start, end)
        return figures

    async def by_agent(self, start: datetime, end: datetime) -> list[Satisfaction]:
        return await self._grouped("agent", start, end)

    async def by_team(self, start: datetime, end: datetime) -> list[Satisfaction]:
        """Per unit of the calls' agents, keyed like supervision.stats' team figures."""
        return await self._grouped("team", start, end)

    async def by_queue(self, start: datetime, end: datetime) -> list[Satisfaction]:
        return await self._grouped("queue", start, end)

    async def by_period(self, start: datetime, end: datetime, period: Period) -> list[Satisfaction]:
        return await self._grouped(period, start, end)

    async def caller_last_ratings(self, number: str, limit: int = 3) -> list[CallerRating]:
        """A caller's latest ratings, newest first, for the screen-pop."""
        rows = await self._pool.fetch(_LAST_RATINGS, number, limit)
        return [
            CallerRating(r["rating"], r["rated_at"], r["call_id"], r["case_id"], r["agent"])
            for r in rows
        ]

    async def _grouped(self, group: str, start: datetime, end: datetime) -> list[Satisfaction]:
        key, label = _GROUPS[group]
        args: list[Any] = [start, end]
        if "$3" in key:
            args.append(self.timezone)
        sql = (
            f"SELECT {key} AS key, {label} AS label, {_COUNTS}"
            " FROM surveys s LEFT JOIN users u ON u.id = s.agent_user_id"
            " WHERE s.created_at >= $1 AND s.created_at < $2 AND s.status <> 'skipped'"
            " GROUP BY 1 ORDER BY 1"
        )
        rows = await self._pool.fetch(sql, *args)
        if not rows and group == "all":
            return [Satisfaction("", "", 0, 0, 0, 0, 0, self.target_percent)]
        return [
            Satisfaction(
                key=r["key"] or "",
                label=r["label"] or "",
                attempted=r["attempted"],
                responses=r["responses"],
                impressed=r["impressed"],
                satisfied=r["satisfied"],
                dissatisfied=r["dissatisfied"],
                target_percent=self.target_percent,
            )
            for r in rows
        ]
