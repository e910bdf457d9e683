"""The Flask app factory: configuration, database per request, locale, security headers."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from flask import Flask, g, request, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from server import db as database
from server import settings

LOCALES = ("zh_Hans", "zh_Hant", "en")
csrf = CSRFProtect()


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app for the database in ``test_config['DATABASE']`` or the usual place."""
    app = Flask(__name__)
    app.config.from_mapping(DATABASE=str(database.resolve_path()), SESSION_COOKIE_HTTPONLY=True,
                            MAX_CONTENT_LENGTH=200 * 1024 * 1024,
                            SESSION_COOKIE_SAMESITE="Lax", BABEL_DEFAULT_LOCALE="zh_Hans",
                            BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"))
    app.config.from_prefixed_env("PAPERBRIDGE")
    if test_config:
        app.config.update(test_config)
    db = database.connect(app.config["DATABASE"])
    try:
        settings.initialize(db)
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = hmac.new(settings.school_secret(db), b"flask-session",
                                                hashlib.sha256).hexdigest()
        app.config["SCHOOL_NAME"] = settings.get(db, "school_name")
    finally:
        db.close()
    csrf.init_app(app)
    Babel(app, locale_selector=select_locale)
    app.teardown_appcontext(close_db)
    app.after_request(security_headers)
    _register_blueprints(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from ivr import sms, voice
    from server.web import api, auth, dashboard, family, init_app, scanning, sync_api

    init_app(app)
    for blueprint in (auth.bp, dashboard.bp, family.bp, api.bp, scanning.bp, voice.bp, sms.bp, sync_api.bp):
        app.register_blueprint(blueprint)
    for signed_elsewhere in (api.bp, voice.bp, sms.bp, sync_api.bp):  # bearer tokens / Twilio signatures instead
        csrf.exempt(signed_elsewhere)


def get_db():
    """The request's database connection (opened on first use, closed at teardown)."""
    from flask import current_app

    if "db" not in g:
        g.db = database.connect(current_app.config["DATABASE"], migrate=False)  # migrated in create_app
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def select_locale() -> str:
    """A family page's language, else the staff member's choice, else the browser's."""
    if g.get("family_locale"):
        return g.family_locale
    if session.get("lang") in LOCALES:
        return session["lang"]
    for lang, _quality in request.accept_languages:
        lang = lang.lower()
        if lang.startswith("zh"):
            return "zh_Hant" if any(t in lang for t in ("hant", "tw", "hk", "mo")) else "zh_Hans"
        if lang.startswith("en"):
            return "en"
    return "zh_Hans"


def security_headers(response):
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # family links carry a token
    return response
