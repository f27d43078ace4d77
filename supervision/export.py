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
from datetime import datetime
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from cases.dates import Era, Lang
from cases.spreadsheet import csv_cell, xlsx_cell
from supervision.report_tables import Cell, DateCell, Table, display

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv"
_MAX_WIDTH = 60


#: Excel's date formats; in the Buddhist Era the locale code [$-107041E] asks for the Thai
#: Buddhist calendar (calendar 07, Thai locale 041E, Western digits 01), so the cell holds
#: the real date and shows 2/3/2569.
_DATE_FORMATS = {"be": "[$-107041E]d/m/yyyy", "ce": "d/m/yyyy"}
_DATETIME_FORMATS = {"be": "[$-107041E]d/m/yyyy h:mm:ss", "ce": "d/m/yyyy h:mm:ss"}
#: What Excel forbids in a sheet's name, and its longest.
_NOT_IN_SHEET_NAMES = str.maketrans({c: " " for c in "[]:*?/\\"})
_SHEET_NAME_MAX = 31


def to_xlsx(tables: Sequence[Table], era: Era, lang: Lang) -> bytes:
    """A workbook with one sheet per table, headers in bold, dates as date cells shown in
    `era`. Sheets are named by the tables' titles for Thai readers and by their keys (short
    English names) otherwise."""
    book = Workbook(write_only=True)
    names: set[str] = set()
    for table in tables:
        sheet = book.create_sheet(_sheet_name(table, lang, names))
        _size_columns(sheet, [table.headers, *table.rows])
        sheet.freeze_panes = "A3"
        sheet.append([_styled(sheet, table.title, era, Font(bold=True, size=13))])
        sheet.append([_styled(sheet, text, era, Font(bold=True)) for text in table.headers])
        for row in table.rows:
            sheet.append([_styled(sheet, cell, era) for cell in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(table: Table, lang: Lang, taken: set[str]) -> str:
    """A name Excel accepts and no other sheet of the book has."""
    wanted = table.title if lang == "th" else table.key
    base = wanted.translate(_NOT_IN_SHEET_NAMES).strip("' ")[:_SHEET_NAME_MAX] or table.key
    name, n = base, 1
    while name.casefold() in taken:
        n += 1
        suffix = f" ({n})"
        name = base[: _SHEET_NAME_MAX - len(suffix)] + suffix
    taken.add(name.casefold())
    return name


def _size_columns(sheet: WriteOnlyWorksheet, lines: Sequence[Sequence[Cell]]) -> None:
    """Each column as wide as its widest cell below the title (a write-only sheet takes its
    widths before its rows)."""
    for index in range(1, max(map(len, lines), default=0) + 1):
        column = [line[index - 1] for line in lines if len(line) >= index]
        widest = max((len(display(value or "")) for value in column), default=8)
        sheet.column_dimensions[get_column_letter(index)].width = min(_MAX_WIDTH, widest + 2)


def _styled(
    sheet: WriteOnlyWorksheet, value: Cell, era: Era, font: Font | None = None
) -> WriteOnlyCell:
    if isinstance(value, DateCell):
        cell = WriteOnlyCell(sheet, value.value)
        formats = _DATETIME_FORMATS if isinstance(value.value, datetime) else _DATE_FORMATS
        cell.number_format = formats[era]
        return cell
    cell = xlsx_cell(sheet, value)
    if font is not None:
        cell.font = font
    if isinstance(value, float):
        cell.number_format = "0.0"
    return cell


def _plain(cell: Cell) -> str | int | float:
    """A CSV value: a date as the page words it, anything else as it is."""
    return cell.text if isinstance(cell, DateCell) else cell


def to_csv(tables: Sequence[Table]) -> bytes:
    """Every table one after the other: its title, its headers, its rows, then a blank line."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    for table in tables:
        writer.writerow([table.title])
        writer.writerow(table.headers)
        for row in table.rows:
            writer.writerow([csv_cell(_plain(cell)) for cell in row])
        writer.writerow([])
    return text.getvalue().encode("utf-8-sig")
