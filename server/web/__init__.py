"""Blueprints of the staff web, the family pages and the JSON API, with shared helpers."""

from __future__ import annotations

import datetime as dt
from functools import wraps

from flask import Flask, Response, abort, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from server import approval, clock, concerns, exports, notices, settings, users
from server.errors import UnknownNotice
from server.web import labels
from server.webtools import fresh_session, get_db

STAFF = ("admin", "office", "teacher")


def current_user() -> dict | None:
    """The signed-in account, if its session is still good: the account is active, nothing ended
    its sessions since (sign-out, a new password or role, disabled), and it is younger than the
    ``session_hours`` setting. A cookie kept or copied after any of those opens nothing."""
    if "user" not in g:
        user_id = session.get("user_id")
        user = users.get_user(get_db(), user_id) if user_id else None
        if user is not None and (session.get("v") != user["session_version"] or _session_expired()):
            session.pop("user_id", None)
            user = None
        g.user = user
    return g.user


def start_session(user: dict) -> None:
    """A fresh session for ``user`` (keeping only the language chosen before signing in)."""
    fresh_session(user_id=user["id"], v=user["session_version"], at=clock.now_iso())


def _session_expired() -> bool:
    started = session.get("at")
    hours = int(settings.get(get_db(), "session_hours"))
    return not isinstance(started, str) or clock.parse(started) + dt.timedelta(hours=hours) <= clock.now()


def staff_user() -> dict:
    """The signed-in staff member, on a page behind :func:`login_required`."""
    user = current_user()
    if user is None:
        abort(401)
    return user


def login_required(*roles: str):
    """Only signed-in staff of these roles; others are sent to sign in (or refused)."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path))
            if roles and user["role"] not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def visible_notice(notice_id: int) -> dict:
    """The notice, if this staff member may see it (404 otherwise: a teacher does not learn that
    another class's notice exists)."""
    try:
        notice = notices.get_notice(get_db(), notice_id)
    except UnknownNotice:
        abort(404)
    scope = users.class_scope(staff_user())
    if scope is not None and not notice["whole_school"] and not set(notice["classes"]) & set(scope):
        abort(404)
    return notice


def changeable_notice(notice_id: int) -> dict:
    """The notice, if this person may change it: office and admin any; a teacher their classes' own."""
    try:
        notice = notices.get_notice(get_db(), notice_id)
    except UnknownNotice:
        abort(404)
    scope = users.class_scope(staff_user())
    if scope is not None and (notice["whole_school"] or not set(notice["classes"]) <= set(scope)):
        abort(404 if notice["whole_school"] or not set(notice["classes"]) & set(scope) else 403)
    return notice


def spreadsheet(rows: list[dict], columns: list[tuple[str, str]], name: str, fmt: str) -> Response:
    """Rows as a CSV or XLSX download (404 for any other ending)."""
    if fmt == "csv":
        return Response(exports.csv_bytes(rows, columns), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    if fmt == "xlsx":
        return Response(exports.xlsx_bytes(rows, columns, name),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"})
    abort(404)


def init_app(app: Flask) -> None:
    """Template helpers and the HTML error pages."""
    @app.template_filter("localtime")
    def localtime(value: str) -> str:
        return clock.parse(value).astimezone(settings.zone(get_db())).strftime("%m-%d %H:%M")

    def review_count() -> int:
        return get_db().execute("SELECT count(*) FROM review_items WHERE status = 'open'").fetchone()[0]

    def approval_count() -> int:
        return approval.waiting_count(get_db())

    def concern_count() -> int:
        return concerns.open_count(get_db(), users.class_scope(staff_user()))

    app.jinja_env.globals.update(labels=labels, current_user=current_user, now_iso=clock.now_iso, get_locale=get_locale,
                                 review_count=review_count, concern_count=concern_count, approval_count=approval_count, inf=float("inf"))

    app.register_error_handler(HTTPException, http_error)


API_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
             413: "too_large", 415: "unsupported_media_type", 429: "rate_limited", 500: "internal"}


def http_error(exc: HTTPException):
    """Every error under /api/ in the API's one JSON shape; elsewhere a page in the user's language."""
    code = exc.code or 500
    if request.path.startswith("/api/"):
        response = jsonify({"error": {"code": API_CODES.get(code, "error"), "message": _api_message(exc)}})
        response.status_code = code
        for name in ("Allow", "Retry-After"):
            if exc.get_response().headers.get(name):
                response.headers[name] = exc.get_response().headers[name]
        return response
    messages = {403: _("You do not have access to this page."),
                404: _("This page does not exist, or is not yours to see."),
                400: exc.description or _("Bad request.")}
    if code not in messages:
        return exc
    return render_template("error.html", code=code, message=messages[code]), code


def _api_message(exc: HTTPException) -> str:
    plain = {404: "no such API endpoint", 405: "this endpoint does not take that method",
             413: "the request body is too large", 500: "the server failed; nothing was saved"}
    return plain.get(exc.code or 500) or exc.description or exc.name
