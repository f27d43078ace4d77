"""The register exported exactly as filtered: XLSX (openpyxl) and CSV with a UTF-8 BOM so
Excel opens Thai text correctly.

Labels come from the caller (the views translate), so cases stays free of the UI. Text that
callers typed is neutralised against spreadsheet formula injection.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from cases.dates import Era, Lang, format_datetime
from cases.register import RegisterRow
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
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportLabels:
    """Column headers, a translator for codes (channel, type, status, yes/no) and the date
    form the user reads the register in."""

    headers: Mapping[str, str]
    code: Callable[[str], str]
    era: Era = "be"
    lang: Lang = "th"
    tz: ZoneInfo = BANGKOK


def table(rows: Sequence[RegisterRow], labels: ExportLabels) -> list[list[str | int]]:
    """Header line then one line per row, as both exports write them."""
    out: list[list[str | int]] = [[labels.headers.get(c, c) for c in COLUMNS]]
    for row in rows:
        out.append(
            [
                row.reference,
                format_datetime(row.received_at, labels.era, labels.lang, tz=labels.tz),
                labels.code(f"channel.{row.channel}"),
                labels.code(f"type.{row.case_type}"),
                _safe(row.topic),
                labels.code(f"status.{row.status}"),
                _safe(row.unit_name or ""),
                _safe(row.province or ""),
                format_datetime(row.due_at, labels.era, labels.lang, tz=labels.tz),
                format_datetime(row.resolved_at, labels.era, labels.lang, tz=labels.tz),
                labels.code("yes" if row.overdue else "no"),
                row.escalation_level,
            ]
        )
    return out


def to_csv(rows: Sequence[RegisterRow], labels: ExportLabels) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(table(rows, labels))
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(rows: Sequence[RegisterRow], labels: ExportLabels, title: str = "Register") -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    lines = table(rows, labels)
    for line in lines:
        sheet.append(line)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(zip(*lines, strict=True), start=1):
        width = max(len(str(value)) for value in column)
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(10, width + 2))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _safe(text: str) -> str:
    """Prefix a quote so Excel shows caller text instead of evaluating it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
