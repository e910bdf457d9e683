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
MIN_PIN = 6  # a volunteer's PIN is checked offline at the kiosk: its hash travels there
# ... so it is made costly: 64 MB and about 0.25 s a guess, a million 6-digit guesses ~ 66 CPU-hours per volunteer
PIN_METHOD = "scrypt:65536:8:1"
STAFF_ROLES = ("admin", "office", "teacher")  # who signs in to the staff web


def add_user(db: Database, username: str, password: str, role: str, *, display_name: str = "",
             classes: list[str] | None = None) -> int:
    """Create a staff account. Volunteers sign in with a PIN of 6+ digits, others with 8+ characters."""
    username = username.strip()
    if not username or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise ValueError("a username is letters, digits, '.', '-' or '_'")
    _check_role(db, role, classes)
    _check_password(role, password)
    if db.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
        raise ValueError(f"user {username!r} already exists")
    with db.atomic():
        user_id = last_id(db.table("users").insert({
            "username": username, "display_name": display_name.strip() or username, "role": role,
            "password_hash": _hash(role, password), "created_at": clock.now_iso(),
        }))
        db.table("user_classes").insert_all({"user_id": user_id, "class_id": c} for c in classes or [])
    return user_id


def _check_role(db: Database, role: str, classes: list[str] | None) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role == "teacher" and not classes:
        raise ValueError("a teacher account needs at least one class (--class)")
    known = {r[0] for r in db.execute("SELECT id FROM classes").fetchall()}
    unknown = [c for c in classes or [] if c not in known]
    if unknown:
        raise ValueError(f"unknown class {', '.join(unknown)}")


def _hash(role: str, password: str) -> str:
    return generate_password_hash(password, method=PIN_METHOD) if role == "volunteer" else \
        generate_password_hash(password)


def _check_password(role: str, password: str) -> None:
    if role == "volunteer":
        if not (password.isdigit() and len(password) >= MIN_PIN):
            raise ValueError(f"a volunteer PIN is at least {MIN_PIN} digits")
    elif len(password) < MIN_PASSWORD:
        raise ValueError(f"a password is at least {MIN_PASSWORD} characters")


def authenticate(db: Database, username: str, password: str) -> dict | None:
    """The staff member if the password is right and the account is not locked. Volunteers sign
    in at the kiosk only: here they are unknown (their PIN hash is costlier, which would tell).

    Every path costs exactly one password check (unknown, locked or real account alike: no
    timing tells them apart). Each check first takes one of the account's MAX_FAILED_LOGINS
    tries in one SQL statement, and taking the last one locks the account for LOCKOUT unless
    that very try is right: parallel guesses cannot all be checked, and a try cut short by a
    crash leaves at worst a lock that ends by itself.
    """
    row = db.execute("SELECT id, password_hash FROM users WHERE username = ? AND active = 1 AND role IN (?, ?, ?)",
                     [username.strip(), *STAFF_ROLES]).fetchone()
    if row is None or not _take_a_try(db, row[0]):
        check_password_hash(stand_in_hash(), password)  # the same work as a real check
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
def stand_in_hash() -> str:
    """A hash no password matches, made with the same method as real ones."""
    return generate_password_hash(secrets.token_urlsafe(16))


def get_user(db: Database, user_id: int) -> dict | None:
    """An active account with its classes and session version (None when disabled or unknown)."""
    rows = list(db.query("SELECT id, username, display_name, role, active, session_version FROM users WHERE id = ?",
                         [user_id]))
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


# ---- the staff lifecycle: list, disable, enable, new password, new role ----------------------------

def list_users(db: Database) -> list[dict]:
    """Every account, disabled ones too, with classes and whether it is locked now."""
    rows = list(db.query("SELECT id, username, display_name, role, active, locked_until, created_at FROM users "
                         "ORDER BY active DESC, role, username"))
    classes: dict[int, list[str]] = {}
    for user_id, class_id in db.execute("SELECT user_id, class_id FROM user_classes ORDER BY class_id").fetchall():
        classes.setdefault(user_id, []).append(class_id)
    now = clock.now_iso()
    for row in rows:
        row["classes"] = classes.get(row["id"], [])
        locked_until = row.pop("locked_until")
        row["active"] = bool(row["active"])
        row["locked"] = row["active"] and bool(locked_until) and locked_until > now
    return rows


