"""Roster import: validate rows, group guardians and students into households, apply.

A family is a household. Rows with a family id are grouped by it; other rows are
joined through shared guardian phones and shared students, so siblings in
different classes become one family, and a child whose mother and grandmother
have different phones is still one family. Re-import updates by source id;
students missing from the new roster become inactive (their receipts stay).

Example::

    report = import_roster(db, Path("roster.csv"))
    report.exit_code   # 0 all imported, 1 some rows rejected, 2 nothing imported
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from server import clock, languages, phones, settings
from server.roster_read import RosterRow, RowProblem, read_roster
from server.tokens import family_code
from server.transaction import write_transaction

PREFERRED_CHANNELS = ("digital", "paper", "voice", "sms", "kiosk")
_CHANNEL_ALIASES = {"app": "digital", "link": "digital", "微信": "digital", "纸质": "paper", "紙本": "paper",
                    "纸": "paper", "電話": "voice", "电话": "voice", "phone": "voice", "短信": "sms",
                    "簡訊": "sms", "text": "sms", "服务台": "kiosk", "服務台": "kiosk"}
_YES = {"yes", "y", "true", "1", "是", "有"}
_NO = {"no", "n", "false", "0", "否", "无", "無", "没有", "沒有", ""}
FAMILY_NUMBER_BASE = 10000


@dataclass
class Entry:
    """One validated row: a student and (optionally) one guardian."""

    where: RosterRow
    student_id: str
    student_name: str
    class_id: str
    guardian_name: str
    phone: phones.Phone
    language: str
    family_source: str
    channel: str
    smartphone: bool


@dataclass
class ImportReport:
    source: str
    format: str = ""
    rows: int = 0
    imported_rows: int = 0
    rejected: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    families_created: int = 0
    students_added: int = 0
    students_updated: int = 0
    students_deactivated: int = 0
    left: list[str] = field(default_factory=list)  # "name (class)" of each student marked as left
    families_found: int = 0  # households in the file
    siblings_joined: int = 0  # households with more than one student
    by_class: dict[str, dict[str, int]] = field(default_factory=dict)  # class -> {"new", "updated", "left"}
    full: bool = False  # the file was taken as the whole school
    dry_run: bool = False  # nothing was written

    def count(self, class_id: str, what: str) -> None:
        counts = self.by_class.setdefault(class_id, {"new": 0, "updated": 0, "left": 0})
        counts[what] += 1

    @property
    def exit_code(self) -> int:
        if self.imported_rows == 0:
            return 2
        return 1 if self.rejected else 0


def _control_character(row: RosterRow) -> str | None:
    """A control character in any cell (a bell, a NUL, an escape): no name or number has one,
    and spreadsheets refuse them. Says which column and which character."""
    for column, value in row.values.items():
        for position, char in enumerate(value or "", 1):
            if unicodedata.category(char) == "Cc" and char not in "\r\n\t":
                return (f"{column.replace('_', ' ')} has a control character (U+{ord(char):04X}) at position "
                        f"{position}; retype that cell in the file")
    return None


def _validate(row: RosterRow, region: str, default_language: str) -> Entry:
    """Raise ValueError with a reason an office worker can act on."""
    if (problem := _control_character(row)) is not None:
        raise ValueError(problem)
    for name, label in (("student_id", "student id"), ("student_name", "student name"), ("class", "class")):
        if not row.get(name):
            raise ValueError(f"missing {label}")
    channel = row.get("preferred_channel").lower()
    channel = _CHANNEL_ALIASES.get(channel, channel)
    if channel and channel not in PREFERRED_CHANNELS:
        raise ValueError(f"unknown preferred channel {row.get('preferred_channel')!r} "
                         f"(use {', '.join(PREFERRED_CHANNELS)})")
    smart = row.get("has_smartphone").lower()
    if smart not in _YES | _NO:
        raise ValueError(f"'has smartphone' must be yes or no, not {row.get('has_smartphone')!r}")
    return Entry(
        where=row, student_id=row.get("student_id"), student_name=row.get("student_name"),
        class_id=row.get("class"), guardian_name=row.get("guardian_name"),
        phone=phones.normalize(row.get("guardian_phone"), region),
        language=languages.normalize(row.get("guardian_language"), default_language),
        family_source=row.get("family_id"), channel=channel, smartphone=smart in _YES,
    )


def _one_spelling(db: Database, entries: list[Entry]) -> list[RowProblem]:
    """D005 and d005 are one student: the spelling already on record wins, else the file's first.
    Each other spelling is a warning (a typo, or a platform that lower-cases ids)."""
    spelling = {source_id.casefold(): source_id for (source_id,) in db.execute("SELECT source_id FROM students")}
    notes = []
    for entry in entries:
        kept = spelling.setdefault(entry.student_id.casefold(), entry.student_id)
        if kept != entry.student_id:
            notes.append(RowProblem(entry.where.file, entry.where.line,
                                    f"student id {entry.student_id} taken as {kept} (the same id in other letters)"))
            entry.student_id = kept
    return notes


def _check_consistency(entries: list[Entry]) -> tuple[list[Entry], list[RowProblem]]:
    """A student id must keep one name, class and family id throughout the file."""
    first: dict[str, Entry] = {}
    kept, problems = [], []
    for entry in entries:
        seen = first.setdefault(entry.student_id, entry)
        clash = next((what for what, a, b in (
            ("name", seen.student_name, entry.student_name), ("class", seen.class_id, entry.class_id),
            ("family id", seen.family_source, entry.family_source)) if a != b and (what != "family id" or a and b)), None)
        if clash:
            problems.append(RowProblem(entry.where.file, entry.where.line,
                                       f"student {entry.student_id} has a different {clash} on line {seen.where.line}"))
        else:
            kept.append(entry)
    return kept, problems


class _Households:
    """Union-find over students, phones and family ids; two explicit family ids never merge."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.anchor: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        anchor_a, anchor_b = self.anchor.get(ra), self.anchor.get(rb)
        if anchor_a and anchor_b and anchor_a != anchor_b:
            return False
        self.parent[rb] = ra
        if anchor_b:
            self.anchor[ra] = anchor_b
        return True

    def add_family_id(self, key: str, family_source: str) -> None:
        root = self.find(key)
        self.anchor.setdefault(root, family_source)


