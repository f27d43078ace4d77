"""Text that callers typed, made safe for the spreadsheet an export opens in.

A cell starting with = + - @ (or a tab or carriage return, which Excel skips before them)
is run as a formula: `=HYPERLINK(...)` in a caller's name would become a link on a
supervisor's screen. In CSV such a cell gets a leading apostrophe, and so does every part
after a `;`, because where `;` is the list separator Excel splits an unquoted cell there.
In XLSX a cell is typed, so text is written as a text cell exactly as typed: nothing is
ever evaluated and no apostrophe shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openpyxl.cell import WriteOnlyCell

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV value as written: text that could start a formula (here or after a `;`) gets
    an apostrophe there; numbers stay as they are."""
    if not isinstance(value, str):
        return value
    return ";".join(
        "'" + part if part.startswith(FORMULA_STARTS) else part for part in value.split(";")
    )


def xlsx_cell(sheet: WriteOnlyWorksheet, value: Any) -> WriteOnlyCell:
    """A workbook cell: text always as a text cell (openpyxl would make `=...` a formula)."""
    cell = WriteOnlyCell(sheet, value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell
