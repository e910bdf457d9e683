"""Reminders: call or text families whose notices stay unconfirmed.

A round finds (family, notice) pairs past the delay, outside quiet hours, under the
attempt limit, with a number that may be used (call consent given by that number's owner,
no do-not-call, no text opt-out), and contacts each number at most once per round.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlite_utils import Database

from ivr import config, sms
from ivr.transport import Transport, for_config
from server import clock, ledger, notices, settings

log = logging.getLogger("paperbridge.reminders")


@dataclass
class Attempt:
    family_code: str
    notice_id: int
    phone: str
    channel: str
    sid: str


def due(db: Database, now: dt.datetime) -> list[tuple[dict, dict]]:
    """(notice, family) pairs that have waited too long and may still be chased."""
    delays = {0: dt.timedelta(hours=int(settings.get(db, "followup_delay_hours"))),
              1: dt.timedelta(hours=int(settings.get(db, "urgent_delay_hours")))}
    limit = int(settings.get(db, "max_attempts"))
    pairs = []
    for notice in notices.list_notices(db, published_only=True, current_only=True):
        delay = delays[notice["urgent"]]
        if not notice["requires_confirmation"] or notice["private"] or clock.parse(notice["publish_at"]) + delay > now:
            continue
        statuses = ledger.notice_status(db, notice["id"])
        for family_id in notices.audience(db, notice):
            if statuses.get(family_id, ledger.Status()).state == "confirmed":
                continue
            tries = db.execute("SELECT count(*) FROM contact_attempts WHERE family_id = ? AND notice_id = ?",
                               [family_id, notice["id"]]).fetchone()[0]
            if tries < limit:
                pairs.append((notice, db.table("families").get(family_id)))
    return pairs


def usable_numbers(db: Database, family: dict, channel: str) -> list[str]:
    """The family's numbers that may be called (consent, no do-not-call) or texted (no opt-out)."""
    rows = db.query("SELECT g.phone, p.consent_calls, p.do_not_call, p.sms_opt_out FROM guardians g"
                    " LEFT JOIN phone_prefs p ON p.phone = g.phone"
                    " WHERE g.family_id = ? AND g.active = 1 AND g.phone_valid = 1 ORDER BY g.id", [family["id"]])
    if channel == "voice":
        return [r["phone"] for r in rows if r["consent_calls"] and not r["do_not_call"]]
    return [r["phone"] for r in rows if not r["sms_opt_out"]]


def run(db: Database, transport: Transport | None = None, now: dt.datetime | None = None) -> list[Attempt]:
    """One round of reminders. Returns what was sent (or, in dry run, logged)."""
    now = now or clock.now()
    local = now.astimezone(settings.zone(db)).time()
    if settings.in_window(local, settings.parse_window(settings.get(db, "quiet_hours"))):
        log.info("reminder round skipped: quiet hours (%s)", settings.get(db, "quiet_hours"))
        return []
    conf = config.load(db)
    transport = transport or for_config(db, conf)
    round_id, called, sent = clock.uuid7(), set(), []
    school = settings.get(db, "school_name")
    for notice, family in due(db, now):
        channel = "voice" if family["preferred_channel"] == "voice" else "sms" if family["preferred_channel"] == "sms" else None
        if channel is None:
            continue
        for phone in usable_numbers(db, family, channel):
            if phone in called:
                continue  # the same number is never rung twice in one round
            called.add(phone)
            if channel == "voice":
                sid = transport.call(phone, conf.url(f"/ivr/voice/outbound?f={family['id']}"))
            else:
                sid = transport.text(phone, sms.notice_text(notice, family["language"], school))
            db.table("contact_attempts").insert({"family_id": family["id"], "notice_id": notice["id"], "phone": phone,
                                           "channel": channel, "round": round_id, "sid": sid, "at": clock.now_iso()})
            sent.append(Attempt(family["code"], notice["id"], phone, channel, sid))
            break
    log.info("reminder round %s: %s calls, %s texts%s", round_id, sum(a.channel == "voice" for a in sent),
             sum(a.channel == "sms" for a in sent), "" if conf.live else " (dry run: nothing sent)")
    return sent


def set_consent(db: Database, phone: str, consent: bool, note: str) -> None:
    """Consent to automated calls, given by the owner of this number (say who and how in the note)."""
    if consent and not note.strip():
        raise ValueError("say who gave consent and how (e.g. 'grandmother, by phone, 2026-11-20')")
    db.execute("INSERT INTO phone_prefs (phone, consent_calls, consent_note, updated_at) VALUES (?, ?, ?, ?)"
               " ON CONFLICT (phone) DO UPDATE SET consent_calls = excluded.consent_calls,"
               " consent_note = excluded.consent_note, updated_at = excluded.updated_at",
               [phone, int(consent), note.strip(), clock.now_iso()])


def tell_readers(db: Database, old_id: int, new_notice: dict, transport: Transport | None = None) -> dict[str, int]:
    """Families who had read or confirmed a notice that was just corrected or withdrawn hear of the
    new version on their own channel now: a text for texting families, a call (with consent) for
    phone families. The rest meet it where they read: the app, the next bulletin, the kiosk.
    Nobody is contacted in quiet hours (they meet it where they read, and reminders follow)."""
    readers = [fid for fid, s in ledger.notice_status(db, old_id).items() if s.state in ("read", "confirmed")]
    told = {"sms": 0, "voice": 0, "elsewhere": 0}
    local = clock.now().astimezone(settings.zone(db)).time()
    quiet = settings.in_window(local, settings.parse_window(settings.get(db, "quiet_hours")))
    conf = config.load(db)
    transport = transport or for_config(db, conf)
    round_id, school = f"told:{old_id}", settings.get(db, "school_name")
    for family_id in readers:
        family = db.table("families").get(family_id)
        channel = family["preferred_channel"] if family["preferred_channel"] in ("sms", "voice") else None
        numbers = usable_numbers(db, family, channel) if channel and not quiet else []
        if not channel or not numbers:
            told["elsewhere"] += 1
            continue
        if channel == "voice":
            sid = transport.call(numbers[0], conf.url(f"/ivr/voice/outbound?f={family_id}"))
        else:
            sid = transport.text(numbers[0], sms.notice_text(new_notice, family["language"], school))
        db.table("contact_attempts").insert({"family_id": family_id, "notice_id": new_notice["id"],
                                             "phone": numbers[0], "channel": channel, "round": round_id, "sid": sid,
                                             "at": clock.now_iso()})
        told[channel] += 1
    log.info("notice %s replaced by %s: %s readers told by text, %s by call, %s where they read", old_id,
             new_notice["id"], told["sms"], told["voice"], told["elsewhere"])
    return told