def group_households(entries: list[Entry]) -> tuple[list[list[Entry]], list[RowProblem]]:
    households = _Households()
    warnings = []
    for entry in entries:
        households.find("s:" + entry.student_id)
        if entry.family_source:
            households.union("s:" + entry.student_id, "f:" + entry.family_source)
            households.add_family_id("f:" + entry.family_source, entry.family_source)
    for entry in entries:  # joined on the digits, valid or not: one grandmother, however her number was typed
        if entry.phone.key and not households.union("s:" + entry.student_id, "p:" + entry.phone.key):
            warnings.append(RowProblem(entry.where.file, entry.where.line,
                                       f"phone {phones.mask(entry.phone.key)} is shared by two family ids; kept apart"))
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(households.find("s:" + entry.student_id), []).append(entry)
    return sorted(groups.values(), key=lambda g: min(e.student_id for e in g)), warnings


class _DryRun(Exception):
    """Raised inside the import's transaction to roll it back after counting."""


def _unprintable_names(entries: list[Entry], unprintable: Callable[[str], str]) -> list[RowProblem]:
    """Names with characters no font on this server can print (``unprintable`` comes from the
    printing side): the bulletin shows their code instead; a person may want to check them."""
    out = []
    for entry in entries:
        for name in dict.fromkeys((entry.student_name, entry.guardian_name)):
            missing = unprintable(name) if name else ""
            if missing:
                codes = " ".join(f"U+{ord(ch):04X}" for ch in missing)
                out.append(RowProblem(entry.where.file, entry.where.line,
                                      f"the name {name!r} has characters no installed font can print ({codes}); "
                                      "the bulletin prints their code instead"))
    return out


