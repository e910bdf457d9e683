"""Write transactions that take SQLite's write lock up front and nest as savepoints."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlite_utils import Database

_WRITERS: dict[str, threading.RLock] = {}  # one per database file in this process
_LOCK_OF: weakref.WeakKeyDictionary[Database, threading.RLock] = weakref.WeakKeyDictionary()
_SETUP = threading.Lock()


def queue_writers(db: Database, path: str | os.PathLike) -> None:
    """Make ``db``'s writers wait in line with every other connection of this process to the same
    file (a Python lock) before asking SQLite for the write lock. SQLite's own wait sleeps and
    retries (1, 2, 5 ... 100 ms): server threads that took turns that way waited far longer than
    the transactions they waited for."""
    with _SETUP:
        _LOCK_OF[db] = _WRITERS.setdefault(os.path.realpath(path), threading.RLock())


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
    with _LOCK_OF.get(db) or nullcontext():
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise
        else:
            db.conn.execute("COMMIT")
