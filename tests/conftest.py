"""Shared fixtures: a real PostgreSQL for every database test, fresh per test.

With no DATABASE_URL an embedded server (pgserver) starts once per test session in a
temporary folder. The schema is migrated once into a template database; each test gets
its own copy of it (CREATE DATABASE ... TEMPLATE), which takes tens of milliseconds.

Property tests share one Hypothesis profile, so none can flake on a loaded machine: wall time
decides nothing (no per-example deadline, no "too slow" health check) and the number of
examples is bounded. On CI (CI set, or HYPOTHESIS_PROFILE=ci) the examples are also
derandomized, so a red run replays identically; elsewhere they vary and keep exploring.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, settings

from database.migrate import apply_migrations
from database.pool import Database, EmbeddedPostgres, database_url_for

# A private CA and a simulator behind TLS, for the AMI over TLS tests of any folder.
pytest_plugins = ["tests.tls"]

settings.register_profile(
    "dev", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", settings.get_profile("dev"), derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# Every app a test builds listens for FastAGI on a free port, so tests never collide.
os.environ.setdefault("HOTLINE_AGI_PORT", "0")

TEMPLATE_DB = f"hotline_template_{os.getpid()}"
_counter = itertools.count()


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server: DATABASE_URL's, or an embedded one for this test session."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield external
        return
    folder = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
    server = EmbeddedPostgres(folder / "data")
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_url(server_url: str) -> Iterator[str]:
    """The URL of a migrated template database (session-wide; do not write to it)."""
    template_url = database_url_for(server_url, TEMPLATE_DB)

    async def build() -> None:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"')
        await _admin(server_url, f'CREATE DATABASE "{TEMPLATE_DB}"')
        await apply_migrations(template_url)

    asyncio.run(build())
    yield template_url
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)'))


@pytest.fixture
async def fresh_db_url(server_url: str, pg_url: str) -> AsyncIterator[str]:
    """A database of its own for one test, copied from the migrated template."""
    name = f"hotline_test_{os.getpid()}_{next(_counter)}"
    await _admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    try:
        yield database_url_for(server_url, name)
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db(fresh_db_url: str) -> AsyncIterator[Database]:
    """A connected `Database` on a fresh migrated database."""
    database = await Database.connect(fresh_db_url, max_size=5)
    try:
        yield database
    finally:
        await database.close()
