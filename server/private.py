"""The school's files are its owner's alone: databases, evidence, bulletins, backups, logs.

Another account on the office PC that can read the database can read the school secret in
it, forge a staff session and every family's link. So every entry point calls
:func:`owner_only` (files created from then on are 0600, folders 0700), and every database
is checked when opened (:func:`protect`): group or world access is removed with a log line,
and where it cannot be removed (the file belongs to another account) PaperBridge refuses to
start with a sentence saying what to do. On Windows the data folder's ACLs do the same job:
docs/operations.md and scripts/check_windows_acl.ps1.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from server.errors import PaperBridgeError

log = logging.getLogger("paperbridge.files")
POSIX = os.name == "posix"


class SharedFiles(PaperBridgeError):
    """A database other accounts can read, and PaperBridge cannot make private."""


def owner_only() -> None:
    """Files and folders this process creates from now on are its owner's alone."""
    if POSIX:
        os.umask(0o077)


def protect(database: Path) -> None:
    """Create a database file owner-only, or make an existing one (with its WAL and
    shared-memory files) owner-only. SQLite gives new WAL and SHM files the database's mode."""
    if not POSIX:
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # an empty file is a new database
        return
    except FileExistsError:
        pass
    except PermissionError:
        return  # a folder we cannot write to: SQLite will say so when it opens the file
    for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        _private(path, 0o600, refuse=True)


def protect_folder(folder: Path) -> None:
    """A folder of evidence or backups: 0700 (its files cannot be reached by others through it)."""
    if POSIX:
        _private(folder, 0o700, refuse=False)


def readable_by_others(path: Path) -> bool:
    return POSIX and path.exists() and bool(path.stat().st_mode & 0o077)


def _private(path: Path, mode: int, *, refuse: bool) -> None:
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if not current & 0o077:
        return
    try:
        os.chmod(path, mode)
    except PermissionError:
        if refuse:
            raise SharedFiles(
                f"{path} can be read by other accounts on this computer (mode {current:o}) and PaperBridge "
                f"cannot change that, because the file belongs to another account. Run `chmod {mode:o} {path}` "
                "as its owner (or root), or start PaperBridge as the account that owns it.") from None
        log.warning("%s can be read by other accounts (mode %o) and could not be made private", path, current)
        return
    log.warning("%s could be read by other accounts on this computer (mode %o); it is now owner-only (%o)",
                path, current, mode)
