"""A roster as schools export it, from a grid of cells to plain rows.

Exports from Excel and Chinese school platforms put a title above the headers
("三年级一班家长通讯录"), mark required columns (`*学号`, `姓名(*)`, `【班级】`, `班级（必填）`),
split the class into 年级 + 班级, put two guardians on one line (`家长1姓名`, `家长1电话`,
`家长2姓名` ...) and leave a merged class cell blank below its first line. This module finds
the header row, maps the columns, fills merged cells down (saying so) and gives one row per
guardian. Nothing here touches the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

REQUIRED = ("student_id", "student_name", "class")
HEADER_SEARCH = 10  # a title, a date, a blank line or two may sit above the headers
HEADER_ALIASES = {
    "student_id": ["student id", "student no", "student number", "学号", "學號", "学生编号", "學生編號", "学籍号",
                   "學籍號"],
    "student_name": ["student name", "student", "学生姓名", "學生姓名", "学生", "學生", "姓名", "学生名字"],
    "class": ["class", "class id", "form", "班级", "班級", "班级名称", "班級名稱", "所在班级", "所在班級"],
    "grade": ["grade", "year", "年级", "年級"],
    "guardian_name": ["guardian name", "guardian", "parent name", "parent", "家长姓名", "家長姓名",
                      "监护人", "監護人", "家长", "家長", "监护人姓名", "監護人姓名"],
    "guardian_phone": ["guardian phone", "phone", "parent phone", "mobile", "联系电话", "聯絡電話",
                       "聯繫電話", "联络电话", "电话", "電話", "手机", "手機", "家长电话", "家長電話", "手机号", "手機號"],
    "guardian_language": ["guardian language", "language", "语言", "語言"],
    "family_id": ["family id", "household id", "家庭编号", "家庭編號"],
    "preferred_channel": ["preferred channel", "channel", "首选渠道", "首選渠道", "联络方式", "聯絡方式"],
    "has_smartphone": ["has smartphone", "smartphone", "有智能手机", "有智能手機", "智能手机", "智能手機"],
}
LOOKUP = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases + [name.replace("_", " ")]}
# 家长1姓名, 家長2電話, 监护人1手机, parent 2 phone, 家长1亲子关系 ...
_SLOT = re.compile(r"^(?:家长|家長|监护人|監護人|parent|guardian)\s*([12一二])\s*"
                   r"(姓名|名字|name|电话|電話|手机|手機|手机号|手機號|联系电话|聯絡電話|phone|mobile|"
                   r"亲子关系|親子關係|关系|關係|relation|relationship)$")
_SLOT_FIELD = {"姓名": "name", "名字": "name", "name": "name", "亲子关系": "relation", "親子關係": "relation",
               "关系": "relation", "關係": "relation", "relation": "relation", "relationship": "relation"}
_MARKERS = re.compile(r"[（(]\s*(?:必填|\*|选填|選填)\s*[)）]|[*＊【】\[\]]|[:：]$")
FILLED_DOWN = ("grade", "class")  # merged cells in an export: blank means "same as above"


@dataclass
class RosterRow:
    file: str
    line: int
    values: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return (self.values.get(name) or "").strip()


@dataclass
class RowProblem:
    file: str
    line: int
    reason: str
    student_id: str = ""  # when it could be read: a refused line does not make its student "left"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


def header_key(text: str) -> str:
    text = _MARKERS.sub("", str(text).strip().strip("\ufeff"))
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def column_of(cell: str) -> str | None:
    """'学生姓名' -> 'student_name'; '家长2电话' -> 'guardian_phone:2'; unknown -> None."""
    key = header_key(cell)
    if key in LOOKUP:
        return LOOKUP[key]
    slot = _SLOT.match(key.replace(" ", "")) or _SLOT.match(key)
    if slot is None:
        return None
    number = {"一": "1", "二": "2"}.get(slot.group(1), slot.group(1))
    what = _SLOT_FIELD.get(slot.group(2), "phone")
    return f"guardian_{what}:{number}"


def find_header(grid: list[list[str]]) -> int | None:
    """Index of the header row among the first HEADER_SEARCH rows: the first naming every
    required column (a title row above names none)."""
    for index, cells in enumerate(grid[:HEADER_SEARCH]):
        if _covers(cells):
            return index
    return None


def _covers(cells: list[str]) -> bool:
    found = {c.split(":")[0] for c in map(column_of, cells) if c}
    return all(name in found for name in REQUIRED)


def recognised(cells: list[str]) -> list[str]:
    return [c for c in cells if column_of(c)]


def rows_from(file: str, header: list[str], body: list[tuple[int, list[str]]]) -> tuple[list[RosterRow], list[RowProblem]]:
    """Rows under ``header``, numbered by file line; merged class cells filled down (each one a
    warning), one row per guardian when the file has two guardians on a line."""
    columns = [column_of(h) for h in header]
    rows: list[RosterRow] = []
    notes: list[RowProblem] = []
    above: dict[str, tuple[str, int]] = {}
    for line, cells in body:
        if not any(str(c).strip() for c in cells):
            continue
        values: dict[str, str] = {}
        for column, cell in zip(columns, cells, strict=False):
            if column and str(cell).strip():
                values.setdefault(column, str(cell))
        for name in FILLED_DOWN:
            if name in columns and not values.get(name, "").strip() and name in above:
                values[name], source = above[name]
                notes.append(RowProblem(file, line, f"{name} blank: taken from line {source} above (merged cells)"))
            elif values.get(name, "").strip():
                above[name] = (values[name], line)
        rows.extend(RosterRow(file, line, v) for v in _per_guardian(_with_grade(values)))
    return rows, notes


def _with_grade(values: dict[str, str]) -> dict[str, str]:
    grade, cls = values.pop("grade", "").strip(), values.get("class", "").strip()
    if grade and cls and not cls.startswith(grade):
        values["class"] = grade + cls  # 三年级 + 1班 -> 三年级1班
    return values


def _per_guardian(values: dict[str, str]) -> list[dict[str, str]]:
    slots = sorted({k.split(":")[1] for k in values if ":" in k})
    if not slots:
        return [values]
    base = {k: v for k, v in values.items() if ":" not in k}
    rows = []
    for slot in slots:
        name, phone = values.get(f"guardian_name:{slot}", ""), values.get(f"guardian_phone:{slot}", "")
        if name.strip() or phone.strip():
            rows.append({**base, "guardian_name": name, "guardian_phone": phone})
    return rows or [base]
