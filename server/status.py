"""Combined receipt status of a notice: one row per family, totals by state and channel."""

from __future__ import annotations

from collections import Counter

from sqlite_utils import Database

from server import ledger, notices


def notice_report(db: Database, notice_id: int, class_ids: list[str] | None = None, *, show: str = "all",
                  page: int | None = None, size: int = 50, only: set[int] | None = None) -> dict:
    """Everything `paperbridge status` and the notice page show, as plain data.

    ``class_ids`` narrows the report to a teacher's own classes; ``show`` keeps "all", "open"
    (not done) or "done" families; with ``page`` only that page of them gets its details (a
    district-wide notice has tens of thousands of families; ``size=0`` gives only the counts).
    ``matching`` counts them all; ``confirmed_times`` lists every confirmation time (for the curve).
    ``only`` keeps just these families in the rows (the totals stay the notice's).
    """
    notice = notices.get_notice(db, notice_id)
    family_ids = notices.audience(db, notice, class_ids)
    rows = ledger.status_rows(db, notice_id)
    unread = ("unread",) + (None,) * 6
    states = {fid: rows.get(fid, unread)[0] for fid in family_ids}
    needs_confirmation = notice["requires_confirmation"]
    done = {fid for fid, state in states.items()
            if state == "confirmed" or (state == "read" and not needs_confirmation)}
    chosen = [fid for fid in family_ids if (show == "all" or (show == "open") != (fid in done))
              and (only is None or fid in only)]
    names = _students_of(db, chosen) if page is None or size else {}  # size 0: only the counts are wanted
    chosen.sort(key=lambda fid: names.get(fid, ("", "")))
    shown = chosen if page is None else chosen[page * size:(page + 1) * size]
    details = _family_rows(db, shown)
    conflicts = {fid: answers for fid, answers in ledger.reply_conflicts(db, notice_id).items() if fid in states}
    families = [{**details[fid], "classes": names.get(fid, ("", ""))[0], "students": names.get(fid, ("", ""))[1],
                 **ledger.status_from_row(rows.get(fid, unread)).as_dict(), "done": fid in done,
                 "conflict": conflicts.get(fid, [])} for fid in shown]
    by_state = Counter(states.values())
    in_audience = [rows[fid] for fid in family_ids if fid in rows]
    by_channel = Counter(first_channels(db, notice_id, set(family_ids)).values())  # each family once
    replies = Counter(row[4] for row in in_audience if row[4])
    return {
        "notice": {"id": notice["id"], "title": notices.title_for(notice, notice["primary_language"]),
                   "week": notice["week"], "requires_confirmation": bool(notice["requires_confirmation"]),
                   "private": bool(notice["private"]), "publish_at": notice["publish_at"],
                   "reply_options": [o["key"] for o in notice["reply_options"]]},
        "totals": {"families": len(family_ids), "unread": by_state["unread"], "read": by_state["read"],
                   "confirmed": by_state["confirmed"], "done": len(done)},
        "by_channel": dict(sorted(by_channel.items())),
        "replies": dict(sorted(replies.items())),
        "families": families,
        "matching": len(chosen),
        "confirmed_times": sorted(row[2] for row in in_audience if row[2]),
        "conflicts": _conflict_rows(db, conflicts),
    }


def first_channels(db: Database, notice_id: int, family_ids: set[int]) -> dict[int, str]:
    """The channel each family first read or confirmed the notice on (voided events left out):
    a family that read in the app and was later told in person counts once, under the app."""
    first: dict[int, str] = {}
    for family_id, channel in db.execute(
            "SELECT family_id, channel FROM events e WHERE notice_id = ? AND kind IN ('read', 'confirmed', 'reply')"
            " AND NOT EXISTS (SELECT 1 FROM events v WHERE v.voids = e.id) ORDER BY occurred_at, seq", [notice_id]):
        if family_id in family_ids:
            first.setdefault(family_id, channel)
    return first


def _conflict_rows(db: Database, conflicts: dict[int, list[dict]]) -> list[dict]:
    """Families whose channels disagree, with their details, in one look-up."""
    details = _family_rows(db, sorted(conflicts))
    return [{**details[fid], "answers": answers} for fid, answers in sorted(conflicts.items())]


def notice_totals(db: Database, notice: dict, class_ids: list[str] | None = None) -> dict:
    """Just the totals of :func:`notice_report`, counted in SQL (the notice list shows many at once)."""
    classes = None if notice["whole_school"] else notice["classes"]
    if class_ids is not None:
        classes = [c for c in (classes if classes is not None else class_ids) if c in class_ids]
    where, params = "", []
    if classes is not None:
        where, params = f" AND class_id IN ({','.join('?' * len(classes)) or 'NULL'})", list(classes)
    row = db.execute(
        "SELECT count(*), coalesce(sum(rs.state = 'read'), 0), coalesce(sum(rs.state = 'confirmed'), 0)"
        f" FROM (SELECT DISTINCT family_id FROM students WHERE active = 1{where}) a"
        " LEFT JOIN receipt_status rs ON rs.notice_id = ? AND rs.family_id = a.family_id",
        [*params, notice["id"]]).fetchone()
    families, read, confirmed = row
    done = confirmed + (0 if notice["requires_confirmation"] else read)
    return {"families": families, "unread": families - read - confirmed, "read": read, "confirmed": confirmed,
            "done": done}


SCAN_ABOVE = 2000  # families; below this, students are looked up by family id


def _chunks(ids: list[int], size: int = 500):
    """Id lists in pieces: SQLite caps the number of ? in one query."""
    for start in range(0, len(ids), size):
        chunk = ids[start:start + size]
        yield chunk, ",".join("?" * len(chunk))


def _students_of(db: Database, family_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Family id -> ("3A, 4B", "names of its active students"), the order families are listed in."""
    kids: dict[int, list[tuple[str, str]]] = {}
    if len(family_ids) > SCAN_ABOVE:  # most of the school: one pass over the table beats many index lookups
        wanted = set(family_ids)
        rows = (r for r in db.conn.execute("SELECT family_id, name, class_id FROM students WHERE active = 1")
                if r[0] in wanted)
    else:
        rows = (r for chunk, marks in _chunks(family_ids) for r in db.conn.execute(
            f"SELECT family_id, name, class_id FROM students WHERE active = 1 AND family_id IN ({marks})", chunk))
    for fid, name, class_id in rows:
        kids.setdefault(fid, []).append((class_id, name))
    out = {}
    for fid, pairs in kids.items():
        pairs.sort()
        out[fid] = (", ".join(sorted({cls for cls, _ in pairs})), ", ".join(name for _, name in pairs))
    return out


def _family_rows(db: Database, family_ids: list[int]) -> dict[int, dict]:
    rows: dict[int, dict] = {}
    for chunk, marks in _chunks(family_ids):
        for fid, code, name, language, channel in db.conn.execute(
                "SELECT id, code, display_name, language, preferred_channel FROM families"
                f" WHERE id IN ({marks})", chunk):
            rows[fid] = {"family_id": fid, "code": code, "family": name, "language": language,
                         "preferred_channel": channel}
    return rows
