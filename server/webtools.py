"""Flask helpers shared by the staff app, the phone-line blueprints and the kiosk.

The request's database connection, the security headers every answer carries, safe
``?next=`` redirects and the interface locales. The domain below never imports this
module (it knows no web framework); the channels' web parts and the apps do.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, redirect, request, session
from sqlite_utils import Database
from werkzeug.wrappers import Response as WerkzeugResponse

from server import db as database
from server import settings
from server.ratelimit import Limit, RateLimiter

LOCALES = ("zh_Hans", "zh_Hant", "en")
_SETUP = threading.Lock()  # guards creating an app's limiters


_THREAD = threading.local()
KEPT_PER_THREAD = 4  # connections a server thread keeps open (one per database it served lately)


def get_db() -> Database:
    """The request's database connection: the server thread's own, kept open between requests.

    Opening a connection costs more than most requests' queries, and closing the last one
    open on a database checkpoints its WAL (milliseconds of disk work per phone webhook);
    so each thread keeps its connection and hands it to the next request on that thread.
    """
    request_g = g._get_current_object()  # one context lookup, not three (a webhook asks five times)
    db = request_g.get("db")
    if db is None:
        db = request_g.db = _thread_connection(current_app.config["DATABASE"], current_app.config["BUSY_SECONDS"])
        settings.hold(db)  # read once per request
    return db


def _thread_connection(path: str, busy_seconds: float) -> Database:
    kept: dict[tuple[str, float], Database] = _THREAD.__dict__.setdefault("kept", {})
    key = (str(path), busy_seconds)
    db = kept.pop(key, None) or database.connect(path, migrate=False, busy_seconds=busy_seconds)  # migrated by create_app
    kept[key] = db  # the most recently used last
    while len(kept) > KEPT_PER_THREAD:
        kept.pop(next(iter(kept))).close()
    return db


def close_db(_exc: BaseException | None = None) -> None:
    """At the end of a request, nothing it began stays open: an unfinished transaction is undone."""
    db = g.pop("db", None)
    if db is not None:
        settings.release(db)
        if db.conn.in_transaction:
            db.conn.rollback()


def init_db(app: Flask) -> None:
    """Hand each request its thread's connection lazily; undo what a request left unfinished."""
    app.config.setdefault("BUSY_SECONDS", 10)
    app.teardown_appcontext(close_db)


def local_path(target: str | None, fallback: str) -> str:
    """``target`` if it is a path on this site, else ``fallback`` (no open redirects via ?next=).

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so
    ``/\t/evil.example`` is ``//evil.example`` to them: any control character, space or
    backslash disqualifies a target, as does anything with a scheme or a host.
    """
    if not target or not target.startswith("/") or "\\" in target or any(ord(c) <= 32 or ord(c) == 127 for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return fallback
    return target


SECURITY_HEADERS = (
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),  # family links carry a token
)


def security_headers(response: Response) -> Response:
    """Each of SECURITY_HEADERS unless the view set its own (one pass: every answer, phone webhooks too)."""
    present = {key.lower() for key, _value in response.headers}
    response.headers.extend([(key, value) for key, value in SECURITY_HEADERS if key.lower() not in present])
    return response


def limiter(limit: Limit) -> RateLimiter:
    """The app's limiter for ``limit`` (one per app, so tests with fresh apps start clean)."""
    limiters = current_app.extensions.setdefault("paperbridge_ratelimits", {})
    with _SETUP:
        return limiters.setdefault(limit.name, RateLimiter(limit))


def client_address() -> str:
    """The caller's address (behind a reverse proxy, wrap the app in ProxyFix: docs/operations.md)."""
    return request.remote_addr or "unknown"


def fresh_session(**values) -> None:
    """A new session (signing in or out) with ``values``, keeping only the language chosen before."""
    lang = session.get("lang")
    session.clear()
    session.update(values)
    if lang:
        session["lang"] = lang


def choose_language(code: str, fallback: str) -> WerkzeugResponse:
    """Keep the interface language ``code`` (one of LOCALES) and go back where the form was."""
    if code in LOCALES:
        session["lang"] = code
    return redirect(local_path(request.form.get("next"), fallback))
