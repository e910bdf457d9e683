"""What the server does on its own while it serves: reminder rounds, answers texted, voice
messages fetched, overdue concerns escalated, and the school's retention rules applied.

Composition: it wires the phone line (ivr), paper (print) and the domain together.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlite_utils import Database

from server import clock, concerns, retention
from server.transaction import write_transaction

log = logging.getLogger(__name__)


def apply_retention(db: Database, *, dry_run: bool = False, slip_age: dt.timedelta | None = None,
                    actor: str = "retention") -> dict:
    """Every retention rule at once, by the school's settings (``slip_age`` overrides the slip rule)."""
    from print.retention import delete_slip_images  # start-up speed: OpenCV loads only when images are pruned

    policy = retention.policy(db)
    slips = delete_slip_images(db, slip_age or dt.timedelta(days=policy["keep_slip_images_days"]), dry_run=dry_run)
    with write_transaction(db):
        if slips.deleted and not dry_run:
            db.execute("INSERT INTO retention_log (at, what, count, detail, actor) VALUES (?, 'slip images', ?, ?, ?)",
                       [clock.now_iso(), len(slips.deleted), f'{{"cutoff": "{slips.cutoff}"}}', actor])
        messages = retention.delete_voice_messages(
            db, dt.timedelta(days=policy["keep_recordings_days"]), dry_run=dry_run, actor=actor)
    families = retention.anonymise_left_families(db, policy["keep_ledger_years"], dry_run=dry_run, actor=actor)
    return {"dry_run": dry_run, "policy": policy, "slip_images": slips.as_dict(), "slip_image_files": slips.deleted,
            "voice_messages": messages.as_dict(), "families_anonymised": families.as_dict(),
            "family_ids": families.families}


def scheduled_round(db: Database, *, reminders: bool = True) -> None:
    """One round of the server's own work (every 15 minutes while serving)."""
    from ivr import answers, config, followup, recordings  # start-up speed: the phone line loads only when serving

    if reminders:
        followup.run(db)
    answers.send_texts(db)
    recordings.fetch_pending(db, config.load(db))
    with write_transaction(db):
        escalated = concerns.escalate_overdue(db)
    if escalated:
        log.warning("%s concerns overdue, escalated to the office: %s", len(escalated),
                    ", ".join(str(c["id"]) for c in escalated))
    apply_retention(db)
