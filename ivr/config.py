"""Twilio settings from the environment: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_NUMBER,
PAPERBRIDGE_PUBLIC_URL. Without them the phone line runs in dry-run mode, with a local
signing token so that webhook signatures are still checked (the simulator signs with it).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from functools import lru_cache

from sqlite_utils import Database

from server import settings

log = logging.getLogger("paperbridge.ivr")


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    number: str
    public_url: str
    live: bool  # real Twilio credentials are set
    validate: bool

    def url(self, path: str) -> str:
        return self.public_url.rstrip("/") + path


def load(db: Database) -> TwilioConfig:
    sid, token = os.environ.get("TWILIO_ACCOUNT_SID", ""), os.environ.get("TWILIO_AUTH_TOKEN", "")
    live = bool(sid and token)
    if not live:  # a stable local token, so the simulator and tests sign like Twilio does
        token = _dry_run_token(settings.school_secret(db))
    validate = os.environ.get("PAPERBRIDGE_IVR_INSECURE") != "1"
    if not validate:
        log.warning("PAPERBRIDGE_IVR_INSECURE=1: Twilio webhook signatures are NOT checked. Development only!")
    stored = settings.get_many(db, "base_url", "phone_line")
    public = os.environ.get("PAPERBRIDGE_PUBLIC_URL") or stored["base_url"]
    return TwilioConfig(sid, token, os.environ.get("TWILIO_NUMBER", stored["phone_line"]), public, live, validate)


@lru_cache(maxsize=8)
def _dry_run_token(secret: bytes) -> str:
    return hmac.new(secret, b"ivr-dry-run", hashlib.sha256).hexdigest()
