"""Rosters straight from Excel (.xlsx): the first sheet with a header row, or the sheet named.

The workbook is unpacked through :mod:`server.safe_zip` first (an .xlsx is a zip: the same
caps as a OneRoster export), then read with openpyxl, values only. Numbers Excel stored for
ids and phones come back as their digits (13800138001, not 1.38e10); dates as ISO dates.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl

from server.errors import ImportFailed
from server.roster_table import RosterRow, RowProblem, find_header, rows_from
from server.safe_zip import member

Grid = list[tuple[int, int, list[str]]]


def read_xlsx(path: Path, sheet: str | None = None) -> tuple[list[RosterRow], list[RowProblem], str]:
    """Rows, notes (merged cells filled down) and what was read ('sheet 家长通讯录, header on row 3')."""
    book = openpyxl.load_workbook(_unpacked(path), read_only=True, data_only=True)
    try:
        names = [sheet] if sheet else book.sheetnames
        if sheet and sheet not in book.sheetnames:
            raise ImportFailed(f"{path.name} has no sheet {sheet!r}; its sheets: {', '.join(book.sheetnames)}.")
        for name in names:
            grid = _grid(book[name])
            start = find_header([cells for _, _, cells in grid])
            if start is not None:
                rows, notes = rows_from(f"{path.name}[{name}]", grid[start][2], [(n, c) for n, _, c in grid[start + 1:]])
                return rows, notes, f"sheet {name}, header on row {grid[start][0]}"
    finally:
        book.close()
    raise ImportFailed(f"{path.name}: no sheet has a header row with the student's id, name and class in its first "
                       f"rows (sheets: {', '.join(names)}). Put the column names, e.g. 学号 | 学生姓名 | 班级 | 家长姓名 "
                       "| 联系电话, in one row above the students, or name the sheet with --sheet.")


def _unpacked(path: Path) -> io.BytesIO:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ImportFailed(f"{path.name} is not an Excel workbook (.xlsx). An old .xls? Open it in Excel and save "
                           "as .xlsx or as 'CSV UTF-8'.") from None
    out = io.BytesIO()
    with archive, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy:
        for info in archive.infolist():
            copy.writestr(info.filename, member(archive, info, path.name))
    out.seek(0)
    return out


def _grid(sheet) -> Grid:
    return [(number, number, [_text(v) for v in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), 1)]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
