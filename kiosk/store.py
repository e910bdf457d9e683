"""The kiosk's own SQLite file: a read-only replica of what the desk needs, and an outbox.

WAL with synchronous=FULL: a receipt the volunteer saw saved survives a power cut.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from server import clock, notices, private
from server.db import instance_dir
from server.errors import UnknownNotice
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
        for table, columns in (("families", ("id", "code", "display_name", "language", "active")),
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
        for key in ("name", "timezone"):
            if page.get("school", {}).get(key):
                put(db, f"school_{key}" if key == "name" else key, page["school"][key])
        put(db, "cursor", page["cursor"])


def record(db: Database, *, notice_id: int, family_id: int, kind: str, actor: str, choice: str | None = None) -> str:
    """A receipt made at the desk: into the outbox (sent later) and the local view at once."""
    event_id = clock.uuid7()
    with write_transaction(db):
        db.table("outbox").insert({"id": event_id, "notice_id": notice_id, "family_id": family_id, "kind": kind,
                             "payload": json.dumps({"choice": choice} if choice else {}), "occurred_at": clock.now_iso(),
                             "actor": actor})
        state = "confirmed" if kind in ("confirmed", "reply") else "read"
        db.execute("INSERT INTO receipts (notice_id, family_id, state, reply) VALUES (?, ?, ?, ?)"
                   " ON CONFLICT (notice_id, family_id) DO UPDATE SET state = CASE WHEN receipts.state = 'confirmed'"
                   " THEN 'confirmed' ELSE excluded.state END, reply = coalesce(excluded.reply, receipts.reply)",
                   [notice_id, family_id, state, choice])
    return event_id


def waiting(db: Database) -> int:
    return db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND rejected IS NULL").fetchone()[0]


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


def text_for(notice: dict, language: str) -> tuple[str, str]:
    try:
        title, body, _used = notices.text_for(notice, language)
    except UnknownNotice:
        return "", ""
    return title, body
