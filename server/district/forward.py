"""The school's side of forwarding: its ledger in batches, as the district may see it.

Families go by a pseudonymous reference (an HMAC under a key of this school's own, kept in
its settings, never sent), so the district can count a family across notices without ever
holding its id, name, phone or link. An event's payload travels only as far as the status
needs it (a reply's choice; a device's claimed time); a void's reason, words typed by
staff, stays at the school. This module knows SQLite only: no network, no PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from sqlite_utils import Database

from server import settings

KEY_SETTING = "district_family_key"
BATCH = 500  # events per push: a slow link sends a few KB at a time (kiosk sync uses the same size)
PAYLOAD_KEYS = ("choice", "claimed_at")


def family_key(db: Database) -> bytes:
    """This school's key for family references (made on first use, never sent)."""
    return settings.kept_secret(db, KEY_SETTING)


def family_ref(key: bytes, family_id: int) -> str:
    return "f" + hmac.new(key, f"family:{family_id}".encode(), hashlib.sha256).hexdigest()[:24]


def batch(db: Database, after_seq: int, size: int = BATCH) -> tuple[int, list[dict]]:
    """Up to ``size`` events recorded after ``after_seq``, in recording order, as forwarded; and the
    cursor to resume from once the district has them (``after_seq`` again when none are left)."""
    key = family_key(db)
    rows = db.execute("SELECT seq, id, notice_id, family_id, channel, kind, payload, occurred_at, recorded_at, voids"
                      " FROM events WHERE seq > ? ORDER BY seq LIMIT ?", [after_seq, size]).fetchall()
    events = []
    for _seq, event_id, notice_id, family_id, channel, kind, payload, occurred_at, recorded_at, voids in rows:
        kept = {k: v for k, v in json.loads(payload).items() if k in PAYLOAD_KEYS}
        events.append({"id": event_id, "notice_id": notice_id, "family_ref": family_ref(key, family_id),
                       "channel": channel, "kind": kind, "payload": kept, "occurred_at": occurred_at,
                       "recorded_at": recorded_at, "voids": voids})
    return (rows[-1][0] if rows else after_seq), events
