"""Opening the database: the one place that knows where the file lives.

Every command and the web app call :func:`open_db`. It finds the file from an
explicit path, the ``PAPERBRIDGE_DB`` environment variable, or the instance
folder, turns on WAL and foreign keys, and applies pending migrations.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from server.migrations import migrations

ENV_VAR = "PAPERBRIDGE_DB"


def instance_dir() -> Path:
    """The instance folder beside the package (``<checkout>/instance`` in development)."""
    return Path(os.environ.get("PAPERBRIDGE_INSTANCE", Path(__file__).resolve().parent.parent / "instance"))


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    """The database file: explicit path, else $PAPERBRIDGE_DB, else instance/paperbridge.db."""
    if path:
        return Path(path)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return instance_dir() / "paperbridge.db"


def connect(path: str | os.PathLike, *, synchronous: str = "NORMAL", migrate: bool = True) -> Database:
    """Open (creating if needed) and migrate the database at ``path``.

    The web app migrates once at start and opens request connections with ``migrate=False``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
    db = Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    if migrate:
        migrations.apply(db)
    return db


def open_db(path: str | os.PathLike | None = None) -> Database:
    return connect(resolve_path(path))


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """One write transaction that takes the write lock up front (BEGIN IMMEDIATE).

    Nested use becomes a savepoint through ``db.atomic()``, so library functions
    can wrap their own writes and still join a caller's transaction.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    else:
        db.conn.execute("COMMIT")


def file_of(db: Database) -> Path:
    """The file behind an open database."""
    row = db.execute("PRAGMA database_list").fetchone()
    return Path(row[2])


def evidence_dir(db: Database) -> Path:
    """Slip crops and page images kept as evidence, beside the database file."""
    folder = file_of(db).parent / (file_of(db).stem + "-evidence")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
