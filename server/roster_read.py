"""Reading roster files into plain rows: the school's CSV (any common encoding) or OneRoster 1.1.

Nothing here touches the database; :mod:`server.roster` validates, groups and applies.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from pathlib import Path

import charset_normalizer

from server.errors import ImportFailed
from server.mixed_encoding import NAMES, read_lines
from server.roster_table import (
    HEADER_SEARCH,
    REQUIRED,
    RosterRow,
    RowProblem,
    column_of,
    find_header,
    recognised,
    rows_from,
)
from server.roster_xlsx import read_xlsx
from server.safe_zip import member

__all__ = ["RosterRow", "RowProblem", "decode", "read_roster"]

DELIMITERS = (",", ";", "\t")  # Excel's CSV, its European-locale CSV, its "Unicode Text"


def decode(data: bytes) -> tuple[str, str, dict[int, str]]:
    """Bytes -> (text, encoding name, {line: its own encoding} for lines written in another).
    UTF-8 (with or without BOM), UTF-16, GB18030/GBK, Big5."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig", {}
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16", {}
    try:
        return data.decode("utf-8"), "utf-8", {}
    except UnicodeDecodeError:
        pass
    try:
        return read_lines(data, tiebreak=lambda readings: _pick_encoding(data, readings))
    except ValueError:
        raise ImportFailed("The file is not UTF-8, GBK/GB18030 or Big5 text. Save it from Excel as 'CSV UTF-8'.") from None


def _pick_encoding(data: bytes, candidates: dict[str, str]) -> str:
    """Both GBK and Big5 decode these bytes: known Chinese headers decide, then charset_normalizer."""
    def header_hits(text: str) -> int:  # the most columns one of the first lines names, with any separator
        lines = text.splitlines()[:HEADER_SEARCH]
        return max((len(recognised(line.split(d))) for line in lines for d in DELIMITERS), default=0)
    scores = {enc: header_hits(text) for enc, text in candidates.items()}
    best = max(scores.values())
    winners = [enc for enc, score in scores.items() if score == best]
    if len(winners) == 1:
        return winners[0]
    guess = charset_normalizer.from_bytes(data, cp_isolation=["gb18030", "big5"]).best()
    return "big5hkscs" if guess is not None and guess.encoding.startswith("big5") else "gb18030"


def read_csv(path: Path) -> tuple[list[RosterRow], list[RowProblem], list[RowProblem], str]:
    """The school's roster as text: the rows (with file line numbers), the lines refused while
    reading (written in another encoding), notes (merged cells filled down) and what the file
    was read as.

    The separator (comma, semicolon, tab) and the header row (a title may sit above it) are
    whichever let the first lines name the columns.
    """
    text, encoding, foreign = decode(path.read_bytes())
    if not text.strip():
        raise ImportFailed(f"{path.name} is empty.")
    grids = {delimiter: _grid(path, text, delimiter) for delimiter in DELIMITERS}
    found = {d: i for d, grid in grids.items() if (i := find_header([cells for _, _, cells in grid])) is not None}
    if not found:
        raise ImportFailed(_no_header(path, grids))
    delimiter = min(found, key=lambda d: (found[d], DELIMITERS.index(d)))
    grid, start = grids[delimiter], found[delimiter]
    body, problems = [], []
    for first, last, cells in grid[start + 1:]:
        if mixed := [foreign[n] for n in range(first, last + 1) if n in foreign]:
            problems.append(RowProblem(path.name, last, (
                f"this line is in {mixed[0]}, the rest of the file in {NAMES[encoding]}; "
                "retype it, or save the whole file as 'CSV UTF-8'"), _student_id(grid[start][2], cells)))
        else:
            body.append((last, cells))
    rows, notes = rows_from(path.name, grid[start][2], body)
    described = f"{encoding}, {_SEPARATOR_NAMES[delimiter]}" + (f", header on line {grid[start][1]}" if start else "")
    return rows, problems, notes, described


_SEPARATOR_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs"}


