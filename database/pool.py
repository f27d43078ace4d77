"""The PostgreSQL connection pool, and an embedded server for demos and tests.

Every part of hotline that stores something goes through one asyncpg pool owned here.
When no database URL is configured, `embedded_postgres` starts a private server (the
pgserver wheel) in a data folder of hotline's own, so `make demo` needs nothing installed.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import structlog

log = structlog.get_logger()


class DatabaseUnavailable(Exception):
    """The database could not be reached; carries a one-line reason for people."""


async def _init_connection(conn: asyncpg.Connection) -> None:
    """Let jsonb columns travel as Python objects."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


@dataclass
class Database:
    """The pool and the URL it came from (the URL is needed by migrations and health)."""

    url: str
    pool: asyncpg.Pool

    @classmethod
    async def connect(
        cls, url: str, *, min_size: int = 1, max_size: int = 10, connect_timeout: float = 10.0
    ) -> Database:
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=min_size,
                max_size=max_size,
                timeout=connect_timeout,
                init=_init_connection,
                command_timeout=30,
            )
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            raise DatabaseUnavailable(f"cannot connect to the database: {_reason(exc)}") from exc
        return cls(url=url, pool=pool)

    async def close(self) -> None:
        await self.pool.close()

    async def check(self) -> tuple[bool, str]:
        """Health probe: a round trip to the server, with why it failed."""
        try:
            async with asyncio.timeout(2):
                await self.pool.fetchval("SELECT 1")
        except Exception as exc:
            return False, _reason(exc)
        return True, "ok"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class EmbeddedPostgres:
    """A private PostgreSQL server under `data_dir`, started on demand and kept running.

    pgserver shares one server per data folder between processes, so a second `hotline`
    on the same folder reuses it instead of failing.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI); pgserver
            # then uses /tmp, which is what we want.
            warnings.simplefilter("ignore")
            import pgserver

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = pgserver.get_server(str(self.data_dir), cleanup_mode="stop")
        return str(self._server.get_uri())

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def database_url_for(base_url: str, dbname: str) -> str:
    """The same server as `base_url`, another database on it."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))
