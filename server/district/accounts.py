"""The district web's own accounts, in the district's database: a district admin sees every
school; a school viewer (a head teacher, a school's liaison) sees one school's counts only.

Passwords are hashed as the school's staff passwords are (werkzeug). A wrong one costs one of
the account's tries; taking the last locks the account for LOCKOUT, as at the school
(server/users.py), and every path does one password check, so timing tells nothing.
"""

from __future__ import annotations

import secrets

import psycopg
from werkzeug.security import check_password_hash, generate_password_hash

from server import users
from server.district import connect

ROLES = ("admin", "viewer")
FIELDS = ("id", "username", "display_name", "role", "school_id", "active", "session_version")


def add_user(conn: psycopg.Connection, username: str, password: str, role: str, *, school_id: int | None = None,
             display_name: str = "") -> int:
    """A district account (ValueError with a sentence when something is wrong); its id."""
    username = username.strip()
    if not username or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise ValueError("a username is letters, digits, '.', '-' or '_'")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (role == "viewer") != (school_id is not None):
        raise ValueError("a school viewer needs its school (--school ID); a district admin has none")
    if len(password) < users.MIN_PASSWORD:
        raise ValueError(f"a password is at least {users.MIN_PASSWORD} characters")
    with conn.transaction():
        if school_id is not None and not conn.execute("SELECT 1 FROM schools WHERE id = %s", [school_id]).fetchone():
            raise ValueError(f"there is no school {school_id} (`paperbridge district schools` lists them)")
        if conn.execute("SELECT 1 FROM district_users WHERE username = %s", [username]).fetchone():
            raise ValueError(f"user {username!r} already exists")
        return int(connect.returned(conn.execute(
            "INSERT INTO district_users (username, display_name, password_hash, role, school_id)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            [username, display_name.strip() or username, generate_password_hash(password), role, school_id])))


def authenticate(conn: psycopg.Connection, username: str, password: str) -> dict | None:
    """The account if the password is right and it is not locked; else None."""
    row = conn.execute("SELECT id, password_hash FROM district_users WHERE username = %s AND active",
                       [username.strip()]).fetchone()
    if row is None or not _take_a_try(conn, row[0]):
        check_password_hash(users.stand_in_hash(), password)  # the same work as a real check
        return None
    if not check_password_hash(row[1], password):
        return None
    with conn.transaction():
        conn.execute("UPDATE district_users SET failed_logins = 0, locked_until = NULL WHERE id = %s", [row[0]])
    return get_user(conn, row[0])


def _take_a_try(conn: psycopg.Connection, user_id: int) -> bool:
    last = users.MAX_FAILED_LOGINS - 1
    with conn.transaction():
        taken = conn.execute(
            "UPDATE district_users SET failed_logins = CASE WHEN failed_logins >= %(last)s THEN 0"
            " ELSE failed_logins + 1 END, locked_until = CASE WHEN failed_logins >= %(last)s THEN now() + %(lock)s"
            " ELSE NULL END WHERE id = %(id)s AND (locked_until IS NULL OR locked_until <= now())",
            {"last": last, "lock": users.LOCKOUT, "id": user_id}).rowcount
    return taken == 1


def get_user(conn: psycopg.Connection, user_id: int) -> dict | None:
    """An active account, or None."""
    row = conn.execute("SELECT " + ", ".join(FIELDS) + " FROM district_users WHERE id = %s AND active",
                       [user_id]).fetchone()
    return dict(zip(FIELDS, row, strict=True)) if row else None


def list_users(conn: psycopg.Connection) -> list[dict]:
    rows = conn.execute("SELECT u.username, u.display_name, u.role, s.name, u.active, u.locked_until > now()"
                        " FROM district_users u LEFT JOIN schools s ON s.id = u.school_id ORDER BY u.username")
    return [{"username": r[0], "display_name": r[1], "role": r[2], "school": r[3] or "",
             "state": "disabled" if not r[4] else "locked" if r[5] else "active"} for r in rows]


def set_active(conn: psycopg.Connection, username: str, active: bool) -> None:
    """Disable (ending its sessions) or enable an account."""
    with conn.transaction():
        changed = conn.execute("UPDATE district_users SET active = %s, session_version = session_version + 1"
                               " WHERE username = %s", [active, username]).rowcount
    if not changed:
        raise LookupError(f"there is no district user {username!r}")


def end_sessions(conn: psycopg.Connection, user_id: int) -> None:
    with conn.transaction():
        conn.execute("UPDATE district_users SET session_version = session_version + 1 WHERE id = %s", [user_id])


def secret_key(conn: psycopg.Connection) -> str:
    """The key that signs the district web's session cookies (made once, kept in the database, so
    every server process of the district signs alike)."""
    with conn.transaction():
        conn.execute("INSERT INTO district_settings (key, value) VALUES ('session_key', %s) ON CONFLICT DO NOTHING",
                     [secrets.token_hex(32)])
        return str(connect.returned(conn.execute("SELECT value FROM district_settings WHERE key = 'session_key'")))
