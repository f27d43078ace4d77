"""Register exports of many rows: read in chunks, built off the event loop, still whole."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import asyncpg
from openpyxl import load_workbook

from cases.register import EXPORT_CHUNK_ROWS
from tests.cases.factories import NOW
from tests.cases.site import Site
from tests.workers import export_process_held

MANY = 2 * EXPORT_CHUNK_ROWS + 500


async def add_cases(pool: asyncpg.Pool, count: int) -> list[str]:
    """`count` cases, three to a minute (so the order also rests on the id), and their
    references in the register's order."""
    await pool.execute(
        """INSERT INTO cases (reference, channel, case_type, topic, status, received_at, province)
        SELECT 'T-' || g, 'letter', 'inquiry', 'เรื่องที่ ' || g, 'received',
               $1::timestamptz - (g / 3) * interval '1 min', 'น่าน'
        FROM generate_series(1, $2::int) g""",
        NOW,
        count,
    )
    rows = await pool.fetch("SELECT reference FROM cases ORDER BY received_at DESC, id DESC")
    return [row["reference"] for row in rows]


async def test_an_export_of_many_rows_holds_every_row_in_order(site: Site) -> None:
    references = await add_cases(site.pool, MANY)
    await site.add_user("boss", "supervisor")
    await site.log_in("boss")

    response = await site.client.get("/cases/export.xlsx")
    assert response.status == 200
    sheet = load_workbook(io.BytesIO(await response.read())).active
    assert sheet is not None
    workbook = [
        ["" if v is None else str(v) for v in line] for line in sheet.iter_rows(values_only=True)
    ]
    assert [line[0] for line in workbook[1:]] == references

    response = await site.client.get("/cases/export.csv")
    assert response.status == 200
    body = await response.read()
    assert body.startswith(b"\xef\xbb\xbf") and body.count(b"\xef\xbb\xbf") == 1
    assert list(csv.reader(io.StringIO(body.decode("utf-8-sig")))) == workbook


async def test_the_service_answers_while_an_export_is_being_made(
    site: Site, tmp_path: Path
) -> None:
    """The export waits for the export process (held here); meanwhile pages keep coming."""
    references = await add_cases(site.pool, 300)
    await site.add_user("boss", "supervisor")
    await site.log_in("boss")
    async with export_process_held(site.client.app, tmp_path):
        export = asyncio.create_task(site.client.get("/cases/export.xlsx"))
        for _ in range(3):
            assert (await site.get("/cases"))[0] == 200
        assert not export.done()
    sheet = load_workbook(io.BytesIO(await (await export).read())).active
    assert sheet is not None
    assert [line[0] for line in sheet.iter_rows(min_row=2, values_only=True)] == references