def import_roster(db: Database, path: Path, *, region: str | None = None, full: bool = False,
                  dry_run: bool = False, sheet: str | None = None,
                  unprintable: Callable[[str], str] | None = None) -> ImportReport:
    """Import a roster file or OneRoster folder/zip; one transaction, good rows only.

    Students missing from the file are marked as left only within the classes the file
    contains (one class's list leaves the other classes alone), unless ``full`` says the file
    is the whole school. ``dry_run`` does everything, reports it, and writes nothing.
    """
    report = ImportReport(source=str(path), full=full, dry_run=dry_run)
    rows, problems, notes, report.format = read_roster(path, sheet)
    report.rows = len({(r.file, r.line) for r in rows}) + len(problems)
    report.rejected.extend(problems)
    report.warnings.extend(notes)
    region = region or settings.get(db, "default_region")
    default_language = settings.get(db, "default_language")
    entries = []
    for row in rows:
        try:
            entries.append(_validate(row, region, default_language))
        except ValueError as exc:
            report.rejected.append(RowProblem(row.file, row.line, str(exc)))
    report.warnings.extend(_one_spelling(db, entries))
    if unprintable:
        report.warnings.extend(_unprintable_names(entries, unprintable))
    entries, clashes = _check_consistency(entries)
    report.rejected.extend(clashes)
    report.warnings.extend(RowProblem(e.where.file, e.where.line, f"phone {e.phone.raw!r} is not a valid number; kept, "
                                      "flagged, and used to join households on its digits")
                           for e in entries if e.phone.raw and not e.phone.valid)
    report.rejected.sort(key=lambda p: (p.file, p.line))
    report.imported_rows = len(entries)
    if not entries:
        return report
    groups, warnings = group_households(entries)
    report.warnings.extend(warnings)
    report.families_found = len(groups)
    report.siblings_joined = sum(len({e.student_id for e in group}) > 1 for group in groups)
    rejected_ids = ({r.get("student_id") for r in rows} | {p.student_id for p in problems if p.student_id}) \
        - {e.student_id for e in entries}
    classes = None if full else {e.class_id for e in entries}
    try:
        with write_transaction(db):
            for group in groups:
                _apply_household(db, group, report)
            _deactivate_missing(db, {e.student_id for e in entries} | rejected_ids, classes, report)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report


def _target_family(db: Database, group: list[Entry]) -> int | None:
    explicit = next((e.family_source for e in group if e.family_source), None)
    if explicit:
        row = db.execute("SELECT id FROM families WHERE source_id = ?", [explicit]).fetchone()
        return row[0] if row else None
    ids = [e.student_id for e in group]
    marks = ",".join("?" * len(ids))
    existing = Counter(r[0] for r in db.execute(
        f"SELECT family_id FROM students WHERE source_id IN ({marks})", ids).fetchall())
    return min(existing, key=lambda fid: (-existing[fid], fid)) if existing else None


def _family_values(group: list[Entry]) -> dict:
    with_guardian = [e for e in group if e.guardian_name or e.phone.raw]
    lead = with_guardian[0] if with_guardian else group[0]
    smartphone = any(e.smartphone for e in group)
    channel = next((e.channel for e in group if e.channel), "digital" if smartphone else "paper")
    return {
        "display_name": lead.guardian_name or lead.student_name,
        "language": lead.language,
        "preferred_channel": channel,
        "has_smartphone": int(smartphone),
        "source_id": next((e.family_source for e in group if e.family_source), None),
        "active": 1,
        "updated_at": clock.now_iso(),
    }


def _apply_household(db: Database, group: list[Entry], report: ImportReport) -> None:
    values = _family_values(group)
    family_id = _target_family(db, group)
    if family_id is None:
        family_id = (db.execute("SELECT coalesce(max(id), 0) + 1 FROM families").fetchone()[0])
        db.table("families").insert({"id": family_id, "code": family_code(FAMILY_NUMBER_BASE + family_id), **values})
        report.families_created += 1
    else:
        if values["source_id"] is None:
            values.pop("source_id")
        db.table("families").update(family_id, values)
    for entry in {e.student_id: e for e in group}.values():
        _upsert_student(db, entry, family_id, report)
    _apply_guardians(db, family_id, group)


def _upsert_student(db: Database, entry: Entry, family_id: int, report: ImportReport) -> None:
    db.execute("INSERT OR IGNORE INTO classes (id, name) VALUES (?, ?)", [entry.class_id, entry.class_id])
    values = {"name": entry.student_name, "class_id": entry.class_id, "family_id": family_id,
              "active": 1, "updated_at": clock.now_iso()}
    row = db.execute("SELECT id FROM students WHERE source_id = ?", [entry.student_id]).fetchone()
    if row:
        db.table("students").update(row[0], values)
        report.students_updated += 1
        report.count(entry.class_id, "updated")
    else:
        db.table("students").insert({"source_id": entry.student_id, **values})
        report.students_added += 1
        report.count(entry.class_id, "new")


