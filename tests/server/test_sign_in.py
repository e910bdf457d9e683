"""Sign-in checks: one password check on every path, and a lockout parallel guesses cannot beat."""

import threading

import pytest

from server import clock, users
from server import db as database


@pytest.fixture
def account(db):
    users.add_user(db, "office", "office-pass", "office")
    return db


def counting_checks(monkeypatch) -> list[str]:
    """Record every stored hash a password was checked against."""
    checked: list[str] = []
    real = users.check_password_hash

    def check(stored: str, password: str) -> bool:
        checked.append(stored)
        return real(stored, password)

    monkeypatch.setattr(users, "check_password_hash", check)
    return checked


def test_unknown_wrong_locked_and_right_each_cost_one_check_of_the_same_kind(account, monkeypatch):
    real = account.execute("SELECT password_hash FROM users").fetchone()[0]
    checked = counting_checks(monkeypatch)
    assert users.authenticate(account, "nobody", "x") is None
    assert users.authenticate(account, "office", "wrong") is None
    for _ in range(users.MAX_FAILED_LOGINS):
        users.authenticate(account, "office", "wrong")
    assert users.authenticate(account, "office", "office-pass") is None  # locked
    assert len(checked) == 3 + users.MAX_FAILED_LOGINS  # one check per attempt, whatever the account
    assert {c.split("$", 1)[0] for c in checked} == {real.split("$", 1)[0]}  # same method and cost
    assert checked.count(real) == users.MAX_FAILED_LOGINS  # unknown and locked ones: a stand-in hash


def test_parallel_wrong_passwords_lock_the_account(account, db_path):
    barrier = threading.Barrier(20)

    def guess():
        connection = database.connect(db_path, migrate=False)
        barrier.wait()
        users.authenticate(connection, "office", "wrong")
        connection.close()

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert users.authenticate(account, "office", "office-pass") is None


def test_parallel_guesses_get_no_more_checks_than_the_limit(account, db_path, monkeypatch):
    checked = counting_checks(monkeypatch)
    real = account.execute("SELECT password_hash FROM users").fetchone()[0]
    barrier = threading.Barrier(20)
    answers = []

    def guess(n):
        connection = database.connect(db_path, migrate=False)
        barrier.wait()
        answers.append(users.authenticate(connection, "office", f"guess{n}"))
        connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checked) == 20  # every request costs one check ...
    assert checked.count(real) == users.MAX_FAILED_LOGINS  # ... but only five were tried against the account
    assert account.execute("SELECT locked_until FROM users").fetchone()[0] is not None
    assert answers == [None] * 20
    assert users.authenticate(account, "office", "office-pass") is None  # the right one now waits for the lock


def test_fewer_wrong_tries_than_the_limit_then_the_right_one(account):
    for _ in range(users.MAX_FAILED_LOGINS - 1):
        assert users.authenticate(account, "office", "wrong") is None
    assert users.authenticate(account, "office", "office-pass")["username"] == "office"
    for _ in range(users.MAX_FAILED_LOGINS - 1):  # the count started again
        assert users.authenticate(account, "office", "wrong") is None
    assert users.authenticate(account, "office", "office-pass") is not None


def test_the_lock_ends_by_itself(account):
    for _ in range(users.MAX_FAILED_LOGINS):
        users.authenticate(account, "office", "wrong")
    assert users.authenticate(account, "office", "office-pass") is None
    with clock.travelling(clock.now() + users.LOCKOUT):
        assert users.authenticate(account, "office", "office-pass") is not None
