"""School settings, declared as data (name, default, help) and stored in the database.

``paperbridge init`` writes the defaults and a fresh school secret; every
setting can be changed later with ``paperbridge setting set NAME VALUE``.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from sqlite_utils import Database

from server import chinese, clock
from server.errors import NotInitialized
from server.languages import LANGUAGES, TRADITIONAL


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("school_name", "PaperBridge School", "The school's name, printed on bulletins and said on the phone."),
    Setting("school_name_en", "", "The school's name in English, for English-speaking families on the phone and in "
            "texts (empty: the school's name as written above)."),
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
    Setting("session_hours", "12", "Hours a staff sign-in lasts before signing in again (an office day)."),
    Setting("concern_response_hours", "48", "Hours a family's question or call-back request may stay unanswered "
            "before it is overdue and shown to the office."),
    Setting("approval_required", "off", "on: notices written by teachers wait for the office or an admin to "
            "approve them before they are sent; off: teachers send their own."),
    Setting("whole_school_senders", "office", "Who may address a notice to the whole school: office (office and "
            "admins) or staff (teachers too)."),
    Setting("keep_slip_images_days", "365", "Days scanned slip images are kept (the receipts stay in the ledger)."),
    Setting("keep_recordings_days", "90", "Days call recordings and families' voice messages are kept."),
    Setting("keep_ledger_years", "3", "School years the full ledger is kept; after that a family that has left is "
            "anonymised (names, phones and links removed, counts kept)."),
)
BY_NAME = {s.name: s for s in SETTINGS}
SECRET_KEY = "school_secret"  # key A; later keys are 'school_secret:B', 'school_secret:C' ...
RETIRED_KEY = "retired_secret"  # 'retired_secret:A' = when key A stopped being trusted
MADE_KEY = "secret_made"  # 'secret_made:A' = when key A was made
LAST_BACKUP = "last_backup"  # when the last backup was checked and in place, and where
KEY_IDS = string.ascii_uppercase  # one letter in every slip's QR code


def validate(name: str, value: str) -> str:
    """Return the cleaned value, or raise ValueError with a readable reason."""
    if name not in BY_NAME:
        raise ValueError(f"unknown setting {name!r}; known: {', '.join(BY_NAME)}")
    value = value.strip()
    if name == "school_id" and not (value.isalnum() and value.isascii() and 1 <= len(value) <= 8):
        raise ValueError("school_id must be 1-8 letters or digits")
    if name in ("office_hours", "quiet_hours"):
        parse_window(value)
    if name in WHOLE_NUMBERS and not (value.isascii() and value.isdigit() and int(value) > 0):
        raise ValueError(f"{name} must be a whole number above 0 (example: {BY_NAME[name].default}), not {value!r}")
    if name == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (example: Asia/Hong_Kong)") from None
    check = _CHECKS.get(name)
    if check:
        value = check(value)
    return value.upper() if name == "school_id" else value


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise ValueError(f"unknown language {value!r}; one of {', '.join(LANGUAGES)}")
    return value


def _region(value: str) -> str:
    region = value.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {value!r}; a two-letter country code such as CN, HK, TW, MO, SG or US")
    return region


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
        raise ValueError(f"{value!r} is not a web address; write it like https://school.example.org or "
                         "http://192.168.1.10:5000")
    return value.rstrip("/")


WHOLE_NUMBERS = ("followup_delay_hours", "urgent_delay_hours", "max_attempts", "session_hours",
                 "concern_response_hours", "keep_slip_images_days", "keep_recordings_days", "keep_ledger_years")


def _one_of(*allowed: str):
    def check(value: str) -> str:
        if value.lower() not in allowed:
            raise ValueError(f"must be {' or '.join(allowed)}, not {value!r}")
        return value.lower()
    return check


_CHECKS = {"approval_required": _one_of("on", "off"), "whole_school_senders": _one_of("office", "staff"),
           "default_language": _language, "default_region": _region, "base_url": _url}


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
    return db.table("settings").exists() and bool(
        db.execute("SELECT 1 FROM settings WHERE key = ? OR key LIKE ?", [SECRET_KEY, SECRET_KEY + ":%"]).fetchone()
    )


def initialize(db: Database, **overrides: str) -> bool:
    """Write defaults and a school secret if missing. Returns True if it did anything."""
    if is_initialized(db):
        return False
    values = {s.name: s.default for s in SETTINGS}
    values.update({k: validate(k, v) for k, v in overrides.items()})
    values[SECRET_KEY] = secrets.token_hex(32)
    values[f"{MADE_KEY}:{KEY_IDS[0]}"] = clock.now_iso()
    with db.atomic():
        for key, value in values.items():
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [key, value])
    _changed(db)
    return True


def school_name(db: Database, language: str) -> str:
    """The school's name as a family of ``language`` hears or reads it."""
    english = get(db, "school_name_en") if language == "en" else ""
    if english:
        return english
    if language in TRADITIONAL:
        return chinese.to_traditional(get(db, "school_name"), language)
    return get(db, "school_name")


def hold(db: Database) -> None:
    """Read the settings at most once from now until :func:`release` (a web request: the phone
    line reads the time zone, the secret and the addresses several times per webhook). Writes
    through this module are seen at once; a change made by another process is seen from the
    next request on."""
    db.__dict__.setdefault("_settings_held", None)