def _apply_guardians(db: Database, family_id: int, group: list[Entry]) -> None:
    seen = set()
    for entry in group:
        if not (entry.guardian_name or entry.phone.raw):
            continue
        key = entry.phone.e164 or entry.phone.key or entry.phone.raw or "name:" + entry.guardian_name
        if key in seen:
            continue
        seen.add(key)
        db.execute(
            "INSERT INTO guardians (family_id, match_key, name, phone, phone_valid, language, has_smartphone, active)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (family_id, match_key) DO UPDATE SET"
            " name = excluded.name, phone = excluded.phone, phone_valid = excluded.phone_valid,"
            " language = excluded.language, has_smartphone = excluded.has_smartphone, active = 1",
            [family_id, key, entry.guardian_name, entry.phone.e164 or entry.phone.raw or None,
             int(entry.phone.valid), entry.language, int(entry.smartphone)])
    marks = ",".join("?" * len(seen)) or "NULL"
    db.execute(f"UPDATE guardians SET active = 0 WHERE family_id = ? AND match_key NOT IN ({marks})",
               [family_id, *seen])


def _deactivate_missing(db: Database, present: set[str], classes: set[str] | None, report: ImportReport) -> None:
    """Mark as left the active students the file does not list, in ``classes`` (None: everywhere)."""
    db.execute("CREATE TEMP TABLE IF NOT EXISTS present_students (source_id TEXT PRIMARY KEY)")
    db.execute("DELETE FROM present_students")
    db.conn.executemany("INSERT OR IGNORE INTO present_students VALUES (?)", [(s,) for s in present])
    db.execute("CREATE TEMP TABLE IF NOT EXISTS import_classes (class_id TEXT PRIMARY KEY)")
    db.execute("DELETE FROM import_classes")
    db.conn.executemany("INSERT OR IGNORE INTO import_classes VALUES (?)", [(c,) for c in classes or ()])
    scope = "" if classes is None else " AND class_id IN (SELECT class_id FROM import_classes)"
    leaving = db.execute("SELECT id, name, class_id FROM students WHERE active = 1 AND source_id NOT IN"
                         f" (SELECT source_id FROM present_students){scope} ORDER BY class_id, name").fetchall()
    db.conn.executemany("UPDATE students SET active = 0, updated_at = ? WHERE id = ?",
                        [(clock.now_iso(), row[0]) for row in leaving])
    report.students_deactivated = len(leaving)
    report.left = [f"{name} ({class_id})" for _id, name, class_id in leaving]
    for _id, _name, class_id in leaving:
        report.count(class_id, "left")
    db.execute("UPDATE families SET active = 0 WHERE active = 1 AND id NOT IN"
               " (SELECT family_id FROM students WHERE active = 1)")


def list_families(db: Database, *, include_inactive: bool = False) -> list[dict]:
    """Families with their students and guardians, ordered by class then student name."""
    families = {}
    where = "" if include_inactive else "WHERE f.active = 1"
    for row in db.query(f"SELECT f.* FROM families f {where} ORDER BY f.id"):
        families[row["id"]] = {**row, "students": [], "guardians": []}
    for s in db.query("SELECT id, source_id, name, class_id, family_id, active FROM students ORDER BY class_id, name"):
        if s["family_id"] in families and (s["active"] or include_inactive):
            families[s["family_id"]]["students"].append(s)
    for g in db.query("SELECT * FROM guardians WHERE active = 1 ORDER BY id"):
        if g["family_id"] in families:
            families[g["family_id"]]["guardians"].append(g)
    ordered = [f for f in families.values() if f["students"] or include_inactive]
    return sorted(ordered, key=lambda f: min(((s["class_id"], s["name"]) for s in f["students"]), default=("", "")))


def family_by_code(db: Database, code: str) -> dict | None:
    row = db.execute("SELECT id FROM families WHERE code = ?", [code]).fetchone()
    return db.table("families").get(row[0]) if row else None


def families_in_classes(db: Database, class_ids: list[str] | None) -> list[int]:
    """Active family ids with an active student in one of the classes (all classes if None)."""
    if class_ids is None:
        sql, params = "SELECT DISTINCT family_id FROM students WHERE active = 1", []
    else:
        sql = f"SELECT DISTINCT family_id FROM students WHERE active = 1 AND class_id IN ({','.join('?' * len(class_ids)) or 'NULL'})"
        params = list(class_ids)
    return sorted(r[0] for r in db.execute(sql, params).fetchall())
