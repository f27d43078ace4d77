"""Forward-only schema migrations, safe when two instances start at once.

yoyo applies the numbered SQL files in `database/migrations/`; a PostgreSQL advisory lock
around it makes a second instance wait instead of racing the first.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
ADVISORY_LOCK_KEY = 0x686F746C696E65  # "hotline"

log = structlog.get_logger()


def yoyo_url(url: str) -> str:
    """yoyo names its PostgreSQL driver in the scheme; the rest of the URL is libpq's."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql+psycopg", *parts[1:]))


def _apply_with_yoyo(url: str) -> list[str]:
    from yoyo import get_backend, read_migrations

    backend = get_backend(yoyo_url(url))
    try:
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return [m.id for m in pending]
    finally:
        backend.connection.close()


async def apply_migrations(url: str) -> list[str]:
    """Apply every pending migration; returns the ids applied (empty when up to date)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
        try:
            applied = await asyncio.to_thread(_apply_with_yoyo, url)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
    finally:
        await conn.close()
    if applied:
        log.info("migrations_applied", ids=applied)
    return applied
