"""Families the school keeps failing to reach, with a suggested next step for the head teacher."""

from __future__ import annotations

import datetime as dt
import statistics

from sqlite_utils import Database

from server import clock, ledger, notices, roster

THRESHOLD_HOURS = 48
MAX_OPEN = 2
WEEKS = 4


def families(db: Database, class_ids: list[str] | None = None, *, weeks: int = WEEKS) -> list[dict]:
    """Families the school does not reach, and apart from them families who read but do not confirm.

    A family is *not reached* when two or more notices, or half or more of them, stayed unread
    past 48 h (on every channel). A family that reads, even slowly (a paper slip takes days to
    come back), was reached: if it left two or more unconfirmed past 48 h it is listed as *read,
    not confirmed* (``kind``), which asks for a reminder to tick, not for another channel.
    ``median_hours`` (to the first read) is shown to help choose the next step."""
    now = clock.now()
    since = clock.iso(now - dt.timedelta(weeks=weeks))
    recent = [n for n in notices.list_notices(db, class_ids=class_ids, published_only=True, current_only=True)
              if n["publish_at"] >= since and n["requires_confirmation"]]
    waits: dict[int, list[float]] = {}
    read_only: dict[int, int] = {}
    for notice in recent:
        published = clock.parse(notice["publish_at"])
        overdue = (now - published) / dt.timedelta(hours=1) > THRESHOLD_HOURS
        statuses = ledger.notice_status(db, notice["id"])
        for family_id in notices.audience(db, notice, class_ids):
            status = statuses.get(family_id, ledger.Status())
            hours = ((clock.parse(status.first_at) - published) / dt.timedelta(hours=1) if status.first_at
                     else float("inf") if overdue else None)
            if hours is not None:
                waits.setdefault(family_id, []).append(hours)
            if overdue and status.state == "read":
                read_only[family_id] = read_only.get(family_id, 0) + 1
    info = {f["id"]: f for f in roster.list_families(db)}
    out = []
    for family_id, waited in waits.items():
        family = info.get(family_id)
        median, unread = statistics.median(waited), sum(h == float("inf") for h in waited)
        read_but_open = read_only.get(family_id, 0)
        row = {"family": family, "median_hours": median, "open": unread, "read_only": read_but_open,
               "notices": len(waited)}
        if family and (unread >= MAX_OPEN or 2 * unread >= len(waited)):
            out.append({**row, "kind": "unreached", "suggestion": suggest(db, family)})
        elif family and read_but_open >= MAX_OPEN:
            out.append({**row, "kind": "read_only", "suggestion": "remind to confirm"})
    return sorted(out, key=lambda r: (r["kind"] != "unreached", -r["open"], -r["read_only"],
                                      -min(r["median_hours"], 10**6)))


SUGGESTION_COLUMNS = ["code", "family", "students", "preferred_channel", "language", "phones", "unread", "read_only",
                      "notices", "median_hours", "kind", "suggestion"]


def export_rows(rows: list[dict]) -> list[dict]:
    """One flat row per family, for a spreadsheet (phones included: this is the list to ring)."""
    return [{"code": r["family"]["code"], "family": r["family"]["display_name"],
             "students": ", ".join(f"{s['name']} ({s['class_id']})" for s in r["family"]["students"]),
             "preferred_channel": r["family"]["preferred_channel"], "language": r["family"]["language"],
             "phones": " ".join(g["phone"] or "" for g in r["family"]["guardians"]).strip(),
             "unread": r["open"], "read_only": r["read_only"], "notices": r["notices"],
             "median_hours": "" if r["median_hours"] == float("inf") else round(r["median_hours"]),
             "kind": r["kind"], "suggestion": r["suggestion"]} for r in rows]


def suggest(db: Database, family: dict) -> str:
    """A next step that changes something, not more of what has not worked."""
    phones = [g["phone"] for g in family["guardians"] if g["phone_valid"]]
    answered = db.execute("SELECT count(*) FROM contact_attempts WHERE family_id = ? AND outcome = 'completed'",
                          [family["id"]]).fetchone()[0]
    tried = db.execute("SELECT count(*) FROM contact_attempts WHERE family_id = ?", [family["id"]]).fetchone()[0]
    if family["preferred_channel"] in ("digital", "paper") and phones:
        return "switch channel: phone call in the family's language"
    if tried >= 3 and not answered:
        return "home visit, or meet at pick-up"
    if family["preferred_channel"] in ("voice", "sms"):
        return "kiosk appointment with a volunteer who speaks the family's language"
    return "home visit, or meet at pick-up"
