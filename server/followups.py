""""Please call me": the families who asked for a call back (a ticked box on the slip, 9 on the phone).

A to-do list for the family's teachers and the office, with a done action. An open request
keeps the family on the notice's chase list until someone has called.

Example::

    add(db, family_id=17, notice_id=3, reason="pressed 9 on the phone line", source="call:CA1",
        actor="family", key="call:CA1:call-me:3")
    [item] = open_items(db, class_ids=["3A"])
    done(db, item["id"], actor="chen")
"""

from __future__ import annotations

from sqlite_utils import Database

from server import clock


def add(db: Database, *, family_id: int, notice_id: int | None, reason: str, source: str, actor: str,
        key: str) -> None:
    """Record a request once (the same slip or call again adds nothing)."""
    db.execute("INSERT OR IGNORE INTO followups (dedupe_key, family_id, notice_id, reason, source, actor, created_at)"
               " VALUES (?, ?, ?, ?, ?, ?, ?)", [key, family_id, notice_id, reason, source, actor, clock.now_iso()])


def open_items(db: Database, class_ids: list[str] | None = None) -> list[dict]:
    """Open requests, oldest first, with the family, its phones and the notice title; ``class_ids``
    keeps those of families with a student in these classes (a teacher's own)."""
    rows = list(db.query(
        "SELECT f.id, f.family_id, f.notice_id, f.reason, f.source, f.created_at, fam.code, fam.display_name,"
        " fam.language, (SELECT group_concat(DISTINCT s.class_id) FROM students s WHERE s.family_id = f.family_id"
        "   AND s.active = 1) AS classes,"
        " (SELECT group_concat(g.phone, ', ') FROM guardians g WHERE g.family_id = f.family_id AND g.active = 1"
        "   AND g.phone IS NOT NULL) AS phones,"
        " (SELECT title FROM notice_texts t WHERE t.notice_id = f.notice_id ORDER BY t.language LIMIT 1) AS notice"
        " FROM followups f JOIN families fam ON fam.id = f.family_id WHERE f.done_at IS NULL"
        " ORDER BY f.created_at, f.id"))
    if class_ids is not None:
        rows = [r for r in rows if set((r["classes"] or "").split(",")) & set(class_ids)]
    return rows


def open_count(db: Database, class_ids: list[str] | None = None) -> int:
    """How many requests are open (for a teacher: of families with a student in ``class_ids``)."""
    if class_ids is None:
        return db.execute("SELECT count(*) FROM followups WHERE done_at IS NULL").fetchone()[0]
    marks = ",".join("?" * len(class_ids)) or "NULL"
    return db.execute("SELECT count(*) FROM followups f WHERE f.done_at IS NULL AND EXISTS (SELECT 1 FROM students s"
                      f" WHERE s.family_id = f.family_id AND s.active = 1 AND s.class_id IN ({marks}))",
                      list(class_ids)).fetchone()[0]


def open_count_by_family(db: Database) -> dict[int, int]:
    return {r[0]: r[1] for r in db.execute(
        "SELECT family_id, count(*) FROM followups WHERE done_at IS NULL GROUP BY family_id")}


def done(db: Database, item_id: int, *, actor: str, note: str = "") -> bool:
    """Close a request (kept, with who closed it and when). False if it was not open."""
    cursor = db.execute("UPDATE followups SET done_at = ?, done_by = ?, done_note = ? WHERE id = ? AND done_at IS NULL",
                        [clock.now_iso(), actor, note.strip()[:200], item_id])
    return cursor.rowcount == 1
