"""User accounts as the admin pages manage them: the account form's rules, and every change
written in the same transaction as its `admin_audit` row, so the trail cannot miss one.

The audit keeps old and new values of the changed fields; a password never enters it, only
the fact that it was reset.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar

import asyncpg

from accounts.password_rules import password_problem
from accounts.users import END_SESSIONS_OF, ROLES, USER_COLUMNS, User, user_of

USERNAME = re.compile(r"[a-z0-9_.-]{2,64}")
INTERFACE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,15}/[A-Za-z0-9_.@:+-]{1,80}")
QUEUE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
LANGUAGES = ("th", "en")
MAX_NAME = 200
MAX_QUEUES = 50
# Serialises every change that could leave the service without an active admin.
ADMINS_LOCK = 0x61646D696E73  # "admins"


class InvalidAccount(Exception):
    """Form data that cannot be saved; `field_errors` maps a field name to an error code."""

    code: ClassVar[str] = "invalid_account"
    status: ClassVar[int] = 422

    def __init__(self, field_errors: dict[str, str]) -> None:
        super().__init__(f"invalid account: {', '.join(sorted(field_errors))}")
        self.field_errors = field_errors


class UserNotFound(Exception):
    """The user vanished between the page and the change (pages check first)."""

    code: ClassVar[str] = "user_not_found"
    status: ClassVar[int] = 404


@dataclass(frozen=True, slots=True)
class Account:
    """Everything about a user an admin may change after creating them."""

    display_name: str
    role: str
    unit_id: int | None
    pbx: str | None
    interface: str | None
    language: str
    queues: tuple[str, ...]

    @classmethod
    def of(cls, user: User, queues: Iterable[str]) -> Account:
        return cls(
            display_name=user.display_name,
            role=user.role,
            unit_id=user.unit_id,
            pbx=user.pbx,
            interface=user.interface,
            language=user.language,
            queues=tuple(sorted(queues)),
        )

    def changes_from(self, before: Account | None) -> dict[str, dict[str, Any]]:
        """The audit's JSON: each changed field with its old and new value."""
        old = asdict(before) if before else {}
        return {
            name: {"from": _jsonable(old.get(name)), "to": _jsonable(value)}
            for name, value in asdict(self).items()
            if old.get(name) != value
        }


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user as the admin pages list them: with the unit's name and the queues served."""

    user: User
    unit_name: str | None
    queues: tuple[str, ...]

    @property
    def account(self) -> Account:
        return Account.of(self.user, self.queues)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str | None
    action: str
    changes: dict[str, Any]


