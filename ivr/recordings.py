"""Families' voice messages (key 9 on the phone line): fetched from Twilio into the school's own
folder, then deleted at Twilio, so the school alone keeps them and its retention applies.

A message is named by its content hash (<db>-messages/<sha>.mp3), written whole or not at all.
Without Twilio credentials (dry run) nothing is fetched: the register shows the message as
waiting at Twilio.

Example::

    fetched = fetch_pending(db, config.load(db))
"""

from __future__ import annotations

import base64
import logging
import re
import urllib.request
from collections.abc import Callable

from sqlite_utils import Database

from ivr.config import TwilioConfig
from server.db import messages_dir
from server.files import store_by_hash

log = logging.getLogger(__name__)
TWILIO_RECORDING = re.compile(r"^https://api\.twilio\.com/2010-04-01/Accounts/AC[0-9a-f]{32}/Recordings/RE[0-9a-f]{32}$")
MAX_BYTES = 5 * 1024 * 1024  # a minute of MP3 is well under 1 MB


def _request(method: str, url: str, conf: TwilioConfig) -> bytes:
    """One authenticated request to Twilio's API (the edge tests replace)."""
    auth = base64.b64encode(f"{conf.account_sid}:{conf.auth_token}".encode()).decode()
    request = urllib.request.Request(url, method=method, headers={"Authorization": f"Basic {auth}"})
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - only api.twilio.com URLs
        return answer.read(MAX_BYTES + 1)


def fetch_pending(db: Database, conf: TwilioConfig,
                  request: Callable[[str, str, TwilioConfig], bytes] = _request) -> int:
    """Fetch every message still at Twilio; returns how many were stored. A failure is logged and
    tried again next round; a URL that is not Twilio's is never fetched."""
    if not conf.live:
        return 0
    stored = 0
    for concern_id, url in db.execute("SELECT id, recording_url FROM concerns WHERE recording_url IS NOT NULL"
                                      " AND recording IS NULL").fetchall():
        if not TWILIO_RECORDING.match(url):
            log.warning("concern %s: %r is not a Twilio recording URL; not fetched", concern_id, url)
            continue
        try:
            data = request("GET", url + ".mp3", conf)
            if not data or len(data) > MAX_BYTES:
                raise ValueError(f"{len(data)} bytes")
            name = store_by_hash(messages_dir(db), data, "mp3")
            db.execute("UPDATE concerns SET recording = ? WHERE id = ?", [name, concern_id])
            request("DELETE", url + ".json", conf)
            stored += 1
        except (OSError, ValueError) as exc:
            log.warning("concern %s: voice message not fetched yet (%s)", concern_id, exc)
    return stored

