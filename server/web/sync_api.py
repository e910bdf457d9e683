"""The kiosk sync API (gzip JSON, bearer device tokens). See docs/kiosk.md for the protocol.

POST /api/sync/enroll  {"code", "name"}            -> {"device_id", "token", "name"}
POST /api/sync/push    {"events": [...]} (<= 500)   -> {"accepted": [ids], "rejected": [{id, reason}]}
GET  /api/sync/pull?cursor=C                        -> {"families", "students", "notices", "volunteers",
                                                        "receipts", "cursor", "more"}
GET  /api/sync/audio                                -> {"clips": [{notice_id, voice, sha, kind, bytes}]}
GET  /api/sync/audio/<sha>.ogg                      -> the clip (Ogg Opus), cacheable for ever
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import logging

from flask import Blueprint, Response, request, send_file

from server import clock, concerns, devices, ledger, notices, ratelimit, settings, speech, webtools
from server.errors import NoSpeech, PaperBridgeError, UnknownFamily, UnknownNotice
from server.transaction import write_transaction
from server.web.api import bearer, error, guessing_wait, too_many
from server.webtools import get_db

bp = Blueprint("sync_api", __name__, url_prefix="/api/sync")
log = logging.getLogger("paperbridge.sync")
MAX_PUSH = 500
MAX_BODY = 8 * 1024 * 1024
PAGE = 500
KIOSK_KINDS = ("read", "confirmed", "reply", "void")  # void: a volunteer undoing a mistaken tap of this kiosk


def json_body() -> dict | None:
    """The request's JSON object (gzip or not, at most MAX_BODY), or None."""
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


def json_reply(data: dict) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    response = Response(body, mimetype="application/json")
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response.set_data(gzip.compress(body, 6))
        response.headers["Content-Encoding"] = "gzip"
    return response


@bp.before_request
def _limit():
    """Enrolment codes are guessable: few tries per address. Each kiosk gets a steady request budget."""
    enrolling = request.endpoint == "sync_api.enroll"
    wait = guessing_wait(enrolling)
    if not wait and not enrolling:
        key = request.headers.get("Authorization", webtools.client_address())
        wait = webtools.limiter(ratelimit.SYNC).hit(ratelimit.token_key(key))
    return too_many(wait) if wait else None


def _device() -> dict | None:
    return bearer(devices.device_for_token)


@bp.route("/enroll", methods=["POST"])
def enroll():
    data = json_body()
    if not data or not isinstance(data.get("code"), str):
        return error("bad_request", "send {\"code\": \"12345678\"}", 400)
    try:
        device_id, token, name = devices.enrol(get_db(), data["code"])
    except PaperBridgeError as exc:
        return error("bad_code", str(exc), 403)
    return json_reply({"device_id": device_id, "token": token, "name": name})