def release(db: Database) -> None:
    db.__dict__.pop("_settings_held", None)


def _held(db: Database) -> dict[str, str] | None:
    """Every stored setting, if ``db`` holds them (read on first use), else None."""
    if "_settings_held" not in db.__dict__:
        return None
    if db.__dict__["_settings_held"] is None:
        db.__dict__["_settings_held"] = dict(db.execute("SELECT key, value FROM settings").fetchall())
    return db.__dict__["_settings_held"]


def _changed(db: Database) -> None:
    if "_settings_held" in db.__dict__:
        db.__dict__["_settings_held"] = None  # read again at the next use


def get(db: Database, name: str) -> str:
    held = _held(db)
    if held is not None:
        value = held.get(name)
    else:
        row = db.execute("SELECT value FROM settings WHERE key = ?", [name]).fetchone()
        value = row[0] if row else None
    if value is None:
        if name in BY_NAME:
            return BY_NAME[name].default
        raise NotInitialized("This database has no school secret yet: run `paperbridge init` first.")
    return value


def get_many(db: Database, *names: str) -> dict[str, str]:
    """Several settings in one query (defaults for those never set)."""
    stored = _held(db)
    if stored is None:
        marks = ",".join("?" * len(names))
        stored = dict(db.execute(f"SELECT key, value FROM settings WHERE key IN ({marks})", list(names)).fetchall())
    return {name: stored.get(name, BY_NAME[name].default if name in BY_NAME else "") for name in names}


def put(db: Database, name: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [name, validate(name, value)])
    _changed(db)


def _key_ids(db: Database, prefix: str) -> list[str]:
    rows = db.execute("SELECT key FROM settings WHERE key = ? OR key LIKE ?", [prefix, prefix + ":%"]).fetchall()
    return sorted(KEY_IDS[0] if key == prefix else key.split(":", 1)[1] for (key,) in rows)


def slip_keys(db: Database) -> dict[str, bytes]:
    """Every school secret still trusted, by key id: old slips and links verify under theirs."""
    held = _held(db)
    if held is not None:
        rows = [(key, value) for key, value in held.items() if key == SECRET_KEY or key.startswith(SECRET_KEY + ":")]
    else:
        rows = db.execute("SELECT key, value FROM settings WHERE key = ? OR key LIKE ?",
                          [SECRET_KEY, SECRET_KEY + ":%"]).fetchall()
    keys = {KEY_IDS[0] if key == SECRET_KEY else key.split(":", 1)[1]: bytes.fromhex(value) for key, value in rows}
    if not keys:
        raise NotInitialized("This database has no school secret yet: run `paperbridge init` first.")
    return keys


def current_key_id(db: Database) -> str:
    """The newest key: new slips and links are signed with it."""
    return max(slip_keys(db))


def school_secret(db: Database) -> bytes:
    keys = slip_keys(db)
    return keys[max(keys)]


def rotate_secret(db: Database) -> str:
    """Make a new school secret and sign with it from now on; older keys keep verifying."""
    used = _key_ids(db, SECRET_KEY) + _key_ids(db, RETIRED_KEY)
    following = [k for k in KEY_IDS if k > max(used)]
    if not following:
        raise ValueError("all 26 key ids (A-Z) have been used")
    new_id = following[0]
    with db.atomic():
        db.execute("INSERT INTO settings (key, value) VALUES (?, ?)", [f"{SECRET_KEY}:{new_id}", secrets.token_hex(32)])
        db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [f"{MADE_KEY}:{new_id}", clock.now_iso()])
    _changed(db)
    return new_id


def secret_made(db: Database) -> dt.datetime | None:
    """When the signing key was made (None for keys made before this was recorded)."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [f"{MADE_KEY}:{current_key_id(db)}"]).fetchone()
    return clock.parse(row[0]) if row else None


def retire_key(db: Database, key_id: str) -> None:
    """Stop trusting an old key (e.g. it leaked): its slips go to review, its links stop working."""
    key_id = key_id.strip().upper()
    if key_id not in slip_keys(db):
        raise ValueError(f"no trusted key {key_id!r}; trusted: {', '.join(slip_keys(db))}")
    if key_id == current_key_id(db):
        raise ValueError(f"key {key_id} is the one in use: run `paperbridge secret rotate` first")
    with db.atomic():
        db.execute("DELETE FROM settings WHERE key = ?", [SECRET_KEY if key_id == KEY_IDS[0] else f"{SECRET_KEY}:{key_id}"])
        db.execute("INSERT INTO settings (key, value) VALUES (?, ?)", [f"{RETIRED_KEY}:{key_id}", clock.now_iso()])
    _changed(db)


def kept_secret(db: Database, name: str) -> bytes:
    """A random key stored under ``name``, made on first use and kept (e.g. the district's
    family references: a new key would make every family a stranger)."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [name]).fetchone()
    if row is None:
        db.execute("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)", [name, secrets.token_hex(32)])
        _changed(db)
        row = db.execute("SELECT value FROM settings WHERE key = ?", [name]).fetchone()
    return bytes.fromhex(row[0])


def zone(db: Database) -> ZoneInfo:
    return ZoneInfo(get(db, "timezone"))
