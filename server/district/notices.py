"""District-wide notices: written once at the district (a vaccination campaign, a typhoon
closure), pulled by every linked school, which publishes each to its own families by its own
channels (paper, phone, texts, the desk) and forwards the receipts back like any other.

A district notice is checked by the school's own rules (texts in the notice languages, reply
options from the same vocabulary), so a school never refuses one. It is not edited once
written: a correction is a new notice that says so.
"""

from __future__ import annotations

import datetime as dt
import json

import psycopg

from server import clock, languages, notices
from server.district import connect

FIELDS = ("id", "texts", "reply_options", "requires_confirmation", "due_date", "urgent", "publish_at", "created_at",
          "created_by")


def add(conn: psycopg.Connection, *, texts: dict[str, tuple[str, str]], created_by: str,
        reply_options: list[str] | None = None, requires_confirmation: bool = True, due_date: str | None = None,
        urgent: bool = False, publish_at: str | None = None) -> int:
    """Write a district-wide notice (ValueError with a sentence when it breaks a rule); its id."""
    texts = notices.check_texts({lang: (title.strip(), body.strip()) for lang, (title, body) in texts.items()})
    options = [o.strip() for o in reply_options or []]
    if len({notices.parse_reply_option(o)["key"] for o in options}) != len(options):
        raise ValueError("reply options must differ")
    try:
        due = dt.date.fromisoformat(due_date.strip()).isoformat() if due_date else None
    except ValueError:
        raise ValueError(f"the due date {due_date!r} is not a date like 2026-12-18") from None
    try:
        publish = clock.parse(publish_at) if publish_at else clock.now()
    except ValueError:
        raise ValueError(f"the publish time {publish_at!r} is not a time like 2026-12-18T08:00:00+08:00") from None
    with conn.transaction():
        return int(connect.returned(conn.execute(
            "INSERT INTO district_notices (texts, reply_options, requires_confirmation, due_date, urgent,"
            " publish_at, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [json.dumps(texts, ensure_ascii=False), json.dumps(options, ensure_ascii=False),
             requires_confirmation, due, urgent, publish, created_by])))


def after(conn: psycopg.Connection, after_id: int = 0) -> list[dict]:
    """District notices with an id above ``after_id``, oldest first, as schools pull them."""
    rows = conn.execute("SELECT " + ", ".join(FIELDS) + " FROM district_notices WHERE id > %s ORDER BY id",
                        [after_id]).fetchall()
    return [_shape(row) for row in rows]


def get(conn: psycopg.Connection, notice_id: int) -> dict:
    row = conn.execute("SELECT " + ", ".join(FIELDS) + " FROM district_notices WHERE id = %s", [notice_id]).fetchone()
    if row is None:
        raise LookupError(f"there is no district notice {notice_id}")
    return _shape(row)


def unknown_ids(conn: psycopg.Connection, ids: set[int]) -> set[int]:
    """Which of these ids are not district notices."""
    if not ids:
        return set()
    found = {r[0] for r in conn.execute("SELECT id FROM district_notices WHERE id = ANY(%s)", [sorted(ids)])}
    return ids - found


def title(notice: dict, language: str = "en") -> str:
    """The notice's title in ``language``, else in the nearest language it was written in (as a
    school's notice is read: server.languages.text_fallbacks)."""
    texts = notice["texts"]
    found = next((texts[lang] for lang in languages.text_fallbacks(language) if lang in texts), None)
    return (found or next(iter(texts.values())))[0]


def _shape(row: tuple) -> dict:
    notice = dict(zip(FIELDS, row, strict=True))
    notice["texts"] = {lang: list(pair) for lang, pair in notice["texts"].items()}
    notice["due_date"] = notice["due_date"].isoformat() if notice["due_date"] else None
    notice["publish_at"], notice["created_at"] = clock.iso(notice["publish_at"]), clock.iso(notice["created_at"])
    return notice
