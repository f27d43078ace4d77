"""The supervisor report as Excel (one sheet per table) or CSV (UTF-8 with a BOM, so Excel
reads Thai), written from the same `Table`s the page shows.

Text that callers control (their caller-ID name) could start a spreadsheet formula; such
cells are written with a leading apostrophe so Excel shows them as text and never runs them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from supervision.report_tables import Cell, Table

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_MAX_WIDTH = 60


def _inert(cell: Cell) -> Cell:
    if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """A workbook with one sheet per table (named by its key), headers in bold."""
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.key[:31])
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append(table.headers)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_inert(cell) for cell in row])
        for column in sheet.iter_cols(min_row=2):
            for cell in column:
                if isinstance(cell.value, float):
                    cell.number_format = "0.0"
            widest = max((len(str(c.value or "")) for c in column), default=8)
            sheet.column_dimensions[get_column_letter(column[0].column)].width = min(
                _MAX_WIDTH, widest + 2
            )
        sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_csv(tables: Sequence[Table]) -> bytes:
    """Every table one after the other: its title, its headers, its rows, then a blank line."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    for table in tables:
        writer.writerow([table.title])
        writer.writerow(table.headers)
        for row in table.rows:
            writer.writerow([_inert(cell) for cell in row])
        writer.writerow([])
    return text.getvalue().encode("utf-8-sig")
