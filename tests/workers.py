"""Holding the service's export process busy, to see what the rest of the service does
meanwhile."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from web.keys import workers_key


def wait_for(path: str) -> None:
    """Runs in the export process: keeps it busy until `path` exists."""
    while not os.path.exists(path):
        time.sleep(0.01)


@asynccontextmanager
async def export_process_held(app: web.Application, folder: Path) -> AsyncIterator[None]:
    """Every export asked for inside the block waits for the export process until it ends."""
    gate = folder / "export-gate"
    held = app[workers_key].exports.submit(wait_for, str(gate))
    try:
        yield
    finally:
        gate.touch()
        await asyncio.wrap_future(held)
