"""Phone numbers to E.164, with the school's default region for local numbers."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers


@dataclass(frozen=True)
class Phone:
    raw: str
    e164: str | None  # None when the number is not valid

    @property
    def valid(self) -> bool:
        return self.e164 is not None


def normalize(raw: str, region: str) -> Phone:
    raw = raw.strip()
    if not raw:
        return Phone(raw, None)
    try:
        number = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException:
        return Phone(raw, None)
    if not phonenumbers.is_valid_number(number):
        return Phone(raw, None)
    return Phone(raw, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


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
