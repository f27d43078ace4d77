"""Which queues each agent may sign in to, and at which penalty (their skill there).

Asterisk offers a call to the members of lowest penalty first, so a lower penalty is a
stronger skill. The PBX learns these only when the agent signs in (QueueAdd); this table is
what the admin edits between shifts.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

_QUEUES = "SELECT id, pbx, name, number FROM queues ORDER BY pbx, name"
_QUEUE = "SELECT id, pbx, name, number FROM queues WHERE id = $1"
_ADD_QUEUE = """
INSERT INTO queues (pbx, name, number) VALUES ($1, $2, NULLIF($3, ''))
ON CONFLICT (pbx, name) DO UPDATE SET number = EXCLUDED.number RETURNING id
"""
_SEATS_OF = """
SELECT q.pbx, q.name, aq.penalty FROM agent_queues aq JOIN queues q ON q.id = aq.queue_id
WHERE aq.user_id = $1 ORDER BY q.pbx, q.name
"""
_MEMBERS_OF_QUEUE = """
SELECT u.id, u.display_name, u.username, u.pbx, u.interface,
       aq.penalty IS NOT NULL AS member, COALESCE(aq.penalty, 0) AS penalty
FROM users u LEFT JOIN agent_queues aq ON aq.user_id = u.id AND aq.queue_id = $1
WHERE u.role = 'agent' AND u.active ORDER BY u.display_name, u.id
"""
_SET_SEAT = """
INSERT INTO agent_queues (user_id, queue_id, penalty) VALUES ($1, $2, $3)
ON CONFLICT (user_id, queue_id) DO UPDATE SET penalty = EXCLUDED.penalty
"""
_DROP_SEAT = "DELETE FROM agent_queues WHERE user_id = $1 AND queue_id = $2"

MAX_PENALTY = 99


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: int
    pbx: str
    name: str
    number: str | None


@dataclass(frozen=True, slots=True)
class Seat:
    """An agent's place in one queue."""

    pbx: str
    queue: str
    penalty: int


@dataclass(frozen=True, slots=True)
class Candidate:
    """An active agent as the membership page of one queue lists them."""

    user_id: int
    display_name: str
    username: str
    pbx: str | None
    interface: str | None
    member: bool
    penalty: int


class SkillRepository:
    """Queues and the agents allowed in them, with their penalties."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def queues(self) -> list[QueueRow]:
        return [QueueRow(**dict(row)) for row in await self._pool.fetch(_QUEUES)]

    async def queue(self, queue_id: int) -> QueueRow | None:
        row = await self._pool.fetchrow(_QUEUE, queue_id)
        return QueueRow(**dict(row)) if row else None

    async def add_queue(self, pbx: str, name: str, number: str = "") -> int:
        queue_id: int = await self._pool.fetchval(_ADD_QUEUE, pbx, name, number)
        return queue_id

    async def seats_of(self, user_id: int) -> list[Seat]:
        return [Seat(*row) for row in await self._pool.fetch(_SEATS_OF, user_id)]

    async def candidates(self, queue_id: int) -> list[Candidate]:
        return [Candidate(*row) for row in await self._pool.fetch(_MEMBERS_OF_QUEUE, queue_id)]

    async def set_members(self, queue_id: int, penalties: dict[int, int | None]) -> None:
        """Each agent's penalty in the queue; None takes them out of it."""
        async with self._pool.acquire() as conn, conn.transaction():
            for user_id, penalty in penalties.items():
                if penalty is None:
                    await conn.execute(_DROP_SEAT, user_id, queue_id)
                else:
                    await conn.execute(_SET_SEAT, user_id, queue_id, penalty)
