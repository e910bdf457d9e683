"""Reading roster files into plain rows: the school's CSV (any common encoding) or OneRoster 1.1.

Nothing here touches the database; :mod:`server.roster` validates, groups and applies.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer

from server.errors import ImportFailed
from server.mixed_encoding import NAMES, read_lines

FIELDS = ("student_id", "student_name", "class", "guardian_name", "guardian_phone",
          "guardian_language", "family_id", "preferred_channel", "has_smartphone")
REQUIRED = ("student_id", "student_name", "class")

HEADER_ALIASES = {
    "student_id": ["student id", "student no", "student number", "学号", "學號", "学生编号", "學生編號"],
    "student_name": ["student name", "student", "学生姓名", "學生姓名", "学生", "學生"],
    "class": ["class", "class id", "form", "班级", "班級"],
    "guardian_name": ["guardian name", "guardian", "parent name", "parent", "家长姓名", "家長姓名",
                      "监护人", "監護人", "家长", "家長"],
    "guardian_phone": ["guardian phone", "phone", "parent phone", "mobile", "联系电话", "聯絡電話",
                       "聯繫電話", "联络电话", "电话", "電話", "手机", "手機"],
    "guardian_language": ["guardian language", "language", "语言", "語言"],
    "family_id": ["family id", "household id", "家庭编号", "家庭編號"],
    "preferred_channel": ["preferred channel", "channel", "首选渠道", "首選渠道", "联络方式", "聯絡方式"],
    "has_smartphone": ["has smartphone", "smartphone", "有智能手机", "有智能手機", "智能手机", "智能手機"],
}
_HEADER_LOOKUP = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases + [name.replace("_", " ")]}


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


def _header_key(text: str) -> str:
    return " ".join(text.strip().strip("\ufeff").lower().replace("_", " ").replace("-", " ").split())


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
    def header_hits(text: str) -> int:
        first = text.splitlines()[0] if text else ""
        return sum(_header_key(cell) in _HEADER_LOOKUP for cell in first.split(","))
    scores = {enc: header_hits(text) for enc, text in candidates.items()}
    best = max(scores.values())
    winners = [enc for enc, score in scores.items() if score == best]
    if len(winners) == 1:
        return winners[0]
    guess = charset_normalizer.from_bytes(data, cp_isolation=["gb18030", "big5"]).best()
    return "big5hkscs" if guess is not None and guess.encoding.startswith("big5") else "gb18030"


def read_csv(path: Path) -> tuple[list[RosterRow], list[RowProblem], str]:
    """The school's roster CSV: the rows (with file line numbers), the lines refused while
    reading (written in another encoding than the file) and the encoding found."""
    text, encoding, foreign = decode(path.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed(f"{path.name} is empty.") from None
    columns = [_HEADER_LOOKUP.get(_header_key(h)) for h in header]
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ImportFailed(
            f"{path.name}: no column for {', '.join(missing)}. The first line must name the columns, "
            f"for example: 学号,学生姓名,班级,家长姓名,联系电话,语言 (or student id, student name, class, ...)."
        )
    rows, problems, first = [], [], reader.line_num + 1
    try:
        for cells in reader:
            lines, first = range(first, reader.line_num + 1), reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            values = {col: cell for col, cell in zip(columns, cells, strict=False) if col}
            if mixed := [foreign[n] for n in lines if n in foreign]:
                problems.append(RowProblem(path.name, reader.line_num, (
                    f"this line is in {mixed[0]}, the rest of the file in {NAMES[encoding]}; "
                    "retype it, or save the whole file as 'CSV UTF-8'"), (values.get("student_id") or "").strip()))
                continue
            rows.append(RosterRow(path.name, reader.line_num, values))
    except csv.Error as exc:  # a field over 131,072 characters, a NUL byte: not a roster
        raise ImportFailed(f"{path.name} line {reader.line_num}: not readable as CSV ({exc}). "
                           "Nothing was imported.") from None
    return rows, problems, encoding


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
        for name in ONEROSTER_FILES:
            tables[name] = load(name, (path / name).read_bytes())
        return tables
    try:
        with zipfile.ZipFile(path) as archive:
            names = {Path(n).name: n for n in archive.namelist()}
            for name in ONEROSTER_FILES:
                if name not in names:
                    raise ImportFailed(f"{path.name} has no {name}: not a OneRoster 1.1 export.")
                tables[name] = load(name, _member(archive, archive.getinfo(names[name]), path.name))
    except zipfile.BadZipFile:
        raise ImportFailed(f"{path.name} is not a readable zip file.") from None
    return tables


MAX_MEMBER_BYTES = 64 * 1024 * 1024  # users.csv of a very large school is a few MB
MAX_RATIO = 100  # CSV packs 5-10 times; a zip bomb packs thousands of times
READABLE = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
            zipfile.ZIP_LZMA: "lzma"}


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, zip_name: str) -> bytes:
    """One file of the zip, refused with a sentence when it is encrypted, packed in a way we do
    not read, or unpacks to more than MAX_MEMBER_BYTES or MAX_RATIO times its packed size (a
    zip bomb). The limits hold while reading: the sizes a zip declares can lie."""
    if info.flag_bits & 0x1:
        raise ImportFailed(f"{zip_name}: {info.filename} is password-protected. Export the roster again "
                           "without a password.")
    if info.compress_type not in READABLE:
        raise ImportFailed(f"{zip_name}: {info.filename} is packed with compression method {info.compress_type} "
                           "(for example Deflate64), which PaperBridge does not read. Zip the files again with "
                           "ordinary compression (Windows: Send to > Compressed folder).")
    limit = min(MAX_MEMBER_BYTES, max(info.compress_size, 1024) * MAX_RATIO)
    chunks, size = [], 0
    with archive.open(info) as member:
        while chunk := member.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                raise ImportFailed(f"{zip_name}: {info.filename} unpacks to more than {limit // (1024 * 1024) or 1} MB "
                                   f"from {info.compress_size:,} bytes: not a roster export (a zip bomb?). "
                                   "Nothing was imported.")
            chunks.append(chunk)
    return b"".join(chunks)


def _person_name(row: dict) -> str:
    given, family = (row.get("givenName") or "").strip(), (row.get("familyName") or "").strip()
    if any("\u4e00" <= ch <= "\u9fff" for ch in given + family):
        return family + given  # Chinese names: family name first, no space
    return " ".join(part for part in (given, family) if part)


def read_oneroster(path: Path) -> tuple[list[RosterRow], list[RowProblem]]:
    """OneRoster 1.1 CSV (folder or zip) -> the same rows as the school CSV."""
    tables = _oneroster_tables(path)
    active = lambda row: (row.get("status") or "active").strip() != "tobedeleted"  # noqa: E731
    users = {r["sourcedId"]: (line, r) for line, r in tables["users.csv"] if active(r)}
    classes = {r["sourcedId"]: r for _, r in tables["classes.csv"] if active(r)}
    class_of: dict[str, str] = {}
    for _, enrol in tables["enrollments.csv"]:
        if active(enrol) and (enrol.get("role") or "").strip() == "student":
            cls = classes.get(enrol.get("classSourcedId", ""))
            if cls is not None:
                class_of.setdefault(enrol["userSourcedId"], (cls.get("classCode") or cls.get("title") or "").strip())
    guardians_of: dict[str, list[str]] = {}
    for uid, (_, user) in users.items():
        agents = [a.strip() for a in (user.get("agentSourcedIds") or "").split(",") if a.strip()]
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
        guardian_ids = [g for g in dict.fromkeys(guardians_of.get(uid, [])) if g in users]
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


def read_roster(path: Path) -> tuple[list[RosterRow], list[RowProblem], str]:
    """Rows, problems found while reading, and a description of the format."""
    if not path.exists():
        raise ImportFailed(f"{path} does not exist.")
    if is_oneroster(path):
        rows, problems = read_oneroster(path)
        return rows, problems, "OneRoster 1.1"
    if path.is_dir():
        raise ImportFailed(f"{path} is a folder without OneRoster users.csv, classes.csv and enrollments.csv.")
    rows, problems, encoding = read_csv(path)
    return rows, problems, f"CSV ({encoding})"
