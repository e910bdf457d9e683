"""What the server does on its own while it serves: reminder rounds, answers texted, voice
messages fetched, overdue concerns escalated, and the school's retention rules applied.

Composition: it wires the phone line (ivr), paper (print) and the domain together.
"""

from __future__ import annotations

import logging

from sqlite_utils import Database

from server import concerns
from server.transaction import write_transaction

log = logging.getLogger(__name__)


def scheduled_round(db: Database, *, reminders: bool = True, retention: bool = True) -> None:
    """One round of the server's own work (every 15 minutes while serving); ``retention`` also
    applies the retention rules (the loop asks for it once a day: it reads the evidence folder)."""
    from ivr import answers, config, followup, recordings  # start-up speed: the phone line loads only when serving
    from print.retention import apply_rules  # start-up speed: OpenCV loads only when images are pruned

    if reminders:
        followup.run(db)
    answers.send_texts(db)
    recordings.fetch_pending(db, config.load(db))
    with write_transaction(db):
        escalated = concerns.escalate_overdue(db)
    if escalated:
        log.warning("%s concerns overdue, escalated to the office: %s", len(escalated),
                    ", ".join(str(c["id"]) for c in escalated))
    if retention:
        apply_rules(db)
    _forward_to_district(db)


def _forward_to_district(db: Database) -> None:
    """A linked school forwards its ledger each round; an unreachable district is logged and the
    events wait for the next round (nothing is lost, nothing doubled)."""
    from server.district import link  # start-up speed: loads only when serving

    if link.current(db) is None:
        return
    try:
        result = link.push(db)
    except link.DistrictUnreachable as exc:
        log.warning("district forwarding: %s", exc)
        return
    if result.sent or result.pulled:
        log.info("district forwarding: %s district notices received, %s events sent, %s new at the district",
                 result.pulled, result.sent, result.recorded)
    if result.problem:
        log.warning("district forwarding: %s", result.problem)
