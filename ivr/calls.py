"""Call state and what a call may hear: the family, how they were identified, their notices."""

from __future__ import annotations

import datetime as dt

from sqlite_utils import Database

from server import clock, ledger, notices, phones, pins, settings, tokens
from server.errors import BadCode, UnknownCall

MAX_CODE_TRIES = 3
RATE_LIMIT = dt.timedelta(hours=1)
MAX_FAILURES_PER_PHONE = 8
MAX_PIN_FAILURES_PER_FAMILY = 5  # wrong PINs for one family code, from any number, per RATE_LIMIT


def start(db: Database, sid: str, direction: str, from_number: str, to_number: str) -> dict:
    """The call's row, created on the first webhook (a retried webhook finds it again)."""
    existing = get(db, sid)
    if existing:
        return existing
    now = clock.now_iso()
    db.execute("INSERT OR IGNORE INTO calls (sid, direction, from_number, to_number, started_at, updated_at)"
               " VALUES (?, ?, ?, ?, ?, ?)", [sid, direction, from_number, to_number, now, now])
    return require(db, sid)


def get(db: Database, sid: str) -> dict | None:
    cursor = db.execute("SELECT * FROM calls WHERE sid = ?", [sid])
    row = cursor.fetchone()
    return dict(zip([c[0] for c in cursor.description], row, strict=True)) if row else None


def require(db: Database, sid: str) -> dict:
    """The call's row, which an earlier webhook of this call created."""
    call = get(db, sid)
    if call is None:
        raise UnknownCall(f"no call {sid!r}")
    return call


_COLUMNS = {"family_id", "language", "auth", "code_tries", "status"}


def update(db: Database, sid: str, **values) -> None:
    """Set some of the call's columns (plain SQL: a phone webhook cannot spare table introspection)."""
    unknown = set(values) - _COLUMNS
    if unknown:
        raise ValueError(f"calls has no column {', '.join(sorted(unknown))}")
    assignments = ", ".join(f"{column} = ?" for column in values)
    db.execute(f"UPDATE calls SET {assignments}, updated_at = ? WHERE sid = ?", [*values.values(), clock.now_iso(), sid])


def family_for_caller(db: Database, number: str) -> dict | None:
    """The one active family whose guardian has this number; None if none or several."""
    phone = phones.normalize(number, settings.get(db, "default_region"))
    if not phone.valid:
        return None
    cursor = db.execute("SELECT * FROM families WHERE id IN (SELECT g.family_id FROM guardians g WHERE g.phone = ?"
                        " AND g.active = 1) AND active = 1 LIMIT 2", [phone.e164])
    rows = cursor.fetchall()
    return dict(zip([c[0] for c in cursor.description], rows[0], strict=True)) if len(rows) == 1 else None


def rate_limited(db: Database, number: str) -> bool:
    since = clock.iso(clock.now() - RATE_LIMIT)
    count = db.execute("SELECT count(*) FROM code_failures WHERE phone = ? AND at >= ?", [number, since]).fetchone()[0]
    return count >= MAX_FAILURES_PER_PHONE


def family_locked(db: Database, family_code: str) -> bool:
    """Too many wrong PINs for this family, from whatever numbers: no more tries for a while."""
    since = clock.iso(clock.now() - RATE_LIMIT)
    count = db.execute("SELECT count(*) FROM code_failures WHERE family_code = ? AND kind = 'pin' AND at >= ?",
                       [family_code, since]).fetchone()[0]
    return count >= MAX_PIN_FAILURES_PER_FAMILY


def pin_ok(db: Database, phone: str, family: dict, typed: str) -> bool:
    """Whether ``typed`` is the family's PIN (and the family is not locked); a wrong one counts
    against the number and against the family, whatever number it comes from."""
    if not family_locked(db, family["code"]) and pins.matches(db, family["id"], typed):
        return True
    db.table("code_failures").insert({"phone": phone, "family_code": family["code"], "kind": "pin",
                                      "at": clock.now_iso()})
    return False


def check_pin(db: Database, call: dict, family: dict, typed: str) -> bool:
    """:func:`pin_ok` for a call; a wrong PIN also uses up one of the call's tries."""
    if pin_ok(db, call["from_number"], family, typed):
        return True
    update(db, call["sid"], code_tries=call["code_tries"] + 1)
    return False


def check_code(db: Database, call: dict, typed: str) -> dict:
    """The family for a typed code, or BadCode (and the failure is counted)."""
    try:
        code = tokens.check_family_code(typed)
        rows = list(db.query("SELECT * FROM families WHERE code = ? AND active = 1", [code]))
        if not rows:
            raise BadCode("no family has that code")
        if call["family_id"] and call["auth"] == "callerid" and rows[0]["id"] != call["family_id"]:
            raise BadCode("the code does not belong to this caller's family")
        return rows[0]
    except BadCode:
        db.table("code_failures").insert({"phone": call["from_number"], "family_code": typed[:12], "at": clock.now_iso()})
        update(db, call["sid"], code_tries=call["code_tries"] + 1)
        raise


