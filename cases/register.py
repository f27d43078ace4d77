"""The summary register (TPQI FM-QP-SA-03-02): cases searched, filtered and paginated.

The same filter drives the page and the exports, so an export holds exactly the rows the
user filtered, page boundaries aside. An export reads its rows from one snapshot through a
cursor, a chunk at a time: fetched at once, 100,000 rows would be decoded on the event loop
in one go.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg

from calls.numbers import normalise
from cases.access import free_text_sql, visible_cases_sql
from cases.dates import parse_date
from cases.errors import ExportTooLarge
from cases.lifecycle import CaseType, Channel, Status
from cases.models import Actor
from cases.working_days import BANGKOK

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_EXPORT_ROWS = 100_000
#: Rows decoded per round trip of an export's cursor: a few milliseconds of the loop's time.
EXPORT_CHUNK_ROWS = 1_000
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class RegisterFilter:
    date_from: date | None = None
    date_to: date | None = None
    case_type: CaseType | None = None
    status: Status | None = None
    channel: Channel | None = None
    unit_id: int | None = None
    topic: str = ""
    province: str = ""
    q: str = ""
    phone: str = ""
    name: str = ""
    overdue: bool = False
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    tz: ZoneInfo = BANGKOK

    @classmethod
    def from_query(cls, query: Mapping[str, str], tz: ZoneInfo = BANGKOK) -> RegisterFilter:
        """Read a query string; anything unreadable is ignored rather than refused, so a
        hand-edited URL still shows a register."""
        return cls(
            date_from=parse_date(query.get("date_from", "")),
            date_to=parse_date(query.get("date_to", "")),
            case_type=_enum(CaseType, query.get("case_type", "")),
            status=_enum(Status, query.get("status", "")),
            channel=_enum(Channel, query.get("channel", "")),
            unit_id=_positive_int(query.get("unit_id", "")),
            topic=_text(query.get("topic", "")),
            province=_text(query.get("province", "")),
            q=_text(query.get("q", "")),
            phone=_text(query.get("phone", "")),
            name=_text(query.get("name", "")),
            overdue=query.get("overdue", "") in ("1", "on", "true"),
            page=_positive_int(query.get("page", "")) or 1,
            page_size=min(
                _positive_int(query.get("page_size", "")) or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
            ),
            tz=tz,
        )

    def to_query(self, **changes: Any) -> dict[str, str]:
        """The filter as query parameters (empty ones left out), for links and exports."""
        values = asdict(replace(self, **changes))
        out: dict[str, str] = {}
        for key, value in values.items():
            if key == "tz" or value in (None, "", False) or (key == "page" and value == 1):
                continue
            if key == "page_size" and value == DEFAULT_PAGE_SIZE:
                continue
            out[key] = "1" if value is True else str(value)
        return out


@dataclass(frozen=True)
class RegisterRow:
    id: int
    reference: str
    received_at: datetime
    channel: Channel
    case_type: CaseType
    topic: str
    status: Status
    unit_name: str | None
    province: str | None
    due_at: datetime | None
    resolved_at: datetime | None
    escalation_level: int
    overdue: bool

    @classmethod
    def from_values(cls, values: Sequence[Any]) -> RegisterRow:
        """A row from the register query's columns, which come in the fields' order (an
        asyncpg Record, or the plain tuple an export hands to its worker process)."""
        id_, reference, received_at, channel, case_type, topic, status, *rest = values
        return cls(
            id_,
            reference,
            received_at,
            Channel(channel),
            CaseType(case_type),
            topic,
            Status(status),
            *rest,
        )


@dataclass(frozen=True)
class RegisterPage:
    rows: list[RegisterRow]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


# In RegisterRow's field order (RegisterRow.from_values).
_COLUMNS = """
c.id, c.reference, c.received_at, c.channel, c.case_type, c.topic, c.status, u.name AS unit_name,
c.province, c.due_at, c.resolved_at, c.escalation_level,
(c.due_at IS NOT NULL AND c.resolved_at IS NULL AND c.due_at < $1) AS overdue
"""


def _where(flt: RegisterFilter, actor: Actor, now: datetime) -> tuple[str, list[Any]]:
    """WHERE clause and parameters; $1 is always `now`."""
    args: list[Any] = [now]
    clauses: list[str] = ["$1::timestamptz IS NOT NULL"]  # so $1 is used by every query

    def param(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    visible, visible_args = visible_cases_sql(actor, len(args) + 1)
    clauses.append(visible)
    args.extend(visible_args)
    if flt.date_from:
        clauses.append(f"c.received_at >= {param(_day_start(flt.date_from, flt.tz))}")
    if flt.date_to:
        clauses.append(
            f"c.received_at < {param(_day_start(flt.date_to + timedelta(days=1), flt.tz))}"
        )
    for column, value in (
        ("case_type", flt.case_type),
        ("status", flt.status),
        ("channel", flt.channel),
        ("unit_id", flt.unit_id),
    ):
        if value is not None:
            clauses.append(f"c.{column} = {param(value)}")
    if flt.topic:
        clauses.append(f"c.topic ILIKE {param(_contains(flt.topic))}")
    if flt.province:
        clauses.append(f"c.province ILIKE {param(_contains(flt.province))}")

    def own() -> str:
        """What names the caller is searched only where the actor may read it."""
        condition, own_args = free_text_sql(actor, len(args) + 1)
        args.extend(own_args)
        return condition

    if flt.q:
        p = param(_contains(flt.q))
        details = f"({own()} AND c.details ILIKE {p})"
        clauses.append(f"(c.reference ILIKE {p} OR c.topic ILIKE {p} OR {details})")
    if flt.phone:
        clauses.append(f"({own()} AND c.id IN ({_phone_sql(flt.phone, param)}))")
    if flt.name:
        clauses.append(f"({own()} AND c.id IN ({_name_sql(flt.name, param)}))")
    if flt.overdue:
        clauses.append("c.due_at IS NOT NULL AND c.resolved_at IS NULL AND c.due_at < $1")
    return " AND ".join(clauses), args


def _phone_sql(typed: str, param: Callable[[Any], str]) -> str:
    """The ids of cases whose caller record has the number, or whose intake phone has its
    digits in any of the ways a Thai number is written (081..., 6681..., 006681...): each
    half found through its own index."""
    number = normalise(typed)
    if number is None:
        return "SELECT NULL::bigint"
    spellings = [number.lstrip("+")]
    if number.startswith("0"):
        spellings += ["66" + number[1:], "0066" + number[1:]]
    return (
        "SELECT x.id FROM cases x JOIN callers cr ON cr.id = x.caller_id"
        f" WHERE cr.number = {param(number)}"
        " UNION SELECT x.id FROM cases x WHERE x.contact_phone IS NOT NULL"
        f" AND regexp_replace(x.contact_phone, '[^0-9]', '', 'g') = ANY({param(spellings)}::text[])"
    )


def _name_sql(typed: str, param: Callable[[Any], str]) -> str:
    """The ids of cases whose contact's name starts with the text, or has each typed word as
    a whole word (a surname), through the prefix and the words index."""
    words = typed.lower().split()
    named = "x.contact_name IS NOT NULL"
    split = "regexp_split_to_array(lower(btrim(x.contact_name)), '\\s+')"
    return (
        f"SELECT x.id FROM cases x WHERE {named}"
        f" AND lower(x.contact_name) LIKE {param(_starts(' '.join(words)))}"
        f" UNION SELECT x.id FROM cases x WHERE {named} AND {split} @> {param(words)}::text[]"
    )


def _count_sql(where: str) -> str:
    return f"SELECT count(*) FROM cases c WHERE {where}"


def _rows_sql(where: str) -> str:
    """The rows in the page's order, newest first."""
    return (
        f"SELECT {_COLUMNS} FROM cases c LEFT JOIN units u ON u.id = c.unit_id WHERE {where} "
        "ORDER BY c.received_at DESC, c.id DESC"
    )


