"""School settings, declared as data (name, default, help) and stored in the database.

``paperbridge init`` writes the defaults and a fresh school secret; every
setting can be changed later with ``paperbridge setting set NAME VALUE``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlite_utils import Database

from server.errors import NotInitialized


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("school_name", "PaperBridge School", "The school's name, printed on bulletins and said on the phone."),
    Setting("school_id", "SCH", "Short school code (A-Z, 0-9, up to 8) inside every signed QR code."),
    Setting("default_region", "CN", "Region for phone numbers written without a country code (CN, HK, TW, US ...)."),
    Setting("default_language", "zh-Hans", "Language for families whose roster row names none."),
    Setting("timezone", "Asia/Shanghai", "The school's time zone: notice weeks and printed times use it."),
    Setting("base_url", "http://127.0.0.1:5000", "Address that family links printed or texted point to."),
    Setting("phone_line", "", "The school's PaperBridge phone number, printed on bulletins (empty: none yet)."),
    Setting("office_phone", "", "Number the phone line puts callers through to when they press 0 (empty: none)."),
    Setting("office_hours", "08:00-17:00", "When pressing 0 on the phone line reaches the office (local time)."),
    Setting("quiet_hours", "20:30-08:00", "No reminder calls or texts in this window (local time)."),
    Setting("followup_delay_hours", "24", "Hours a notice may stay unconfirmed before a reminder call or text."),
    Setting("urgent_delay_hours", "4", "Hours an urgent notice may stay unconfirmed before a reminder."),
    Setting("max_attempts", "3", "Most reminder calls or texts per family and notice."),
)
BY_NAME = {s.name: s for s in SETTINGS}
SECRET_KEY = "school_secret"


def validate(name: str, value: str) -> str:
    """Return the cleaned value, or raise ValueError with a readable reason."""
    if name not in BY_NAME:
        raise ValueError(f"unknown setting {name!r}; known: {', '.join(BY_NAME)}")
    value = value.strip()
    if name == "school_id" and not (value.isalnum() and value.isascii() and 1 <= len(value) <= 8):
        raise ValueError("school_id must be 1-8 letters or digits")
    if name in ("office_hours", "quiet_hours"):
        parse_window(value)
    if name in ("followup_delay_hours", "urgent_delay_hours", "max_attempts") and not (value.isdigit() and int(value) > 0):
        raise ValueError(f"{name} must be a whole number above 0")
    if name == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (example: Asia/Hong_Kong)") from None
    return value.upper() if name == "school_id" else value


def parse_window(text: str) -> tuple[dt.time, dt.time]:
    """'08:00-17:00' -> (08:00, 17:00); a window may wrap past midnight ('20:30-08:00')."""
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time window like 08:00-17:00") from None
    return start, end


def in_window(moment: dt.time, window: tuple[dt.time, dt.time]) -> bool:
    start, end = window
    return start <= moment < end if start <= end else moment >= start or moment < end


def is_initialized(db: Database) -> bool:
    return db["settings"].exists() and bool(
        db.execute("SELECT 1 FROM settings WHERE key = ?", [SECRET_KEY]).fetchone()
    )


def initialize(db: Database, **overrides: str) -> bool:
    """Write defaults and a school secret if missing. Returns True if it did anything."""
    if is_initialized(db):
        return False
    values = {s.name: s.default for s in SETTINGS}
    values.update({k: validate(k, v) for k, v in overrides.items()})
    values[SECRET_KEY] = secrets.token_hex(32)
    with db.atomic():
        for key, value in values.items():
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [key, value])
    return True


def get(db: Database, name: str) -> str:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [name]).fetchone()
    if row is None:
        if name in BY_NAME:
            return BY_NAME[name].default
        raise NotInitialized("This database has no school secret yet: run `paperbridge init` first.")
    return row[0]


def put(db: Database, name: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [name, validate(name, value)])


def school_secret(db: Database) -> bytes:
    return bytes.fromhex(get(db, SECRET_KEY))


def slip_keys(db: Database) -> dict[str, bytes]:
    """Signing keys by key id, for verifying slips ('A' is the secret made at init)."""
    return {"A": school_secret(db)}


CURRENT_KEY_ID = "A"


def zone(db: Database) -> ZoneInfo:
    return ZoneInfo(get(db, "timezone"))