_PLAYLIST = """
SELECT n.id, n.private, n.reply_options != '[]' AS asks, n.requires_confirmation,
       coalesce(r.state = 'confirmed', 0) AS confirmed, r.reply
FROM notices n
LEFT JOIN receipt_status r ON r.notice_id = n.id AND r.family_id = :family
WHERE n.publish_at <= :now AND n.week IN (:this_week, :last_week)
  AND NOT EXISTS (SELECT 1 FROM notices v WHERE v.replaces = n.id)
  AND (n.whole_school = 1 OR EXISTS (SELECT 1 FROM notice_classes c JOIN students s ON s.class_id = c.class_id
       WHERE c.notice_id = n.id AND s.family_id = :family AND s.active = 1))
  AND (n.private = 0 OR :pin)
ORDER BY n.publish_at, n.id
"""


def playlist(db: Database, call: dict) -> list[dict]:
    """Notices of this and last week for the family, oldest first, current versions only; private
    ones only after the PIN. One query, light rows: id, private, asks (has reply options),
    requires_confirmation, confirmed, reply; :func:`notices.get_notice` reads the one to speak."""
    if not call["family_id"]:
        return []
    zone = settings.zone(db)
    now = clock.now()
    params = {"family": call["family_id"], "now": clock.iso(now), "this_week": clock.iso_week(now, zone),
              "last_week": clock.iso_week(now - dt.timedelta(days=7), zone), "pin": call["auth"] == "pin"}
    return [dict(zip(("id", "private", "asks", "requires_confirmation", "confirmed", "reply"), row, strict=True))
            for row in db.execute(_PLAYLIST, params).fetchall()]


def private_waiting(db: Database, call: dict) -> int:
    if call["auth"] == "pin" or not call["family_id"]:
        return 0
    return len([n for n in playlist(db, {**call, "auth": "pin"}) if n["private"] and not n["confirmed"]])


def next_notice(db: Database, call: dict, after: int | None, private_only: bool = False,
                at: int | None = None) -> dict | None:
    """The first unconfirmed notice after notice ``after`` (or from notice ``at``) in the playlist."""
    items = [n for n in playlist(db, call) if n["private"] or not private_only]
    ids = [n["id"] for n in items]
    if at in ids:
        items = items[ids.index(at):]
    elif after in ids:
        items = items[ids.index(after) + 1:]
    found = next((n for n in items if not n["confirmed"]), None)
    return notices.get_notice(db, found["id"]) if found else None


def waiting(db: Database, call: dict) -> list[dict]:
    """The notices this call will read: unconfirmed, in playlist order (light rows)."""
    return [n for n in playlist(db, call) if not n["confirmed"]]


def heard_unconfirmed(db: Database, call: dict, heard: list[int]) -> list[dict]:
    """Notices read out in this call (``heard``), asking no question, that the caller has not
    confirmed (skipped with 3, or silence): "confirm all I just heard" covers these (light rows)."""
    return [n for n in playlist(db, call) if n["id"] in heard and not n["asks"] and not n["confirmed"]]


ANSWERING = ("callerid", "dialled", "pin")  # how a call may have identified the family to answer for it


def record(db: Database, call: dict, notice: dict, choice: str | None = None) -> None:
    """A keypress as a receipt for a published ``notice`` (from :func:`notices.get_published`):
    confirmed, and the answer when ``choice`` is given, in one transaction; the dedupe key is
    the call and notice, so Twilio's retries add nothing.

    Only for the family the call is for, by caller ID, our own reminder call, or the PIN; a
    private notice only after the PIN (BadCode otherwise, and nothing is recorded).
    """
    notice_id = notice["id"]
    if call["auth"] not in ANSWERING or (notice["private"] and call["auth"] != "pin"):
        raise BadCode("this call has not shown it is the family's")
    if not call["family_id"] or not notices.addressed_to(db, notice, call["family_id"]):
        raise BadCode("this notice was not sent to the caller's family")
    kinds: list[tuple[str, dict]] = [("confirmed", {})] + ([("reply", {"choice": choice})] if choice else [])
    ledger.record(db, [ledger.new_event(notice_id, call["family_id"], "voice", kind, payload=payload,
                                        source=f"call:{call['sid']}", actor="family",
                                        dedupe_key=f"call:{call['sid']}:{notice_id}:{kind}")
                       for kind, payload in kinds])


def confirmed_by_key_1(db: Database, call: dict) -> bool:
    """Whether the caller has confirmed a notice that asks no question (so knows that 1 confirms).
    Looked up among the family's events (an index), not the whole ledger."""
    return db.execute("SELECT EXISTS (SELECT 1 FROM events e WHERE e.family_id = ? AND e.source = ?"
                      " AND e.kind = 'confirmed' AND NOT EXISTS (SELECT 1 FROM events r WHERE r.family_id ="
                      " e.family_id AND r.source = e.source AND r.notice_id = e.notice_id AND r.kind = 'reply'))",
                      [call["family_id"], f"call:{call['sid']}"]).fetchone()[0] == 1


def confirmed_in_call(db: Database, call: dict) -> int:
    return db.execute("SELECT count(*) FROM events WHERE family_id = ? AND source = ? AND kind = 'confirmed'",
                      [call["family_id"], f"call:{call['sid']}"]).fetchone()[0]


def office_open(db: Database) -> bool:
    if not settings.get(db, "office_phone"):
        return False
    local = clock.now().astimezone(settings.zone(db)).time()
    return settings.in_window(local, settings.parse_window(settings.get(db, "office_hours")))
