"""The register exported exactly as filtered: XLSX (openpyxl) and CSV with a UTF-8 BOM so
Excel opens Thai text correctly.

Labels come from the caller (the views translate), so cases stays free of the UI. Text that
callers typed is neutralised against spreadsheet formula injection (cases.spreadsheet).

openpyxl is pure Python (~1 s per 10,000 rows even in write-only mode), so the workbook is
built in the export process (runtime.workers): the rows go there as chunks pickled while
they are read, since the pool would otherwise pickle 100,000 rows in one call, holding the
GIL the loop needs. Everything that process receives is plain data, labels included. The
CSV is cheap enough to write on the loop, a chunk at a time, straight into the response.
"""

from __future__ import annotations

import codecs
import csv
import io
import pickle
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from cases.dates import Era, Lang, format_datetime
from cases.lifecycle import CaseType, Channel, Status
from cases.register import RegisterRow
from cases.spreadsheet import csv_cell, xlsx_cell
from cases.working_days import BANGKOK

COLUMNS: tuple[str, ...] = (
    "reference",
    "received_at",
    "channel",
    "case_type",
    "topic",
    "status",
    "unit",
    "province",
    "due_at",
    "resolved_at",
    "overdue",
    "escalation_level",
)
#: Every code an export translates (`ExportLabels.codes` holds a label for each).
CODE_KEYS: tuple[str, ...] = (
    *(f"channel.{c.value}" for c in Channel),
    *(f"type.{t.value}" for t in CaseType),
    *(f"status.{s.value}" for s in Status),
    "yes",
    "no",
)
Line = list[str | int]


@dataclass(frozen=True)
class ExportLabels:
    """Column headers, the label of each code (channel, type, status, yes/no; see CODE_KEYS)
    and the date form the user reads the register in."""

    headers: Mapping[str, str]
    codes: Mapping[str, str]
    era: Era = "be"
    lang: Lang = "th"
    tz: ZoneInfo = BANGKOK

    def code(self, key: str) -> str:
        return self.codes.get(key, key)


def header(labels: ExportLabels) -> Line:
    return [labels.headers.get(c, c) for c in COLUMNS]


def line(row: RegisterRow, labels: ExportLabels) -> Line:
    """One row as both exports write it."""
    return [
        row.reference,
        format_datetime(row.received_at, labels.era, labels.lang, tz=labels.tz),
        labels.code(f"channel.{row.channel}"),
        labels.code(f"type.{row.case_type}"),
        row.topic,
        labels.code(f"status.{row.status}"),
        row.unit_name or "",
        row.province or "",
        format_datetime(row.due_at, labels.era, labels.lang, tz=labels.tz),
        format_datetime(row.resolved_at, labels.era, labels.lang, tz=labels.tz),
        labels.code("yes" if row.overdue else "no"),
        row.escalation_level,
    ]


def csv_start(labels: ExportLabels) -> bytes:
    """The BOM and the header line: what the CSV begins with."""
    return codecs.BOM_UTF8 + csv_lines([header(labels)])


def csv_rows(rows: Iterable[RegisterRow], labels: ExportLabels) -> bytes:
    """Rows as CSV lines, to follow `csv_start` (or rows written before)."""
    return csv_lines(line(row, labels) for row in rows)


def csv_lines(lines: Iterable[Line]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([csv_cell(v) for v in ln] for ln in lines)
    return buffer.getvalue().encode()


async def packed(chunks: AsyncIterable[Sequence[tuple[Any, ...]]]) -> list[bytes]:
    """Each chunk of rows pickled as it is read, ready for `xlsx_of_packed`."""
    return [pickle.dumps(chunk, pickle.HIGHEST_PROTOCOL) async for chunk in chunks]


def xlsx_of_packed(chunks: Sequence[bytes], labels: ExportLabels, title: str) -> bytes:
    """The workbook of rows `packed` by this service (runs in the export process)."""
    rows = [RegisterRow.from_values(values) for chunk in chunks for values in pickle.loads(chunk)]
    return to_xlsx(rows, labels, title)


def to_xlsx(rows: Sequence[RegisterRow], labels: ExportLabels, title: str = "Register") -> bytes:
    lines = [header(labels), *(line(row, labels) for row in rows)]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(zip(*lines, strict=True), start=1):
        width = max(len(str(value)) for value in column)
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(10, width + 2))
    for values in lines:
        sheet.append([xlsx_cell(sheet, value) for value in values])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
