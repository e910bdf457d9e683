"""Logging for every command: one line per record on stderr, with private things masked.

Phone numbers keep their country code and last four digits; family links, bearer
tokens, passwords, PINs and secrets are replaced. Masking happens in the
formatter, after the message and any traceback are rendered, so nothing a
library logs can slip past it. Under systemd stderr goes to the journal
(see docs/operations.md); set PAPERBRIDGE_LOG_LEVEL=DEBUG for more.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Callable

import phonenumbers

from server import phones

_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"(/f/)[A-Za-z0-9_\-.]+"), r"\1<link>"),
    (re.compile(r"(Bearer\s+)[^\s\"',]+", re.IGNORECASE), r"\1<token>"),
    (re.compile(r"((?:token|password|passwd|pin|secret|auth_token|signature|code)[\"']?\s*[:=]\s*[\"']?)"
                r"[^\s\"',&}]+", re.IGNORECASE), r"\1<hidden>"),
    (re.compile(r"\b[0-9a-fA-F]{40,}\b"), "<secret>"),
    (re.compile(r"\+\d{7,15}\b"), lambda match: phones.mask(match.group())),
    (re.compile(r"(?<![\d.:-])(1[3-9]\d)\d{4}(\d{4})(?![\d.:-])"), r"\1****\2"),
)


# Local numbers without a country code ('91234567', '0755 8888 1234') as the regions PaperBridge
# schools are in write them; phonenumbers' matcher finds them in free text.
_LOCAL_REGIONS = ("HK", "CN", "MO", "TW", "SG")


def redact(text: str) -> str:
    """Mask phone numbers, links, tokens and secrets in one log line (or traceback)."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return _mask_local_numbers(text)


def _mask_local_numbers(text: str) -> str:
    if sum(ch.isdigit() for ch in text) < 7:
        return text
    for region in _LOCAL_REGIONS:
        found = list(phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID))
        for match in reversed(found):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            text = text[:match.start] + phones.mask(e164) + text[match.end:]
    return text


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (a test runner or a daemon may swap it after start-up)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


class RedactingFormatter(logging.Formatter):
    """Masks the message, the traceback and the stack, not the line's own time and level:
    the timestamp's digits used to send every line through the phone-number matcher (a
    millisecond each), and waitress logs a line per request when the server is behind."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = redact(record.message)
        return super().formatMessage(record)

    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))


def configure(level: str | None = None, stream=None) -> logging.Handler:
    """Send log records to stderr through the redacting formatter (idempotent)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler.formatter, RedactingFormatter):
            return handler
    handler = logging.StreamHandler(stream) if stream else _CurrentStderr()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("PAPERBRIDGE_LOG_LEVEL") or "INFO").upper())
    # The twilio client logs whole requests (numbers, message bodies) at INFO.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    return handler