def _grid(path: Path, text: str, delimiter: str) -> list[tuple[int, int, list[str]]]:
    """(first line, last line, cells) for every record; a record can span lines (a quoted line break)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    grid, first = [], 1
    try:
        for cells in reader:
            grid.append((first, reader.line_num, cells))
            first = reader.line_num + 1
    except csv.Error as exc:  # a field over 131,072 characters, a NUL byte: not a roster
        if delimiter != DELIMITERS[0]:
            return grid
        raise ImportFailed(f"{path.name} line {reader.line_num}: not readable as CSV ({exc}). "
                           "Nothing was imported.") from None
    return grid


def _student_id(header: list[str], cells: list[str]) -> str:
    columns = [column_of(h) for h in header]
    return next((c.strip() for col, c in zip(columns, cells, strict=False) if col == "student_id"), "")


def _no_header(path: Path, grids: dict[str, list[tuple[int, int, list[str]]]]) -> str:
    """Why no header row was found: what the best-looking line had, what was expected, an example."""
    best = max(((d, line, cells) for d, grid in grids.items() for _, line, cells in grid[:HEADER_SEARCH]),
               key=lambda item: len(recognised(item[2])), default=(",", 1, []))
    delimiter, line, cells = best
    known = recognised(cells)
    missing = [n for n in REQUIRED if n not in {(column_of(c) or "").split(":")[0] for c in cells}]
    return (f"{path.name}: no header row in its first {HEADER_SEARCH} lines. The best was line {line} "
            f"(read with {_SEPARATOR_NAMES[delimiter]} between columns): it names "
            f"{', '.join(known) or 'no column PaperBridge knows'}, but not {', '.join(m.replace('_', ' ') for m in missing)}. "
            "A roster needs columns for the student's id, name and class, for example "
            "学号,学生姓名,班级,家长姓名,联系电话 (or student id,student name,class,guardian name,guardian phone). "
            "找不到表头：需要学号、学生姓名、班级三列。")


# ---- OneRoster 1.1 ----------------------------------------------------------------------------

ONEROSTER_FILES = ("users.csv", "classes.csv", "enrollments.csv")
ONEROSTER_COLUMNS = {"users.csv": ("sourcedId", "role"), "classes.csv": ("sourcedId",),
                     "enrollments.csv": ("classSourcedId", "userSourcedId", "role")}
GUARDIAN_ROLES = {"parent", "guardian", "relative"}


def is_oneroster(path: Path) -> bool:
    if path.is_dir():
        return all((path / name).exists() for name in ONEROSTER_FILES)
    return path.suffix.lower() == ".zip"


def _oneroster_tables(path: Path) -> dict[str, list[tuple[int, dict]]]:
    def load(name: str, data: bytes) -> list[tuple[int, dict]]:
        try:
            reader = csv.DictReader(io.StringIO(decode(data)[0], newline=""))  # OneRoster is UTF-8 by its spec
            rows = [(reader.line_num, row) for row in reader]
        except csv.Error as exc:
            raise ImportFailed(f"{name} is not readable CSV ({exc}).") from None
        missing = [c for c in ONEROSTER_COLUMNS[name] if c not in (reader.fieldnames or [])]
        if missing:
            raise ImportFailed(f"{name} has no {', '.join(missing)} column: not a OneRoster 1.1 export.")
        return rows

    tables = {}
    if path.is_dir():
        _not_1_2(path.name, (path / "manifest.csv").read_bytes() if (path / "manifest.csv").exists() else b"")
        for name in ONEROSTER_FILES:
            tables[name] = load(name, (path / name).read_bytes())
        return tables
    try:
        with zipfile.ZipFile(path) as archive:
            names = {Path(n).name: n for n in archive.namelist()}
            if "manifest.csv" in names:
                _not_1_2(path.name, member(archive, archive.getinfo(names["manifest.csv"]), path.name))
            for name in ONEROSTER_FILES:
                if name not in names:
                    raise ImportFailed(f"{path.name} has no {name}: not a OneRoster 1.1 export.")
                tables[name] = load(name, member(archive, archive.getinfo(names[name]), path.name))
    except zipfile.BadZipFile:
        raise ImportFailed(f"{path.name} is not a readable zip file.") from None
    return tables


def _not_1_2(source: str, manifest: bytes) -> None:
    """A OneRoster 1.2 export keeps roles in roles.csv, not users.csv: say so, not 'no role column'."""
    for row in csv.reader(io.StringIO(decode(manifest)[0] if manifest else "")):
        if len(row) >= 2 and row[0].strip() == "oneroster.version" and row[1].strip() not in ("1.0", "1.1"):
            raise ImportFailed(f"{source} is a OneRoster {row[1].strip()} export; PaperBridge reads OneRoster 1.1 "
                               "(roles in users.csv). Export again as OneRoster 1.1 (most platforms offer it), or "
                               "export the class lists as CSV/Excel.")


def _person_name(row: dict) -> str:
    given, family = (row.get("givenName") or "").strip(), (row.get("familyName") or "").strip()
    if any("\u4e00" <= ch <= "\u9fff" for ch in given + family):
        return family + given  # Chinese names: family name first, no space
    return " ".join(part for part in (given, family) if part)


def _homerooms(enrollments: list[tuple[int, dict]], classes: dict[str, dict], active) -> dict[str, str]:
    """Each student's class: the homeroom when there is one (subject sections come and go),
    else the first class listed."""
    class_of: dict[str, tuple[bool, str]] = {}
    for _, enrol in enrollments:
        if not (active(enrol) and (enrol.get("role") or "").strip() == "student"):
            continue
        cls = classes.get(enrol.get("classSourcedId", ""))
        if cls is None:
            continue
        homeroom = (cls.get("classType") or "").strip().lower() == "homeroom"
        known = class_of.get(enrol["userSourcedId"])
        if known is None or homeroom and not known[0]:
            class_of[enrol["userSourcedId"]] = (homeroom, (cls.get("classCode") or cls.get("title") or "").strip())
    return {uid: name for uid, (_, name) in class_of.items()}


def read_oneroster(path: Path) -> tuple[list[RosterRow], list[RowProblem]]:
    """OneRoster 1.1 CSV (folder or zip) -> the same rows as the school CSV."""
    tables = _oneroster_tables(path)
    active = lambda row: (row.get("status") or "active").strip() != "tobedeleted"  # noqa: E731
    users = {r["sourcedId"]: (line, r) for line, r in tables["users.csv"] if active(r)}
    classes = {r["sourcedId"]: r for _, r in tables["classes.csv"] if active(r)}
    class_of = _homerooms(tables["enrollments.csv"], classes, active)
    guardians_of: dict[str, list[str]] = {}
    for uid, (_, user) in users.items():
        agents = [a.strip() for a in (user.get("agentSourcedIds") or user.get("agents") or "").split(",") if a.strip()]
        role = (user.get("role") or "").strip()
        for agent in agents:
            if role in GUARDIAN_ROLES:
                guardians_of.setdefault(agent, []).append(uid)
            elif role == "student":
                guardians_of.setdefault(uid, []).append(agent)
    rows, problems = [], []
    for uid, (line, user) in users.items():
        if (user.get("role") or "").strip() != "student":
            continue
        if uid not in class_of:
            problems.append(RowProblem("users.csv", line, f"student {uid} has no class enrollment"))
            continue
        base = {"student_id": (user.get("identifier") or "").strip() or uid,
                "student_name": _person_name(user), "class": class_of[uid],
                "guardian_language": (user.get("metadata.language") or "").strip()}
        guardian_ids = [g for g in dict.fromkeys(guardians_of.get(uid, []))  # a teacher as agent is no guardian
                        if g in users and (users[g][1].get("role") or "").strip() in GUARDIAN_ROLES]
        if not guardian_ids:
            rows.append(RosterRow("users.csv", line, dict(base)))
        for gid in guardian_ids:
            guardian = users[gid][1]
            rows.append(RosterRow("users.csv", line, {
                **base, "guardian_name": _person_name(guardian),
                "guardian_phone": (guardian.get("phone") or guardian.get("sms") or "").strip(),
                "guardian_language": (guardian.get("metadata.language") or base["guardian_language"]).strip(),
            }))
    return rows, problems


def read_roster(path: Path, sheet: str | None = None) -> tuple[list[RosterRow], list[RowProblem], list[RowProblem], str]:
    """Rows, lines refused while reading, notes (warnings), and a description of the format.
    ``sheet`` names the worksheet of an .xlsx (default: the first with a header row)."""
    if not path.exists():
        raise ImportFailed(f"{path} does not exist.")
    if is_oneroster(path):
        rows, problems = read_oneroster(path)
        return rows, problems, [], "OneRoster 1.1"
    if path.is_dir():
        raise ImportFailed(f"{path} is a folder without OneRoster users.csv, classes.csv and enrollments.csv.")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        rows, notes, described = read_xlsx(path, sheet)
        return rows, [], notes, f"Excel ({described})"
    rows, problems, notes, described = read_csv(path)
    return rows, problems, notes, f"CSV ({described})"
