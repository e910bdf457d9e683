"""A phone on the terminal: plays the real call flow against the app, signed as Twilio signs.

Used by `paperbridge ivr simulate` and by the tests. No Twilio account needed.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Flask
from twilio.request_validator import RequestValidator

from ivr import config
from server import db as database


@dataclass
class Turn:
    """What the caller heard, and what the line waits for next."""

    said: list[str] = field(default_factory=list)
    action: str | None = None  # where keys go (a Gather's action), None when the call ended
    finish_on_key: str | None = None
    dialled: str | None = None
    hung_up: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.said)


class Phone:
    def __init__(self, app: Flask, from_number: str, *, to: str = "+10000000000", sid: str | None = None):
        self.client = app.test_client()
        db = database.connect(app.config["DATABASE"])
        try:
            self.conf = config.load(db)
        finally:
            db.close()
        self.from_number, self.to = from_number, to
        self.sid = sid or "CA" + uuid.uuid4().hex
        self.turn = Turn()
        self.log: list[Turn] = []

    def post(self, url: str, form: dict, *, sign: bool = True):
        """One signed webhook request, exactly as Twilio would send it."""
        full = url if url.startswith("http") else self.conf.url(url)
        headers = {"X-Twilio-Signature": RequestValidator(self.conf.auth_token).compute_signature(full, form)} if sign else {}
        parts = urlsplit(full)
        return self.client.post(parts.path + (f"?{parts.query}" if parts.query else ""), data=form, headers=headers)

    def _form(self, **extra) -> dict:
        return {"CallSid": self.sid, "From": self.from_number, "To": self.to, "CallStatus": "in-progress",
                "AccountSid": self.conf.account_sid or "ACdryrun", **extra}

    def dial(self, path: str = "/ivr/voice") -> Turn:
        return self._follow(path, self._form())

    def press(self, keys: str = "") -> Turn:
        """Send keys to the waiting Gather ('' is silence, as actionOnEmptyResult sends it)."""
        if self.turn.action is None:
            raise RuntimeError("the call has ended")
        return self._follow(self.turn.action, self._form(Digits=keys))

    def _follow(self, url: str, form: dict) -> Turn:
        turn = Turn()
        for _ in range(50):  # a loop guard: a flow never redirects this often
            response = self.post(url, form)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
            redirect = self._read(ET.fromstring(response.data), turn)
            if redirect is None:
                break
            url, form = redirect, self._form()
        self.turn = turn
        self.log.append(turn)
        return turn

    @staticmethod
    def _read(root: ET.Element, turn: Turn) -> str | None:
        """Collect speech; return a Redirect's URL to follow, or None when the turn waits or ends."""
        for verb in root:
            if verb.tag == "Say":
                turn.said.append("".join(verb.itertext()).strip())
            elif verb.tag == "Gather":
                turn.said += ["".join(s.itertext()).strip() for s in verb if s.tag == "Say"]
                turn.action, turn.finish_on_key = verb.get("action"), verb.get("finishOnKey")
                return None
            elif verb.tag == "Redirect":
                return verb.text
            elif verb.tag == "Dial":
                turn.dialled = verb.text
            elif verb.tag == "Hangup":
                turn.hung_up = True
                return None
        return None


def interactive(app: Flask, from_number: str, speak: bool, echo=print, ask=input) -> None:
    """Play a call on the terminal: print (and speak) each prompt, read keys."""
    phone = Phone(app, from_number)
    espeak = shutil.which("espeak-ng") if speak else None
    echo(f"Calling the school line from {from_number} (dry run; type keys and Enter, just Enter for silence, q to hang up)")
    turn = phone.dial()
    while True:
        for line in turn.said:
            echo(f"  📞 {line}")
            if espeak:
                subprocess.run([espeak, "-v", "cmn" if any("\u4e00" <= c <= "\u9fff" for c in line) else "en",
                                "-s", "140", line], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if turn.dialled:
            echo(f"  (put through to {turn.dialled})")
        if turn.action is None:
            echo("  (the line hangs up)")
            return
        keys = ask("keys> ").strip()
        if keys.lower() == "q":
            echo("  (you hang up)")
            return
        turn = phone.press(keys)
