"""The district's API for school nodes (gzip JSON, a bearer token per school):

- ``POST /district/api/enroll`` ``{"code": "K7QM-X2PD-9RTA"}`` -> ``{"school_id", "name", "token"}``
  (the one-time code from ``paperbridge district code``; the token is shown this once);
- ``POST /district/api/push`` ``{"events": [...]}`` (at most MAX_PUSH, as
  server/district/forward.py makes them) -> ``{"recorded", "duplicates"}``: events by id, so a
  replayed push adds nothing; 403 for a revoked school.

Errors are ``{"error": {"code", "message"}}`` like the school's API.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request

from server import clock, ledger, ratelimit, webtools
from server.district import ledger as district_ledger
from server.district import schools
from server.web.api import error, guessing_wait, too_many
from server.web.sync_api import json_body, json_reply

bp = Blueprint("district_api", __name__, url_prefix="/district/api")
MAX_PUSH = 2000
REQUIRED = {"id": str, "notice_id": int, "family_ref": str, "channel": str, "kind": str, "occurred_at": str,
            "recorded_at": str}


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


@bp.post("/push")
def push():
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    with _pool().connection() as conn:
        found = schools.school_for_token(conn, token) if token else None
        if found is None:
            webtools.limiter(ratelimit.BAD_LINK).hit(webtools.client_address())
            return error("unauthorized", "unknown school token; enrol the school again with a new code", 401)
        school_id, revoked = found
        if revoked:
            return error("revoked", "this school's link to the district was revoked; ask the district", 403)
        data = json_body()
        events = data.get("events") if data else None
        problem = _check(events)
        if problem:
            return error("bad_request", problem, 400)
        recorded, duplicates = district_ledger.receive(conn, school_id, events or [])
        conn.execute("UPDATE schools SET last_push_at = now() WHERE id = %s", [school_id])
    return json_reply({"recorded": recorded, "duplicates": duplicates})


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
