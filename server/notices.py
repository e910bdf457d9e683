"""Notices: language versions, audience, reply options, privacy and scheduled publishing.

Example::

    notice_id = add_notice(db, texts={"zh-Hans": ("秋游通知", "周五去植物园。"),
                                      "en": ("Autumn trip", "Friday, botanical garden.")},
                           classes=["3A"], reply_options=["attend", "absent"])
"""

from __future__ import annotations

import datetime as dt
import json

from sqlite_utils import Database

from server import chinese, clock, languages, roster, settings
from server.db import last_id
from server.errors import NotPublished, UnknownNotice
from server.transaction import write_transaction

# Common answers with their labels; any other option is written "key:label".
REPLY_VOCABULARY = {
    "yes": {"zh-Hans": "是", "zh-Hant": "是", "en": "Yes"},
    "no": {"zh-Hans": "否", "zh-Hant": "否", "en": "No"},
    "attend": {"zh-Hans": "参加", "zh-Hant": "參加", "en": "Attending"},
    "absent": {"zh-Hans": "不参加", "zh-Hant": "不參加", "en": "Not attending"},
    "agree": {"zh-Hans": "同意", "zh-Hant": "同意", "en": "Agree"},
    "disagree": {"zh-Hans": "不同意", "zh-Hant": "不同意", "en": "Disagree"},
}


def parse_reply_option(text: str) -> dict:
    """'attend' -> vocabulary labels; 'bus:坐校车' -> one label for every language."""
    key, _, label = text.partition(":")
    key = key.strip().lower()
    if not key.replace("_", "").isalnum() or len(key) > 20:
        raise ValueError(f"reply option {text!r}: the key must be a short word like 'yes' or 'bus'")
    if label.strip():
        return {"key": key, "labels": {lang: label.strip() for lang in languages.TEXT_LANGUAGES}}
    if key not in REPLY_VOCABULARY:
        raise ValueError(f"reply option {key!r} is not a known answer "
                         f"({', '.join(REPLY_VOCABULARY)}); write it as key:label")
    return {"key": key, "labels": dict(REPLY_VOCABULARY[key])}


def add_notice(
    db: Database,
    *,
    texts: dict[str, tuple[str, str]],
    classes: list[str] | None = None,
    requires_confirmation: bool = True,
    reply_options: list[str] | None = None,
    due_date: str | None = None,
    private: bool = False,
    publish_at: str | None = None,
    created_by: str = "system",
    urgent: bool = False,
    held: bool = False,
) -> int:
    """Create a notice; ``classes=None`` means the whole school; ``held``: it waits for approval
    (server.approval). Returns the new id."""
    texts = check_texts(texts)
    row = notice_row(db, texts=texts, requires_confirmation=requires_confirmation, reply_options=reply_options,
                     due_date=due_date, private=private, publish_at=publish_at, urgent=urgent, classes=classes)
    row = held_row(row) if held else row
    with write_transaction(db):
        check_classes(db, classes)
        notice_id = last_id(db.table("notices").insert({**row, "created_at": clock.now_iso(),
                                                        "created_by": created_by}))
        insert_parts(db, notice_id, texts, classes)
    return notice_id


