"""The concerns register: a family's questions, objections and "please call me" requests from every
channel, each answered within the school's response time.

An entry comes from a phone caller's key 9 (a voice message, or a call-back request when they say
nothing), a text we cannot read as an answer, the question box on the family link, a volunteer at
the help desk typing what the family says, or the "please call me" box on a paper slip. It is
assigned to the family's class teacher, goes open → answered → closed, and when it stays open past
``concern_response_hours`` it is overdue and escalated to the office. Only the family's teachers
and the office see it. An open entry keeps the family on the chase list.

Example::

    cid = add(db, family_id=17, notice_id=3, channel="text", kind="message", words="孩子那天发烧不能去",
              source="sms:SM1", actor="family", key="sms:SM1:unclear")
    answer(db, cid, "好的，已记下，祝早日康复。", by="chen")
    close(db, cid, by="chen")
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlite_utils import Database

from server import clock, settings
from server.db import messages_dir
from server.errors import PaperBridgeError

CHANNELS = ("phone", "text", "link", "kiosk", "paper")
KINDS = ("call_back", "message")
STATUSES = ("open", "answered", "closed")
MAX_WORDS = 1000
COLUMNS = [("id", "No. / 编号"), ("received_at", "Received / 收到时间"), ("status", "Status / 状态"),
           ("overdue", "Overdue / 逾期"), ("channel", "Channel / 渠道"), ("kind", "Kind / 类型"),
           ("code", "Family code / 家庭编号"), ("family", "Family / 家庭"), ("classes", "Class / 班级"),
           ("phones", "Phone / 电话"), ("notice", "Notice / 通知"), ("words", "Words / 内容"),
           ("recording", "Voice message / 语音留言"), ("assigned_to", "Assigned to / 负责人"),
           ("answer", "Answer / 答复"), ("answered_by", "Answered by / 答复人"),
           ("answered_at", "Answered at / 答复时间"), ("told_via", "Family told by / 告知方式"),
           ("closed_by", "Closed by / 关闭人"), ("closed_at", "Closed at / 关闭时间")]


MESSAGE_NAME = re.compile(r"^[0-9a-f]{32}\.mp3$")


class UnknownConcern(PaperBridgeError):
    pass


class ConcernClosed(PaperBridgeError, ValueError):
    """An answer or a change to an entry that is already closed."""


def response_hours(db: Database) -> int:
    return int(settings.get(db, "concern_response_hours"))


def add(db: Database, *, family_id: int, notice_id: int | None, channel: str, kind: str, source: str, actor: str,
        key: str, words: str | None = None, recording_url: str | None = None, at: str | None = None) -> int | None:
    """Register an entry once (the same call, text, slip or tap again adds nothing): its id, or None
    when it was already there. ``words`` are kept as the family gave them, up to MAX_WORDS characters."""
    if channel not in CHANNELS or kind not in KINDS:
        raise ValueError(f"channel is one of {', '.join(CHANNELS)} and kind one of {', '.join(KINDS)}")
    words = (words or "").strip()[:MAX_WORDS] or None
    if kind == "message" and not words and not recording_url:
        raise ValueError("a message needs words or a recording")
    cursor = db.execute(
        "INSERT OR IGNORE INTO concerns (dedupe_key, family_id, notice_id, channel, kind, words, recording_url,"
        " source, actor, received_at, assigned_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [key, family_id, notice_id, channel, kind, words, recording_url, source, actor, at or clock.now_iso(),
         class_teacher(db, family_id)])
    return cursor.lastrowid if cursor.rowcount == 1 else None


def class_teacher(db: Database, family_id: int) -> str | None:
    """The first active teacher (by name) of a class one of the family's students is in."""
    row = db.execute(
        "SELECT u.username FROM users u JOIN user_classes uc ON uc.user_id = u.id JOIN students s"
        " ON s.class_id = uc.class_id WHERE s.family_id = ? AND s.active = 1 AND u.active = 1 AND u.role = 'teacher'"
        " ORDER BY s.class_id, u.username LIMIT 1", [family_id]).fetchone()
    return row[0] if row else None


