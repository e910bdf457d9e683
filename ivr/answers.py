"""The school's answer reaches the family on the channel it asked on.

A question asked by text is answered by text (now, or after quiet hours at the server's next
15-minute round); a family none of whose numbers takes texts is marked ``none`` (the answer
waits on its family page). A caller hears the answer the next time the family calls the line (ivr.voice reads it
after the greeting). The family link shows it; a question asked on a paper slip or at the help
desk is printed on the family's next bulletin (print.batch).

Example::

    sent = send_texts(db)
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlite_utils import Database

from ivr import config
from ivr.followup import usable_numbers
from ivr.transport import Transport, for_config
from server import clock, concerns, phones, settings
from server.i18n import gettext_for

log = logging.getLogger(__name__)
LIMIT = 480  # characters of the answer in one text (a few SMS parts); the family link has it whole


def where_told(channel: str) -> str:
    """Where a family of ``channel`` meets the answer, for the person who wrote it."""
    return {"text": "text", "phone": "phone", "link": "link"}.get(channel, "bulletin")


def send_texts(db: Database, transport: Transport | None = None, now: dt.datetime | None = None) -> int:
    """Text every answer to a question that came by text and is not told yet (none in quiet hours)."""
    now = now or clock.now()
    if settings.in_window(now.astimezone(settings.zone(db)).time(),
                          settings.parse_window(settings.get(db, "quiet_hours"))):
        return 0
    pending = [c for c in concerns.to_tell(db) if c["channel"] == "text"]
    if not pending:
        return 0
    transport = transport or for_config(db, config.load(db))
    sent = 0
    for concern in pending:
        family = db.table("families").get(concern["family_id"])
        numbers = [n for n in usable_numbers(db, family, "sms") if phones.can_text(n)]
        if not numbers:
            concerns.mark_told(db, concern["id"], "none")
            continue
        _ = gettext_for(family["language"])
        answer = concern["answer"] if len(concern["answer"]) <= LIMIT else concern["answer"][:LIMIT - 1] + "…"
        transport.text(numbers[0], _("%(school)s answers your message: %(answer)s",
                                     school=settings.school_name(db, family["language"]), answer=answer))
        concerns.mark_told(db, concern["id"], "text")
        sent += 1
    log.info("answers texted to families: %s", sent)
    return sent
