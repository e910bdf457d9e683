"""The kiosk sync API (gzip JSON, bearer device tokens). See docs/kiosk.md for the protocol.

POST /api/sync/enroll  {"code", "name"}            -> {"device_id", "token", "name"}
POST /api/sync/push    {"events": [...]} (<= 500)   -> {"accepted": [ids], "rejected": [{id, reason}]}
GET  /api/sync/pull?cursor=C                        -> {"families", "students", "notices", "volunteers",
                                                        "receipts", "cursor", "more"}
"""

from __future__ import annotations

import gzip
import io
import json
import logging

from flask import Blueprint, Response, request

from server import devices, ledger, notices, ratelimit, settings, webtools
from server.errors import PaperBridgeError, UnknownFamily, UnknownNotice
from server.transaction import write_transaction
from server.web.api import bearer, error, too_many
from server.webtools import get_db

bp = Blueprint("sync_api", __name__, url_prefix="/api/sync")
log = logging.getLogger("paperbridge.sync")
MAX_PUSH = 500
MAX_BODY = 8 * 1024 * 1024
PAGE = 500
KIOSK_KINDS = ("read", "confirmed", "reply")


def _body() -> dict | None:
    raw = request.get_data(cache=False)
    if request.headers.get("Content-Encoding") == "gzip":
        try:
            raw = gzip.GzipFile(fileobj=io.BytesIO(raw)).read(MAX_BODY + 1)
        except (OSError, EOFError):
            return None
    if len(raw) > MAX_BODY:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _reply(data: dict) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    response = Response(body, mimetype="application/json")
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response.set_data(gzip.compress(body, 6))
        response.headers["Content-Encoding"] = "gzip"
    return response


@bp.before_request
def _limit():
    """Enrolment codes are guessable: few tries per address. Each kiosk gets a steady request budget."""
    address = webtools.client_address()
    wait = webtools.limiter(ratelimit.BAD_LINK).blocked_for(address)
    if not wait and request.endpoint == "sync_api.enroll":
        wait = webtools.limiter(ratelimit.ENROL).hit(address)
    elif not wait:
        wait = webtools.limiter(ratelimit.SYNC).hit(ratelimit.token_key(request.headers.get("Authorization", address)))
    return too_many(wait) if wait else None


def _device() -> dict | None:
    return bearer(devices.device_for_token)


@bp.route("/enroll", methods=["POST"])
def enroll():
    data = _body()
    if not data or not isinstance(data.get("code"), str):
        return error("bad_request", "send {\"code\": \"12345678\"}", 400)
    try:
        device_id, token, name = devices.enrol(get_db(), data["code"])
    except PaperBridgeError as exc:
        return error("bad_code", str(exc), 403)
    return _reply({"device_id": device_id, "token": token, "name": name})


@bp.route("/push", methods=["POST"])
def push():
    device = _device()
    if device is None:
        return error("unauthorized", "this kiosk is not enrolled or has been revoked", 401)
    data = _body()
    items = data.get("events") if data else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return error("bad_request", "send {\"events\": [...]}", 400)
    if len(items) > MAX_PUSH:
        return error("too_large", f"push at most {MAX_PUSH} events at a time", 413)
    db = get_db()
    accepted, rejected, events = [], [], []
    for item in items:
        try:
            events.append(_event(db, item, device["id"]))
            accepted.append(item["id"])
        except (ValueError, KeyError, TypeError, UnknownNotice, UnknownFamily) as exc:
            rejected.append({"id": str(item.get("id")), "reason": str(exc)})
    with write_transaction(db):
        result = ledger.record(db, events)
    log.info("sync push from kiosk %s (%s): %s events, %s recorded, %s already known, %s refused", device["id"],
             device["name"], len(items), result.recorded, result.duplicates, len(rejected))
    return _reply({"accepted": accepted, "rejected": rejected, "recorded": result.recorded,
                   "duplicates": result.duplicates})


