"""Combined receipt status of a notice: one row per family, totals by state and channel."""

from __future__ import annotations

from collections import Counter

from sqlite_utils import Database

from server import ledger, notices


def notice_report(db: Database, notice_id: int, class_ids: list[str] | None = None) -> dict:
    """Everything `paperbridge status` and the notice page show, as plain data.

    ``class_ids`` narrows the report to a teacher's own classes.
    """
    notice = notices.get_notice(db, notice_id)
    family_ids = notices.audience(db, notice, class_ids)
    statuses = ledger.notice_status(db, notice_id)
    info = _family_info(db, family_ids)
    families = []
    for fid in family_ids:
        status = statuses.get(fid, ledger.Status())
        done = status.state == "confirmed" or (status.state == "read" and not notice["requires_confirmation"])
        families.append({**info[fid], **status.as_dict(), "done": done})
    families.sort(key=lambda f: (f["classes"], f["students"]))
    by_state = Counter(f["state"] for f in families)
    by_channel = Counter(ch for f in families for ch in f["channels"])
    replies = Counter(f["reply"] for f in families if f["reply"])
    return {
        "notice": {"id": notice["id"], "title": notices.title_for(notice, notice["primary_language"]),
                   "week": notice["week"], "requires_confirmation": bool(notice["requires_confirmation"]),
                   "private": bool(notice["private"]), "publish_at": notice["publish_at"],
                   "reply_options": [o["key"] for o in notice["reply_options"]]},
        "totals": {"families": len(families), "unread": by_state["unread"], "read": by_state["read"],
                   "confirmed": by_state["confirmed"], "done": sum(f["done"] for f in families)},
        "by_channel": dict(sorted(by_channel.items())),
        "replies": dict(sorted(replies.items())),
        "families": families,
    }


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


def _family_info(db: Database, family_ids: list[int]) -> dict[int, dict]:
    info: dict[int, dict] = {}
    if not family_ids:
        return info
    students: dict[int, list[tuple[str, str]]] = {}
    for start in range(0, len(family_ids), 500):  # chunks: SQLite caps the number of ? in one query
        chunk = family_ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for fid, code, name, language, channel in db.conn.execute(
                "SELECT id, code, display_name, language, preferred_channel FROM families"
                f" WHERE id IN ({marks})", chunk):
            info[fid] = {"family_id": fid, "code": code, "family": name, "language": language,
                         "preferred_channel": channel, "students": "", "classes": ""}
        for fid, name, class_id in db.conn.execute(
                f"SELECT family_id, name, class_id FROM students WHERE active = 1 AND family_id IN ({marks})", chunk):
            students.setdefault(fid, []).append((class_id, name))
    for fid, kids in students.items():
        kids.sort()
        info[fid]["students"] = ", ".join(name for _, name in kids)
        info[fid]["classes"] = ", ".join(sorted({cls for cls, _ in kids}))
    return info
