"""The district's copy of each school's ledger: events received by id (a replay adds nothing),
and the derived status of the pairs they touch, by the school ledger's own rules
(:func:`server.ledger.derive_sql` in PostgreSQL's dialect).

A push only appends: its events and one row in ``status_queue``, in one transaction. The status
of the pairs it touched is derived after the answer (:func:`derive_queued`, which the district
server's worker runs as soon as a push lands, server/district/worker.py), several pushes at a
time: a school catching up sends its week in many pushes, and each pair is derived once for
them, on a connection of its own, while the next push is being written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

import psycopg

from server import clock, ledger
from server.district.connect import returned

COLUMNS = ("id", "notice_id", "family_ref", "channel", "kind", "payload", "occurred_at", "recorded_at", "voids",
           "push_id")
_COPY_EVENTS = "COPY events (school_id, " + ", ".join(COLUMNS) + ") FROM STDIN"
STATUS_COLUMNS = ("notice_id", "family_ref", "state", "first_at", "confirmed_at", "channels", "reply", "reply_at",
                  "delivered")
PUSHES_PER_DERIVE = 10  # queued pushes derived in one transaction (20,000 events at most)
LOCK = 17_017  # pg_advisory_xact_lock(LOCK, school): one derivation of a school's status at a time


def receive(conn: psycopg.Connection, school_id: int, events: Iterable[dict]) -> tuple[int, int]:
    """Append a school's events and queue them for the status, in one transaction. Returns
    (recorded, duplicates): events travel by id, so a replayed push records nothing twice."""
    with conn.transaction():
        push_id = returned(conn.execute("SELECT nextval('push_ids')"))
        rows = [(school_id, e["id"], e["notice_id"], e["family_ref"], e["channel"], e["kind"],
                 json.dumps(e["payload"]) if e.get("payload") else "{}", e["occurred_at"], e["recorded_at"],
                 e.get("voids"), push_id) for e in events]
        recorded = _copy_all(conn, rows)
        if recorded is None:
            recorded = _insert_new(conn, rows)
        if recorded:
            conn.execute("INSERT INTO status_queue (push_id, school_id, events, voids) VALUES (%s, %s, %s, %s)",
                         [push_id, school_id, recorded, any(row[5] == "void" for row in rows)])
    return recorded, len(rows) - recorded


def _copy_all(conn: psycopg.Connection, rows: list[tuple]) -> int | None:
    """The usual push, all new: COPY straight into the events (a savepoint). None when one of them
    is here already (a replay, an answer that was lost): nothing of the attempt stays."""
    try:
        with conn.transaction(), conn.cursor().copy(_COPY_EVENTS) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.errors.UniqueViolation:
        return None
    return len(rows)


def _insert_new(conn: psycopg.Connection, rows: list[tuple]) -> int:
    """A push with events the district has: COPY into a staging table, then only the new ones."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS incoming (LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    with conn.cursor().copy(_COPY_EVENTS.replace("COPY events", "COPY incoming")) as copy:
        for row in rows:
            copy.write_row(row)
    return conn.execute("INSERT INTO events (school_id, " + ", ".join(COLUMNS) + ") SELECT DISTINCT ON"
                        " (school_id, id) school_id, " + ", ".join(COLUMNS) + " FROM incoming"
                        " ON CONFLICT (school_id, id) DO NOTHING").rowcount


