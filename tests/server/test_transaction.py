"""Write transactions: whole or nothing, nested as savepoints, and writers of one file in one
process take turns (a server's threads) instead of meeting SQLite's busy wait."""

import threading
import time

import pytest

from server import db as database
from server.transaction import write_transaction


def test_threads_of_one_process_take_turns_instead_of_failing_busy(tmp_path):
    path = tmp_path / "turns.db"
    database.connect(path).execute("CREATE TABLE t (who TEXT)")
    first = database.connect(path, busy_seconds=0.05)  # SQLite alone would give up after 50 ms
    second = database.connect(path, busy_seconds=0.05)
    inside, errors = threading.Event(), []

    def long_writer():
        with write_transaction(first):
            first.execute("INSERT INTO t VALUES ('first')")
            inside.set()
            time.sleep(0.4)

    thread = threading.Thread(target=long_writer)
    thread.start()
    inside.wait(5)
    try:
        with write_transaction(second):
            second.execute("INSERT INTO t VALUES ('second')")
    except Exception as exc:  # noqa: BLE001 - the test reports any failure
        errors.append(exc)
    thread.join()
    assert not errors
    assert [r[0] for r in second.execute("SELECT who FROM t ORDER BY rowid")] == ["first", "second"]


def test_a_failure_inside_undoes_the_transaction_and_a_nested_one_only_itself(tmp_path):
    db = database.connect(tmp_path / "nest.db")
    db.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(ValueError), write_transaction(db):
        db.execute("INSERT INTO t VALUES (1)")
        raise ValueError("boom")
    with write_transaction(db):
        db.execute("INSERT INTO t VALUES (2)")
        with pytest.raises(ValueError), write_transaction(db):
            db.execute("INSERT INTO t VALUES (3)")
            raise ValueError("inner")
    assert [r[0] for r in db.execute("SELECT x FROM t")] == [2]
