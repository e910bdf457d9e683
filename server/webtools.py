"""Flask helpers shared by the staff app, the phone-line blueprints and the kiosk.

The request's database connection, the security headers every answer carries, safe
``?next=`` redirects and the interface locales. The domain below never imports this
module (it knows no web framework); the channels' web parts and the apps do.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from sqlite_utils import Database

from server import db as database
from server.ratelimit import Limit, RateLimiter

LOCALES = ("zh_Hans", "zh_Hant", "en")
_SETUP = threading.Lock()  # guards creating an app's limiters


def get_db() -> Database:
    """The request's database connection (opened on first use, closed at teardown)."""
    if "db" not in g:
        g.db = database.connect(current_app.config["DATABASE"], migrate=False,  # migrated in create_app
                                busy_seconds=current_app.config["BUSY_SECONDS"])
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_db(app: Flask) -> None:
    """Open the request's database lazily and close it when the request ends."""
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


def security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # family links carry a token
    return response


def limiter(limit: Limit) -> RateLimiter:
    """The app's limiter for ``limit`` (one per app, so tests with fresh apps start clean)."""
    limiters = current_app.extensions.setdefault("paperbridge_ratelimits", {})
    with _SETUP:
        return limiters.setdefault(limit.name, RateLimiter(limit))


def client_address() -> str:
    """The caller's address (behind a reverse proxy, wrap the app in ProxyFix: docs/operations.md)."""
    return request.remote_addr or "unknown"
