"""A PostgreSQL server of one test's own, migrated, which the test may really stop and start
again (an outage), unlike the session's shared server."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from database.migrate import apply_migrations
from database.pool import EmbeddedPostgres


@asynccontextmanager
async def own_postgres() -> AsyncIterator[tuple[EmbeddedPostgres, str]]:
    """The server (stop() and start() it at will) and its URL, which a restart keeps."""
    # A short folder: the server's Unix socket lives there and socket paths are short.
    folder = Path(tempfile.mkdtemp(prefix="hl-pg-"))
    server = EmbeddedPostgres(folder / "data")
    try:
        url = server.start()
        await apply_migrations(url)
        yield server, url
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
