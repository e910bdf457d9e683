"""The district's API for school nodes (gzip JSON, a bearer token per school):

- ``POST /district/api/enroll`` ``{"code": "K7QM-X2PD-9RTA"}`` -> ``{"school_id", "name", "token"}``
  (the one-time code from ``paperbridge district code``; the token is shown this once);
- ``POST /district/api/push`` ``{"events": [...], "families": [...], "notices": [...]}`` (at most
  MAX_PUSH of each, as server/district/forward.py makes them) -> ``{"recorded", "duplicates"}``:
  events by id, so a replayed push adds nothing; families and notices by their school's
  reference, the latest kept; 403 for a revoked school;
- ``GET /district/api/notices?after=ID`` -> ``{"notices": [...]}``: the district-wide notices
  after that id, for the school to publish to its own families.

Errors are ``{"error": {"code", "message"}}`` like the school's API.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request

from server import clock, ledger, ratelimit, webtools
from server.district import ledger as district_ledger
from server.district import notices as district_notices
from server.district import schools
from server.web.api import error, guessing_wait, too_many
from server.web.sync_api import json_body, json_reply

bp = Blueprint("district_api", __name__, url_prefix="/district/api")
MAX_PUSH = 2000
REQUIRED = {"id": str, "notice_id": int, "family_ref": str, "channel": str, "kind": str, "occurred_at": str,
            "recorded_at": str}
FAMILY = {"family_ref": str, "language": str, "channel": str, "classes": list, "grades": list}
NOTICE = {"notice_id": int, "week": str, "publish_at": str, "whole_school": bool, "classes": list}


def _pool():
    return current_app.extensions["district_pool"]


@bp.before_request
def _limit():
    """Enrolment codes are guessed at most a few times per address; a wrong token counts too."""
    wait = guessing_wait(request.endpoint == "district_api.enroll")
    return too_many(wait) if wait else None


@bp.post("/enroll")
def enroll():
    data = json_body() or {}
    if not isinstance(data.get("code"), str):
        return error("bad_request", "send {\"code\": ...} with the enrolment code from the district", 400)
    with _pool().connection() as conn:
        try:
            school_id, name, token = schools.enrol(conn, data["code"])
        except schools.EnrolmentRefused as exc:
            webtools.limiter(ratelimit.BAD_LINK).hit(webtools.client_address())
            return error("enrolment_refused", str(exc), 403)
    return json_reply({"school_id": school_id, "name": name, "token": token})


def _school():
    """(school_id, None) for a good token, or (None, the error answer)."""
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    with _pool().connection() as conn:
        found = schools.school_for_token(conn, token) if token else None
    if found is None:
        webtools.limiter(ratelimit.BAD_LINK).hit(webtools.client_address())
        return None, error("unauthorized", "unknown school token; enrol the school again with a new code", 401)
    school_id, revoked = found
    if revoked:
        return None, error("revoked", "this school's link to the district was revoked; ask the district", 403)
    return school_id, None


@bp.post("/push")
def push():
    school_id, refused = _school()
    if refused is not None:
        return refused
    data = json_body()
    events = data.get("events") if data else None
    families, notices = (data.get("families", []), data.get("notices", [])) if data else ([], [])
    problem = _check(events) or _check_roster(families, notices)
    if problem:
        return error("bad_request", problem, 400)
    with _pool().connection() as conn:
        unknown = district_notices.unknown_ids(conn, {n.get("district_notice_id") for n in notices} - {None})
        if unknown:
            return error("bad_request", f"no district notice {sorted(unknown)[0]}", 400)
        with conn.transaction():
            district_ledger.keep_roster(conn, school_id, families, notices)
            recorded, duplicates = district_ledger.receive(conn, school_id, events or [])
            conn.execute("UPDATE schools SET last_push_at = now(), events_received = events_received + %s"
                         " WHERE id = %s", [recorded, school_id])
    current_app.extensions["district_worker"].wake()  # the status of what came, after this answer
    return json_reply({"recorded": recorded, "duplicates": duplicates})


@bp.get("/notices")
def notice_list():
    school_id, refused = _school()
    if refused is not None:
        return refused
    if set(request.args) - {"after"} or not request.args.get("after", "0").isdigit():
        return error("bad_request", "the only parameter is after, a district notice id", 400)
    with _pool().connection() as conn:
        found = district_notices.after(conn, int(request.args.get("after", "0")))
    return json_reply({"notices": found})


def _check(events) -> str | None:
    """Why a push's events cannot be taken (nothing of it is), or None."""
    if not isinstance(events, list):
        return "send {\"events\": [...]} (gzip JSON)"
    if len(events) > MAX_PUSH:
        return f"at most {MAX_PUSH} events per push; this one had {len(events)}"
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            return f"event {index} is not an object"
        for name, kind in REQUIRED.items():
            if not isinstance(event.get(name), kind) or isinstance(event.get(name), bool):
                return f"event {index}: {name} is missing or not a {kind.__name__}"
        if event["kind"] not in ledger.KINDS or event["channel"] not in ledger.CHANNELS:
            return f"event {index}: unknown kind {event['kind']!r} or channel {event['channel']!r}"
        try:
            clock.parse(event["occurred_at"]), clock.parse(event["recorded_at"])
        except ValueError:
            return f"event {index}: occurred_at and recorded_at must be ISO-8601 times"
        if not isinstance(event.get("payload", {}), dict) or not isinstance(event.get("voids"), str | None):
            return f"event {index}: payload must be an object and voids an event id"
    return None


def _check_roster(families, notices) -> str | None:
    """Why a push's families or notices cannot be taken, or None."""
    for name, rows, shape in (("families", families, FAMILY), ("notices", notices, NOTICE)):
        if not isinstance(rows, list) or len(rows) > MAX_PUSH:
            return f"{name} must be a list of at most {MAX_PUSH}"
        for index, row in enumerate(rows):
            if not isinstance(row, dict) or any(not isinstance(row.get(k), t) for k, t in shape.items()):
                return f"{name} {index}: needs {', '.join(shape)}"
            if any(not isinstance(v, str) for k in ("classes", "grades") for v in row.get(k, [])):
                return f"{name} {index}: classes and grades are lists of names"
    for index, notice in enumerate(notices):
        district_id = notice.get("district_notice_id")
        if not isinstance(district_id, int | None) or isinstance(district_id, bool):
            return f"notices {index}: district_notice_id is a district notice's id or null"
        try:
            clock.parse(notice["publish_at"])
        except ValueError:
            return f"notices {index}: publish_at must be an ISO-8601 time"
    return None
