"""Retention: what the school keeps, and for how long (school settings).

- Voice messages families left for the teacher: ``keep_recordings_days``; the file is deleted,
  the register entry stays (it says the message was removed).
- The full ledger: ``keep_ledger_years`` school years (a school year starts on 1 September).
  After that, a family that has left (inactive, no receipt since) is anonymised: its name,
  its students' and guardians' names, phones, PIN and family links are removed; receipts,
  counts and codes stay, so reports of past years still add up.

Slip images follow ``keep_slip_images_days`` (print.retention). Every removal is written to
``retention_log`` (what and how many, never the data itself).

Example::

    anonymise_left_families(db, years=3, actor="retention")
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlite_utils import Database

from server import clock, concerns, settings
from server.transaction import write_transaction

SCHOOL_YEAR_MONTH = 9
ANONYMOUS = "(anonymised)"


@dataclass
class Removed:
    cutoff: str
    families: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    bytes_freed: int = 0

    def as_dict(self) -> dict:
        return {"cutoff": self.cutoff, "families": len(self.families), "files": len(self.files),
                "bytes_freed": self.bytes_freed}


def days(db: Database, name: str) -> dt.timedelta:
    return dt.timedelta(days=int(settings.get(db, name)))


def ledger_cutoff(now: dt.datetime, years: int, zone: dt.tzinfo) -> dt.datetime:
    """The start of the school year ``years - 1`` before the current one: with 3 years kept, on
    2026-12-04 everything from 2024-09-01 on is kept."""
    local = now.astimezone(zone)
    first = local.year if local.month >= SCHOOL_YEAR_MONTH else local.year - 1
    return dt.datetime(first - (years - 1), SCHOOL_YEAR_MONTH, 1, tzinfo=zone)


def log(db: Database, what: str, count: int, detail: dict, actor: str, family_id: int | None = None) -> None:
    db.execute("INSERT INTO retention_log (at, what, family_id, count, detail, actor) VALUES (?, ?, ?, ?, ?, ?)",
               [clock.now_iso(), what, family_id, count, json.dumps(detail, ensure_ascii=False), actor])


def delete_voice_messages(db: Database, older_than: dt.timedelta, *, dry_run: bool = False,
                          actor: str = "retention") -> Removed:
    """Delete voice messages received before now - ``older_than`` (files and Twilio URLs)."""
    cutoff = clock.iso(clock.now() - older_than)
    rows = db.execute("SELECT id, recording, recording_url FROM concerns WHERE received_at < ?"
                      " AND (recording IS NOT NULL OR recording_url IS NOT NULL)", [cutoff]).fetchall()
    removed = Removed(cutoff)
    for concern_id, name, _url in rows:
        path = concerns.message_path(db, name)
        if path is not None:
            removed.files.append(name)
            removed.bytes_freed += path.stat().st_size
        if not dry_run:
            if path is not None:
                path.unlink(missing_ok=True)
            db.execute("UPDATE concerns SET recording = NULL, recording_url = NULL,"
                       " words = coalesce(words, '') || ? WHERE id = ?",
                       [f"[voice message removed {clock.now_iso()[:10]} under the retention rule]", concern_id])
    if rows and not dry_run:
        log(db, "voice messages", len(rows), {"cutoff": cutoff, "bytes": removed.bytes_freed}, actor)
    return removed


def left_families(db: Database, cutoff: str) -> list[int]:
    """Families that left before ``cutoff`` and have had no receipt since (not anonymised yet)."""
    return [r[0] for r in db.execute(
        "SELECT f.id FROM families f WHERE f.active = 0 AND f.updated_at < ? AND f.display_name != ?"
        " AND NOT EXISTS (SELECT 1 FROM students s WHERE s.family_id = f.id AND s.active = 1)"
        " AND coalesce((SELECT max(occurred_at) FROM events e WHERE e.family_id = f.id), '') < ?",
        [cutoff, ANONYMOUS, cutoff]).fetchall()]


def anonymise_left_families(db: Database, years: int, *, dry_run: bool = False, actor: str = "retention") -> Removed:
    """Remove names, phones, PINs and links of families that left before the kept school years."""
    cutoff = clock.iso(ledger_cutoff(clock.now(), years, settings.zone(db)))
    removed = Removed(cutoff, families=left_families(db, cutoff))
    if dry_run:
        return removed
    with write_transaction(db):
        for family_id in removed.families:
            log(db, "family anonymised", 1, _anonymise(db, family_id), actor, family_id)
    return removed


def _anonymise(db: Database, family_id: int) -> dict:
    phones = [r[0] for r in db.execute("SELECT phone FROM guardians WHERE family_id = ? AND phone IS NOT NULL",
                                       [family_id]).fetchall()]
    marks = ",".join("?" * len(phones)) or "NULL"
    removed = {
        "students' names": db.execute("UPDATE students SET name = ? WHERE family_id = ?", [ANONYMOUS, family_id]).rowcount,
        "guardians (names and phones)": db.execute(
            "UPDATE guardians SET name = ?, phone = NULL, match_key = 'anonymised:' || id WHERE family_id = ?",
            [ANONYMOUS, family_id]).rowcount,
        "phone preferences": db.execute(f"DELETE FROM phone_prefs WHERE phone IN ({marks})", phones).rowcount,
        "phone numbers in call and reminder logs": (
            db.execute("UPDATE calls SET from_number = '' WHERE family_id = ?", [family_id]).rowcount
            + db.execute("UPDATE contact_attempts SET phone = '' WHERE family_id = ?", [family_id]).rowcount),
        "PIN": db.execute("DELETE FROM family_pins WHERE family_id = ?", [family_id]).rowcount,
        "texted menus": db.execute("DELETE FROM sms_menus WHERE family_id = ?", [family_id]).rowcount,
        "words of concerns": db.execute(
            "UPDATE concerns SET words = NULL, answer = NULL, recording = NULL, recording_url = NULL"
            " WHERE family_id = ?", [family_id]).rowcount,
    }
    db.execute("UPDATE families SET display_name = ?, source_id = NULL, link_version = link_version + 1,"
               " updated_at = ? WHERE id = ?", [ANONYMOUS, clock.now_iso(), family_id])
    removed["family name and links"] = 1
    return removed


def policy(db: Database) -> dict[str, int]:
    """The school's retention settings, in days or school years."""
    values = settings.get_many(db, "keep_slip_images_days", "keep_recordings_days", "keep_ledger_years")
    return {name: int(value) for name, value in values.items()}


def log_entries(db: Database, limit: int = 50) -> list[dict]:
    return [{**r, "detail": json.loads(r["detail"])} for r in db.query(
        "SELECT * FROM retention_log ORDER BY id DESC LIMIT ?", [limit])]
