"""People who log in (agents, supervisors, admins, unit staff) and their web sessions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

import asyncpg

ROLES = ("agent", "supervisor", "admin", "unit")


class UserExists(Exception):
    """A username (or a phone interface) is taken already."""

    code = "user-exists"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    unit_id: int | None
    pbx: str | None
    interface: str | None
    language: str
    active: bool


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf_token: str
    expires_at: datetime


#: The `users u` columns a `User` is read from (`user_of`), in its fields' order.
USER_COLUMNS = ", ".join(f"u.{f.name}" for f in fields(User))

_INSERT_USER = """
INSERT INTO users (username, display_name, password_hash, role, unit_id, pbx, interface, language)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id
"""

_ENSURE_QUEUE = """
INSERT INTO queues (pbx, name) VALUES ($1, $2)
ON CONFLICT (pbx, name) DO UPDATE SET name = EXCLUDED.name
RETURNING id
"""

_JOIN_QUEUE = """
INSERT INTO agent_queues (user_id, queue_id) VALUES ($1, $2) ON CONFLICT DO NOTHING
"""

_BY_USERNAME = f"""
SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = $1
"""

_BY_ID = f"SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"

_BY_INTERFACE = f"""
SELECT {USER_COLUMNS} FROM users u WHERE u.pbx = $1 AND u.interface = $2 AND u.active
"""

_AGENTS = f"""
SELECT {USER_COLUMNS} FROM users u WHERE u.role = 'agent' ORDER BY u.display_name
"""

_QUEUES_OF = """
SELECT q.pbx, q.name FROM agent_queues aq JOIN queues q ON q.id = aq.queue_id
WHERE aq.user_id = $1 ORDER BY q.name
"""

_SET_PASSWORD = "UPDATE users SET password_hash = $2 WHERE id = $1"

_INSERT_SESSION = """
INSERT INTO web_sessions (token_hash, user_id, csrf_token, expires_at, created_at, last_seen_at)
VALUES ($1, $2, $3, $4, $5, $5)
"""

# Beyond the newest `keep` sessions of a user, the oldest are ended.
_END_OLDEST = """
DELETE FROM web_sessions WHERE token_hash IN (
    SELECT token_hash FROM web_sessions WHERE user_id = $1 ORDER BY opened DESC OFFSET $2)
"""

# A session used within the idle timeout is found and marked used now; one idle longer is not.
_SESSION = f"""
WITH used AS (
    UPDATE web_sessions SET last_seen_at = $2
    WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $2 - $3::interval
    RETURNING user_id, csrf_token, expires_at
)
SELECT {USER_COLUMNS}, s.csrf_token, s.expires_at
FROM used s JOIN users u ON u.id = s.user_id
WHERE u.active
"""

_DELETE_SESSION = "DELETE FROM web_sessions WHERE token_hash = $1"
END_SESSIONS_OF = "DELETE FROM web_sessions WHERE user_id = $1"
_PURGE_SESSIONS = "DELETE FROM web_sessions WHERE expires_at <= $1"


def user_of(row: asyncpg.Record) -> User:
    """The user in a row that selected USER_COLUMNS (and maybe more)."""
    return User(**{f.name: row[f.name] for f in fields(User)})


class UserRepository:
    """Users, their queues, and the sessions of those logged in."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self,
        *,
        username: str,
        display_name: str,
        password_hash: str,
        role: str,
        unit_id: int | None = None,
        pbx: str | None = None,
        interface: str | None = None,
        language: str = "th",
        queues: Sequence[str] = (),
    ) -> User:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                user_id = await conn.fetchval(
                    _INSERT_USER,
                    username,
                    display_name,
                    password_hash,
                    role,
                    unit_id,
                    pbx,
                    interface,
                    language,
                )
            except asyncpg.UniqueViolationError as exc:
                raise UserExists(f"user {username!r} or phone {interface!r} exists") from exc
            for queue in queues:
                queue_id = await conn.fetchval(_ENSURE_QUEUE, pbx or "", queue)
                await conn.execute(_JOIN_QUEUE, user_id, queue_id)
            row = await conn.fetchrow(_BY_ID, user_id)
        return user_of(row)

    async def credentials(self, username: str) -> tuple[User, str] | None:
        """The user and their password hash, for checking a login."""
        row = await self._pool.fetchrow(_BY_USERNAME, username)
        return None if row is None else (user_of(row), row["password_hash"])

    async def get(self, user_id: int) -> User | None:
        row = await self._pool.fetchrow(_BY_ID, user_id)
        return None if row is None else user_of(row)

    async def by_interface(self, pbx: str, interface: str) -> User | None:
        row = await self._pool.fetchrow(_BY_INTERFACE, pbx, interface)
        return None if row is None else user_of(row)

    async def agents(self) -> list[User]:
        return [user_of(row) for row in await self._pool.fetch(_AGENTS)]

    async def queues_of(self, user_id: int) -> list[tuple[str, str]]:
        return [(r["pbx"], r["name"]) for r in await self._pool.fetch(_QUEUES_OF, user_id)]

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        await self._pool.execute(_SET_PASSWORD, user_id, password_hash)

    async def open_session(
        self,
        token_hash: str,
        user_id: int,
        csrf_token: str,
        expires_at: datetime,
        *,
        now: datetime,
        keep: int,
    ) -> None:
        """A new session; the user's oldest end so that at most `keep` stay open."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_INSERT_SESSION, token_hash, user_id, csrf_token, expires_at, now)
            await conn.execute(_END_OLDEST, user_id, keep)

    async def session(self, token_hash: str, now: datetime, idle: timedelta) -> Session | None:
        """The live session behind a cookie, marked used now; None once expired, idle longer
        than `idle`, or its user deactivated."""
        row = await self._pool.fetchrow(_SESSION, token_hash, now, idle)
        if row is None:
            return None
        return Session(
            user=user_of(row), csrf_token=row["csrf_token"], expires_at=row["expires_at"]
        )

    async def close_session(self, token_hash: str) -> None:
        await self._pool.execute(_DELETE_SESSION, token_hash)

    async def close_sessions_of(self, user_id: int) -> None:
        """Sign a user out everywhere: every browser and device."""
        await self._pool.execute(END_SESSIONS_OF, user_id)

    async def purge_sessions(self, now: datetime) -> int:
        result = await self._pool.execute(_PURGE_SESSIONS, now)
        return int(result.split()[-1])
