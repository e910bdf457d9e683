"""Reminders: every family whose notice stays unconfirmed gets the next step its phones allow.

A round finds (family, notice) pairs past the delay, outside quiet hours and under the attempt
limit. Each gets, whatever its preferred channel: a text to a mobile that accepts texts, or a
call to a number whose owner consented (phone families are called first); a family with
neither is left to its teacher (channel ``teacher`` in the round's result; it stays on the
notice's chase list). Each number is contacted at most once per round. Dry runs (no Twilio
credentials) are counted apart, so they never use up the real attempts.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlite_utils import Database

from ivr import config, sms
from ivr.transport import DryRun, Transport, for_config
from server import clock, ledger, notices, phones, settings

log = logging.getLogger("paperbridge.reminders")


@dataclass
class Attempt:
    family_code: str
    notice_id: int
    phone: str
    channel: str
    sid: str


def due(db: Database, now: dt.datetime, *, dry_run: bool = False) -> list[tuple[dict, dict]]:
    """(notice, family) pairs that have waited too long and may still be chased (attempts of
    the same kind, real or dry run, count against the limit)."""
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
            tries = db.execute("SELECT count(*) FROM contact_attempts WHERE family_id = ? AND notice_id = ?"
                               " AND dry_run = ?", [family_id, notice["id"], int(dry_run)]).fetchone()[0]
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


def next_steps(db: Database, family: dict) -> list[tuple[str, str]]:
    """(channel, number) reminders this family's phones allow, best first: texts to mobiles that
    accept them and calls to numbers with consent (calls first for a family that prefers them)."""
    texts = [("sms", n) for n in usable_numbers(db, family, "sms") if phones.can_text(n)]
    calls = [("voice", n) for n in usable_numbers(db, family, "voice")]
    return calls + texts if family["preferred_channel"] == "voice" else texts + calls


def record_attempt(db: Database, *, family_id: int, notice_id: int, phone: str, channel: str, round_id: str,
                   sid: str, transport: Transport) -> None:
    db.table("contact_attempts").insert({"family_id": family_id, "notice_id": notice_id, "phone": phone,
                                         "channel": channel, "round": round_id, "sid": sid, "at": clock.now_iso(),
                                         "dry_run": int(isinstance(transport, DryRun))})


def run(db: Database, transport: Transport | None = None, now: dt.datetime | None = None) -> list[Attempt]:
    """One round of reminders. Returns what was sent (or, in dry run, logged), and the families
    left to their teacher (channel ``teacher``: no number to text or call)."""
    now = now or clock.now()
    local = now.astimezone(settings.zone(db)).time()
    if settings.in_window(local, settings.parse_window(settings.get(db, "quiet_hours"))):
        log.info("reminder round skipped: quiet hours (%s)", settings.get(db, "quiet_hours"))
        return []
    conf = config.load(db)
    transport = transport or for_config(db, conf)
    round_id, called, sent = clock.uuid7(), set(), []
    school = settings.get(db, "school_name")
    for notice, family in due(db, now, dry_run=isinstance(transport, DryRun)):
        steps = next_steps(db, family)
        if not steps:
            sent.append(Attempt(family["code"], notice["id"], "", "teacher", ""))
            continue
        for channel, phone in steps:
            if phone in called:
                continue  # the same number is never rung twice in one round
            called.add(phone)
            if channel == "voice":
                sid = transport.call(phone, conf.url(f"/ivr/voice/outbound?f={family['id']}"))
            else:
                sid = transport.text(phone, sms.notice_text(notice, family["language"], school))
            record_attempt(db, family_id=family["id"], notice_id=notice["id"], phone=phone, channel=channel,
                           round_id=round_id, sid=sid, transport=transport)
            sent.append(Attempt(family["code"], notice["id"], phone, channel, sid))
            break
    log.info("reminder round %s: %s calls, %s texts, %s left to teachers%s", round_id,
             sum(a.channel == "voice" for a in sent), sum(a.channel == "sms" for a in sent),
             sum(a.channel == "teacher" for a in sent), "" if conf.live else " (dry run: nothing sent)")
    return sent


def tell_readers(db: Database, old_id: int, new_notice: dict, transport: Transport | None = None) -> dict[str, int]:
    """Families who had read or confirmed a notice that was just corrected or withdrawn hear of the
    new version on their own channel now: a text for texting families, a call (with consent) for
    phone families. The rest meet it where they read: the app, the next bulletin, the kiosk.
    Nobody is contacted in quiet hours (they meet it where they read, and reminders follow), and
    a private notice is never put in a text or call: its families hear it on the phone line."""
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
        numbers = usable_numbers(db, family, channel) if channel and not quiet and not new_notice["private"] else []
        if not channel or not numbers:
            told["elsewhere"] += 1
            continue
        if channel == "voice":
            sid = transport.call(numbers[0], conf.url(f"/ivr/voice/outbound?f={family_id}"))
        else:
            sid = transport.text(numbers[0], sms.notice_text(new_notice, family["language"], school))
        record_attempt(db, family_id=family_id, notice_id=new_notice["id"], phone=numbers[0], channel=channel,
                       round_id=round_id, sid=sid, transport=transport)
        told[channel] += 1
    log.info("notice %s replaced by %s: %s readers told by text, %s by call, %s where they read", old_id,
             new_notice["id"], told["sms"], told["voice"], told["elsewhere"])
    return told
