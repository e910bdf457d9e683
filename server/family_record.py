"""Everything the school holds on one family, for a parent who asks (a subject access request).

``gather`` collects the roster data (family, students, guardians with phones and their consent
and opt-outs), every receipt event with its evidence, the concerns register entries, reminder
attempts and calls — as one JSON-ready dict. print.family_record draws the same as a PDF.

Example::

    record = gather(db, "F0427")
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from server import clock, roster, settings
from server.errors import UnknownFamily


def gather(db: Database, code: str) -> dict:
    """The family's whole record (UnknownFamily for a code nobody has, current or past)."""
    family = roster.family_by_code(db, code.strip())
    if family is None:
        raise UnknownFamily(f"no family, current or past, has the code {code.strip()!r}")
    fid = family["id"]
    phones = [r["phone"] for r in db.query("SELECT phone FROM guardians WHERE family_id = ? AND phone IS NOT NULL",
                                           [fid])]
    marks = ",".join("?" * len(phones)) or "NULL"
    return {
        "school": settings.get(db, "school_name"),
        "made_at": clock.now_iso(),
        "family": {k: family[k] for k in ("code", "display_name", "language", "preferred_channel", "active")},
        "students": list(db.query("SELECT name, class_id, source_id AS student_id, active FROM students"
                                  " WHERE family_id = ? ORDER BY id", [fid])),
        "guardians": list(db.query("SELECT name, phone, language, active FROM guardians WHERE family_id = ?"
                                   " ORDER BY id", [fid])),
        "consent": list(db.query(f"SELECT phone, consent_calls, consent_note, do_not_call, sms_opt_out, updated_at"
                                 f" FROM phone_prefs WHERE phone IN ({marks})", phones)),
        "receipts": [{**r, "payload": json.loads(r["payload"] or "{}")} for r in db.query(
            "SELECT e.occurred_at, e.recorded_at, e.channel, e.kind, e.notice_id,"
            " (SELECT t.title FROM notice_texts t JOIN notices n ON n.id = t.notice_id WHERE t.notice_id = e.notice_id"
            "  ORDER BY t.language = n.primary_language DESC, t.language LIMIT 1) AS notice,"
            " e.source, e.actor, e.payload, e.voids, e.id FROM events e WHERE e.family_id = ? ORDER BY e.seq", [fid])],
        "concerns": list(db.query(
            "SELECT id, received_at, channel, kind, words, recording, status, answer, answered_by, answered_at,"
            " told_via, closed_at FROM concerns WHERE family_id = ? ORDER BY id", [fid])),
        "reminders": list(db.query("SELECT at, channel, phone, outcome, notice_id FROM contact_attempts"
                                   " WHERE family_id = ? ORDER BY id", [fid])),
        "calls": list(db.query("SELECT started_at, direction, from_number, status FROM calls WHERE family_id = ?"
                               " ORDER BY started_at", [fid])),
        "slips": list(db.query("SELECT week, id AS serial, printed_at FROM slips WHERE family_id = ? ORDER BY id",
                               [fid])),
    }
