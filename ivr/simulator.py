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


@dataclass(frozen=True)
class Spoken:
    """One <Say>: its words, Twilio language, SSML rate, and whether keys may interrupt it."""

    text: str
    language: str
    rate: str
    interruptible: bool


@dataclass
class Turn:
    """What the caller heard, and what the line waits for next."""

    spoken: list[Spoken] = field(default_factory=list)
    played: list[str] = field(default_factory=list)  # <Play> URLs (a teacher's recording)
    action: str | None = None  # where keys go (a Gather's action), None when the call ended
    finish_on_key: str = "#"  # Twilio's default
    num_digits: int | None = None
    timeout: int = 5  # Twilio's default, seconds
    dialled: str | None = None
    dial_action: str | None = None
    record_action: str | None = None  # a <Record> waits for the caller's message
    record_silence: str | None = None  # where Twilio goes when nothing was said (the verb after <Record>)
    hung_up: bool = False

    @property
    def said(self) -> list[str]:
        return [s.text for s in self.spoken]

    @property
    def text(self) -> str:
        return " ".join(self.said)

    def digits(self, keys: str) -> str:
        """What Twilio sends as Digits for these keys: up to the finish key, at most numDigits."""
        if self.finish_on_key and self.finish_on_key in keys:
            keys = keys[:keys.index(self.finish_on_key)]
        return keys[:self.num_digits] if self.num_digits else keys


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
        self.sent: list[tuple[str, dict]] = []  # every webhook: full URL and form, as Twilio signs them

    def post(self, url: str, form: dict, *, sign: bool = True):
        """One signed webhook request, exactly as Twilio would send it."""
        full = url if url.startswith("http") else self.conf.url(url)
        self.sent.append((full, form))
        headers = {"X-Twilio-Signature": RequestValidator(self.conf.auth_token).compute_signature(full, form)} if sign else {}
        parts = urlsplit(full)
        return self.client.post(parts.path + (f"?{parts.query}" if parts.query else ""), data=form, headers=headers)

    def _form(self, **extra) -> dict:
        return {"CallSid": self.sid, "From": self.from_number, "To": self.to, "CallStatus": "in-progress",
                "AccountSid": self.conf.account_sid or "ACdryrun", **extra}

    def dial(self, path: str = "/ivr/voice") -> Turn:
        return self._follow(path, self._form())

    def press(self, keys: str = "") -> Turn:
        """Send keys to the waiting Gather ('' is silence, as actionOnEmptyResult sends it). As on
        Twilio, the finish key (# by default) ends the input and a one-key menu takes one key."""
        if self.turn.action is None:
            raise RuntimeError("the call has ended")
        return self._follow(self.turn.action, self._form(Digits=self.turn.digits(keys)))

    def leave_message(self, seconds: int = 8) -> Turn:
        """Speak a message after the beep (``seconds`` of it, 0: silence), as Twilio reports it:
        the action with the recording's URL, or, when nothing was said, the verb after <Record>."""
        if self.turn.record_action is None:
            raise RuntimeError("the line is not recording")
        if seconds <= 0:
            return self._follow(self.turn.record_silence or "", self._form())
        url = (f"https://api.twilio.com/2010-04-01/Accounts/{'AC' + '0' * 32}/Recordings/RE{uuid.uuid4().hex}")
        return self._follow(self.turn.record_action, self._form(RecordingUrl=url, RecordingDuration=str(seconds),
                                                                RecordingSid=url.rsplit("/", 1)[1], Digits="#"))

    def dial_ends(self, status: str = "no-answer") -> Turn:
        """The office did not answer (or hung up): Twilio posts to the <Dial action>, if any."""
        if self.turn.dial_action is None:
            raise RuntimeError("the call ended with the dial: no <Dial action>")
        return self._follow(self.turn.dial_action, self._form(DialCallStatus=status))

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
                turn.spoken.append(_spoken(verb, False))
            elif verb.tag == "Play":
                turn.played.append((verb.text or "").strip())
            elif verb.tag == "Gather":
                turn.spoken += [_spoken(s, True) for s in verb if s.tag == "Say"]
                turn.played += [(p.text or "").strip() for p in verb if p.tag == "Play"]
                turn.action, turn.finish_on_key = verb.get("action"), verb.get("finishOnKey", "#")
                turn.num_digits = int(verb.get("numDigits", "0")) or None
                turn.timeout = int(verb.get("timeout", 5))
                return None
            elif verb.tag == "Record":
                siblings = list(root)
                turn.record_action = verb.get("action")
                turn.record_silence = next((v.text for v in siblings[siblings.index(verb) + 1:] if v.tag == "Redirect"),
                                           None)
                return None
            elif verb.tag == "Redirect":
                return verb.text
            elif verb.tag == "Dial":
                turn.dialled, turn.dial_action = (verb.text or "").strip(), verb.get("action")
                return None
            elif verb.tag == "Hangup":
                turn.hung_up = True
                return None
        turn.hung_up = True  # the end of a TwiML document ends the call
        return None


def _spoken(say: ET.Element, interruptible: bool) -> Spoken:
    prosody = say.find("prosody")
    return Spoken("".join(say.itertext()).strip(), say.get("language", "en-US"),
                  prosody.get("rate", "100%") if prosody is not None else "100%", interruptible)


ESPEAK_VOICES = {"cmn-CN": "cmn", "cmn-TW": "cmn", "yue-HK": "yue", "en-US": "en-us"}


def interactive(app: Flask, from_number: str, speak: bool, echo=print, ask=input) -> None:
    """Play a call on the terminal: print (and speak) each prompt, read keys."""
    phone = Phone(app, from_number)
    espeak = shutil.which("espeak-ng") if speak else None
    echo(f"Calling the school line from {from_number} (dry run; type keys and Enter, just Enter for silence, q to hang up)")
    turn = phone.dial()
    while True:
        for spoken in turn.spoken:
            echo(f"  📞 {spoken.text}")
            if espeak:
                words_per_minute = round(175 * int(spoken.rate.rstrip("%") or 100) / 100)
                subprocess.run([espeak, "-v", ESPEAK_VOICES.get(spoken.language, "en-us"), "-s", str(words_per_minute),
                                spoken.text], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if turn.dialled:
            echo(f"  (putting you through to {turn.dialled}; type n for no answer)")
            if turn.dial_action is None or ask("office> ").strip().lower() != "n":
                echo("  (the line hangs up)")
                return
            turn = phone.dial_ends()
            continue
        if turn.record_action:
            echo("  (beep: type what you would say, or just Enter for silence)")
            turn = phone.leave_message(len(ask("message> ").split()) * 2)
            continue
        if turn.action is None:
            echo("  (the line hangs up)")
            return
        try:
            keys = ask("keys> ").strip()
        except EOFError:  # input ran out: as if the caller put the phone down
            keys = "q"
        if keys.lower() == "q":
            echo("  (you hang up)")
            return
        turn = phone.press(keys)
