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
    db.table("calls").insert({"sid": sid, "direction": direction, "from_number": from_number, "to_number": to_number,
                              "started_at": now, "updated_at": now}, ignore=True)
    return require(db, sid)


def get(db: Database, sid: str) -> dict | None:
    rows = list(db.query("SELECT * FROM calls WHERE sid = ?", [sid]))
    return rows[0] if rows else None


def require(db: Database, sid: str) -> dict:
    """The call's row, which an earlier webhook of this call created."""
    call = get(db, sid)
    if call is None:
        raise UnknownCall(f"no call {sid!r}")
    return call


def update(db: Database, sid: str, **values) -> None:
    db.table("calls").update(sid, {**values, "updated_at": clock.now_iso()})


def family_for_caller(db: Database, number: str) -> dict | None:
    """The one active family whose guardian has this number; None if none or several."""
    phone = phones.normalize(number, settings.get(db, "default_region"))
    if not phone.valid:
        return None
    rows = db.execute("SELECT DISTINCT g.family_id FROM guardians g JOIN families f ON f.id = g.family_id"
                      " WHERE g.phone = ? AND g.active = 1 AND f.active = 1", [phone.e164]).fetchall()
    return db.table("families").get(rows[0][0]) if len(rows) == 1 else None


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


def playlist(db: Database, call: dict) -> list[dict]:
    """Notices of this and last week for the family, oldest first; private ones only after the code."""
    if not call["family_id"]:
        return []
    zone = settings.zone(db)
    now = clock.now()
    weeks = {clock.iso_week(now, zone), clock.iso_week(now - dt.timedelta(days=7), zone)}
    classes = sorted({r[0] for r in db.execute(
        "SELECT class_id FROM students WHERE family_id = ? AND active = 1", [call["family_id"]]).fetchall()})
    found = [n for n in notices.list_notices(db, class_ids=classes, published_only=True, current_only=True) if n["week"] in weeks]
    if call["auth"] != "pin":
        found = [n for n in found if not n["private"]]
    return sorted(found, key=lambda n: (n["publish_at"], n["id"]))


def private_waiting(db: Database, call: dict) -> int:
    if call["auth"] == "pin" or not call["family_id"]:
        return 0
    return len([n for n in playlist(db, {**call, "auth": "pin"}) if n["private"] and not _confirmed(db, call, n)])


def _confirmed(db: Database, call: dict, notice: dict) -> bool:
    return ledger.status_of(db, notice["id"], call["family_id"]).state == "confirmed"


def next_notice(db: Database, call: dict, after: int | None, private_only: bool = False,
                at: int | None = None) -> dict | None:
    """The first unconfirmed notice after notice ``after`` (or from notice ``at``) in the playlist."""
    items = [n for n in playlist(db, call) if n["private"] or not private_only]
    ids = [n["id"] for n in items]
    if at in ids:
        items = items[ids.index(at):]
    elif after in ids:
        items = items[ids.index(after) + 1:]
    return next((n for n in items if not _confirmed(db, call, n)), None)


def waiting(db: Database, call: dict) -> list[dict]:
    """The notices this call will read: unconfirmed, in playlist order."""
    return [n for n in playlist(db, call) if not _confirmed(db, call, n)]


def mark_heard(db: Database, call: dict, notice_id: int) -> None:
    heard = heard_ids(call)
    if notice_id not in heard:
        update(db, call["sid"], heard=",".join(map(str, [*heard, notice_id])))


def heard_ids(call: dict) -> list[int]:
    return [int(n) for n in (call.get("heard") or "").split(",") if n]


def heard_unconfirmed(db: Database, call: dict) -> list[dict]:
    """Notices read out in this call, asking no question, that the caller has not confirmed
    (skipped with 3, or silence): "confirm all I just heard" covers these."""
    heard = set(heard_ids(call))
    return [n for n in playlist(db, call)
            if n["id"] in heard and not n["reply_options"] and not _confirmed(db, call, n)]


ANSWERING = ("callerid", "dialled", "pin")  # how a call may have identified the family to answer for it


def record(db: Database, call: dict, notice_id: int, kind: str, choice: str | None = None) -> None:
    """A keypress as a receipt; the dedupe key is the call and notice, so retries add nothing.

    Only for the family the call is for, by caller ID, our own reminder call, or the PIN; a
    private notice only after the PIN (BadCode otherwise, and nothing is recorded).
    """
    notice = notices.get_published(db, notice_id)
    if call["auth"] not in ANSWERING or (notice["private"] and call["auth"] != "pin"):
        raise BadCode("this call has not shown it is the family's")
    if call["family_id"] not in notices.audience(db, notice):
        raise BadCode("this notice was not sent to the caller's family")
    payload = {"choice": choice} if choice else {}
    event = ledger.new_event(notice_id, call["family_id"], "voice", kind, payload=payload, source=f"call:{call['sid']}",
                             actor="family", dedupe_key=f"call:{call['sid']}:{notice_id}:{kind}")
    ledger.record(db, [event])


def confirmed_by_key_1(db: Database, sid: str) -> bool:
    """Whether the caller has confirmed a notice that asks no question (so knows that 1 confirms)."""
    return db.execute("SELECT EXISTS (SELECT 1 FROM events e WHERE e.source = ? AND e.kind = 'confirmed' AND NOT EXISTS"
                      " (SELECT 1 FROM events r WHERE r.source = e.source AND r.notice_id = e.notice_id"
                      "  AND r.kind = 'reply'))", [f"call:{sid}"]).fetchone()[0] == 1


def confirmed_in_call(db: Database, sid: str) -> int:
    return db.execute("SELECT count(*) FROM events WHERE source = ? AND kind = 'confirmed'",
                      [f"call:{sid}"]).fetchone()[0]


def office_open(db: Database) -> bool:
    if not settings.get(db, "office_phone"):
        return False
    local = clock.now().astimezone(settings.zone(db)).time()
    return settings.in_window(local, settings.parse_window(settings.get(db, "office_hours")))
