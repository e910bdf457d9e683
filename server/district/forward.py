"""The school's side of forwarding: its ledger in batches, as the district may see it.

Families go by a pseudonymous reference (an HMAC under a key of this school's own, kept in
its settings, never sent), so the district can count a family across notices without ever
holding its id, name, phone or link. An event's payload travels only as far as the status
needs it (a reply's choice; a device's claimed time); a void's reason, words typed by
staff, stays at the school. The roster travels as each family's classes, language and channel,
and each notice as its week, publish time and classes (and the district notice it came from),
so the district can count who a notice is addressed to. This module knows SQLite only: no
network, no PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from sqlite_utils import Database

from server import insight, settings

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


def changes(db: Database, after_seq: int, size: int = BATCH) -> tuple[int, list[dict], list[dict]]:
    """The families and notices changed after ``after_seq`` in the change log (up to ``size``
    entries), as forwarded; and the change cursor to resume from."""
    rows = db.execute("SELECT seq, entity, entity_id FROM change_log WHERE seq > ? AND entity IN"
                      " ('families', 'students', 'notices') ORDER BY seq LIMIT ?", [after_seq, size]).fetchall()
    if not rows:
        return after_seq, [], []
    wanted: dict[str, set[int]] = {"families": set(), "students": set(), "notices": set()}
    for _seq, entity, entity_id in rows:
        wanted[entity].add(int(entity_id))
    if wanted["students"]:
        marks = ",".join("?" * len(wanted["students"]))
        wanted["families"] |= {r[0] for r in db.execute(f"SELECT family_id FROM students WHERE id IN ({marks})",
                                                         sorted(wanted["students"]))}
    return rows[-1][0], family_rows(db, wanted["families"]), notice_rows(db, wanted["notices"])


def family_rows(db: Database, family_ids: set[int]) -> list[dict]:
    """Each family as the district counts it: its classes (of its active students; none when it
    has left), their grades, its language and preferred channel."""
    if not family_ids:
        return []
    key, marks = family_key(db), ",".join("?" * len(family_ids))
    rows = db.execute(f"SELECT f.id, f.language, f.preferred_channel, (SELECT json_group_array(DISTINCT s.class_id)"
                      f" FROM students s WHERE s.family_id = f.id AND s.active = 1) FROM families f"
                      f" WHERE f.id IN ({marks}) ORDER BY f.id", sorted(family_ids)).fetchall()
    out = []
    for family_id, language, channel, classes_json in rows:
        classes = sorted(json.loads(classes_json))
        out.append({"family_ref": family_ref(key, family_id), "language": language, "channel": channel,
                    "classes": classes, "grades": sorted({insight.grade_of(c) for c in classes})})
    return out


def notice_rows(db: Database, notice_ids: set[int]) -> list[dict]:
    """Each notice as the district counts it: week, publish time (far ahead while it waits for
    approval), its classes (none: the whole school) and the district notice it came from."""
    if not notice_ids:
        return []
    marks = ",".join("?" * len(notice_ids))
    rows = db.execute(f"SELECT n.id, n.week, n.publish_at, n.whole_school, d.district_id,"
                      f" (SELECT json_group_array(c.class_id) FROM notice_classes c WHERE c.notice_id = n.id)"
                      f" FROM notices n LEFT JOIN district_notices d ON d.notice_id = n.id"
                      f" WHERE n.id IN ({marks}) ORDER BY n.id", sorted(notice_ids)).fetchall()
    return [{"notice_id": notice_id, "week": week, "publish_at": publish_at, "whole_school": bool(whole),
             "classes": [] if whole else sorted(json.loads(classes)), "district_notice_id": district_id}
            for notice_id, week, publish_at, whole, district_id, classes in rows]
