"""JSON API for integrations: POST /api/receipts with a bearer token per integration.

One error shape everywhere: {"error": {"code": "...", "message": "..."}}.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

from flask import Blueprint, Response, jsonify, request
from sqlite_utils import Database

from server import ratelimit, receipts, users, webtools
from server.webtools import get_db

bp = Blueprint("api", __name__, url_prefix="/api")
MAX_RECEIPTS = 5000
OPENAPI = Path(__file__).resolve().parent.parent / "openapi.json"
T = TypeVar("T")


def error(code: str, message: str, status: int):
    return jsonify({"error": {"code": code, "message": message}}), status


def too_many(wait: int):
    response, status = error("rate_limited", f"too many requests; try again in {wait} seconds", 429)
    response.headers["Retry-After"] = str(wait)
    return response, status


@bp.before_request
def _refuse_token_guessing():
    """An address that sent many wrong tokens waits, whatever it sends next."""
    wait = webtools.limiter(ratelimit.BAD_LINK).blocked_for(webtools.client_address())
    return too_many(wait) if wait else None


def guessing_wait(enrolling: bool) -> int:
    """Seconds this address must wait before anything else: after many wrong tokens or links;
    and, for enrolment, after a few codes tried (codes are short enough to guess)."""
    address = webtools.client_address()
    wait = webtools.limiter(ratelimit.BAD_LINK).blocked_for(address)
    if not wait and enrolling:
        wait = webtools.limiter(ratelimit.ENROL).hit(address)
    return wait


def bearer(lookup: Callable[[Database, str], T | None]) -> T | None:
    """Whoever ``lookup(db, token)`` finds for the request's bearer token; a missing or wrong
    token counts toward the address's limit on guessing."""
    header = request.headers.get("Authorization", "")
    found = lookup(get_db(), header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
    if found is None:
        webtools.limiter(ratelimit.BAD_LINK).hit(webtools.client_address())
    return found


@bp.route("/receipts", methods=["POST"])
def post_receipts():
    """Body: {"receipts": [{"notice": "12", "student_id": "S001" | "phone": ... | "family_code": ...,
    "read_at": "2026-11-23T08:00:00+08:00", "kind": "read"}]}"""
    name = bearer(users.integration_for_token)
    if name is None:
        return error("unauthorized", "send a valid integration token as 'Authorization: Bearer ...'", 401)
    body = request.get_json(silent=True)
    items = body.get("receipts") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return error("bad_request", "the body must be JSON: {\"receipts\": [{...}, ...]}", 400)
    if len(items) > MAX_RECEIPTS:
        return error("too_large", f"send at most {MAX_RECEIPTS} receipts per request", 413)
    batch = []
    for index, item in enumerate(items):
        fields = {"notice": item.get("notice"), "student": item.get("student_id"), "phone": item.get("phone"),
                  "family": item.get("family_code"), "read_at": item.get("read_at"), "kind": item.get("kind")}
        if not all(v is None or (isinstance(v, (str, int)) and not isinstance(v, bool)) for v in fields.values()):
            return error("bad_request", f"receipt {index}: values must be strings", 400)
        values = {k: str(v) if v is not None else "" for k, v in fields.items()}
        batch.append((f"receipt {index}", receipts.Receipt(**{**values, "kind": values["kind"] or "read"})))
    idempotency = request.headers.get("Idempotency-Key", "").strip()[:200] or None
    report = receipts.record_receipts(get_db(), batch, source=f"api:{name}", idempotency_key=idempotency)
    return jsonify({"recorded": report.recorded, "duplicates": report.duplicates, "unmatched": report.unmatched})


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI 3.0 description of /api/... (tests/web/test_openapi.py runs schemathesis on it)."""
    return Response(OPENAPI.read_bytes(), mimetype="application/json")


@bp.route("/health")
def health():
    get_db().execute("SELECT 1").fetchone()
    return jsonify({"ok": True})
