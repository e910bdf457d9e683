"""Each family's secret phone PIN.

The family code is printed on everything and is only a serial number with a check digit, so
it can be guessed. The PIN is random (not derivable from the code), printed only inside the
family's own bulletin and shown on its own link. The phone line and texts ask for it before a
private notice is read and before any answer from a number the roster does not know is recorded.

Example::

    pin_for(db, 17)          # '402913' (made on first use, then the same)
    matches(db, 17, '402913')  # True
"""

from __future__ import annotations

import hmac
import secrets

from sqlite_utils import Database

from server import clock

DIGITS = 6


def pin_for(db: Database, family_id: int) -> str:
    """The family's PIN, made (once) on first use."""
    row = db.execute("SELECT pin FROM family_pins WHERE family_id = ?", [family_id]).fetchone()
    if row:
        return row[0]
    db.execute("INSERT OR IGNORE INTO family_pins (family_id, pin, created_at) VALUES (?, ?, ?)",
               [family_id, _new_pin(), clock.now_iso()])
    return db.execute("SELECT pin FROM family_pins WHERE family_id = ?", [family_id]).fetchone()[0]


def renew(db: Database, family_id: int) -> str:
    """A new PIN (the old one stops working at once), e.g. when a family says it leaked."""
    db.execute("INSERT INTO family_pins (family_id, pin, created_at) VALUES (?, ?, ?) ON CONFLICT (family_id)"
               " DO UPDATE SET pin = excluded.pin, created_at = excluded.created_at",
               [family_id, _new_pin(), clock.now_iso()])
    return pin_for(db, family_id)


def matches(db: Database, family_id: int, typed: str) -> bool:
    typed = "".join(ch for ch in typed if ch in "0123456789")
    return len(typed) == DIGITS and hmac.compare_digest(typed, pin_for(db, family_id))


def _new_pin() -> str:
    return f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"
