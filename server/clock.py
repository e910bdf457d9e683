"""Time helpers: every stored time is UTC ISO-8601 text, so it sorts as text.

:func:`now` is the one clock every module reads. It can be set to run from another
instant (``PAPERBRIDGE_NOW=2027-01-01T00:30:00+08:00`` in the environment, or
:func:`travel` in-process): the clock then starts at that instant and runs on at the
normal pace. The test suite uses it to prove that nothing depends on the hour, the day
of the week or the year it happens to run in; a school never sets it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

UTC = dt.timezone.utc


ENV_VAR = "PAPERBRIDGE_NOW"
OFFSET_VAR = "PAPERBRIDGE_CLOCK_OFFSET"  # seconds; set from PAPERBRIDGE_NOW so child processes share one clock
_offset = dt.timedelta(0)


def now() -> dt.datetime:
    return dt.datetime.now(UTC) + _offset


def travel(moment: dt.datetime | None) -> None:
    """Make :func:`now` read ``moment`` from this instant on (None: back to the real clock)."""
    global _offset
    _offset = dt.timedelta(0) if moment is None else moment - dt.datetime.now(UTC)


@contextmanager
def travelling(moment: dt.datetime) -> Iterator[None]:
    """Read ``moment`` (and on from there) inside the block; the clock before it afterwards."""
    global _offset
    before = _offset
    travel(moment)
    try:
        yield
    finally:
        _offset = before


def travel_from_environment() -> None:
    """Start the clock at $PAPERBRIDGE_NOW when it is set (tests run the suite at chosen instants).

    The offset is handed on to child processes (a CLI or server a test starts), so that they
    read the same clock rather than starting again at the instant.
    """
    global _offset
    if os.environ.get(OFFSET_VAR):
        _offset = dt.timedelta(seconds=float(os.environ[OFFSET_VAR]))
        return
    text = os.environ.get(ENV_VAR, "").strip()
    if text:
        try:
            travel(parse(text))
        except ValueError:
            raise ValueError(f"{ENV_VAR}={text!r} is not an ISO-8601 time") from None
        os.environ[OFFSET_VAR] = str(_offset.total_seconds())


def iso(moment: dt.datetime) -> str:
    """UTC, second precision, 'Z' suffix: '2026-11-23T08:30:00Z'."""
    if moment.tzinfo is None:
        raise ValueError("a time without a time zone is ambiguous")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"  # strftime is 5x slower


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


travel_from_environment()
