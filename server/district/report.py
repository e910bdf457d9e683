"""What the district sees: per school, how many families a district notice reached, by which
channel, and which schools lag behind; over time; school -> grade -> class counts.

Counts only: families are pseudonymous references, and the queries group them. A family is
addressed by a notice when one of its classes is the notice's (or the notice is for the whole
school), exactly as at the school (server.notices.audience). The counts come from the kept
status (server/district/ledger.py), so they follow the school ledger's rules.
"""

from __future__ import annotations

import psycopg

from server import clock, insight, ledger

STATES = ("confirmed", "read", "unread")
SCHOOL_COLUMNS = ("school_id", "school", "published", "families", *STATES, *ledger.CHANNELS, "events_received",
                  "last_push_at")

_ADDRESSED = """
WITH target AS MATERIALIZED (
  SELECT n.school_id, n.notice_id, n.whole_school, n.classes FROM notices n
  WHERE n.district_notice_id = ANY(%(notices)s) AND n.publish_at <= now() {narrow}
), counted AS (
  SELECT t.school_id, t.notice_id, a.family_ref, a.grades, a.classes, coalesce(a.state, 'unread') AS state,
         ',' || a.channels || ',' AS channels, a.confirmed_at
  FROM target t CROSS JOIN LATERAL (
    SELECT f.family_ref, f.grades, f.classes, rs.state, rs.channels, rs.confirmed_at
    FROM families f LEFT JOIN receipt_status rs
     ON rs.school_id = t.school_id AND rs.notice_id = t.notice_id AND rs.family_ref = f.family_ref
    WHERE f.school_id = t.school_id AND cardinality(f.classes) > 0 AND (t.whole_school OR f.classes && t.classes)
    OFFSET 0) a
)
"""
# One school's notice at a time (LATERAL ... OFFSET 0): its families and the status rows of that
# notice by their primary keys, never a hash of every school's status (which grew with the term).
_COUNTS = ", ".join([*(f"count(*) FILTER (WHERE state = '{s}')" for s in STATES),
                     *(f"count(*) FILTER (WHERE channels LIKE '%%,{c},%%')" for c in ledger.CHANNELS)])


def notice_ids(conn: psycopg.Connection, notice_id: int | None) -> list[int]:
    """The district notice asked for (LookupError if there is none), or all of them."""
    if notice_id is None:
        return [r[0] for r in conn.execute("SELECT id FROM district_notices ORDER BY id")]
    if conn.execute("SELECT 1 FROM district_notices WHERE id = %s", [notice_id]).fetchone() is None:
        raise LookupError(f"there is no district notice {notice_id}")
    return [notice_id]


def school_rows(conn: psycopg.Connection, notice_id: int | None = None, school_id: int | None = None) -> list[dict]:
    """One row per school (or only ``school_id``'s; revoked ones too, marked by their last push):
    for one district notice, its addressed families and how many confirmed, read or have not
    (and by which channels); for all of them, the same counted per family and notice.
    ``published`` is False while the school has not pulled the notice yet (or its publish time
    has not come)."""
    ids = notice_ids(conn, notice_id)
    params = {"notices": ids, "school": school_id}
    narrow = "AND n.school_id = %(school)s" if school_id is not None else ""
    families = "count(*)" if len(ids) == 1 else "count(DISTINCT family_ref)"
    counts = {row[0]: row[1:] for row in conn.execute(
        _ADDRESSED.format(narrow=narrow) + f"SELECT school_id, {families}, {_COUNTS} FROM counted GROUP BY school_id",
        params).fetchall()}
    published = {row[0] for row in conn.execute(
        "SELECT DISTINCT school_id FROM notices n WHERE district_notice_id = ANY(%(notices)s) AND publish_at <= now() "
        + narrow, params)}
    rows = []
    for found, name, received, last_push in conn.execute(
            "SELECT id, name, events_received, last_push_at FROM schools"
            + (" WHERE id = %(school)s" if school_id is not None else "") + " ORDER BY name, id", params).fetchall():
        numbers = counts.get(found, (0,) * (2 + len(STATES) - 1 + len(ledger.CHANNELS)))
        rows.append(dict(zip(SCHOOL_COLUMNS, (found, name, found in published, *numbers, received,
                                              clock.iso(last_push) if last_push else None), strict=True)))
    return rows


def over_time(conn: psycopg.Connection, notice_id: int, school_id: int | None = None) -> list[dict]:
    """Families addressed and confirmed by the end of each day (UTC) since the first confirmation,
    all schools or one."""
    notice_ids(conn, notice_id)
    narrow = "AND n.school_id = %(school)s" if school_id is not None else ""
    rows = conn.execute(_ADDRESSED.format(narrow=narrow) + "SELECT (confirmed_at AT TIME ZONE 'UTC')::date AS day,"
                        " count(*) FILTER (WHERE state = 'confirmed'), count(*) FROM counted GROUP BY day"
                        " ORDER BY day NULLS LAST", {"notices": [notice_id], "school": school_id}).fetchall()
    families = sum(row[2] for row in rows)
    total, out = 0, []
    for day, confirmed, _count in rows:
        if day is None:
            continue
        total += confirmed
        out.append({"day": day.isoformat(), "confirmed": total, "families": families})
    return out


def drill(conn: psycopg.Connection, notice_id: int, school_id: int, grade: str | None = None) -> list[dict]:
    """One school's counts for a notice by grade, or a grade's by class (a family with children in
    two classes counts in both)."""
    notice_ids(conn, notice_id)
    rows = conn.execute(_ADDRESSED.format(narrow="AND n.school_id = %(school)s") + f"SELECT part, count(*), {_COUNTS}"
                        f" FROM (SELECT *, unnest({'classes' if grade else 'grades'}) AS part FROM counted"
                        + (" WHERE %(grade)s = ANY(grades)" if grade else "") + ") p"
                        " GROUP BY part ORDER BY part",
                        {"notices": [notice_id], "school": school_id, "grade": grade}).fetchall()
    return [dict(zip(("name", "families", *STATES, *ledger.CHANNELS), row, strict=True)) for row in rows
            if grade is None or insight.grade_of(row[0]) == grade]
