"""The Flask app factory: configuration, database per request, locale, security headers."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, has_request_context, jsonify, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFProtect
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr import sms, voice
from server import clock, private, settings, webtools
from server import db as database
from server.web import (
    api,
    approvals,
    auth,
    concerns_page,
    dashboard,
    family,
    family_admin,
    init_app,
    insight_page,
    labels,
    notice_audio,
    notice_forms,
    printing,
    roster_page,
    scanning,
    staff,
    sync_api,
)
from server.webtools import LOCALES, security_headers

csrf = CSRFProtect()


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app for the database in ``test_config['DATABASE']`` or the usual place."""
    private.owner_only()  # under any WSGI server: what the app writes is the school's alone
    app = Flask(__name__)
    app.config.from_mapping(DATABASE=str(database.resolve_path()), SESSION_COOKIE_HTTPONLY=True,
                            MAX_CONTENT_LENGTH=BODY_LIMIT, BUSY_SECONDS=10,
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
    app.session_interface = _SessionCookie()
    if app.config.get("PROXY_HOPS") and not app.config.get("PROXY_HANDLED_BY_SERVER"):
        # PAPERBRIDGE_PROXY_HOPS=1 behind nginx/IIS under another WSGI server (`serve` tells waitress instead)
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.before_request(_body_limit)  # first: the CSRF check reads the form
    csrf.init_app(app)
    Babel(app, locale_selector=select_locale)
    webtools.init_db(app)
    app.after_request(security_headers)
    app.register_error_handler(sqlite3.OperationalError, storage_failure)
    app.register_error_handler(OSError, storage_failure)
    _register_blueprints(app)
    return app


def create_district_app(url: str, *, pool_size: int = 8, timezone: str = "UTC") -> Flask:
    """The district's node on the PostgreSQL database at ``url`` (a pool of ``pool_size``
    connections; the schema made by ``paperbridge district init``): its API for school nodes,
    its web pages for district staff (times shown in ``timezone``) and the worker that derives
    the status of what the schools push."""
    from psycopg_pool import ConnectionPool  # start-up speed: the district's stack loads only for it

    from server.district import accounts, connect, worker  # start-up speed: the district's stack loads only for it
    from server.web import district_api, district_pages  # start-up speed: the district's stack loads only for it

    zone = ZoneInfo(timezone)
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=sync_api.MAX_BODY, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_NAME="paperbridge_district",
                      BABEL_DEFAULT_LOCALE="zh_Hans",
                      BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"))
    pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=True, kwargs=connect.SESSION)
    app.extensions["district_pool"] = pool
    app.extensions["district_worker"] = worker.StatusWorker(pool.connection).start()  # stops with the pool
    with pool.connection() as conn:
        app.config["SECRET_KEY"] = accounts.secret_key(conn)
    app.session_interface = _SessionCookie()
    csrf.init_app(app)
    csrf.exempt(district_api.bp)  # school nodes sign with their bearer token, not a cookie
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(labels=labels, get_locale=get_locale)
    app.add_template_filter(lambda value: clock.parse(value).astimezone(zone).strftime("%Y-%m-%d %H:%M"), "localtime")
    app.after_request(security_headers)
    app.register_blueprint(district_api.bp)
    app.register_blueprint(district_pages.bp)
    return app


BODY_LIMIT = 1024 * 1024  # MAX_CONTENT_LENGTH: forms, receipts, phone webhooks, enrolment need far less
BODY_LIMITS = {"scanning.scans": 200 * 1024 * 1024, "sync_api.push": sync_api.MAX_BODY,
               "roster_page.preview": 20 * 1024 * 1024, "notice_audio.record": notice_audio.MAX_UPLOAD + 64 * 1024}


def _body_limit() -> None:
    """Each route's largest body, checked before anything is read (413 otherwise): an unsigned
    request must not make the server hold 200 MB because the scan upload may."""
    request.max_content_length = BODY_LIMITS.get(request.endpoint or "", current_app.config["MAX_CONTENT_LENGTH"])


class _SessionCookie(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` whenever the request came over HTTPS (directly or, behind
    a trusted proxy, as X-Forwarded-Proto says), so it never travels in clear text after that."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (has_request_context() and request.is_secure))

    def open_session(self, app: Flask, request):
        """No session for Twilio's webhooks: they carry no cookie, and each is signed on its own."""
        if request.path.startswith("/ivr/"):
            return self.session_class()  # empty, and never saved (save_session below)
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        if request.path.startswith("/ivr/"):
            return  # a browser that wanders onto /ivr/ keeps its own session untouched
        super().save_session(app, session, response)


def _register_blueprints(app: Flask) -> None:
    init_app(app)
    for blueprint in (auth.bp, dashboard.bp, insight_page.bp, approvals.bp, concerns_page.bp, family.bp, api.bp, scanning.bp, staff.bp, roster_page.bp,
                      printing.bp, notice_forms.bp, notice_audio.bp, family_admin.bp, voice.bp, sms.bp, sync_api.bp):
        app.register_blueprint(blueprint)
    for signed_elsewhere in (api.bp, voice.bp, sms.bp, sync_api.bp):  # bearer tokens / Twilio signatures instead
        csrf.exempt(signed_elsewhere)


def storage_failure(exc: Exception):
    """A locked database or a full disk: say so plainly (503/507); the transaction saved nothing."""
    message = database.explain(exc, current_app.config["DATABASE"])
    if message is None:
        raise exc
    current_app.logger.error("%s %s: %s", request.method, request.path, exc)
    status = 503 if message == database.BUSY else 507
    headers = {"Retry-After": "30"} if status == 503 else {}
    if request.path.startswith("/api/"):
        return jsonify({"error": {"code": "busy" if status == 503 else "storage", "message": message}}), status, headers
    if request.path.startswith("/ivr/"):  # the caller hears a sentence, not Twilio's error tone
        response = VoiceResponse()
        response.say("对不起，学校电话线路暂时出现问题，请稍后再打来。", language="zh-CN")
        response.say("Sorry, the school line has a problem right now. Please call again later.", language="en-US")
        response.hangup()
        return str(response), 200, {"Content-Type": "application/xml"}
    if message == database.BUSY:
        return _("The database is busy. Nothing was saved; please try again in a minute."), status, headers
    if message == database.DISK_FULL:
        return _("The server's disk is full. Nothing was saved; please tell whoever looks after the server."), status
    return _("The server cannot save data right now. Nothing was saved; please tell whoever looks after the "
             "server."), status


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
