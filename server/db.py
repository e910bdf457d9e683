"""Opening the database: the one place that knows where the file lives.

Every command and the web app call :func:`open_db`. It finds the file from an
explicit path, the ``PAPERBRIDGE_DB`` environment variable, or the instance
folder, turns on WAL and foreign keys, and applies pending migrations.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.db import Table

from server import private, transaction
from server.migrations import migrations

ENV_VAR = "PAPERBRIDGE_DB"


def instance_dir() -> Path:
    """Where the school's files live unless told otherwise.

    $PAPERBRIDGE_INSTANCE, else ``instance/`` in a source checkout, else the user's data folder
    (``~/.local/share/paperbridge``, ``%LOCALAPPDATA%\\PaperBridge``): never inside site-packages.
    """
    if os.environ.get("PAPERBRIDGE_INSTANCE"):
        return Path(os.environ["PAPERBRIDGE_INSTANCE"])
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").exists():
        return checkout / "instance"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "PaperBridge"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "paperbridge"


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    """The database file: explicit path, else $PAPERBRIDGE_DB, else instance/paperbridge.db."""
    if path:
        return Path(path)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return instance_dir() / "paperbridge.db"


def connect(path: str | os.PathLike, *, synchronous: str = "NORMAL", migrate: bool = True,
            busy_seconds: float = 30) -> Database:
    """Open (creating if needed) and migrate the database at ``path``.

    The web app migrates once at start and opens request connections with ``migrate=False``.
    A writer waits up to ``busy_seconds`` for another writer (a backup, an import) to finish.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    private.protect(path)
    conn = sqlite3.connect(str(path), timeout=busy_seconds, check_same_thread=False)
    db = Database(conn)
    transaction.queue_writers(db, path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
    if migrate:
        migrations.apply(db)
    return db


BUSY = "The database is busy (a backup, an import or another long task is writing). Nothing was saved; try again."
DISK_FULL = "The disk holding the database is full. Nothing was saved; free some space and try again."
READ_ONLY = "The database file cannot be written (read-only disk or permissions). Nothing was saved."


DISK_ERROR = "The disk holding the database reported a read/write error. Nothing was saved; check the disk."
LOW_SPACE = 1024 * 1024


def explain(exc: BaseException, path: str | os.PathLike | None = None) -> str | None:
    """A plain sentence for the storage failures an office meets, or None for anything else.

    SQLite reports a full disk as 'disk I/O error' when it cannot even create its WAL
    file, so with ``path`` an I/O error on a disk with almost no room left is a full disk.
    """
    text = str(exc).lower()
    sqlite_error = isinstance(exc, sqlite3.OperationalError)
    if sqlite_error and ("locked" in text or "busy" in text):
        return BUSY
    if (sqlite_error and "full" in text) or getattr(exc, "errno", None) == errno.ENOSPC:
        return DISK_FULL
    if sqlite_error and "readonly" in text:
        return READ_ONLY
    if sqlite_error and "disk i/o error" in text:
        try:
            return DISK_FULL if path and shutil.disk_usage(Path(path).parent).free < LOW_SPACE else DISK_ERROR
        except OSError:
            return DISK_ERROR
    return None


def open_db(path: str | os.PathLike | None = None) -> Database:
    return connect(resolve_path(path))


def last_id(table: Table) -> int:
    """The integer key of the row just inserted: ``last_id(db.table("notices").insert(row))``."""
    if not isinstance(table.last_pk, int):
        raise TypeError(f"{table.name}: the inserted row has no integer key")
    return table.last_pk


def file_of(db: Database) -> Path:
    """The file behind an open database."""
    row = db.execute("PRAGMA database_list").fetchone()
    return Path(row[2])


def _beside(db: Database, suffix: str) -> Path:
    """A private folder beside the database file: <db name>-<suffix>/."""
    folder = file_of(db).parent / (file_of(db).stem + f"-{suffix}")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    private.protect_folder(folder)
    return folder


def evidence_dir(db: Database) -> Path:
    """Slip crops and page images kept as evidence, beside the database file."""
    return _beside(db, "evidence")


def audio_dir(db: Database) -> Path:
    """Notices read aloud (rendered or recorded), by content hash, beside the database file."""
    return _beside(db, "audio")


def messages_dir(db: Database) -> Path:
    """Families' voice messages for the teacher (key 9 on the phone line), by content hash."""
    return _beside(db, "messages")


def upload_dir(db: Database) -> Path:
    """Files uploaded for a look before they are applied (a roster's preview), beside the database."""
    return _beside(db, "uploads")
