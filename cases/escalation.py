"""Escalation of overdue cases, level by level (PWA step 3), and of significant complaints
straight to senior management (ISO 10002).

Each level has its own grace period in working days after the previous level's threshold;
a case stops escalating as soon as it is resolved. `run_once(now)` does one pass and is what
tests call; `run_forever(clock)` is the background loop the composition root starts, a pass
every `interval_s` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import structlog

from cases.access import visible_cases_sql
from cases.lifecycle import OPEN_STATUSES, CaseType, Role
from cases.models import Actor, Escalation
from cases.working_days import WorkingCalendar
from runtime.clock import Clock
from runtime.jobs import run_every

log = structlog.get_logger()


@dataclass(frozen=True)
class EscalationLevel:
    name: str
    grace_working_days: int


DEFAULT_CHAIN: tuple[EscalationLevel, ...] = (
    EscalationLevel("unit_head", 0),
    EscalationLevel("director", 2),
    EscalationLevel("deputy_governor", 3),
)

Notify = Callable[[Escalation], Awaitable[None]]

_CANDIDATES = """
SELECT id, reference, case_type, significant, due_at, escalation_level, unit_id
FROM cases
WHERE status = ANY($1::text[]) AND escalation_level < $2
  AND ((due_at IS NOT NULL AND due_at < $3) OR (significant AND case_type = 'complaint'))
ORDER BY due_at NULLS FIRST, id
FOR UPDATE SKIP LOCKED
"""

_INSERT = """
INSERT INTO case_escalations (case_id, level, level_name, reason, escalated_at)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (case_id, level) DO NOTHING
"""

_UPDATE_CASE = "UPDATE cases SET escalation_level = $2, escalated_at = $3 WHERE id = $1"

_EVENT = """
INSERT INTO case_events (case_id, at, actor_id, action, note, data)
VALUES ($1, $2, NULL, 'escalate', $3, $4)
"""

_VISIBLE = """
SELECT e.case_id, c.reference, e.level, e.level_name, e.reason, e.escalated_at, c.unit_id
FROM case_escalations e JOIN cases c ON c.id = e.case_id
WHERE {where} AND ($1::bigint IS NULL OR e.case_id = $1)
ORDER BY e.escalated_at DESC, e.level DESC
LIMIT 500
"""


def target_level(
    chain: Sequence[EscalationLevel],
    calendar: WorkingCalendar,
    due_at: datetime | None,
    now: datetime,
    significant_complaint: bool,
) -> int:
    """How far up the chain a case should be by now (0: not escalated)."""
    if significant_complaint:
        return len(chain)
    if due_at is None or now <= due_at:
        return 0
    late = calendar.working_days_late(due_at, now)
    level = 0
    threshold = 0
    for step in chain:
        threshold += step.grace_working_days
        if late < threshold:
            break
        level += 1
    return level


class EscalationJob:
    """Escalates overdue open cases; `notify` (e.g. the WebSocket hub) hears of each step."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        calendar: WorkingCalendar,
        chain: Sequence[EscalationLevel] = DEFAULT_CHAIN,
        notify: Notify | None = None,
        *,
        interval_s: float = 300,
    ) -> None:
        if not chain:
            raise ValueError("the escalation chain needs at least one level")
        self.pool = pool
        self.calendar = calendar
        self.chain = tuple(chain)
        self.notify = notify
        self.interval_s = interval_s
        self._wake = asyncio.Event()

    def nudge(self) -> None:
        """Run the next pass now rather than at the interval: a significant complaint was
        just recorded and senior management must hear of it at once."""
        self._wake.set()

    async def run_once(self, now: datetime) -> list[Escalation]:
        """One pass: every level reached since the last pass, oldest due first."""
        done: list[Escalation] = []
        async with self.pool.acquire() as conn, conn.transaction():
            closed = await conn.fetch("SELECT day FROM closed_days")
            calendar = self.calendar.with_closed_days(r["day"] for r in closed)
            rows = await conn.fetch(
                _CANDIDATES, [s.value for s in OPEN_STATUSES], len(self.chain), now
            )
            for row in rows:
                significant = row["significant"] and row["case_type"] == CaseType.COMPLAINT
                target = target_level(self.chain, calendar, row["due_at"], now, significant)
                reason = "significant" if significant else "overdue"
                for level in range(row["escalation_level"] + 1, target + 1):
                    done.append(await self._escalate(conn, row, level, reason, now))
        for escalation in done:
            log.warning(
                "case_escalated",
                case_id=escalation.case_id,
                level=escalation.level,
                level_name=escalation.level_name,
                reason=escalation.reason,
            )
            if self.notify is not None:
                await self.notify(escalation)
        return done

    async def _escalate(
        self, conn: asyncpg.Connection, row: asyncpg.Record, level: int, reason: str, now: datetime
    ) -> Escalation:
        name = self.chain[level - 1].name
        await conn.execute(_INSERT, row["id"], level, name, reason, now)
        await conn.execute(_UPDATE_CASE, row["id"], level, now)
        await conn.execute(
            _EVENT, row["id"], now, name, {"level": level, "level_name": name, "reason": reason}
        )
        return Escalation(
            case_id=row["id"],
            reference=row["reference"],
            level=level,
            level_name=name,
            reason=reason,
            escalated_at=now,
            unit_id=row["unit_id"],
        )

    async def run_forever(self, clock: Clock) -> None:
        """The background loop; `nudge()` starts the next pass at once."""
        await run_every(
            self.run_once, clock, self.interval_s, failed="escalation_pass_failed", wake=self._wake
        )


async def visible_escalations(
    pool: asyncpg.Pool, actor: Actor, case_id: int | None = None
) -> list[Escalation]:
    """Escalations the actor is concerned by: all for supervisors and admins, their own
    unit's for unit users, those of the cases they handle for agents."""
    if actor.role is Role.AGENT:
        where = (
            "(c.created_by = $2 OR EXISTS (SELECT 1 FROM case_events x "
            "WHERE x.case_id = c.id AND x.actor_id = $2))"
        )
        args: list[object] = [actor.user_id]
    else:
        where, args = visible_cases_sql(actor, 2)
    rows = await pool.fetch(_VISIBLE.format(where=where), case_id, *args)
    return [
        Escalation(
            case_id=r["case_id"],
            reference=r["reference"],
            level=r["level"],
            level_name=r["level_name"],
            reason=r["reason"],
            escalated_at=r["escalated_at"],
            unit_id=r["unit_id"],
        )
        for r in rows
    ]
