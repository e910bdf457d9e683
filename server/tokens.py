"""Identity on paper and on the phone: family codes with a check digit, signed QR payloads.

Family code: digits plus a Damm check digit, which catches every single-digit
error and every swap of two adjacent digits (typed on a phone keypad or at the kiosk).

QR payload (uppercase, QR alphanumeric mode, ~38 characters)::

    PB1A.SCH.2648.100017.3.K7Q2M4X9ZT3B2
    |  |  |    |    |      | '- 64-bit HMAC-SHA256 tag, base32
    |  |  |    |    |      '--- slip serial (reprints get a new one)
    |  |  |    |    '---------- family code (with check digit)
    |  |  |    '--------------- bulletin week: YYWW
    |  |  '-------------------- school id
    |  '----------------------- key id (A = first school secret)
    '-------------------------- format and slip layout version
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

from server.errors import BadCode, BadSignature

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm_digit(digits: str) -> str:
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][int(ch)]
    return str(interim)


def family_code(number: int) -> str:
    """The printed code for the family's serial number: the number plus its check digit."""
    if number < 0:
        raise ValueError("family numbers are positive")
    base = str(number)
    return base + damm_digit(base)


_SEPARATORS = frozenset(" -.\u3000\t\u2010\u2011\u2012\u2013\uff0d")


def check_family_code(typed: str) -> str:
    """Clean a typed code (spaces, dashes, full-width digits) and check its digit."""
    digits = [unicodedata.decimal(ch, None) for ch in typed if ch not in _SEPARATORS]
    if None in digits:
        raise BadCode("A family code has only digits.")
    code = "".join(map(str, digits))
    if len(code) < 2 or len(code) > 12:
        raise BadCode("A family code has 5 to 12 digits.")
    if damm_digit(code) != "0":
        raise BadCode("That family code has a typing error (the check digit does not match).")
    return code


TAG_BYTES = 8
FORMAT = "PB1"
_PAYLOAD_RE = re.compile(r"^PB(\d)([A-Z])\.([A-Z0-9]{1,8})\.(\d{4})\.(\d{2,12})\.(\d{1,8})\.([A-Z2-7]{13})$")


@dataclass(frozen=True)
class SlipId:
    school: str
    week: str  # '2026-W48'
    family_code: str
    serial: int
    layout: int = 1
    key_id: str = "A"


def _tag(secret: bytes, body: str) -> str:
    digest = hmac.new(secret, body.encode("ascii"), hashlib.sha256).digest()[:TAG_BYTES]
    return base64.b32encode(digest).decode("ascii").rstrip("=")


def _compact_week(week: str) -> str:
    year, _, number = week.partition("-W")
    if len(year) != 4 or not number.isdigit():
        raise ValueError(f"{week!r} is not an ISO week like 2026-W48")
    return year[2:] + f"{int(number):02d}"


def sign_slip(slip: SlipId, secret: bytes) -> str:
    """The QR text for a slip."""
    if not re.fullmatch(r"[A-Z0-9]{1,8}", slip.school):
        raise ValueError("school id must be uppercase letters or digits")
    body = (f"PB{slip.layout}{slip.key_id}.{slip.school}.{_compact_week(slip.week)}."
            f"{slip.family_code}.{slip.serial}")
    return f"{body}.{_tag(secret, body)}"


def verify_slip(text: str, secrets_by_key: dict[str, bytes], school: str) -> SlipId:
    """Parse and verify QR text. Anything forged, altered or foreign raises BadSignature."""
    match = _PAYLOAD_RE.match(text.strip())
    if not match:
        raise BadSignature("not a PaperBridge slip code")
    layout, key_id, slip_school, week, code, serial, tag = match.groups()
    if slip_school != school:
        raise BadSignature(f"slip belongs to another school ({slip_school})")
    secret = secrets_by_key.get(key_id)
    if secret is None:
        raise BadSignature(f"slip signed with an unknown key ({key_id})")
    body = text.strip().rsplit(".", 1)[0]
    if not hmac.compare_digest(_tag(secret, body), tag):
        raise BadSignature("slip signature does not verify")
    try:
        check_family_code(code)
    except BadCode:
        raise BadSignature("slip family code fails its check digit") from None
    return SlipId(school=slip_school, week=f"20{week[:2]}-W{week[2:]}", family_code=code,
                  serial=int(serial), layout=int(layout), key_id=key_id)
