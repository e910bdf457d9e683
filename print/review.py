"""The review queue: slips a person must look at. Resolving one records receipts with the
staff member as actor; discarding records nothing. Both keep the item for the record.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from print import bulletin, evidence
from print.scan_input import Page
from server import clock, concerns, ledger, notices, roster, tokens
from server.errors import BadCode, PaperBridgeError
from server.transaction import write_transaction


def add_item(db: Database, *, batch_id: str, page: Page, reason: str, qr_text: str | None, slip_serial: int | None,
             family_id: int | None, marks: dict, crop: str | None) -> None:
    """Queue a page (once: the same page and reason again adds nothing)."""
    if page.image is None:
        raise ValueError(f"{page.file} page {page.number} has no image to review")
    fingerprint = f"{evidence.page_fingerprint(page.image)}:{qr_text or ''}:{reason}"
    if db.execute("SELECT 1 FROM review_items WHERE fingerprint = ?", [fingerprint]).fetchone():
        return
    db.table("review_items").insert({
        "fingerprint": fingerprint, "batch_id": batch_id, "file": page.file, "page": page.number,
        "reason": reason, "qr_text": qr_text, "slip_serial": slip_serial, "family_id": family_id,
        "marks": json.dumps(marks), "page_image": evidence.store_page(db, page.image), "crop_image": crop,
        "created_at": clock.now_iso(),
    })


def open_items(db: Database) -> list[dict]:
    return list(db.query("SELECT * FROM review_items WHERE status = 'open' ORDER BY id"))


def get_item(db: Database, item_id: int) -> dict | None:
    rows = list(db.query("SELECT * FROM review_items WHERE id = ?", [item_id]))
    if not rows:
        return None
    item = rows[0]
    item["marks"] = json.loads(item["marks"])
    return item


def candidate_notices(db: Database, item: dict, family_id: int | None, week: str | None) -> list[dict]:
    """The notices to mark: the slip's own rows when known, else the family's notices of the week."""
    if item["slip_serial"]:
        record = bulletin.slip_record(db, item["slip_serial"])
        if record:
            return record["notices"]
    if family_id is None or not week:
        return []
    classes = sorted({s["class_id"] for s in db.query(
        "SELECT class_id FROM students WHERE family_id = ? AND active = 1", [family_id])})
    return [n for n in notices.list_notices(db, week=week, class_ids=classes) if not n["private"]]


def family_for_code(db: Database, typed: str) -> dict:
    """The family for a typed code; BadCode with a reason for typos and unknown codes."""
    code = tokens.check_family_code(typed)
    family = roster.family_by_code(db, code)
    if family is None:
        raise BadCode(f"No family has the code {code}.")
    return family


def resolve(db: Database, item_id: int, *, family_id: int, marks: dict[int, dict], call_me: bool, actor: str) -> int:
    """Record what the person read off the slip. ``marks``: {notice_id: {"read": bool, "reply": key|None}}.

    Dedupe keys follow the slip when it is known, so a later rescan of the same slip adds nothing.
    """
    item = _open_item(db, item_id)
    if item["slip_serial"]:
        record = bulletin.slip_record(db, item["slip_serial"])
        if record and record["family_id"] != family_id:
            raise PaperBridgeError("This slip was printed for another family; discard it or correct the code.")
    prefix = f"slip:{item['slip_serial']}" if item["slip_serial"] else f"review:{item_id}"
    source, payload = f"review:{item_id}", {"review": item_id, "evidence": item["crop_image"] or item["page_image"]}
    events = []
    for notice_id, mark in marks.items():
        notice = notices.get_notice(db, notice_id)
        key = f"{prefix}:{notice_id}"
        events.append(ledger.new_event(notice_id, family_id, "paper", "read", dedupe_key=f"{key}:read",
                                       source=source, actor=actor, payload=payload))
        if mark.get("read"):
            events.append(ledger.new_event(notice_id, family_id, "paper", "confirmed", dedupe_key=f"{key}:confirmed",
                                           source=source, actor=actor, payload=payload))
        if mark.get("reply"):
            if mark["reply"] not in {o["key"] for o in notice["reply_options"]}:
                raise ValueError(f"{mark['reply']!r} is not an answer to notice {notice_id}")
            events.append(ledger.new_event(notice_id, family_id, "paper", "reply", dedupe_key=f"{key}:reply",
                                           source=source, actor=actor, payload={**payload, "choice": mark["reply"]}))
    with write_transaction(db):
        result = ledger.record(db, events)
        if call_me:
            concerns.add(db, family_id=family_id, notice_id=None, channel="paper", kind="call_back",
                         source=source, actor=actor, key=f"{prefix}:call-me")
        _close(db, item_id, "resolved", actor, family_id)
    return result.recorded


def discard(db: Database, item_id: int, *, actor: str) -> None:
    _open_item(db, item_id)
    _close(db, item_id, "discarded", actor, None)


def _open_item(db: Database, item_id: int) -> dict:
    item = get_item(db, item_id)
    if item is None:
        raise PaperBridgeError(f"Review item {item_id} does not exist.")
    if item["status"] != "open":
        raise PaperBridgeError(f"Review item {item_id} was already {item['status']} by {item['resolved_by']}.")
    return item


def _close(db: Database, item_id: int, status: str, actor: str, family_id: int | None) -> None:
    values: dict[str, str | int] = {"status": status, "resolved_by": actor, "resolved_at": clock.now_iso()}
    if family_id:
        values["family_id"] = family_id
    db.table("review_items").update(item_id, values)