@bp.route("/push", methods=["POST"])
def push():
    device = _device()
    if device is None:
        return error("unauthorized", "this kiosk is not enrolled or has been revoked", 401)
    data = json_body()
    items = data.get("events") if data else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return error("bad_request", "send {\"events\": [...]}", 400)
    if len(items) > MAX_PUSH:
        return error("too_large", f"push at most {MAX_PUSH} events at a time", 413)
    db = get_db()
    accepted, rejected, events, asked = [], [], [], []
    checks = _PushChecks(db)
    for item in items:
        try:
            if isinstance(item, dict) and item.get("kind") == "concern":
                asked.append(_concern(db, item, device["id"], checks))
                accepted.append(item["id"])
                continue
            event = _event(db, item, device["id"], checks)
            checks.earlier[event.id] = (event.source, event.notice_id, event.family_id)
            events.append(event)
            accepted.append(item["id"])
        except (ValueError, KeyError, TypeError, UnknownNotice, UnknownFamily) as exc:
            rejected.append({"id": str(item.get("id")), "reason": str(exc)})
    with write_transaction(db):
        result = ledger.record(db, events)
        for concern in asked:
            concerns.add(db, **concern)
    log.info("sync push from kiosk %s (%s): %s events, %s recorded, %s already known, %s refused", device["id"],
             device["name"], len(items), result.recorded, result.duplicates, len(rejected))
    return json_reply({"accepted": accepted, "rejected": rejected, "recorded": result.recorded,
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


class _PushChecks:
    """What one push checks its events against, looked up once per push."""

    def __init__(self, db) -> None:
        self.db = db
        self.volunteers = {r[0] for r in db.execute("SELECT username FROM users WHERE role = 'volunteer' AND active = 1")}
        self._notices: dict[int, tuple[dict, set[int]]] = {}
        self.earlier: dict[str, tuple[str, int, int]] = {}  # this push's events: id -> (source, notice, family)

    def source_of(self, event_id: str) -> tuple[str, int, int] | None:
        """Who recorded an event, for which notice and family: from this push, else the ledger."""
        if event_id in self.earlier:
            return self.earlier[event_id]
        row = self.db.execute("SELECT source, notice_id, family_id FROM events WHERE id = ?", [event_id]).fetchone()
        return tuple(row) if row else None

    def notice(self, notice_id: int) -> tuple[dict, set[int]]:
        """The notice (published) and the families it is addressed to."""
        if notice_id not in self._notices:
            notice = notices.get_published(self.db, notice_id)
            self._notices[notice_id] = (notice, set(notices.audience(self.db, notice)))
        return self._notices[notice_id]


def _event(db, item: dict, device_id: str, checks: _PushChecks) -> ledger.Event:
    """A kiosk's event as evidence: the server decides who recorded it, for whom, and when."""
    if item.get("kind") not in KIOSK_KINDS:
        raise ValueError(f"a kiosk records {', '.join(KIOSK_KINDS)}, not {item.get('kind')!r}")
    event_id = str(item["id"])
    if not 8 <= len(event_id) <= 64:
        raise ValueError("event ids are UUIDs")
    notice_id, family_id = _row_id(item["notice_id"]), _row_id(item["family_id"])
    notice, audience = checks.notice(notice_id)
    if not db.execute("SELECT 1 FROM families WHERE id = ?", [family_id]).fetchone():
        raise UnknownFamily(f"family {family_id} does not exist")
    if family_id not in audience:
        raise ValueError(f"notice {notice_id} was not sent to family {family_id}")
    if notice["private"]:
        raise ValueError("a private notice is heard on the phone line with the family code, not at the help desk")
    volunteer = str(item.get("actor", "")).removeprefix("volunteer:")
    if volunteer not in checks.volunteers:
        raise ValueError(f"{str(item.get('actor', ''))[:64]!r} is not an active volunteer")
    payload = item.get("payload") or {}
    if item["kind"] == "void":
        return _kiosk_void(checks, payload, device_id, notice_id, family_id, volunteer, event_id)
    if not isinstance(payload, dict) or set(payload) - {"choice"}:
        raise ValueError("payload is {} or {\"choice\": key}")
    if item["kind"] == "reply" or "choice" in payload:
        options = {o["key"] for o in notice["reply_options"]}
        if payload.get("choice") not in options:
            raise ValueError(f"choice must be one of the notice's reply options ({', '.join(sorted(options))})")
    occurred_at, payload = _kiosk_time(str(item["occurred_at"]), notice["publish_at"], payload)
    return ledger.new_event(notice_id, family_id, "kiosk", item["kind"], event_id=event_id,
                            dedupe_key=f"kiosk:{event_id}", payload=payload, occurred_at=occurred_at,
                            source=f"kiosk:{device_id}", actor=f"volunteer:{volunteer}")


def _concern(db, item: dict, device_id: str, checks: _PushChecks) -> dict:
    """What a family asked at the desk, typed by a volunteer: an entry for the concerns register
    (never a receipt). notice_id 0 is about no notice in particular."""
    event_id = str(item["id"])
    if not 8 <= len(event_id) <= 64:
        raise ValueError("event ids are UUIDs")
    family_id = _row_id(item["family_id"])
    if not db.execute("SELECT 1 FROM families WHERE id = ?", [family_id]).fetchone():
        raise UnknownFamily(f"family {family_id} does not exist")
    notice_id = None if item.get("notice_id") in (0, "0") else _row_id(item["notice_id"])
    if notice_id is not None and family_id not in checks.notice(notice_id)[1]:
        raise ValueError(f"notice {notice_id} was not sent to family {family_id}")
    volunteer = str(item.get("actor", "")).removeprefix("volunteer:")
    if volunteer not in checks.volunteers:
        raise ValueError(f"{str(item.get('actor', ''))[:64]!r} is not an active volunteer")
    payload = item.get("payload")
    words = payload.get("words") if isinstance(payload, dict) else None
    if not isinstance(words, str) or not words.strip() or len(words) > concerns.MAX_WORDS:
        raise ValueError(f"a concern's payload is {{\"words\": 1 to {concerns.MAX_WORDS} characters}}")
    claimed = clock.parse(str(item["occurred_at"]))
    return {"family_id": family_id, "notice_id": notice_id, "channel": "kiosk", "kind": "message", "words": words,
            "source": f"kiosk:{device_id}", "actor": f"volunteer:{volunteer}", "key": f"kiosk:{event_id}",
            "at": clock.iso(min(claimed, clock.now()))}  # a kiosk clock running ahead never dates it later


def _kiosk_void(checks: _PushChecks, payload, device_id: str, notice_id: int, family_id: int, volunteer: str,
                event_id: str) -> ledger.Event:
    """An undo at the desk: it may cancel only an event this same kiosk recorded for that family and notice."""
    if not isinstance(payload, dict) or set(payload) != {"voids"}:
        raise ValueError("a void's payload is {\"voids\": event id}")
    if checks.source_of(str(payload["voids"])) != (f"kiosk:{device_id}", notice_id, family_id):
        raise ValueError("a kiosk may undo only its own receipts for that family and notice")
    return ledger.new_event(notice_id, family_id, "kiosk", "void", event_id=event_id, dedupe_key=f"kiosk:{event_id}",
                            voids=str(payload["voids"]), source=f"kiosk:{device_id}", actor=f"volunteer:{volunteer}",
                            payload={"reason": "undone at the help desk"})


def _kiosk_time(claimed: str, published_at: str, payload: dict) -> tuple[str, dict]:
    """The kiosk's clock is evidence: a time before the notice was published (a clock running
    behind; the kiosk only ever had published notices) becomes the server's receipt time, the
    claim kept. A time in the future is clamped by the ledger in the same way."""
    occurred_at = clock.normalize(claimed)
    if occurred_at < published_at:
        return clock.now_iso(), {**payload, "claimed_at": occurred_at}
    return occurred_at, payload


@bp.route("/pull")
def pull():
    if _device() is None:
        return error("unauthorized", "this kiosk is not enrolled or has been revoked", 401)
    if set(request.args) - {"cursor"}:
        return error("bad_request", "the only parameter is cursor", 400)
    try:
        parts = [_seq(part) for part in request.args.get("cursor", "0.0").split(".")]
    except ValueError:
        parts = []
    if len(parts) not in (2, 3):
        return error("bad_request", "cursor looks like 123.456", 400)
    change_seq, event_seq, published_to = (parts + [0])[:3]
    db = get_db()
    now = clock.now()
    published_to = min(published_to, int(now.timestamp()))  # the server wrote it; a later one was not
    changes = list(db.query("SELECT seq, entity, entity_id FROM change_log WHERE seq > ? ORDER BY seq LIMIT ?",
                            [change_seq, PAGE]))
    events = list(db.query("SELECT seq, notice_id, family_id FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                           [event_seq, PAGE]))
    page_seq = changes[-1]["seq"] if changes else change_seq
    wanted: dict[str, set] = {}
    for row in changes:
        wanted.setdefault(row["entity"], set()).add(row["entity_id"])
    data = {
        "families": _rows(db, "SELECT id, code, display_name, language, active, (SELECT group_concat(g.name, ', ')"
                              " FROM guardians g WHERE g.family_id = families.id AND g.active = 1) AS guardian_names"
                              " FROM families", wanted.get("families")),
        "students": _rows(db, "SELECT id, name, class_id, family_id, active FROM students", wanted.get("students")),
        "volunteers": _rows(db, "SELECT id, username, display_name, password_hash, active FROM users"
                                " WHERE role = 'volunteer' AND", wanted.get("users"), prefix=False),
        "notices": [_notice(db, i) for i in _published_notices(db, wanted.get("notices", set()), published_to, page_seq,
                                                                  now)],
        "receipts": _receipts(db, {(e["notice_id"], e["family_id"]) for e in events}),
        "school": {"name": settings.get(db, "school_name"), "timezone": settings.get(db, "timezone"),
                   "phone_line": settings.get(db, "phone_line")},
        "cursor": f"{page_seq}.{events[-1]['seq'] if events else event_seq}"
                  f".{int(now.timestamp())}",
        "more": len(changes) == PAGE or len(events) == PAGE,
    }
    return json_reply(data)


@bp.route("/audio")
def audio_manifest():
    """The clips the desk needs for this and last week's public notices (rendered now when missing):
    pulled apart from events, and each file only once (by its content hash)."""
    if _device() is None:
        return error("unauthorized", "this kiosk is not enrolled or has been revoked", 401)
    db = get_db()
    zone, now = settings.zone(db), clock.now()
    weeks = {clock.iso_week(now, zone), clock.iso_week(now - dt.timedelta(days=7), zone)}
    current = [n for week in sorted(weeks) for n in notices.list_notices(db, week=week, published_only=True,
                                                                         current_only=True) if not n["private"]]
    try:
        clips = speech.manifest(db, current)
    except NoSpeech as exc:
        log.warning("kiosk audio: %s", exc)
        clips = speech.manifest(db, current, render=False)
    return json_reply({"clips": clips})


@bp.route("/audio/<sha>.ogg")
def audio_file(sha: str):
    if _device() is None:
        return error("unauthorized", "this kiosk is not enrolled or has been revoked", 401)
    path = speech.file_for(get_db(), sha)
    if path is None:
        return error("not_found", "no such audio", 404)
    return send_file(path, mimetype="audio/ogg", max_age=365 * 24 * 3600, etag=sha)


def _published_notices(db, changed: set, published_to: int, page_seq: int, now: dt.datetime) -> list[int]:
    """Notice ids for this page: changed ones already published, and scheduled ones whose publish
    time came since the last pull (the cursor's third part) and whose change the kiosk has already
    been sent (a later change brings its notice on its own page, so a page stays a page). A notice
    reaches a kiosk only once it is published, whatever the kiosk's own clock says."""
    ids = {int(i) for i in changed}
    if published_to:
        since = clock.iso(dt.datetime.fromtimestamp(published_to, clock.UTC))
        ids |= {r[0] for r in db.execute(
            "SELECT id FROM notices WHERE publish_at > ? AND publish_at <= ? AND NOT EXISTS (SELECT 1 FROM change_log c"
            " WHERE c.entity = 'notices' AND c.entity_id = notices.id AND c.seq > ?)",
            [since, clock.iso(now), page_seq])}
    published = {r[0] for r in db.execute(
        f"SELECT id FROM notices WHERE publish_at <= ? AND id IN ({','.join('?' * len(ids))})",
        [clock.iso(now), *sorted(ids)])} if ids else set()
    return sorted(published)


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
            "superseded_by": notice["superseded_by"],
            "reply_options": [] if private else notice["reply_options"],
            "texts": {} if private else notice["texts"]}  # private: never the words, only that one is waiting


def _receipts(db, pairs: set) -> list[dict]:
    out = []
    for notice_id, family_id in sorted(pairs):
        status = ledger.status_of(db, notice_id, family_id)
        out.append({"notice_id": notice_id, "family_id": family_id, "state": status.state, "reply": status.reply})
    return out
