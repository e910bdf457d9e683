"""Chasing families who have not confirmed: call now, send a text, or record "told in person".

Calls and texts go through the same transport and rules as the reminder rounds (consent,
opt-out, one ring per number per round); "told in person" is a receipt with the teacher as actor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlite_utils import Database

from ivr import config, sms
from ivr.followup import record_attempt, usable_numbers
from ivr.transport import for_config
from server import clock, ledger, notices, settings
from server.errors import NotPublished


@dataclass
class ChaseResult:
    done: list[str] = field(default_factory=list)  # family codes
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (family code, why)


ACTIONS = ("call", "text", "told")


def chase(db: Database, notice: dict, family_ids: list[int], action: str, actor: str, note: str = "") -> ChaseResult:
    if action not in ACTIONS:
        raise ValueError("action must be call, text or told")
    if not notices.is_published(notice):
        raise NotPublished(f"notice {notice['id']} is not published yet; nothing was sent")
    result, round_id, used = ChaseResult(), clock.uuid7(), set()
    conf = config.load(db)
    transport = for_config(db, conf)
    for family_id in family_ids:
        family = db.table("families").get(family_id)
        if action == "told":
            event = ledger.new_event(notice["id"], family_id, "in_person", "confirmed", actor=actor,
                                     source=f"teacher:{actor}", payload={"note": note.strip()[:200]} if note.strip() else {},
                                     dedupe_key=f"told:{notice['id']}:{family_id}:{actor}")
            ledger.record(db, [event])
            result.done.append(family["code"])
            continue
        numbers = [n for n in usable_numbers(db, family, "voice" if action == "call" else "sms") if n not in used]
        if not numbers:
            why = "no number with consent to calls" if action == "call" else "no number that accepts texts"
            result.skipped.append((family["code"], why))
            continue
        phone = numbers[0]
        used.add(phone)
        if action == "call":
            sid = transport.call(phone, conf.url(f"/ivr/voice/outbound?f={family_id}"))
        else:
            sid = transport.text(phone, sms.notice_text(notice, family["language"], settings.get(db, "school_name")))
        record_attempt(db, family_id=family_id, notice_id=notice["id"], phone=phone,
                       channel="voice" if action == "call" else "sms", round_id=round_id, sid=sid, transport=transport)
        result.done.append(family["code"])
    return result


def attempts(db: Database, notice_id: int) -> dict[int, dict]:
    """Per family: how many reminders so far, and the last outcome."""
    out: dict[int, dict] = {}
    for row in db.query("SELECT family_id, count(*) n, max(at) last, outcome FROM contact_attempts WHERE notice_id = ?"
                        " GROUP BY family_id", [notice_id]):
        out[row["family_id"]] = {"count": row["n"], "last": row["last"], "outcome": row["outcome"]}
    return out
