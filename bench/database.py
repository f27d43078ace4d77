"""A throw-away database for a benchmark: embedded PostgreSQL in a temporary folder."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from database.migrate import apply_migrations
from database.pool import Database, EmbeddedPostgres


@asynccontextmanager
async def fresh_database(prefix: str = "hotline-bench-") -> AsyncIterator[Database]:
    """A migrated database on its own embedded server (durable commits), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    server = EmbeddedPostgres(folder / "data")
    try:
        url = server.start()
        await apply_migrations(url)
        db = await Database.connect(url)
        try:
            yield db
        finally:
            await db.close()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
