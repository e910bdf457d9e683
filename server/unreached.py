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
    """Families whose median time to confirm is over 48 h, or with 2+ notices still unconfirmed after 48 h."""
    now = clock.now()
    since = clock.iso(now - dt.timedelta(weeks=weeks))
    recent = [n for n in notices.list_notices(db, class_ids=class_ids, published_only=True, current_only=True)
              if n["publish_at"] >= since and n["requires_confirmation"]]
    waits: dict[int, list[float]] = {}
    for notice in recent:
        published = clock.parse(notice["publish_at"])
        for family_id in notices.audience(db, notice, class_ids):
            status = ledger.status_of(db, notice["id"], family_id)
            hours = ((clock.parse(status.confirmed_at) - published) / dt.timedelta(hours=1) if status.confirmed_at
                     else float("inf") if (now - published) / dt.timedelta(hours=1) > THRESHOLD_HOURS else None)
            if hours is not None:
                waits.setdefault(family_id, []).append(hours)
    info = {f["id"]: f for f in roster.list_families(db)}
    out = []
    for family_id, waited in waits.items():
        median, open_count = statistics.median(waited), sum(h == float("inf") for h in waited)
        if median > THRESHOLD_HOURS or open_count >= MAX_OPEN:
            family = info.get(family_id)
            if family:
                out.append({"family": family, "median_hours": median, "open": open_count, "notices": len(waited),
                            "suggestion": suggest(db, family)})
    return sorted(out, key=lambda r: (-r["open"], -min(r["median_hours"], 10**6)))


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
