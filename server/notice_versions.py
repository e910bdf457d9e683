"""Changing a notice: edited freely until it is published; after that never silently changed.

A correction is a new notice for the same families that replaces the old one (families answer
the corrected text); a withdrawal is a new notice saying the old one no longer holds. The old
notice and every receipt of it stay in the ledger; it is no longer chased, printed or read out.

Example::

    new_id = correct_notice(db, 12, texts={"zh-Hans": ("秋游改期", "改到下周五。")}, reason="日期写错",
                            created_by="office")
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from server import clock, notices, settings
from server.db import last_id
from server.transaction import write_transaction

WITHDRAWN_TITLE = {"zh-Hans": "已撤回：{title}", "zh-Hant": "已撤回：{title}", "en": "Withdrawn: {title}"}
WITHDRAWN_BODY = {"zh-Hans": "此通知已撤回，请不必理会。原因：{reason}",
                  "zh-Hant": "此通知已撤回，請不必理會。原因：{reason}",
                  "en": "This notice is withdrawn; please disregard it. Reason: {reason}"}


def edit_notice(db: Database, notice_id: int, *, held: bool = False, **values) -> None:
    """Change a notice that is not yet published (same arguments as :func:`notices.add_notice`).
    A notice that waits for approval, or was sent back, waits (again) after the change, as does
    any notice when ``held``."""
    texts = notices.check_texts(values.pop("texts"))
    row = notices.notice_row(db, texts=texts, **values)
    with write_transaction(db):
        current = notices.get_notice(db, notice_id)
        if notices.is_published(current):
            raise ValueError("this notice is already published: correct it or withdraw it instead, so families"
                             " who read it are told")
        if held or current["approval"] in notices.HELD:
            row = notices.held_row(row)
        notices.check_classes(db, values.get("classes"))
        db.table("notices").update(notice_id, row)
        db.execute("DELETE FROM notice_texts WHERE notice_id = ?", [notice_id])
        db.execute("DELETE FROM notice_classes WHERE notice_id = ?", [notice_id])
        notices.insert_parts(db, notice_id, texts, values.get("classes"))


def correct_notice(db: Database, notice_id: int, *, texts: dict[str, tuple[str, str]], reason: str,
                   created_by: str, due_date: str | None = None) -> int:
    """Publish a corrected version now, to the same families with the same replies; returns its id."""
    texts = notices.check_texts(texts)
    return _replace(db, notice_id, "correction", reason, created_by,
                    lambda old: (texts, {"due_date": due_date or old["due_date"]}))


def withdraw_notice(db: Database, notice_id: int, *, reason: str, created_by: str) -> int:
    """Publish, now, a notice saying this one is withdrawn (in each of its languages); returns its id."""
    def withdrawal(old: dict) -> tuple[dict, dict]:
        texts = {lang: (WITHDRAWN_TITLE[lang].format(title=t["title"]), WITHDRAWN_BODY[lang].format(reason=reason))
                 for lang, t in old["texts"].items()}
        return texts, {"requires_confirmation": 0, "reply_options": "[]", "due_date": None}
    return _replace(db, notice_id, "withdrawal", reason, created_by, withdrawal)


def _replace(db: Database, notice_id: int, kind: str, reason: str, created_by: str, make) -> int:
    if not reason.strip():
        raise ValueError("say why (families and colleagues see the reason)")
    with write_transaction(db):
        old = notices.get_notice(db, notice_id)
        if not notices.is_published(old):
            raise ValueError("this notice is not published yet: edit it instead")
        if old["superseded_by"]:
            raise ValueError(f"this notice was already {old['state']}; change its newest version"
                             f" (notice {old['superseded_by']})")
        texts, changes = make(old)
        now = clock.now()
        row = {key: old[key] for key in ("whole_school", "requires_confirmation", "due_date", "private", "urgent")}
        row["primary_language"] = old["primary_language"] if old["primary_language"] in texts else next(iter(texts))
        row.update({"reply_options": json.dumps(old["reply_options"], ensure_ascii=False), **changes,
                    "publish_at": clock.iso(now), "week": clock.iso_week(now, settings.zone(db)),
                    "created_at": clock.iso(now), "created_by": created_by, "replaces": notice_id,
                    "version_kind": kind, "reason": reason.strip()})
        new_id = last_id(db.table("notices").insert(row))
        notices.insert_parts(db, new_id, texts, None if old["whole_school"] else old["classes"])
        # the old notice changed in effect (it is replaced): kiosks learn it from the change feed
        db.execute("INSERT INTO change_log (entity, entity_id) VALUES ('notices', ?)", [notice_id])
    return new_id


def history(db: Database, notice_id: int) -> list[dict]:
    """Every version of this notice, oldest first (the original, then corrections, a withdrawal)."""
    first = notice_id
    while (row := db.execute("SELECT replaces FROM notices WHERE id = ?", [first]).fetchone()) and row[0]:
        first = row[0]
    chain, current = [], first
    while current:
        notice = notices.get_notice(db, current)
        chain.append(notice)
        current = notice["superseded_by"]
    return chain