def _user_id(db: Database, username: str) -> int:
    row = db.execute("SELECT id FROM users WHERE username = ?", [username.strip()]).fetchone()
    if row is None:
        raise ValueError(f"no user {username!r} (see `paperbridge user list`)")
    return row[0]


def _change(db: Database, user_id: int, assignments: str, values: list) -> None:
    """Change an account and end every session signed in before the change."""
    with write_transaction(db):
        db.execute(f"UPDATE users SET {assignments}, session_version = session_version + 1 WHERE id = ?",
                   [*values, user_id])


def set_active(db: Database, username: str, active: bool, *, by: int | None = None) -> None:
    """Disable (signed out everywhere, cannot sign in) or enable an account. The last active
    admin cannot be disabled, nor can an admin disable themselves."""
    user_id = _user_id(db, username)
    if not active:
        _keep_an_admin(db, user_id, by)
    _change(db, user_id, "active = ?, failed_logins = 0, locked_until = NULL", [int(active)])


def reset_password(db: Database, username: str, password: str) -> None:
    """A new password (or volunteer PIN); unlocks the account and signs it out everywhere."""
    user_id = _user_id(db, username)
    role = db.execute("SELECT role FROM users WHERE id = ?", [user_id]).fetchone()[0]
    _check_password(role, password)
    _change(db, user_id, "password_hash = ?, failed_logins = 0, locked_until = NULL", [_hash(role, password)])


def set_role(db: Database, username: str, role: str, classes: list[str] | None = None, *,
             by: int | None = None) -> None:
    """A new role (and a teacher's classes); signs the account out everywhere."""
    user_id = _user_id(db, username)
    current = db.execute("SELECT role FROM users WHERE id = ?", [user_id]).fetchone()[0]
    _check_role(db, role, classes)
    if current == "volunteer" and role != "volunteer" or current != "volunteer" and role == "volunteer":
        raise ValueError("volunteers sign in with a PIN and staff with a password: add a new account instead")
    if current == "admin" and role != "admin":
        _keep_an_admin(db, user_id, by)
    with write_transaction(db):
        db.execute("DELETE FROM user_classes WHERE user_id = ?", [user_id])
        db.conn.executemany("INSERT INTO user_classes (user_id, class_id) VALUES (?, ?)",
                            [(user_id, c) for c in (classes or []) if role == "teacher"])
        db.execute("UPDATE users SET role = ?, session_version = session_version + 1 WHERE id = ?", [role, user_id])


def end_sessions(db: Database, user_id: int) -> None:
    """Sign out: the cookie of every session this account has is no longer accepted."""
    with write_transaction(db):
        db.execute("UPDATE users SET session_version = session_version + 1 WHERE id = ?", [user_id])


def _keep_an_admin(db: Database, user_id: int, by: int | None) -> None:
    if by == user_id:
        raise ValueError("you cannot do this to your own account; ask another admin")
    role = db.execute("SELECT role FROM users WHERE id = ?", [user_id]).fetchone()[0]
    others = db.execute("SELECT count(*) FROM users WHERE role = 'admin' AND active = 1 AND id != ?",
                        [user_id]).fetchone()[0]
    if role == "admin" and others == 0:
        raise ValueError("this is the last active admin; make another admin first")


def list_integrations(db: Database) -> list[dict]:
    return list(db.query("SELECT name, created_at, revoked_at FROM integrations ORDER BY revoked_at IS NOT NULL, name"))


def revoke_integration(db: Database, name: str) -> None:
    """The token stops working at once; the record stays (who sent what stays explainable)."""
    with write_transaction(db):
        changed = db.execute("UPDATE integrations SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                             [clock.now_iso(), name.strip()]).rowcount
    if not changed:
        raise ValueError(f"no active integration {name!r} (see `paperbridge integration list`)")