def check_texts(texts: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Each language's (title, body), both present, in a language notices are written in."""
    if not texts:
        raise ValueError("a notice needs a title and body in at least one language")
    for lang, (title, body) in texts.items():
        if lang not in languages.TEXT_LANGUAGES:
            raise ValueError(f"notices are written in {', '.join(languages.TEXT_LANGUAGES)}, not {lang!r}")
        if not title.strip() or not body.strip():
            raise ValueError(f"the {lang} version needs both a title and a body")
    return texts


def notice_row(db: Database, *, texts: dict, requires_confirmation: bool = True, reply_options: list[str] | None = None,
               due_date: str | None = None, private: bool = False, publish_at: str | None = None,
               urgent: bool = False, classes: list[str] | None = None, created_by: str = "") -> dict:
    """The notices row for these choices, checked (the texts and classes are checked apart)."""
    options = [parse_reply_option(o) for o in reply_options or []]
    if len({o["key"] for o in options}) != len(options):
        raise ValueError("reply options must differ")
    if due_date:
        due_date = dt.date.fromisoformat(due_date.strip()).isoformat()
    zone = settings.zone(db)
    publish = clock.parse(publish_at, zone) if publish_at else clock.now()
    return {"primary_language": next(iter(texts)), "whole_school": int(classes is None),
            "requires_confirmation": int(requires_confirmation),
            "reply_options": json.dumps(options, ensure_ascii=False), "due_date": due_date,
            "private": int(private), "urgent": int(urgent), "publish_at": clock.iso(publish),
            "week": clock.iso_week(publish, zone)}


def insert_parts(db: Database, notice_id: int, texts: dict[str, tuple[str, str]], classes: list[str] | None) -> None:
    db.table("notice_texts").insert_all(
        {"notice_id": notice_id, "language": lang, "title": t.strip(), "body": b.strip()}
        for lang, (t, b) in texts.items())
    db.table("notice_classes").insert_all({"notice_id": notice_id, "class_id": c} for c in classes or [])


def check_classes(db: Database, classes: list[str] | None) -> None:
    if classes is None:
        return
    if not classes:
        raise ValueError("name at least one class, or send it to the whole school")
    known = {r[0] for r in db.execute("SELECT id FROM classes").fetchall()}
    unknown = [c for c in classes if c not in known]
    if unknown:
        raise ValueError(f"unknown class {', '.join(unknown)}; known classes: {', '.join(sorted(known)) or 'none yet'}")


_SELECT = """
SELECT n.*,
  (SELECT json_group_array(json_array(language, title, body))
   FROM (SELECT language, title, body FROM notice_texts t WHERE t.notice_id = n.id ORDER BY language)) AS _texts,
  (SELECT json_group_array(class_id)
   FROM (SELECT class_id FROM notice_classes c WHERE c.notice_id = n.id ORDER BY class_id)) AS _classes,
  (SELECT json_array(v.id, v.version_kind) FROM notices v WHERE v.replaces = n.id) AS _newer
FROM notices n"""


def get_notice(db: Database, notice_id: int) -> dict:
    """One notice with its texts, classes and replies, in one query (the phone line reads one or
    two per webhook)."""
    cursor = db.execute(_SELECT + " WHERE n.id = ?", [notice_id])
    row = cursor.fetchone()
    if row is None:
        raise UnknownNotice(f"notice {notice_id} does not exist")
    return _expand(dict(zip([c[0] for c in cursor.description], row, strict=True)))


def _expand(notice: dict) -> dict:
    """A row of :data:`_SELECT` as the notice dict every caller uses."""
    notice["reply_options"] = json.loads(notice["reply_options"])
    notice["texts"] = {lang: {"title": title, "body": body} for lang, title, body in json.loads(notice.pop("_texts"))}
    notice["classes"] = json.loads(notice.pop("_classes"))
    newer = json.loads(notice.pop("_newer") or "null")
    notice["superseded_by"] = newer[0] if newer else None
    notice["state"] = state(notice, newer[1] if newer else None)
    return notice


STATES = ("waiting", "sent_back", "scheduled", "published", "corrected", "withdrawn")
HELD = ("waiting", "sent_back")  # waiting for approval, or sent back to its teacher (server.approval)
NEVER = "9999-12-31T23:59:59Z"  # a held notice's publish_at: later than any clock, so no channel reaches it


def held_row(row: dict) -> dict:
    """A notices row that waits for approval: the time asked for kept apart, publish_at never."""
    return {**row, "requested_publish_at": row["publish_at"], "publish_at": NEVER, "approval": "waiting"}


def state(notice: dict, replaced_by_kind: str | None = None) -> str:
    """waiting (for approval), sent_back (to its teacher), scheduled (not yet published), published,
    corrected or withdrawn (a newer version replaced it)."""
    if replaced_by_kind:
        return {"correction": "corrected", "withdrawal": "withdrawn"}[replaced_by_kind]
    if notice.get("approval") in HELD:
        return notice["approval"]
    return "published" if is_published(notice) else "scheduled"


def list_notices(db: Database, *, week: str | None = None, class_ids: list[str] | None = None,
                 published_only: bool = False, current_only: bool = False) -> list[dict]:
    """Notices, newest first; ``class_ids`` keeps those addressed to any of them (or the whole school);
    ``current_only`` leaves out versions a correction or withdrawal replaced."""
    where, params = [], []
    if current_only:
        where.append("n.id NOT IN (SELECT replaces FROM notices WHERE replaces IS NOT NULL)")
    if week:
        where.append("n.week = ?"); params.append(week)
    if published_only:
        where.append("n.publish_at <= ?"); params.append(clock.now_iso())
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY publish_at DESC, id DESC"
    notices = [_expand(row) for row in db.query(sql, params)]
    if class_ids is not None:
        notices = [n for n in notices if n["whole_school"] or set(n["classes"]) & set(class_ids)]
    return notices


def text_for(notice: dict, language: str) -> tuple[str, str, str]:
    """(title, body, language used), falling back when the family's language is missing. A reader
    of Traditional (zh-Hant, Cantonese) gets a Simplified-only notice converted, never as written."""
    texts = notice["texts"]
    for lang in languages.text_fallbacks(language) + tuple(texts):
        if lang in texts:
            title, body = texts[lang]["title"], texts[lang]["body"]
            if lang == "zh-Hans" and language in languages.TRADITIONAL:
                return chinese.to_traditional(title, language), chinese.to_traditional(body, language), "zh-Hant"
            return title, body, lang
    raise UnknownNotice(f"notice {notice.get('id')} has no text")


def version_note(notice: dict, language: str) -> str | None:
    """What a reader of ``language`` should be told about the text ``text_for`` gives them:
    'converted' (from the Simplified version, by machine), 'nearest' (another language) or None."""
    texts = notice["texts"]
    if language in languages.TRADITIONAL and "zh-Hant" not in texts and "zh-Hans" in texts:
        return "converted"
    wanted = "zh-Hant" if language == "yue-Hant" else language
    return None if wanted in texts else "nearest"


def title_for(notice: dict, language: str) -> str:
    return text_for(notice, language)[0]


def reply_label(notice: dict, key: str, language: str) -> str:
    for option in notice["reply_options"]:
        if option["key"] == key:
            for lang in languages.text_fallbacks(language):
                if lang in option["labels"]:
                    return option["labels"][lang]
    return key


def audience(db: Database, notice: dict, class_ids: list[str] | None = None) -> list[int]:
    """Active families the notice is addressed to, optionally narrowed to some classes."""
    classes = None if notice["whole_school"] else notice["classes"]
    if class_ids is not None:
        classes = [c for c in (classes if classes is not None else class_ids) if c in class_ids]
    return roster.families_in_classes(db, classes)


def addressed_to(db: Database, notice: dict, family_id: int) -> bool:
    """Whether the notice is addressed to this active family (``audience`` without listing it)."""
    sql, params = "SELECT 1 FROM students WHERE family_id = ? AND active = 1", [family_id]
    if not notice["whole_school"]:
        sql += f" AND class_id IN ({','.join('?' * len(notice['classes'])) or 'NULL'})"
        params += notice["classes"]
    return db.execute(sql, params).fetchone() is not None


def is_published(notice: dict) -> bool:
    """Approved (or needing no approval) and past its publish time."""
    return notice.get("approval") not in HELD and notice["publish_at"] <= clock.now_iso()


def get_published(db: Database, notice_id: int) -> dict:
    """A notice a family may see, hear or answer: before its publish time it reaches no one
    (NotPublished, a kind of UnknownNotice, so channels answer "not found")."""
    notice = get_notice(db, notice_id)
    if not is_published(notice):
        raise NotPublished(f"notice {notice_id} does not exist")
    return notice