def _jsonable(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def split_queues(values: Iterable[str]) -> list[str]:
    """Queue names from checkboxes and comma-separated text, in order, each once."""
    names = (part.strip() for value in values for part in value.split(","))
    return list(dict.fromkeys(name for name in names if name))


def _id(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and int(text) < 2**63 else None


def parse_account(
    values: Mapping[str, str], queues: Iterable[str], *, pbx_names: Collection[str]
) -> Account:
    """The account form's fields checked together, so every error shows at once."""
    errors: dict[str, str] = {}
    name = values.get("display_name", "").strip()
    if not name:
        errors["display_name"] = "required"
    elif len(name) > MAX_NAME:
        errors["display_name"] = "too_long"
    role = values.get("role", "")
    if role not in ROLES:
        errors["role"] = "required" if not role else "invalid"
    unit_text = values.get("unit_id", "").strip()
    unit_id = _id(unit_text)
    if unit_text and unit_id is None:
        errors["unit_id"] = "invalid"
    elif role == "unit" and unit_id is None:
        errors["unit_id"] = "required"
    pbx, interface = _text(values, "pbx"), _text(values, "interface")
    if pbx is not None and pbx not in pbx_names:
        errors["pbx"] = "unknown"
    if interface is not None and not INTERFACE.fullmatch(interface):
        errors["interface"] = "invalid"
    if role == "agent" and interface is None:
        errors["interface"] = "required"
    if pbx is None and (role == "agent" or interface is not None):
        errors["pbx"] = "required"
    queue_names = split_queues(queues)
    if any(not QUEUE.fullmatch(q) for q in queue_names) or len(queue_names) > MAX_QUEUES:
        errors["queues"] = "invalid"
    elif queue_names and pbx is None:
        errors["queues"] = "need_pbx"
    language = values.get("language", "") or "th"
    if language not in LANGUAGES:
        errors["language"] = "invalid"
    if errors:
        raise InvalidAccount(errors)
    return Account(name, role, unit_id, pbx, interface, language, tuple(sorted(queue_names)))


def password_errors(
    password: str, repeat: str, *, username: str, display_name: str = ""
) -> dict[str, str]:
    problem = password_problem(password, username=username, display_name=display_name)
    if problem is not None:
        return {"password": problem}
    if password != repeat:
        return {"password2": "mismatch"}
    return {}


def _username(values: Mapping[str, str]) -> str:
    return values.get("username", "").strip().lower()


def _text(values: Mapping[str, str], name: str) -> str | None:
    return values.get(name, "").strip() or None


def parse_new_account(
    values: Mapping[str, str], queues: Iterable[str], *, pbx_names: Collection[str]
) -> tuple[str, Account]:
    """The username and account of a new user; the passwords are checked, not returned."""
    username = _username(values)
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = "required"
    elif not USERNAME.fullmatch(username):
        errors["username"] = "invalid"
    errors.update(
        password_errors(
            values.get("password", ""),
            values.get("password2", ""),
            username=username,
            display_name=values.get("display_name", ""),
        )
    )
    try:
        account = parse_account(values, queues, pbx_names=pbx_names)
    except InvalidAccount as exc:
        errors.update(exc.field_errors)
    if errors:
        raise InvalidAccount(errors)
    return username, account


_ROWS = f"""
SELECT {USER_COLUMNS}, un.name AS unit_name,
       COALESCE(array_agg(q.name ORDER BY q.name) FILTER (WHERE q.id IS NOT NULL), '{{}}')
           AS queues
FROM users u
LEFT JOIN units un ON un.id = u.unit_id
LEFT JOIN agent_queues aq ON aq.user_id = u.id
LEFT JOIN queues q ON q.id = aq.queue_id
WHERE ($1::bigint IS NULL OR u.id = $1) AND ($2::text IS NULL OR u.role = $2)
GROUP BY u.id, un.name
ORDER BY u.active DESC, u.username
"""

_QUEUE_NAMES = "SELECT DISTINCT name FROM queues ORDER BY name"

_TAKEN = """
SELECT EXISTS (SELECT 1 FROM users WHERE username = $1 AND id IS DISTINCT FROM $4) AS username,
       EXISTS (SELECT 1 FROM users WHERE pbx = $2 AND interface = $3 AND id IS DISTINCT FROM $4)
           AS interface
"""

_UNIT_EXISTS = "SELECT EXISTS (SELECT 1 FROM units WHERE id = $1)"

# _INSERT and _UPDATE take the account's columns last, as `_write` gives them.
_INSERT = """
INSERT INTO users (username, password_hash, display_name, role, unit_id, pbx, interface, language)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id
"""

_UPDATE = """
UPDATE users SET display_name = $2, role = $3, unit_id = $4, pbx = $5, interface = $6,
                 language = $7
WHERE id = $1
"""

_DROP_QUEUES = """
DELETE FROM agent_queues aq USING queues q
WHERE aq.queue_id = q.id AND aq.user_id = $1 AND NOT (q.pbx = $2 AND q.name = ANY($3::text[]))
"""

_JOIN_QUEUES = """
WITH wanted AS (
    INSERT INTO queues (pbx, name) SELECT $2, unnest($3::text[])
    ON CONFLICT (pbx, name) DO UPDATE SET name = EXCLUDED.name
    RETURNING id
)
INSERT INTO agent_queues (user_id, queue_id) SELECT $1, id FROM wanted ON CONFLICT DO NOTHING
"""

_SET_PASSWORD = "UPDATE users SET password_hash = $2 WHERE id = $1"
_SET_ACTIVE = "UPDATE users SET active = $2 WHERE id = $1"

_OTHER_ADMINS = "SELECT count(*) FROM users WHERE role = 'admin' AND active AND id <> $1"

_AUDIT = """
INSERT INTO admin_audit (at, actor_id, action, target_user_id, changes)
VALUES ($1, $2, $3, $4, $5::jsonb)
"""

_AUDIT_OF = """
SELECT a.at, u.username AS actor, a.action, a.changes
FROM admin_audit a LEFT JOIN users u ON u.id = a.actor_id
WHERE a.target_user_id = $1 ORDER BY a.at DESC, a.id DESC
"""


def _row(record: asyncpg.Record) -> UserRow:
    return UserRow(
        user=user_of(record), unit_name=record["unit_name"], queues=tuple(record["queues"])
    )


class AdminRepository:
    """Create, change, reset and (de)activate users, each change with its audit row."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def list_users(self, role: str | None = None) -> list[UserRow]:
        return [_row(r) for r in await self._pool.fetch(_ROWS, None, role)]

    async def get(self, user_id: int) -> UserRow | None:
        record = await self._pool.fetchrow(_ROWS, user_id, None)
        return None if record is None else _row(record)

    async def queue_names(self) -> list[str]:
        """Queues known on any PBX, offered as checkboxes."""
        return [r["name"] for r in await self._pool.fetch(_QUEUE_NAMES)]

    async def taken(self, values: Mapping[str, str], *, user_id: int | None) -> dict[str, str]:
        """The username (for a new user) or phone as typed, if someone else has it: told
        together with the form's other mistakes, not only once those are fixed."""
        username = _username(values) if user_id is None else None
        pbx, interface = _text(values, "pbx"), _text(values, "interface")
        return await _taken_fields(self._pool, username, pbx, interface, user_id)

    async def audit(self, user_id: int) -> list[AuditEntry]:
        return [
            AuditEntry(r["at"], r["actor"], r["action"], r["changes"])
            for r in await self._pool.fetch(_AUDIT_OF, user_id)
        ]

    async def create(
        self, username: str, account: Account, password_hash: str, *, actor_id: int, at: datetime
    ) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            await _check_free(conn, account, username=username, user_id=None)
            user_id: int = await _write(conn, _INSERT, account, username, password_hash)
            await _set_queues(conn, user_id, account)
            changes = {"username": {"from": None, "to": username}, **account.changes_from(None)}
            await _audit(conn, at, actor_id, "create", user_id, changes)
        return user_id

    async def update(self, user_id: int, account: Account, *, actor_id: int, at: datetime) -> None:
        """Change everything but the username; the last active admin keeps the role."""
        async with self._pool.acquire() as conn, conn.transaction():
            before = await _locked(conn, user_id)
            if before.user.role == "admin" and account.role != "admin":
                await _keep_an_admin(conn, before, actor_id, "role")
            await _check_free(conn, account, username=None, user_id=user_id)
            await _write(conn, _UPDATE, account, user_id)
            await _set_queues(conn, user_id, account)
            changes = account.changes_from(before.account)
            if changes:
                await _audit(conn, at, actor_id, "update", user_id, changes)

    async def reset_password(
        self, user_id: int, password_hash: str, *, actor_id: int, at: datetime
    ) -> None:
        """A new password ends the user's other sessions: whoever knew the old one is out."""
        async with self._pool.acquire() as conn, conn.transaction():
            await _locked(conn, user_id)
            await conn.execute(_SET_PASSWORD, user_id, password_hash)
            if user_id != actor_id:
                await conn.execute(END_SESSIONS_OF, user_id)
            await _audit(conn, at, actor_id, "password_reset", user_id, {})

    async def sign_out(self, user_id: int, *, actor_id: int, at: datetime) -> None:
        """End every session of the user (a lost phone, a shared PC), audited."""
        async with self._pool.acquire() as conn, conn.transaction():
            await _locked(conn, user_id)
            await conn.execute(END_SESSIONS_OF, user_id)
            await _audit(conn, at, actor_id, "sign_out", user_id, {})

    async def set_active(self, user_id: int, active: bool, *, actor_id: int, at: datetime) -> None:
        """Deactivating ends the user's sessions at once; never oneself or the last admin."""
        async with self._pool.acquire() as conn, conn.transaction():
            before = await _locked(conn, user_id)
            if before.user.active == active:
                return
            if not active:
                if user_id == actor_id:
                    raise InvalidAccount({"active": "self"})
                if before.user.role == "admin":
                    await _keep_an_admin(conn, before, actor_id, "active")
                await conn.execute(END_SESSIONS_OF, user_id)
            await conn.execute(_SET_ACTIVE, user_id, active)
            changes = {"active": {"from": not active, "to": active}}
            action = "reactivate" if active else "deactivate"
            await _audit(conn, at, actor_id, action, user_id, changes)


async def _locked(conn: asyncpg.Connection, user_id: int) -> UserRow:
    # NO KEY UPDATE: audit rows naming this user (foreign keys) must not wait on it.
    await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE", user_id)
    record = await conn.fetchrow(_ROWS, user_id, None)
    if record is None:
        raise UserNotFound(f"no user {user_id}")
    return _row(record)


async def _keep_an_admin(
    conn: asyncpg.Connection, before: UserRow, actor_id: int, field: str
) -> None:
    """Refuse to take the admin role (by deactivation or a role change) from oneself or from
    the last active admin."""
    if before.user.id == actor_id:
        raise InvalidAccount({field: "self"})
    await conn.execute("SELECT pg_advisory_xact_lock($1)", ADMINS_LOCK)
    if before.user.active and not await conn.fetchval(_OTHER_ADMINS, before.user.id):
        raise InvalidAccount({field: "last_admin"})


async def _taken_fields(
    conn: asyncpg.Connection | asyncpg.Pool,
    username: str | None,
    pbx: str | None,
    interface: str | None,
    user_id: int | None,
) -> dict[str, str]:
    taken = await conn.fetchrow(_TAKEN, username, pbx, interface, user_id)
    return {name: "taken" for name in ("username", "interface") if taken[name]}


async def _check_free(
    conn: asyncpg.Connection, account: Account, *, username: str | None, user_id: int | None
) -> None:
    """Report a taken username or phone, or an unknown unit, on its field before writing."""
    errors = await _taken_fields(conn, username, account.pbx, account.interface, user_id)
    if account.unit_id is not None and not await conn.fetchval(_UNIT_EXISTS, account.unit_id):
        errors["unit_id"] = "unknown"
    if errors:
        raise InvalidAccount(errors)


async def _write(conn: asyncpg.Connection, sql: str, account: Account, *first: object) -> Any:
    """Insert or update a user: `first`, then the account's columns. A unique username or
    phone lost to another admin's save is told on its field."""
    columns = (
        account.display_name,
        account.role,
        account.unit_id,
        account.pbx,
        account.interface,
        account.language,
    )
    try:
        return await conn.fetchval(sql, *first, *columns)
    except asyncpg.UniqueViolationError as exc:
        raise _taken(exc) from exc


def _taken(exc: asyncpg.UniqueViolationError) -> InvalidAccount:
    """A race lost to another admin's save, told on the same field as the check before it."""
    field = "username" if "username" in (exc.constraint_name or "") else "interface"
    return InvalidAccount({field: "taken"})


async def _set_queues(conn: asyncpg.Connection, user_id: int, account: Account) -> None:
    names = list(account.queues)
    await conn.execute(_DROP_QUEUES, user_id, account.pbx or "", names)
    if names and account.pbx:
        await conn.execute(_JOIN_QUEUES, user_id, account.pbx, names)


async def _audit(
    conn: asyncpg.Connection,
    at: datetime,
    actor_id: int,
    action: str,
    user_id: int,
    changes: dict[str, Any],
) -> None:
    await conn.execute(_AUDIT, at, actor_id, action, user_id, changes)