async def search(
    pool: asyncpg.Pool, flt: RegisterFilter, actor: Actor, now: datetime
) -> RegisterPage:
    """One page of the register, newest first."""
    where, args = _where(flt, actor, now)
    total = await pool.fetchval(_count_sql(where), *args)
    pages = max(1, math.ceil(total / flt.page_size))
    page = min(flt.page, pages)
    rows = await pool.fetch(
        f"{_rows_sql(where)} LIMIT {flt.page_size} OFFSET {(page - 1) * flt.page_size}", *args
    )
    return RegisterPage([RegisterRow.from_values(r) for r in rows], total, page, flt.page_size)


class ExportRows:
    """Every row an export writes, on a connection in a read-only snapshot: the count
    checked against the limit and the rows read are the same rows."""

    def __init__(self, conn: asyncpg.Connection, where: str, args: list[Any], total: int):
        self._conn = conn
        self._where = where
        self._args = args
        self.total = total

    async def chunks(self, size: int = EXPORT_CHUNK_ROWS) -> AsyncIterator[list[tuple[Any, ...]]]:
        """The rows in the page's order, `size` at a time, as plain tuples in RegisterRow's
        field order (cheap to pickle for a worker process)."""
        cursor = await self._conn.cursor(_rows_sql(self._where), *self._args)
        while records := await cursor.fetch(size):
            yield [tuple(record) for record in records]


@asynccontextmanager
async def export_rows(
    pool: asyncpg.Pool,
    flt: RegisterFilter,
    actor: Actor,
    now: datetime,
    limit: int = MAX_EXPORT_ROWS,
) -> AsyncIterator[ExportRows]:
    """Every row the filter matches, to read while the block runs. Refuses beyond `limit`
    rows, before any is read, instead of cutting the list short."""
    where, args = _where(flt, actor, now)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        total = await conn.fetchval(_count_sql(where), *args)
        if total > limit:
            raise ExportTooLarge(f"more than {limit} cases match; narrow the filter", limit=limit)
        yield ExportRows(conn, where, args, total)


def _text(value: str) -> str:
    """Search text as PostgreSQL accepts it: no NUL, bounded."""
    return value.replace("\x00", "").strip()[:200].strip()


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    """Midnight of `day` where the agency is, so a date filter means the agency's day."""
    return datetime.combine(day, time(0, 0), tz)


def _literal(text: str) -> str:
    """`text` with LIKE's wildcards escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(text: str) -> str:
    """An ILIKE pattern matching `text` literally anywhere."""
    return f"%{_literal(text)}%"


def _starts(text: str) -> str:
    """A LIKE pattern matching what starts with `text` (an index can serve it)."""
    return f"{_literal(text)}%"


def _enum(enum: type[E], value: str) -> E | None:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


def _positive_int(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) < 2**31 else None