def _seq(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise ValueError(text)
    return int(text)


def _row_id(value) -> int:
    """A database id from JSON: a whole number in SQLite's range, as a number or digits."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not (str(value).isascii() and str(value).isdigit()):
        raise ValueError(f"{value!r} is not an id")
    number = int(value)
    if not 0 < number < 2**63:
        raise ValueError(f"{value!r} is not an id")
    return number


def _event(db, item: dict, device_id: str) -> ledger.Event:
    if item.get("kind") not in KIOSK_KINDS:
        raise ValueError(f"a kiosk records {', '.join(KIOSK_KINDS)}, not {item.get('kind')!r}")
    event_id = str(item["id"])
    if not 8 <= len(event_id) <= 64:
        raise ValueError("event ids are UUIDs")
    notice_id, family_id = _row_id(item["notice_id"]), _row_id(item["family_id"])
    if not db.execute("SELECT 1 FROM notices WHERE id = ?", [notice_id]).fetchone():
        raise UnknownNotice(f"notice {notice_id} does not exist")
    if not db.execute("SELECT 1 FROM families WHERE id = ?", [family_id]).fetchone():
        raise UnknownFamily(f"family {family_id} does not exist")
    payload = item.get("payload") or {}
    if not isinstance(payload, dict) or set(payload) - {"choice"}:
        raise ValueError("payload is {} or {\"choice\": key}")
    if item["kind"] == "reply" or "choice" in payload:
        options = {o["key"] for o in notices.get_notice(db, notice_id)["reply_options"]}
        if payload.get("choice") not in options:
            raise ValueError(f"choice must be one of the notice's reply options ({', '.join(sorted(options))})")
    return ledger.new_event(notice_id, family_id, "kiosk", item["kind"], event_id=event_id,
                            dedupe_key=f"kiosk:{event_id}", payload=payload, occurred_at=str(item["occurred_at"]),
                            source=f"kiosk:{device_id}", actor=str(item.get("actor", ""))[:64])


@bp.route("/pull")
def pull():
    if _device() is None:
        return error("unauthorized", "this kiosk is not enrolled or has been revoked", 401)
    if set(request.args) - {"cursor"}:
        return error("bad_request", "the only parameter is cursor", 400)
    try:
        change_seq, event_seq = (_seq(part) for part in request.args.get("cursor", "0.0").split("."))
    except ValueError:
        return error("bad_request", "cursor looks like 123.456", 400)
    db = get_db()
    changes = list(db.query("SELECT seq, entity, entity_id FROM change_log WHERE seq > ? ORDER BY seq LIMIT ?",
                            [change_seq, PAGE]))
    events = list(db.query("SELECT seq, notice_id, family_id FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                           [event_seq, PAGE]))
    wanted: dict[str, set] = {}
    for row in changes:
        wanted.setdefault(row["entity"], set()).add(row["entity_id"])
    data = {
        "families": _rows(db, "SELECT id, code, display_name, language, active FROM families", wanted.get("families")),
        "students": _rows(db, "SELECT id, name, class_id, family_id, active FROM students", wanted.get("students")),
        "volunteers": _rows(db, "SELECT id, username, display_name, password_hash, active FROM users"
                                " WHERE role = 'volunteer' AND", wanted.get("users"), prefix=False),
        "notices": [_notice(db, int(i)) for i in sorted(wanted.get("notices", ()), key=int)],
        "receipts": _receipts(db, {(e["notice_id"], e["family_id"]) for e in events}),
        "school": {"name": settings.get(db, "school_name"), "timezone": settings.get(db, "timezone")},
        "cursor": f"{changes[-1]['seq'] if changes else change_seq}.{events[-1]['seq'] if events else event_seq}",
        "more": len(changes) == PAGE or len(events) == PAGE,
    }
    return _reply(data)


def _rows(db, sql: str, ids, prefix: bool = True) -> list[dict]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    return list(db.query(f"{sql} {'WHERE' if prefix else ''} id IN ({marks})", [int(i) for i in ids]))


def _notice(db, notice_id: int) -> dict:
    notice = notices.get_notice(db, notice_id)
    private = bool(notice["private"])
    return {"id": notice["id"], "week": notice["week"], "publish_at": notice["publish_at"], "private": private,
            "whole_school": bool(notice["whole_school"]), "classes": notice["classes"],
            "requires_confirmation": bool(notice["requires_confirmation"]), "due_date": notice["due_date"],
            "reply_options": [] if private else notice["reply_options"],
            "texts": {} if private else notice["texts"]}  # private: never the words, only that one is waiting


def _receipts(db, pairs: set) -> list[dict]:
    out = []
    for notice_id, family_id in sorted(pairs):
        status = ledger.status_of(db, notice_id, family_id)
        out.append({"notice_id": notice_id, "family_id": family_id, "state": status.state, "reply": status.reply})
    return out
