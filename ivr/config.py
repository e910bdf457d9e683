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
        token = hmac.new(settings.school_secret(db), b"ivr-dry-run", hashlib.sha256).hexdigest()
    validate = os.environ.get("PAPERBRIDGE_IVR_INSECURE") != "1"
    if not validate:
        log.warning("PAPERBRIDGE_IVR_INSECURE=1: Twilio webhook signatures are NOT checked. Development only!")
    public = os.environ.get("PAPERBRIDGE_PUBLIC_URL") or settings.get(db, "base_url")
    return TwilioConfig(sid, token, os.environ.get("TWILIO_NUMBER", settings.get(db, "phone_line")), public, live,
                        validate)
