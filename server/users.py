"""Staff accounts (admin, office, teacher, volunteer) and integration tokens."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets

from sqlite_utils import Database
from werkzeug.security import check_password_hash, generate_password_hash

from server import clock
from server.db import last_id
from server.transaction import write_transaction

ROLES = ("admin", "office", "teacher", "volunteer")
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD = 8
MIN_PIN = 4


def add_user(db: Database, username: str, password: str, role: str, *, display_name: str = "",
             classes: list[str] | None = None) -> int:
    """Create a staff account. Volunteers sign in with a PIN of 4+ digits, others with 8+ characters."""
    username = username.strip()
    if not username or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise ValueError("a username is letters, digits, '.', '-' or '_'")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role == "volunteer":
        if not (password.isdigit() and len(password) >= MIN_PIN):
            raise ValueError(f"a volunteer PIN is at least {MIN_PIN} digits")
    elif len(password) < MIN_PASSWORD:
        raise ValueError(f"a password is at least {MIN_PASSWORD} characters")
    if db.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
        raise ValueError(f"user {username!r} already exists")
    if role == "teacher" and not classes:
        raise ValueError("a teacher account needs at least one class (--class)")
    known = {r[0] for r in db.execute("SELECT id FROM classes").fetchall()}
    unknown = [c for c in classes or [] if c not in known]
    if unknown:
        raise ValueError(f"unknown class {', '.join(unknown)}")
    with db.atomic():
        user_id = last_id(db.table("users").insert({
            "username": username, "display_name": display_name.strip() or username, "role": role,
            "password_hash": generate_password_hash(password), "created_at": clock.now_iso(),
        }))
        db.table("user_classes").insert_all({"user_id": user_id, "class_id": c} for c in classes or [])
    return user_id


def authenticate(db: Database, username: str, password: str) -> dict | None:
    """The user if the password is right and the account is not locked.

    Every path costs exactly one password check (unknown, locked or real account alike: no
    timing tells them apart). Each check first takes one of the account's MAX_FAILED_LOGINS
    tries in one SQL statement, and taking the last one locks the account for LOCKOUT unless
    that very try is right: parallel guesses cannot all be checked, and a try cut short by a
    crash leaves at worst a lock that ends by itself.
    """
    row = db.execute("SELECT id, password_hash FROM users WHERE username = ? AND active = 1",
                     [username.strip()]).fetchone()
    if row is None or not _take_a_try(db, row[0]):
        check_password_hash(_stand_in_hash(), password)  # the same work as a real check
        return None
    if not check_password_hash(row[1], password):
        return None
    with write_transaction(db):
        db.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?", [row[0]])
    return get_user(db, row[0])


def _take_a_try(db: Database, user_id: int) -> bool:
    """Count one attempt, atomically; False when the account is locked."""
    last = MAX_FAILED_LOGINS - 1
    with write_transaction(db):
        taken = db.execute(
            "UPDATE users SET failed_logins = CASE WHEN failed_logins >= ? THEN 0 ELSE failed_logins + 1 END, "
            "locked_until = CASE WHEN failed_logins >= ? THEN ? ELSE NULL END "
            "WHERE id = ? AND (locked_until IS NULL OR locked_until <= ?)",
            [last, last, clock.iso(clock.now() + LOCKOUT), user_id, clock.now_iso()]).rowcount
    return taken == 1


@functools.cache
def _stand_in_hash() -> str:
    """A hash no password matches, made with the same method as real ones."""
    return generate_password_hash(secrets.token_urlsafe(16))


def get_user(db: Database, user_id: int) -> dict | None:
    rows = list(db.query("SELECT id, username, display_name, role, active FROM users WHERE id = ?", [user_id]))
    if not rows or not rows[0]["active"]:
        return None
    user = rows[0]
    user["classes"] = [r[0] for r in db.execute(
        "SELECT class_id FROM user_classes WHERE user_id = ? ORDER BY class_id", [user_id]).fetchall()]
    return user


def class_scope(user: dict) -> list[str] | None:
    """The classes a user may see: None means all (admin, office)."""
    return user["classes"] if user["role"] == "teacher" else None


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_integration(db: Database, name: str) -> str:
    """Create a bearer token for an external platform. Only its hash is stored."""
    if not name.strip():
        raise ValueError("name the integration")
    token = "pbi_" + secrets.token_urlsafe(32)
    db.table("integrations").insert({"name": name.strip(), "token_hash": _hash_token(token), "created_at": clock.now_iso()})
    return token


def integration_for_token(db: Database, token: str) -> str | None:
    row = db.execute("SELECT name FROM integrations WHERE token_hash = ? AND revoked_at IS NULL",
                     [_hash_token(token)]).fetchone()
    return row[0] if row else None
