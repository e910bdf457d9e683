"""Kiosk devices: one-time enrolment codes, device tokens (stored hashed), revocation."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlite_utils import Database

from server import clock
from server.errors import PaperBridgeError

CODE_LIFETIME = dt.timedelta(hours=24)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_code(db: Database, name: str) -> str:
    """A one-time enrolment code (8 digits, valid 24 h) for a kiosk called ``name``."""
    if not name.strip():
        raise ValueError("name the kiosk, e.g. 'Lobby desk'")
    code = f"{secrets.randbelow(10**8):08d}"
    db.table("enrol_codes").insert({"code_hash": _hash(code), "name": name.strip(), "created_at": clock.now_iso(),
                              "expires_at": clock.iso(clock.now() + CODE_LIFETIME)})
    return code


def enrol(db: Database, code: str) -> tuple[str, str, str]:
    """Spend a code: returns (device id, token, name). A new id every time, even for a reinstall."""
    with db.atomic():
        rows = list(db.query("SELECT * FROM enrol_codes WHERE code_hash = ?", [_hash(code.strip())]))
        if not rows or rows[0]["used_at"] or rows[0]["expires_at"] < clock.now_iso():
            raise PaperBridgeError("This enrolment code is unknown, used or expired. Ask an admin for a new one.")
        db.execute("UPDATE enrol_codes SET used_at = ? WHERE code_hash = ?", [clock.now_iso(), rows[0]["code_hash"]])
        device_id, token = "kd_" + secrets.token_hex(8), "pbk_" + secrets.token_urlsafe(32)
        db.table("devices").insert({"id": device_id, "name": rows[0]["name"], "token_hash": _hash(token),
                              "enrolled_at": clock.now_iso()})
    return device_id, token, rows[0]["name"]


def device_for_token(db: Database, token: str) -> dict | None:
    rows = list(db.query("SELECT * FROM devices WHERE token_hash = ? AND revoked_at IS NULL", [_hash(token)]))
    if rows:
        db.execute("UPDATE devices SET last_seen = ? WHERE id = ?", [clock.now_iso(), rows[0]["id"]])
    return rows[0] if rows else None


def revoke(db: Database, device_id: str) -> None:
    if not db.execute("UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                      [clock.now_iso(), device_id]).rowcount:
        raise PaperBridgeError(f"No active kiosk has the id {device_id}.")
