"""Outbound calls and texts behind one small interface: Twilio for real, or a dry run that
logs exactly what would be sent (to the log and the `outbox` table). Nothing else in the
code imports twilio.rest.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlite_utils import Database

from ivr.config import TwilioConfig
from server import clock

log = logging.getLogger("paperbridge.ivr")


class Transport(Protocol):
    def call(self, to: str, url: str) -> str: ...
    def text(self, to: str, body: str) -> str: ...


class DryRun:
    """Records what would be sent; returns made-up SIDs in Twilio's shape."""

    def __init__(self, db: Database):
        self.db = db

    def _log(self, kind: str, to: str, body: str) -> str:
        row = self.db.table("outbox").insert({"kind": kind, "to_number": to, "body": body, "at": clock.now_iso()})
        log.info("dry run %s to %s: %s", kind, to, body)
        return f"{'CA' if kind == 'call' else 'SM'}dryrun{row.last_pk:026d}"

    def call(self, to: str, url: str) -> str:
        return self._log("call", to, url)

    def text(self, to: str, body: str) -> str:
        return self._log("sms", to, body)


class Twilio:
    def __init__(self, config: TwilioConfig):
        from twilio.rest import Client  # start-up speed: the REST client loads only when calls go out for real

        self.client, self.config = Client(config.account_sid, config.auth_token), config

    def call(self, to: str, url: str) -> str:
        call = self.client.calls.create(to=to, from_=self.config.number, url=url,
                                        status_callback=self.config.url("/ivr/status"),
                                        status_callback_event=["completed"], machine_detection="DetectMessageEnd")
        return call.sid

    def text(self, to: str, body: str) -> str:
        return self.client.messages.create(to=to, from_=self.config.number, body=body,
                                           status_callback=self.config.url("/ivr/sms/status")).sid


def for_config(db: Database, config: TwilioConfig) -> Transport:
    return Twilio(config) if config.live else DryRun(db)
