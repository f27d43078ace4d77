"""The report workbook is built off the event loop: the service answers while it is made."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from tests.foundation.conftest import log_in
from tests.supervisor.factories import add_call, local
from tests.workers import export_process_held
from web.keys import db_key


async def test_the_service_answers_while_the_report_workbook_is_made(
    app_client: TestClient,
    app: web.Application,
    make_user: Callable[..., Awaitable[None]],
    tmp_path: Path,
) -> None:
    await add_call(app[db_key].pool, "1", local(2, 9), 5, answered=True)
    await make_user("boss", "supervisor")
    await log_in(app_client, "boss")
    async with export_process_held(app, tmp_path):
        export = asyncio.create_task(app_client.get("/supervisor/reports.xlsx?from=2026-03-02"))
        for _ in range(3):
            assert (await app_client.get("/supervisor/reports?from=2026-03-02")).status == 200
        assert not export.done()
    book = load_workbook(io.BytesIO(await (await export).read()))
    assert book["summary"]["B3"].value == 1
