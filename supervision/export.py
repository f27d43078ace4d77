"""The supervisor report as Excel (one sheet per table) or CSV (UTF-8 with a BOM, so Excel
reads Thai), written from the same `Table`s the page shows.

Text that callers control (their caller-ID name) could start a spreadsheet formula; see
cases.spreadsheet for how each format keeps it text.

openpyxl is pure Python, so the views build the workbook in the export process
(runtime.workers); a workbook is written in write-only mode, row by row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from cases.spreadsheet import csv_cell, xlsx_cell
from supervision.report_tables import Cell, Table

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv"
_MAX_WIDTH = 60


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """A workbook with one sheet per table (named by its key), headers in bold."""
    book = Workbook(write_only=True)
    for table in tables:
        sheet = book.create_sheet(table.key[:31])
        _size_columns(sheet, [table.headers, *table.rows])
        sheet.freeze_panes = "A3"
        sheet.append([_styled(sheet, table.title, Font(bold=True, size=13))])
        sheet.append([_styled(sheet, text, Font(bold=True)) for text in table.headers])
        for row in table.rows:
            sheet.append([_styled(sheet, cell) for cell in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _size_columns(sheet: WriteOnlyWorksheet, lines: Sequence[Sequence[Cell]]) -> None:
    """Each column as wide as its widest cell below the title (a write-only sheet takes its
    widths before its rows)."""
    for index in range(1, max(map(len, lines), default=0) + 1):
        column = [line[index - 1] for line in lines if len(line) >= index]
        widest = max((len(str(value or "")) for value in column), default=8)
        sheet.column_dimensions[get_column_letter(index)].width = min(_MAX_WIDTH, widest + 2)


def _styled(sheet: WriteOnlyWorksheet, value: Cell, font: Font | None = None) -> WriteOnlyCell:
    cell = xlsx_cell(sheet, value)
    if font is not None:
        cell.font = font
    if isinstance(value, float):
        cell.number_format = "0.0"
    return cell


def to_csv(tables: Sequence[Table]) -> bytes:
    """Every table one after the other: its title, its headers, its rows, then a blank line."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    for table in tables:
        writer.writerow([table.title])
        writer.writerow(table.headers)
        for row in table.rows:
            writer.writerow([csv_cell(cell) for cell in row])
        writer.writerow([])
    return text.getvalue().encode("utf-8-sig")
