"""Delivery detail per family and channel, as broadcast tools show it.

phone: answered / machine / busy / no answer / failed / calling / opted out / consent pending
text:  delivered / sent / failed / undelivered / opted out (a failure carries the carrier's code: "undelivered 30007")
paper: printed / handed out / slip returned / in review
"""

from __future__ import annotations

import json

from sqlite_utils import Database

CHANNELS = ("phone", "text", "paper")
FAILED = {"busy", "no answer", "failed", "machine", "opted out", "consent pending", "undelivered"}
_CALL = {"completed": "answered", "machine": "machine", "busy": "busy", "no-answer": "no answer", "failed": "failed",
         "canceled": "failed", "sent": "calling", "in-progress": "answered", "ringing": "calling"}
_TEXT = {"delivered": "delivered", "sent": "sent", "queued": "sent", "failed": "failed", "undelivered": "undelivered"}


def detail(db: Database, notice: dict, family_ids: list[int]) -> dict[int, dict]:
    out = {fid: {"phone": None, "text": None, "paper": None} for fid in family_ids}
    if not family_ids:
        return out
    marks = ",".join("?" * len(family_ids))
    for row in db.query(f"SELECT family_id, channel, outcome, error_code FROM contact_attempts WHERE notice_id = ?"
                        f" AND family_id IN ({marks}) ORDER BY id", [notice["id"], *family_ids]):
        key, table = ("phone", _CALL) if row["channel"] == "voice" else ("text", _TEXT)
        out[row["family_id"]][key] = table.get(row["outcome"], row["outcome"])
        out[row["family_id"]][key + "_error"] = row["error_code"]
    _phone_rules(db, out, family_ids, marks)
    _paper(db, notice, out, family_ids, marks)
    return out


def _phone_rules(db: Database, out: dict, family_ids: list[int], marks: str) -> None:
    rows = db.query(f"SELECT g.family_id, f.preferred_channel, p.consent_calls, p.do_not_call, p.sms_opt_out"
                    f" FROM guardians g JOIN families f ON f.id = g.family_id LEFT JOIN phone_prefs p ON p.phone = g.phone"
                    f" WHERE g.active = 1 AND g.phone_valid = 1 AND g.family_id IN ({marks})", family_ids)
    numbers: dict[int, list[dict]] = {}
    for row in rows:
        numbers.setdefault(row["family_id"], []).append(row)
    for family_id, phones in numbers.items():
        entry = out[family_id]
        if all(p["do_not_call"] for p in phones):
            entry["phone"] = "opted out"
        elif entry["phone"] is None and phones[0]["preferred_channel"] == "voice" and not any(p["consent_calls"] for p in phones):
            entry["phone"] = "consent pending"
        if all(p["sms_opt_out"] for p in phones):
            entry["text"] = "opted out"


def _paper(db: Database, notice: dict, out: dict, family_ids: list[int], marks: str) -> None:
    for row in db.query(f"SELECT family_id, notice_ids FROM slips WHERE week = ? AND family_id IN ({marks})",
                        [notice["week"], *family_ids]):
        if notice["id"] in json.loads(row["notice_ids"]):
            out[row["family_id"]]["paper"] = "printed"
    for row in db.query(f"SELECT family_id, kind FROM events WHERE notice_id = ? AND channel = 'paper'"
                        f" AND family_id IN ({marks})", [notice["id"], *family_ids]):
        current = out[row["family_id"]]["paper"]
        state = "handed out" if row["kind"] == "delivered" else "slip returned"
        if current != "slip returned":
            out[row["family_id"]]["paper"] = state
    for row in db.query(f"SELECT DISTINCT family_id FROM review_items WHERE status = 'open' AND family_id IN ({marks})",
                        family_ids):
        if out[row["family_id"]]["paper"] != "slip returned":
            out[row["family_id"]]["paper"] = "in review"

