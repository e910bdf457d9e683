"""Schools of the district: added by the district with a one-time enrolment code."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import psycopg

from server import clock
from server.district import connect
from server.district.schema import add_partitions

CODE_LIFETIME = dt.timedelta(days=7)  # the code travels by letter or phone to the school's office
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed by hand


def code_hash(code: str) -> bytes:
    """The code as stored: only its hash, so a copy of the database enrols nobody."""
    return hashlib.sha256(code.replace("-", "").replace(" ", "").upper().encode()).digest()


def new_code() -> str:
    """Twelve characters in three groups: 'K7QM-X2PD-9RTA' (about 59 bits)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def add_school(conn: psycopg.Connection, name: str) -> tuple[int, str, dt.datetime]:
    """A new school, its partitions and a one-time enrolment code: (id, code, expires_at)."""
    name = " ".join(name.split())
    if not name:
        raise ValueError("a school needs a name")
    with conn.transaction():
        school_id = connect.returned(conn.execute("INSERT INTO schools (name) VALUES (%s) RETURNING id", [name]))
        add_partitions(conn, school_id)
        code, expires = _code_for(conn, school_id)
    return school_id, code, expires


def new_code_for(conn: psycopg.Connection, school_id: int) -> tuple[str, dt.datetime, str]:
    """A fresh one-time code for a school already in the district (a new server, or after a
    revocation): (code, expires_at, name). Its events stay; the cursor resumes."""
    with conn.transaction():
        row = conn.execute("SELECT name FROM schools WHERE id = %s", [school_id]).fetchone()
        if row is None:
            raise LookupError(f"no school {school_id} in this district")
        code, expires = _code_for(conn, school_id)
    return code, expires, row[0]


def _code_for(conn: psycopg.Connection, school_id: int) -> tuple[str, dt.datetime]:
    code = new_code()
    expires = connect.returned(conn.execute("INSERT INTO enrolment_codes (code_hash, school_id, expires_at)"
                                            " VALUES (%s, %s, now() + %s) RETURNING expires_at",
                                            [code_hash(code), school_id, CODE_LIFETIME]))
    return code, expires


def list_schools(conn: psycopg.Connection) -> list[dict]:
    cursor = conn.execute("SELECT id, name, added_at, enrolled_at, revoked_at, last_push_at FROM schools ORDER BY id")
    columns = [c.name for c in cursor.description or []]
    return [{k: clock.iso(v) if isinstance(v, dt.datetime) else v for k, v in zip(columns, row, strict=True)}
            for row in cursor.fetchall()]  # times as everywhere else: UTC ISO text


class EnrolmentRefused(Exception):
    """An unknown, used or expired enrolment code."""


def enrol(conn: psycopg.Connection, code: str) -> tuple[int, str, str]:
    """Use a one-time code: (school id, school name, the school's token). The token is shown once;
    only its hash is kept."""
    token = "pbd_" + secrets.token_urlsafe(32)
    with conn.transaction():
        row = conn.execute("UPDATE enrolment_codes SET used_at = now() WHERE code_hash = %s AND used_at IS NULL"
                           " AND expires_at > now() RETURNING school_id", [code_hash(code)]).fetchone()
        if row is None:
            raise EnrolmentRefused("this enrolment code is unknown, used or expired; ask the district for a new one")
        name = connect.returned(conn.execute("UPDATE schools SET token_hash = %s, enrolled_at = now(),"
                                             " revoked_at = NULL WHERE id = %s RETURNING name",
                                             [token_hash(token), row[0]]))
    return row[0], name, token


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def school_for_token(conn: psycopg.Connection, token: str) -> tuple[int, bool] | None:
    """(school id, revoked?) for a token, or None."""
    row = conn.execute("SELECT id, revoked_at IS NOT NULL FROM schools WHERE token_hash = %s",
                       [token_hash(token)]).fetchone()
    return (row[0], row[1]) if row else None


def revoke(conn: psycopg.Connection, school_id: int) -> str:
    """Stop taking pushes from this school's token (its events stay); its name. A new code
    enrols it again with a new token."""
    row = conn.execute("UPDATE schools SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s RETURNING name",
                       [school_id]).fetchone()
    if row is None:
        raise LookupError(f"no school {school_id} in this district")
    return row[0]
