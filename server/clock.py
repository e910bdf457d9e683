"""Time helpers: every stored time is UTC ISO-8601 text, so it sorts as text."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid

UTC = dt.timezone.utc


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def iso(moment: dt.datetime) -> str:
    """UTC, second precision, 'Z' suffix: '2026-11-23T08:30:00Z'."""
    if moment.tzinfo is None:
        raise ValueError("a time without a time zone is ambiguous")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    return iso(now())


def parse(text: str, default_zone: dt.tzinfo = UTC) -> dt.datetime:
    """Parse ISO-8601 (date or date-time); a time without zone is in ``default_zone``."""
    text = text.strip()
    if not text:
        raise ValueError("empty time")
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    return value if value.tzinfo else value.replace(tzinfo=default_zone)


def normalize(text: str, default_zone: dt.tzinfo = UTC) -> str:
    return iso(parse(text, default_zone))


def iso_week(moment: dt.datetime, zone: dt.tzinfo) -> str:
    """The ISO week ('2026-W48') that ``moment`` falls in, in the school's zone."""
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(text: str) -> tuple[int, int]:
    """'2026-W48' -> (2026, 48), with a clear error for anything else."""
    try:
        year_part, week_part = text.strip().upper().split("-W")
        year, week = int(year_part), int(week_part)
        dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO week like 2026-W48") from None
    return year, week


def uuid7() -> str:
    """A time-ordered UUIDv7, made wherever the event happens (offline kiosks too)."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & (2**48 - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64 | 0b10 << 62 | (rand & (2**62 - 1))
    return str(uuid.UUID(int=value))
