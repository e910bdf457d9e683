"""Test data builders with overridable defaults."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from sqlite_utils import Database

from server import clock, notices, roster

HEADER = ["student id", "student name", "class", "guardian name", "guardian phone", "language",
          "family id", "preferred channel", "has smartphone"]


def write_roster(path: Path, rows: list[list[str]], *, header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def row(student_id: str = "S1", name: str = "王小明", cls: str = "3A", guardian: str = "王大明",
        phone: str = "13800138001", language: str = "zh-Hans", family_id: str = "", channel: str = "",
        smartphone: str = "") -> list[str]:
    return [student_id, name, cls, guardian, phone, language, family_id, channel, smartphone]


def small_school(db: Database, tmp_path: Path) -> dict[str, int]:
    """Three families in two classes; returns family ids by first student id."""
    path = write_roster(tmp_path / "small.csv", [
        row("S1", "王小明", "3A", "王大明", "13800138001", "zh-Hans", channel="digital", smartphone="yes"),
        row("S2", "陳美玲", "3A", "陳婆婆", "13800138002", "zh-Hant", channel="paper"),
        row("S3", "Amy Lee", "3B", "Grace Lee", "13800138003", "en", channel="voice"),
    ])
    roster.import_roster(db, path)
    return {r["source_id"]: r["family_id"] for r in db.query("SELECT source_id, family_id FROM students")}


def days_ago(days: float, zone: dt.tzinfo = dt.timezone.utc, fmt: str = "%Y-%m-%dT%H:%M:%S%z") -> str:
    """A time ``days`` before the (possibly travelled) clock, written in ``zone`` with ``fmt``."""
    return (clock.now() - dt.timedelta(days=days)).astimezone(zone).strftime(fmt)


def make_notice(db: Database, **overrides) -> int:
    values = {"texts": {"zh-Hans": ("秋游通知", "周五去植物园。"), "en": ("Autumn trip", "Friday, botanical garden.")},
              "classes": ["3A"], "reply_options": ["attend", "absent"]}
    values.update(overrides)
    return notices.add_notice(db, **values)