_SELECT = """
SELECT c.*, fam.code, fam.display_name AS family, fam.language,
  (SELECT group_concat(DISTINCT s.class_id) FROM students s WHERE s.family_id = c.family_id AND s.active = 1)
    AS classes,
  (SELECT group_concat(g.phone, ', ') FROM guardians g WHERE g.family_id = c.family_id AND g.active = 1
    AND g.phone IS NOT NULL) AS phones,
  (SELECT t.title FROM notice_texts t JOIN notices n ON n.id = t.notice_id WHERE t.notice_id = c.notice_id
    ORDER BY t.language = n.primary_language DESC, t.language LIMIT 1) AS notice
FROM concerns c JOIN families fam ON fam.id = c.family_id
"""


def _due(received_at: str, hours: int) -> str:
    return clock.iso(dt.datetime.fromisoformat(received_at) + dt.timedelta(hours=hours))


def _dress(row: dict, hours: int, now: str) -> dict:
    row["due_at"] = _due(row["received_at"], hours)
    row["overdue"] = row["status"] == "open" and row["due_at"] < now
    return row


def listing(db: Database, *, class_ids: list[str] | None = None, status: str | None = None,
            overdue: bool = False, family_id: int | None = None, now: dt.datetime | None = None) -> list[dict]:
    """Entries, oldest first, with the family, its classes and phones, the notice title, when the
    answer is due and whether it is overdue. ``class_ids`` keeps a teacher's own families;
    ``status`` one state ('open', 'answered', 'closed'); ``overdue`` only open ones past due."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status is one of {', '.join(STATUSES)}")
    where, params = ["1 = 1"], list[object]()
    if status:
        where.append("c.status = ?")
        params.append(status)
    if family_id is not None:
        where.append("c.family_id = ?")
        params.append(family_id)
    hours, stamp = response_hours(db), clock.iso(now or clock.now())
    rows = [_dress(r, hours, stamp) for r in db.query(
        _SELECT + f" WHERE {' AND '.join(where)} ORDER BY c.received_at, c.id", params)]
    if class_ids is not None:
        rows = [r for r in rows if set((r["classes"] or "").split(",")) & set(class_ids)]
    return [r for r in rows if r["overdue"]] if overdue else rows


def get(db: Database, concern_id: int, class_ids: list[str] | None = None) -> dict:
    """One entry (UnknownConcern when there is none, or it is not one of this teacher's families)."""
    rows = [_dress(r, response_hours(db), clock.now_iso()) for r in db.query(_SELECT + " WHERE c.id = ?",
                                                                               [concern_id])]
    if not rows or (class_ids is not None and not set((rows[0]["classes"] or "").split(",")) & set(class_ids)):
        raise UnknownConcern(f"no concern number {concern_id}")
    return rows[0]


def open_count(db: Database, class_ids: list[str] | None = None) -> int:
    """Open entries (for a teacher: of families with a student in ``class_ids``): one count, as
    every staff page shows it."""
    if class_ids is None:
        return db.execute("SELECT count(*) FROM concerns WHERE status = 'open'").fetchone()[0]
    marks = ",".join("?" * len(class_ids)) or "NULL"
    return db.execute("SELECT count(*) FROM concerns c WHERE c.status = 'open' AND EXISTS (SELECT 1 FROM students s"
                      f" WHERE s.family_id = c.family_id AND s.active = 1 AND s.class_id IN ({marks}))",
                      list(class_ids)).fetchone()[0]


def overdue_count(db: Database, class_ids: list[str] | None = None) -> int:
    return len(listing(db, class_ids=class_ids, overdue=True))


def open_count_by_family(db: Database) -> dict[int, int]:
    return {r[0]: r[1] for r in db.execute(
        "SELECT family_id, count(*) FROM concerns WHERE status = 'open' GROUP BY family_id")}


def answer(db: Database, concern_id: int, text: str, *, by: str, told_via: str | None = None) -> dict:
    """Give an answer (again, if a first one needs correcting) to an entry that is not closed. The
    family is told on its channel afterwards (``mark_told``); a call back answered on the phone
    (``told_via='call'``) is told already."""
    text = text.strip()
    if not text:
        raise ValueError("write the answer the family will hear or read")
    if len(text) > MAX_WORDS:
        raise ValueError(f"an answer is at most {MAX_WORDS} characters (this one is {len(text)})")
    concern = get(db, concern_id)
    if concern["status"] == "closed":
        raise ConcernClosed(f"concern {concern_id} was closed by {concern['closed_by']} at {concern['closed_at']}; "
                            "it takes no more answers")
    now = clock.now_iso()
    db.execute("UPDATE concerns SET status = 'answered', answer = ?, answered_by = ?, answered_at = ?, told_at = ?,"
               " told_via = ? WHERE id = ?", [text, by, now, now if told_via else None, told_via, concern_id])
    return get(db, concern_id)


def close(db: Database, concern_id: int, *, by: str, note: str = "") -> dict:
    """Close an entry (kept, with who closed it and when); a note closes an open one without an
    answer. The note is the staff's own record ("called back"): it is never sent to the family."""
    concern = get(db, concern_id)
    if concern["status"] == "closed":
        raise ConcernClosed(f"concern {concern_id} is already closed")
    note = note.strip()[:MAX_WORDS]
    if concern["status"] == "open" and not note:
        raise ValueError("an unanswered concern is closed with a note saying why (for example 'called back')")
    now = clock.now_iso()
    unanswered = concern["status"] == "open"
    db.execute("UPDATE concerns SET status = 'closed', closed_by = ?, closed_at = ?,"
               " answer = coalesce(answer, ?), answered_by = coalesce(answered_by, ?),"
               " told_at = CASE WHEN ? THEN ? ELSE told_at END, told_via = CASE WHEN ? THEN 'note' ELSE told_via END"
               " WHERE id = ?", [by, now, note or None, by if note else None, unanswered, now, unanswered, concern_id])
    return get(db, concern_id)


def to_tell(db: Database, family_id: int | None = None) -> list[dict]:
    """Answered entries whose family has not been told yet, oldest first: id, family_id, channel,
    answer (a plain query: the phone line asks at the start of every call)."""
    where, params = "answer IS NOT NULL AND told_at IS NULL", []
    if family_id is not None:
        where, params = where + " AND family_id = ?", [family_id]
    return list(db.query(f"SELECT id, family_id, channel, answer FROM concerns WHERE {where}"
                         " ORDER BY answered_at, id", params))


def for_bulletin(db: Database, family_id: int, week: str) -> list[dict]:
    """Answers to a family's questions from paper or the help desk that its ``week`` bulletin
    carries: those not told yet, and those this week's bulletin told already (a reprint is the same)."""
    return list(db.query(
        "SELECT id, words, answer, answered_by, answered_at, received_at, channel FROM concerns WHERE family_id = ?"
        " AND answer IS NOT NULL AND (told_at IS NULL AND channel IN ('paper', 'kiosk') OR told_via = ?)"
        " ORDER BY answered_at, id", [family_id, f"bulletin:{week}"]))


def mark_told(db: Database, concern_id: int, via: str) -> None:
    db.execute("UPDATE concerns SET told_at = ?, told_via = ? WHERE id = ? AND told_at IS NULL",
               [clock.now_iso(), via, concern_id])


def escalate_overdue(db: Database, now: dt.datetime | None = None) -> list[dict]:
    """Mark overdue open entries as escalated to the office (once each); the newly escalated."""
    fresh = [r for r in listing(db, overdue=True, now=now) if not r["escalated_at"]]
    stamp = clock.iso(now or clock.now())
    for row in fresh:
        db.execute("UPDATE concerns SET escalated_at = ? WHERE id = ?", [stamp, row["id"]])
    return fresh


def export_rows(rows: list[dict]) -> list[dict]:
    """Rows for CSV/XLSX (the COLUMNS), words of the kind and overdue flag in plain English."""
    return [{**r, "overdue": "overdue" if r["overdue"] else "", "kind": r["kind"].replace("_", " "),
             "recording": r["recording"] or r["recording_url"] or ""} for r in rows]


def message_path(db: Database, name: str | None) -> Path | None:
    """The stored file of a voice message, or None (never fetched, removed by retention, or not a name of ours)."""
    if not name or not MESSAGE_NAME.match(name):
        return None
    path = messages_dir(db) / name
    return path if path.exists() else None
