"""Data for spreadsheets: unread lists as CSV (UTF-8 with BOM, so Excel shows Chinese) and XLSX.

Every cell that leaves PaperBridge for a spreadsheet, from the web or the command line, goes
through :func:`spreadsheet_cell`: formulas neutralised, control characters dropped.
"""

from __future__ import annotations

import csv
import io
import re

from openpyxl import Workbook
from openpyxl.styles import Font

UNREAD_COLUMNS = [("classes", "Class / 班级"), ("students", "Students / 学生"), ("family", "Family / 家庭"),
                  ("code", "Code / 编号"), ("state", "Status / 状态"), ("preferred_channel", "Channel / 渠道"),
                  ("language", "Language / 语言"), ("phone", "Phone / 电话"), ("attempts", "Reminders / 提醒次数"),
                  ("failures", "Failed, with reason / 失败原因")]

UNREACHED_COLUMNS = [("code", "Code / 编号"), ("family", "Family / 家庭"), ("students", "Students / 学生"),
                     ("kind", "Why listed / 列入原因"), ("unread", "Unread after 48 h / 48 小时未读"),
                     ("read_only", "Read, not confirmed / 已读未确认"), ("notices", "Notices / 通知数"),
                     ("median_hours", "Median hours to read / 阅读所需小时（中位数）"),
                     ("preferred_channel", "Channel / 渠道"), ("language", "Language / 语言"),
                     ("phones", "Phone / 电话"), ("suggestion", "Suggested next step / 建议")]


def csv_bytes(rows: list[dict], columns: list[tuple[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label for _, label in columns])
    for row in rows:
        writer.writerow([spreadsheet_cell(row.get(key)) for key, _ in columns])
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows: list[dict], columns: list[tuple[str, str]], title: str) -> bytes:
    return xlsx_sheets([(title, rows, columns)])


def xlsx_sheets(sheets: list[tuple[str, list[dict], list[tuple[str, str]]]]) -> bytes:
    """One workbook, a sheet per (title, rows, columns), headers bold and frozen."""
    book = Workbook()
    book.remove(book.active)
    for title, rows, columns in sheets:
        _sheet(book.create_sheet(re.sub(r"[\\/*?:\[\]]", " ", title)[:31] or "Sheet"), rows, columns)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(sheet, rows: list[dict], columns: list[tuple[str, str]]) -> None:
    sheet.append([label for _, label in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([spreadsheet_cell(row.get(key)) for key, _ in columns])
    for index, (key, label) in enumerate(columns, 1):
        width = max([len(label)] + [len(str(spreadsheet_cell(r.get(key)))) for r in rows[:200]])
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(max(width * 1.6, 8), 60)
    sheet.freeze_panes = "A2"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # what XLSX cannot hold and no name needs
_PLAIN_NUMBER = re.compile(r"^[+-]?\d[\d ]*$")  # phone numbers like +8613800138001 are not formulas


def spreadsheet_cell(value):
    """A value safe for a spreadsheet: text that Excel would run as a formula gets a leading
    apostrophe; control characters (which XLSX refuses) are dropped."""
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, str):
        value = _CONTROL.sub("", value)
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value
