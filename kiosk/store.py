"""The kiosk's own SQLite file: a read-only replica of what the desk needs, and an outbox.

WAL with synchronous=FULL: a receipt the volunteer saw saved survives a power cut.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from server import chinese, clock, concerns, private, speech
from server.db import instance_dir
from server.migrations import run_sql
from server.transaction import write_transaction

migrations = Migrations("kiosk")
ENV_VAR = "PAPERBRIDGE_KIOSK_DB"


@migrations(name="0001_replica")
def replica(db: Database) -> None:
    run_sql(db, """
CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE families (id INTEGER PRIMARY KEY, code TEXT NOT NULL, display_name TEXT NOT NULL,
                       language TEXT NOT NULL, active INTEGER NOT NULL);
CREATE INDEX families_code ON families(code);
CREATE TABLE students (id INTEGER PRIMARY KEY, name TEXT NOT NULL, class_id TEXT NOT NULL,
                       family_id INTEGER NOT NULL, active INTEGER NOT NULL);
CREATE INDEX students_family ON students(family_id);
CREATE TABLE notices (id INTEGER PRIMARY KEY, week TEXT NOT NULL, publish_at TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE volunteers (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE COLLATE NOCASE,
                         display_name TEXT NOT NULL, password_hash TEXT NOT NULL, active INTEGER NOT NULL);
CREATE TABLE receipts (notice_id INTEGER NOT NULL, family_id INTEGER NOT NULL, state TEXT NOT NULL, reply TEXT,
                       PRIMARY KEY (notice_id, family_id));
CREATE TABLE outbox (id TEXT PRIMARY KEY, notice_id INTEGER NOT NULL, family_id INTEGER NOT NULL,
                     kind TEXT NOT NULL, payload TEXT NOT NULL, occurred_at TEXT NOT NULL, actor TEXT NOT NULL,
                     sent_at TEXT, rejected TEXT);
CREATE INDEX outbox_unsent ON outbox(sent_at);
""")


@migrations(name="0002_audio")
def audio(db: Database) -> None:
    """The clips the desk plays, one per notice and spoken language; files in <kiosk db>-audio/."""
    run_sql(db, """
CREATE TABLE audio (notice_id INTEGER NOT NULL, voice TEXT NOT NULL, sha TEXT NOT NULL, kind TEXT NOT NULL,
                    bytes INTEGER NOT NULL, PRIMARY KEY (notice_id, voice));
""")


@migrations(name="0003_guardian_names_and_taps")
def guardian_names_and_taps(db: Database) -> None:
    """Guardians' names for search ('梁奶奶'), and each tap at the desk, so a mistaken one can be undone."""
    run_sql(db, """
ALTER TABLE families ADD COLUMN guardian_names TEXT NOT NULL DEFAULT '';
CREATE TABLE taps (id INTEGER PRIMARY KEY, family_id INTEGER NOT NULL, notice_id INTEGER NOT NULL,
                   volunteer TEXT NOT NULL, event_ids TEXT NOT NULL, before_state TEXT, before_reply TEXT,
                   at TEXT NOT NULL, undone INTEGER NOT NULL DEFAULT 0);
""")


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    return Path(path or os.environ.get(ENV_VAR) or instance_dir() / "kiosk.db")


def connect(path: str | os.PathLike) -> Database:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    private.protect(path)  # it holds the kiosk's device token
    db = Database(sqlite3.connect(str(path), timeout=30, check_same_thread=False))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=30000")
    migrations.apply(db)
    return db


def get(db: Database, key: str, default: str = "") -> str:
    row = db.execute("SELECT value FROM config WHERE key = ?", [key]).fetchone()
    return row[0] if row else default


def put(db: Database, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO config (key, value) VALUES (?, ?)", [key, value])


def apply_pull(db: Database, page: dict) -> None:
    """One page of server changes, with its cursor, in one transaction (so a cut pull resumes cleanly)."""
    with write_transaction(db):
        for row in page.get("families", []):
            row.setdefault("guardian_names", "")  # a server from before guardians' names were sent
        for table, columns in (("families", ("id", "code", "display_name", "language", "active", "guardian_names")),
                               ("students", ("id", "name", "class_id", "family_id", "active")),
                               ("volunteers", ("id", "username", "display_name", "password_hash", "active"))):
            for row in page.get(table, []):
                db.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                           [row[c] for c in columns])
        for notice in page.get("notices", []):
            db.execute("INSERT OR REPLACE INTO notices (id, week, publish_at, data) VALUES (?, ?, ?, ?)",
                       [notice["id"], notice["week"], notice["publish_at"], json.dumps(notice, ensure_ascii=False)])
        for receipt in page.get("receipts", []):
            db.execute("INSERT OR REPLACE INTO receipts (notice_id, family_id, state, reply) VALUES (?, ?, ?, ?)",
                       [receipt["notice_id"], receipt["family_id"], receipt["state"], receipt["reply"]])
        for key, stored in (("name", "school_name"), ("timezone", "timezone"), ("phone_line", "phone_line")):
            if key in page.get("school", {}):
                put(db, stored, page["school"][key] or "")
        put(db, "cursor", page["cursor"])


def record(db: Database, *, notice_id: int, family_id: int, kind: str, actor: str, choice: str | None = None) -> str:
    """A receipt made at the desk: into the outbox (sent later) and the local view at once."""
    with write_transaction(db):
        return _record(db, notice_id=notice_id, family_id=family_id, kind=kind, actor=actor, choice=choice)


def _record(db: Database, *, notice_id: int, family_id: int, kind: str, actor: str, choice: str | None = None,
            voids: str | None = None) -> str:
    event_id = clock.uuid7()
    payload = {"choice": choice} if choice else {"voids": voids} if voids else {}
    db.execute("INSERT INTO outbox (id, notice_id, family_id, kind, payload, occurred_at, actor)"
               " VALUES (?, ?, ?, ?, ?, ?, ?)",
               [event_id, notice_id, family_id, kind, json.dumps(payload), clock.now_iso(), actor])
    if kind != "void":
        state = "confirmed" if kind in ("confirmed", "reply") else "read"
        db.execute("INSERT INTO receipts (notice_id, family_id, state, reply) VALUES (?, ?, ?, ?)"
                   " ON CONFLICT (notice_id, family_id) DO UPDATE SET state = CASE WHEN receipts.state = 'confirmed'"
                   " THEN 'confirmed' ELSE excluded.state END, reply = coalesce(excluded.reply, receipts.reply)",
                   [notice_id, family_id, state, choice])
    return event_id


def tap(db: Database, *, notice_id: int, family_id: int, volunteer: str, choice: str | None = None) -> None:
    """The family confirms (and answers) at the desk: one tap, kept so that it can be undone."""
    actor = f"volunteer:{volunteer}"
    with write_transaction(db):
        before = db.execute("SELECT state, reply FROM receipts WHERE notice_id = ? AND family_id = ?",
                            [notice_id, family_id]).fetchone() or (None, None)
        ids = [_record(db, notice_id=notice_id, family_id=family_id, kind="confirmed", actor=actor)]
        if choice:
            ids.append(_record(db, notice_id=notice_id, family_id=family_id, kind="reply", actor=actor, choice=choice))
        db.execute("INSERT INTO taps (family_id, notice_id, volunteer, event_ids, before_state, before_reply, at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)", [family_id, notice_id, volunteer, json.dumps(ids), *before,
                                                     clock.now_iso()])


def undoable(db: Database, family_id: int, volunteer: str, seconds: float) -> dict | None:
    """This volunteer's latest tap for the family, if it is recent enough to undo."""
    since = clock.iso(clock.now() - dt.timedelta(seconds=seconds))
    row = db.execute("SELECT id, notice_id, at FROM taps WHERE family_id = ? AND volunteer = ? AND undone = 0"
                     " AND at >= ? ORDER BY id DESC LIMIT 1", [family_id, volunteer, since]).fetchone()
    return {"id": row[0], "notice_id": row[1], "at": row[2]} if row else None


def undo(db: Database, family_id: int, volunteer: str, seconds: float) -> bool:
    """Void the latest recent tap (one void per event, the volunteer as actor; sent like any event)
    and show the notice as it was before. False if there is none to undo."""
    with write_transaction(db):
        found = undoable(db, family_id, volunteer, seconds)
        if found is None:
            return False
        ids, before_state, before_reply = db.execute(
            "SELECT event_ids, before_state, before_reply FROM taps WHERE id = ?", [found["id"]]).fetchone()
        for event_id in json.loads(ids):
            _record(db, notice_id=found["notice_id"], family_id=family_id, kind="void", actor=f"volunteer:{volunteer}",
                    voids=event_id)
        if before_state is None:
            db.execute("DELETE FROM receipts WHERE notice_id = ? AND family_id = ?", [found["notice_id"], family_id])
        else:
            db.execute("UPDATE receipts SET state = ?, reply = ? WHERE notice_id = ? AND family_id = ?",
                       [before_state, before_reply, found["notice_id"], family_id])
        db.execute("UPDATE taps SET undone = 1 WHERE id = ?", [found["id"]])
    return True


def find_by_name(db: Database, query: str) -> list[int]:
    """Families whose guardian, family or student name contains ``query``, folded: full-width and
    half-width, Traditional and Simplified, upper and lower case alike."""
    wanted = chinese.fold(query.strip())
    if not wanted:
        return []
    names: dict[int, list[str]] = {}
    for family_id, display, guardians in db.execute(
            "SELECT id, display_name, guardian_names FROM families WHERE active = 1"):
        names[family_id] = [display, guardians]
    for family_id, name in db.execute("SELECT family_id, name FROM students WHERE active = 1"):
        if family_id in names:
            names[family_id].append(name)
    return sorted(family_id for family_id, found in names.items() if wanted in chinese.fold(" ".join(found)))


def audio_dir(db: Database) -> Path:
    """Where the kiosk keeps its clips: beside its database, owner-only."""
    file = Path(db.execute("PRAGMA database_list").fetchone()[2])
    folder = file.parent / f"{file.stem}-audio"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    private.protect_folder(folder)
    return folder


def clip(db: Database, notice: dict, family_language: str) -> dict | None:
    """The clip to play for this family (the spoken language of the text it is shown), if synced."""
    if notice.get("private") or not notice.get("texts"):
        return None
    _text, voice = speech.spoken(notice, family_language)
    row = db.execute("SELECT sha, kind FROM audio WHERE notice_id = ? AND voice = ?", [notice["id"], voice]).fetchone()
    return {"sha": row[0], "kind": row[1], "voice": voice} if row else None


def waiting(db: Database) -> int:
    """Receipts waiting to reach the school: one per family and notice (a tap with an answer is one)."""
    return db.execute("SELECT count(*) FROM (SELECT DISTINCT notice_id, family_id FROM outbox"
                      " WHERE sent_at IS NULL AND rejected IS NULL AND kind != 'concern')").fetchone()[0]


def concern(db: Database, *, family_id: int, volunteer: str, words: str, notice_id: int | None = None) -> str:
    """What the family asks or says, typed by the volunteer: to the class teacher's concerns
    register with the next sync (notice 0: about no notice in particular)."""
    words = words.strip()
    if not words:
        raise ValueError("write what the family says")
    if len(words) > concerns.MAX_WORDS:
        raise ValueError(f"at most {concerns.MAX_WORDS} characters")
    event_id = clock.uuid7()
    with write_transaction(db):
        db.execute("INSERT INTO outbox (id, notice_id, family_id, kind, payload, occurred_at, actor)"
                   " VALUES (?, ?, ?, 'concern', ?, ?, ?)", [event_id, notice_id or 0, family_id,
                                                             json.dumps({"words": words}, ensure_ascii=False),
                                                             clock.now_iso(), f"volunteer:{volunteer}"])
    return event_id


def family_notices(db: Database, family_id: int, weeks: set[str]) -> list[dict]:
    """The family's notices of these weeks (published), oldest first, each with its local state."""
    classes = {r[0] for r in db.execute("SELECT class_id FROM students WHERE family_id = ? AND active = 1", [family_id])}
    out = []
    # The server sends notices only once they are published: this kiosk's clock may be wrong, so it does not judge.
    for row in db.query("SELECT data FROM notices ORDER BY publish_at, id"):
        notice = json.loads(row["data"])
        if notice.get("superseded_by"):  # corrected or withdrawn: the newer version is read instead
            continue
        if notice["week"] not in weeks or not (notice["whole_school"] or classes & set(notice["classes"])):
            continue
        receipt = db.execute("SELECT state, reply FROM receipts WHERE notice_id = ? AND family_id = ?",
                             [notice["id"], family_id]).fetchone()
        notice["state"], notice["reply"] = receipt if receipt else ("unread", None)
        out.append(notice)
    return out

