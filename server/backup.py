"""Backup and restore of the school database, all or nothing.

A backup is SQLite's online backup (safe while the server runs) into a temp file
beside the target, checked, then renamed into place: a backup killed half-way
leaves no file under the target's name. A restore checks the copy the same way,
keeps the database it replaces, and migrates the copy to this version's schema.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Callable

from server import clock, settings
from server import db as database
from server.errors import PaperBridgeError
from server.files import clear_stale_temps, temp_beside

log = logging.getLogger("paperbridge.backup")
STEP_PAGES = 2048  # copied per step: the server keeps writing between steps


def _check(path: Path) -> None:
    """Raise PaperBridgeError unless ``path`` is an intact PaperBridge database."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise PaperBridgeError(f"{path} is not a readable database ({exc}).") from None
    if verdict != "ok":
        raise PaperBridgeError(f"{path} is damaged: {verdict}")
    if not {"events", "families", "settings"} <= tables:
        raise PaperBridgeError(f"{path} is not a PaperBridge database (no ledger in it).")


def backup(db, target: Path, progress: Callable[[int, int], None] | None = None) -> Path:
    """Copy the open database to ``target`` (temp file, check, rename). Temp files that killed
    backups left in the same folder, under any name, are removed first."""
    if target.parent.is_dir():
        for stale in clear_stale_temps(target.parent, suffix=target.suffix or ".db"):
            log.warning("removed %s, left by a backup that was stopped half-way", stale)
    with temp_beside(target, clear_stale=True) as tmp:
        copy = sqlite3.connect(tmp)
        try:
            db.conn.backup(copy, pages=STEP_PAGES,
                           progress=(lambda _status, left, total: progress(total - left, total)) if progress else None)
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
        _check(tmp)
        os.replace(tmp, target)
    with db.atomic():  # for `paperbridge doctor`: how old the newest backup is, and where it went
        db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                   [settings.LAST_BACKUP, f"{clock.now_iso()} {target.resolve()}"])
    return target


def restore(source: Path, target: Path) -> Path | None:
    """Put a backup in place of the database at ``target``; returns where the old one was kept.

    The server must be stopped. The backup is checked first, copied beside the target,
    migrated, and only then renamed over it; the replaced database is kept as
    ``<name>.before-restore-<time>``.
    """
    if not source.is_file():
        raise PaperBridgeError(f"{source} does not exist.")
    _check(source)
    with temp_beside(target, clear_stale=True) as tmp:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as original, sqlite3.connect(tmp) as copy:
            original.backup(copy)
        copied = database.connect(tmp)  # applies migrations a newer version added
        if not settings.is_initialized(copied):
            raise PaperBridgeError(f"{source} has no school secret: it cannot verify slips.")
        copied.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        copied.execute("PRAGMA journal_mode=DELETE")
        copied.conn.close()
        kept = None
        if target.exists():
            with sqlite3.connect(target) as current:  # fold its WAL in, so the kept copy is whole
                current.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            kept = target.with_name(f"{target.name}.before-restore-{clock.now().strftime('%Y%m%dT%H%M%SZ')}")
            os.replace(target, kept)
            for suffix in ("-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, target)
    return kept
