"""The district's copy of each school's ledger: events received by id (a replay adds nothing),
the derived status kept for the pairs they touch, by the school ledger's own rules
(:func:`server.ledger.derive_sql` in PostgreSQL's dialect)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

import psycopg

from server import clock, ledger

COLUMNS = ("id", "notice_id", "family_ref", "channel", "kind", "payload", "occurred_at", "recorded_at", "voids")


def receive(conn: psycopg.Connection, school_id: int, events: Iterable[dict]) -> tuple[int, int]:
    """Append a school's events in one transaction (COPY into a staging table, then only the new
    ones); derive the touched pairs again. Returns (recorded, duplicates)."""
    rows = [(school_id, e["id"], e["notice_id"], e["family_ref"], e["channel"], e["kind"],
             json.dumps(e.get("payload") or {}), e["occurred_at"], e["recorded_at"], e.get("voids")) for e in events]
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS incoming (LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        with conn.cursor().copy("COPY incoming (school_id, " + ", ".join(COLUMNS) + ") FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        touched = conn.execute("INSERT INTO events (school_id, " + ", ".join(COLUMNS) + ")"
                               " SELECT DISTINCT ON (school_id, id) school_id, " + ", ".join(COLUMNS) +
                               " FROM incoming ON CONFLICT (school_id, id) DO NOTHING"
                               " RETURNING notice_id, family_ref").fetchall()
        refresh(conn, school_id, set(touched))
    return len(touched), len(rows) - len(touched)


def keep_roster(conn: psycopg.Connection, school_id: int, families: list[dict], notices: list[dict]) -> None:
    """The school's families and notices as it forwarded them, the latest kept (in the caller's
    transaction): who each notice is addressed to is counted from these."""
    with conn.cursor() as cursor:
        if families:
            cursor.executemany(
                "INSERT INTO families (school_id, family_ref, language, channel, classes, grades) VALUES"
                " (%s, %s, %s, %s, %s, %s) ON CONFLICT (school_id, family_ref) DO UPDATE SET"
                " language = excluded.language, channel = excluded.channel, classes = excluded.classes,"
                " grades = excluded.grades, updated_at = now()",
                [[school_id, f["family_ref"], f["language"], f["channel"], f["classes"], f["grades"]]
                 for f in families])
        if notices:
            cursor.executemany(
                "INSERT INTO notices (school_id, notice_id, district_notice_id, week, publish_at, whole_school,"
                " classes) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (school_id, notice_id) DO UPDATE SET"
                " district_notice_id = excluded.district_notice_id, week = excluded.week,"
                " publish_at = excluded.publish_at, whole_school = excluded.whole_school, classes = excluded.classes",
                [[school_id, n["notice_id"], n["district_notice_id"], n["week"], n["publish_at"], n["whole_school"],
                  n["classes"]] for n in notices])


def refresh(conn: psycopg.Connection, school_id: int, pairs: set[tuple[int, str]]) -> None:
    """Derive the (notice, family) pairs again from the school's events (in the caller's transaction)."""
    if not pairs:
        return
    notice_ids, family_refs = zip(*sorted(pairs), strict=True)
    sql = ledger.derive_sql("postgresql", "unnest(%(notices)s::bigint[], %(families)s::text[]) AS t(notice_id, family_ref)"
                            " JOIN events e ON e.school_id = %(school)s AND e.notice_id = t.notice_id"
                            " AND e.family_ref = t.family_ref")
    params = {"notices": list(notice_ids), "families": list(family_refs), "school": school_id}
    rows = ledger.derived_status_rows(conn.execute(sql, params).fetchall())
    derived = {(r[0], r[1]) for r in rows}
    rows += [[n, f, "unread", None, None, "", None, None, ""] for n, f in pairs - derived]  # every event voided
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO receipt_status (school_id, notice_id, family_ref, state, first_at, confirmed_at, channels,"
            " reply, reply_at, delivered) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (school_id, notice_id, family_ref) DO UPDATE SET state = excluded.state,"
            " first_at = excluded.first_at, confirmed_at = excluded.confirmed_at, channels = excluded.channels,"
            " reply = excluded.reply, reply_at = excluded.reply_at, delivered = excluded.delivered",
            [[school_id, *row] for row in rows])


def status_of(conn: psycopg.Connection, school_id: int, notice_id: int, family_ref: str) -> ledger.Status:
    """The kept status of one pair, as the school ledger's Status (times as UTC ISO text)."""
    row = conn.execute("SELECT state, first_at, confirmed_at, channels, reply, reply_at, delivered"
                       " FROM receipt_status WHERE school_id = %s AND notice_id = %s AND family_ref = %s",
                       [school_id, notice_id, family_ref]).fetchone()
    if row is None:
        return ledger.Status()
    state, first_at, confirmed_at, channels, reply, reply_at, delivered = row
    return ledger.Status(state=state, first_at=_iso(first_at), confirmed_at=_iso(confirmed_at),
                         channels=tuple(channels.split(",")) if channels else (), reply=reply, reply_at=_iso(reply_at),
                         delivered=tuple(delivered.split(",")) if delivered else ())


def _iso(value: dt.datetime | None) -> str | None:
    return clock.iso(value) if value is not None else None
