"""Phone numbers to E.164, with the school's default region for local numbers."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers

MIN_DIGITS = 6  # fewer digits are not a phone number worth matching on


@dataclass(frozen=True)
class Phone:
    raw: str
    e164: str | None  # None when the number is not valid
    key: str | None = None  # the digits with country code, valid or not: '(+852) 7810-3102' -> '+85278103102'

    @property
    def valid(self) -> bool:
        return self.e164 is not None


def normalize(raw: str, region: str) -> Phone:
    """A number as written, its E.164 form when valid, and its digits for matching either way
    (a number range the metadata does not know yet is still the same grandmother's phone)."""
    raw = raw.strip()
    if not raw:
        return Phone(raw, None)
    try:
        number = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException:
        digits = "".join(ch for ch in raw if ch.isdigit())
        return Phone(raw, None, digits if len(digits) >= MIN_DIGITS else None)
    key = f"+{number.country_code}{number.national_number}"
    if not phonenumbers.is_valid_number(number):
        return Phone(raw, None, key)
    return Phone(raw, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), key)


def mask(phone: str | None) -> str:
    """'+8613812345678' -> '+86 *******5678': enough to recognise, not to dial."""
    if not phone:
        return ""
    try:
        number = phonenumbers.parse(phone)
        national = str(number.national_number)
        return f"+{number.country_code} " + "*" * max(len(national) - 4, 0) + national[-4:]
    except phonenumbers.NumberParseException:
        return "*" * max(len(phone) - 4, 0) + phone[-4:]


TEXTABLE = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def can_text(e164: str) -> bool:
    """Whether a text message can reach this number: a mobile (or a range that may be mobile),
    not a landline."""
    try:
        return phonenumbers.number_type(phonenumbers.parse(e164)) in TEXTABLE
    except phonenumbers.NumberParseException:
        return False
