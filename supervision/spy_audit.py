"""The supervision audit: every listen, whisper or barge started, switched, stopped or ended.

A start or a switch is written before the PBX is asked and completed with what the
supervisor's phone did, so an attempt is on record even when the process dies meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

SpyAction = Literal["start", "mode", "stop", "ended"]

_INSERT = """
INSERT INTO spy_audit
    (at, supervisor_id, action, call_key, agent_interface, agent_id, mode, outcome)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id
"""
_OUTCOME = "UPDATE spy_audit SET outcome = $2 WHERE id = $1"
_RECENT = """
SELECT a.at, a.action, a.call_key, a.agent_interface, a.mode, a.outcome,
       s.display_name AS supervisor, g.display_name AS agent
FROM spy_audit a
LEFT JOIN users s ON s.id = a.supervisor_id
LEFT JOIN users g ON g.id = a.agent_id
ORDER BY a.at DESC, a.id DESC
LIMIT $1
"""


@dataclass(frozen=True, slots=True)
class SpyEntry:
    """One line of the audit: what the supervision page lists."""

    at: datetime
    action: SpyAction
    call_key: str
    agent_interface: str
    mode: str
    outcome: str | None
    supervisor: str | None
    agent: str | None


@dataclass(frozen=True, slots=True)
class SpyAuditRow:
    """Who did what to which call and agent, in which mode."""

    at: datetime
    supervisor_id: int | None
    action: SpyAction
    call_key: str
    agent_interface: str
    agent_id: int | None
    mode: str
    outcome: str | None = None


class SpyAudit:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(self, row: SpyAuditRow) -> int:
        return int(
            await self._pool.fetchval(
                _INSERT,
                row.at,
                row.supervisor_id,
                row.action,
                row.call_key,
                row.agent_interface,
                row.agent_id,
                row.mode,
                row.outcome,
            )
        )

    async def outcome(self, row_id: int, outcome: str) -> None:
        await self._pool.execute(_OUTCOME, row_id, outcome)

    async def recent(self, limit: int = 50) -> list[SpyEntry]:
        return [SpyEntry(**dict(r)) for r in await self._pool.fetch(_RECENT, limit)]