def derive_queued(conn: psycopg.Connection, pushes: int = PUSHES_PER_DERIVE) -> int:
    """Derive the status of the pairs the oldest queued pushes of one school touched (up to
    ``pushes`` of them) and take them off the queue, in one transaction; the events it counted
    (0: none queued).

    Two callers at once (the server's worker, `district status`) take different pushes (SKIP
    LOCKED), and one school is derived by one of them at a time (an advisory lock): each
    derivation reads the events as they are once the lock is held, so an older one never
    writes over a newer one."""
    with conn.transaction():
        first = conn.execute("SELECT school_id FROM status_queue ORDER BY push_id LIMIT 1"
                             " FOR UPDATE SKIP LOCKED").fetchone()
        if first is None:
            return 0
        school_id = first[0]
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK, school_id])
        queued = conn.execute("SELECT push_id, events, voids FROM status_queue WHERE school_id = %s"
                              " ORDER BY push_id LIMIT %s FOR UPDATE SKIP LOCKED", [school_id, pushes]).fetchall()
        push_ids = [row[0] for row in queued]
        refresh(conn, school_id, push_ids, voids=any(row[2] for row in queued))
        conn.execute("DELETE FROM status_queue WHERE push_id = ANY(%s)", [push_ids])
    return sum(row[1] for row in queued)


def derive_all(conn: psycopg.Connection) -> int:
    """Derive every queued push (what the worker would do next); the events counted."""
    total = 0
    while counted := derive_queued(conn):
        total += counted
    return total


def queued(conn: psycopg.Connection) -> int:
    """Events received whose status is not derived yet (the worker's backlog)."""
    return returned(conn.execute("SELECT coalesce(sum(events), 0) FROM status_queue"))


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
                [[school_id, n["notice_id"], n.get("district_notice_id"), n["week"], n["publish_at"], n["whole_school"],
                  n["classes"]] for n in notices])


def refresh(conn: psycopg.Connection, school_id: int, push_ids: list[int], voids: bool = True) -> None:
    """Derive again the (notice, family) pairs the pushes ``push_ids`` touched, from all of the
    school's events, and keep them, in one statement (in the caller's transaction). ``voids``:
    whether the pushes may void events (a pair whose every event is voided has no status row:
    unread, as at the school)."""
    params = {"pushes": push_ids, "school": school_id}
    if voids:
        conn.execute("DELETE FROM receipt_status s USING " + _PAIRS + " WHERE s.school_id = %(school)s"
                     " AND s.notice_id = t.notice_id AND s.family_ref = t.family_ref", params)
    conn.execute(_KEEP.format(derived=ledger.derive_sql(
        "postgresql", _PAIRS + " CROSS JOIN LATERAL (SELECT * FROM events WHERE school_id = %(school)s"
                               " AND notice_id = t.notice_id AND family_ref = t.family_ref OFFSET 0) e")), params)
    # LATERAL ... OFFSET 0 (kept as a subquery per pair): each pair's events by the index, whatever
    # the planner guesses of the pair list; a hash join over the school's whole partition would
    # grow with the term, push after push


_PAIRS = ("(SELECT DISTINCT notice_id, family_ref FROM events WHERE school_id = %(school)s"
          " AND push_id = ANY(%(pushes)s)) t")  # found by the events' BRIN index on push_id (appended in order)
# The rows of ledger.derive_sql kept as ledger.derived_status_rows shapes them for the school (state
# by rank, channel lists sorted, the latest reply's time and choice unpacked): tested equal to the
# school's fold in tests/district/test_district_ledger.py.
_SORTED = ("coalesce(array_to_string(ARRAY(SELECT c FROM unnest(string_to_array({0}, ',')) AS c"
           " ORDER BY c COLLATE \"C\"), ','), '')")
_KEEP = ("INSERT INTO receipt_status (school_id, " + ", ".join(STATUS_COLUMNS) + ")"
         " SELECT %(school)s, d.notice_id, d.family_ref, (ARRAY['unread', 'read', 'confirmed'])[d.rank + 1],"
         " d.first_at, d.confirmed_at, " + _SORTED.format("d.channels") + ","
         " (split_part(d.last_reply, chr(31), 3))::jsonb #>> '{{}}',"
         " nullif(split_part(d.last_reply, chr(31), 1), '')::timestamptz, " + _SORTED.format("d.delivered") +
         " FROM ({derived}) d ON CONFLICT (school_id, notice_id, family_ref) DO UPDATE SET "
         + ", ".join(f"{c} = excluded.{c}" for c in STATUS_COLUMNS[2:]))


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
