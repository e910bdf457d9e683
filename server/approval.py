"""Approval before sending: with the ``approval_required`` setting on, a notice a teacher writes
waits for the office or an admin, who approves it or sends it back with a comment.

A held notice reaches no channel: its ``publish_at`` is far in the future (every query that
asks "is it published?" says no) and the time the teacher asked for is kept in
``requested_publish_at``. Approval publishes it at that time, or at once if that time has
passed (never earlier than the approval: nobody could have read it before). A notice sent back
is edited by its teacher and waits again. Corrections and withdrawals of an approved notice
are published at once (families must not keep a wrong notice while it waits); the notice's
history shows who made them.

Example::

    notice_id = notices.add_notice(db, texts=..., classes=["3A"], created_by="chen", held=required(db, "teacher"))
    approve(db, notice_id, by="office", role="office")
"""

from __future__ import annotations

from sqlite_utils import Database

from server import clock, notices, settings
from server.errors import PaperBridgeError

APPROVERS = ("office", "admin")


class NotAllowed(PaperBridgeError, PermissionError):
    pass


def required(db: Database, role: str) -> bool:
    """Whether a notice written by someone of ``role`` waits for approval."""
    return role == "teacher" and settings.get(db, "approval_required") == "on"


def _held(db: Database, notice_id: int, state: str) -> dict:
    notice = notices.get_notice(db, notice_id)
    if notice["approval"] != state:
        raise ValueError(f"notice {notice_id} is not waiting for approval"
                         + (f" (it was {notice['approval'].replace('_', ' ')} by {notice['approved_by']})"
                            if notice["approval"] else ""))
    return notice


def approve(db: Database, notice_id: int, *, by: str, role: str) -> dict:
    """Publish a waiting notice at the time asked for (now, if that has passed)."""
    if role not in APPROVERS:
        raise NotAllowed("only the office or an admin approves notices")
    notice = _held(db, notice_id, "waiting")
    now = clock.now_iso()
    publish = max(notice["requested_publish_at"] or now, now)
    db.execute("UPDATE notices SET approval = 'approved', approved_by = ?, approved_at = ?, approval_comment = NULL,"
               " publish_at = ?, week = ? WHERE id = ?",
               [by, now, publish, clock.iso_week(clock.parse(publish), settings.zone(db)), notice_id])
    return notices.get_notice(db, notice_id)


def send_back(db: Database, notice_id: int, *, by: str, role: str, comment: str) -> dict:
    """Return a waiting notice to its teacher with a comment saying what to change."""
    if role not in APPROVERS:
        raise NotAllowed("only the office or an admin approves notices")
    comment = comment.strip()
    if not comment:
        raise ValueError("say what the teacher should change")
    _held(db, notice_id, "waiting")
    db.execute("UPDATE notices SET approval = 'sent_back', approved_by = ?, approved_at = ?, approval_comment = ?"
               " WHERE id = ?", [by, clock.now_iso(), comment[:1000], notice_id])
    return notices.get_notice(db, notice_id)


def queue(db: Database) -> list[dict]:
    """Notices waiting for approval, oldest first."""
    return [notices.get_notice(db, r[0]) for r in db.execute(
        "SELECT id FROM notices WHERE approval = 'waiting' ORDER BY created_at, id").fetchall()]


def waiting_count(db: Database) -> int:
    return db.execute("SELECT count(*) FROM notices WHERE approval = 'waiting'").fetchone()[0]
