"""The help-desk web UI, served by the kiosk itself on localhost, working from its replica."""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import threading
from functools import wraps
from zoneinfo import ZoneInfo

import cv2
import numpy as np
from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import Babel, ngettext
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFProtect
from werkzeug.security import check_password_hash

from kiosk import store, sync
from print.qr_decode import find_codes
from server import clock, loops, notices, ratelimit, speech, tokens, webtools
from server.errors import BadCode
from server.i18n import DIRECTORY
from server.languages import LANGUAGES, text_fallbacks
from server.webtools import LOCALES, local_path, security_headers

SYNC_EVERY = 30  # seconds between background syncs
ONLINE_FOR = 3 * SYNC_EVERY  # the badge says online while the last answer from the school is this recent
UNDO_SECONDS = 120  # a mistaken tap can be undone for this long
log = logging.getLogger("paperbridge.kiosk")


def create_kiosk_app(path, *, background_sync: bool = False) -> Flask:
    app = Flask(__name__)
    db = store.connect(path)
    secret = store.get(db, "session_secret")
    if not secret:
        secret = secrets.token_hex(32)
        store.put(db, "session_secret", secret)
    db.close()
    app.config.update(KIOSK_DB=str(path), SECRET_KEY=secret, BABEL_DEFAULT_LOCALE="zh_Hans",
                      BABEL_TRANSLATION_DIRECTORIES=str(DIRECTORY), MAX_CONTENT_LENGTH=4 * 1024 * 1024)
    CSRFProtect(app)
    Babel(app, locale_selector=lambda: session.get("lang") if session.get("lang") in LOCALES else "zh_Hans")
    app.teardown_appcontext(_close)
    app.after_request(security_headers)
    app.jinja_env.globals.update(status=_status)
    _routes(app)
    if background_sync:
        threading.Thread(target=_sync_loop, args=(str(path),), daemon=True).start()
    return app


def kdb():
    if "kdb" not in g:
        g.kdb = store.connect(current_app.config["KIOSK_DB"])
    return g.kdb


def _close(_exc=None) -> None:
    db = g.pop("kdb", None)
    if db is not None:
        db.close()


def _status() -> dict:
    """Online means the school answered lately (not merely that the last try did): the badge goes
    offline by itself when syncs stop getting through."""
    db = kdb()
    last = store.get(db, "last_sync")
    recent = bool(last) and (clock.now() - clock.parse(last)).total_seconds() < ONLINE_FOR
    return {"online": recent and store.get(db, "online") == "1", "waiting": store.waiting(db),
            "revoked": store.get(db, "revoked") == "1", "name": store.get(db, "name"), "last_sync": last}


def try_sync(db) -> str:
    """One sync attempt; remembers whether the server was reachable. Returns a message."""
    try:
        result = sync.sync(db)
    except sync.Offline as exc:
        store.put(db, "online", "0")
        log.warning("sync: the school server cannot be reached (%s); %s receipts wait here", exc, store.waiting(db))
        return "offline"
    except sync.Revoked as exc:
        store.put(db, "online", "0")
        log.error("sync refused: %s", exc)
        return "revoked"
    except sync.Refused as exc:
        store.put(db, "online", "0")
        log.error("sync refused: %s", exc)
        return str(exc)
    store.put(db, "online", "1")
    return f"synced: {result.pushed} sent"


def sync_once(path: str) -> None:
    db = store.connect(path)
    try:
        try_sync(db)
    finally:
        db.close()


def _sync_loop(path: str) -> None:
    loops.every(SYNC_EVERY, lambda: sync_once(path), log=log, what="background sync")


def volunteer_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not session.get("volunteer"):
            return redirect(url_for("login"))
        return view(*args, **kwargs)
    return wrapped


def _weeks() -> set[str]:
    """This and last week, in the school's time zone (sent by the server)."""
    zone, now = ZoneInfo(store.get(kdb(), "timezone", "UTC")), clock.now()
    return {clock.iso_week(now, zone), clock.iso_week(now - dt.timedelta(days=7), zone)}


def _routes(app: Flask) -> None:
    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "POST":
            guard, address = webtools.limiter(ratelimit.PIN), webtools.client_address()
            wait = guard.blocked_for(address)
            if wait:
                minutes = ratelimit.minutes(wait)
                flash(ngettext("Too many wrong PINs. Try again in %(n)s minute.",
                               "Too many wrong PINs. Try again in %(n)s minutes.", minutes, n=minutes), "error")
                return render_template("kiosk_login.html"), 429, {"Retry-After": str(wait)}
            rows = list(kdb().query("SELECT * FROM volunteers WHERE username = ? AND active = 1",
                                    [request.form.get("username", "").strip()]))
            if rows and check_password_hash(rows[0]["password_hash"], request.form.get("pin", "")):
                session["volunteer"] = rows[0]["username"]
                return redirect(url_for("home"))
            guard.hit(address)
            flash(_("Wrong name or PIN."), "error")
            return render_template("kiosk_login.html"), 401
        return render_template("kiosk_login.html")

    @app.route("/logout", methods=["POST"])
    def logout():
        session.pop("volunteer", None)
        return redirect(url_for("login"))

    @app.route("/lang/<code>", methods=["POST"])
    def language(code: str):
        if code in LOCALES:
            session["lang"] = code
        return redirect(local_path(request.form.get("next"), url_for("home")))

    @app.route("/")
    @volunteer_required
    def home():
        query = request.args.get("q", "").strip()
        return render_template("kiosk_home.html", query=query, families=_find(query) if query else [])

    @app.route("/family/<int:family_id>")
    @volunteer_required
    def family(family_id: int):
        db = kdb()
        rows = list(db.query("SELECT * FROM families WHERE id = ? AND active = 1", [family_id]))
        if not rows:
            abort(404)
        fam = rows[0]
        students = list(db.query("SELECT name, class_id FROM students WHERE family_id = ? AND active = 1", [family_id]))
        shown = [_shown(db, notice, fam["language"]) for notice in store.family_notices(db, family_id, _weeks())]
        undo = store.undoable(db, family_id, session["volunteer"], UNDO_SECONDS)
        return render_template("kiosk_family.html", family=fam, students=students, notices=shown, undo=undo,
                               phone_line=store.get(db, "phone_line"), language_name=LANGUAGES.get(fam["language"], ""))

    @app.route("/family/<int:family_id>/notice/<int:notice_id>", methods=["POST"])
    @volunteer_required
    def confirm(family_id: int, notice_id: int):
        db = kdb()
        if store.get(db, "revoked") == "1":
            flash(_("This kiosk has been switched off by the school: it cannot take receipts. Please ask the office."),
                  "error")
            return redirect(url_for("family", family_id=family_id))
        notice = next((n for n in store.family_notices(db, family_id, _weeks()) if n["id"] == notice_id), None)
        if notice is None or notice["private"]:
            abort(404)
        choice = request.form.get("choice") or None
        if choice and choice not in {o["key"] for o in notice["reply_options"]}:
            abort(400)
        store.tap(db, notice_id=notice_id, family_id=family_id, volunteer=session["volunteer"], choice=choice)
        flash(_("Saved. It will reach the school with the next sync."), "ok")
        return redirect(url_for("family", family_id=family_id))

    @app.route("/family/<int:family_id>/concern", methods=["POST"])
    @volunteer_required
    def concern(family_id: int):
        """What the family wants to ask or say, typed by the volunteer, for the class teacher."""
        db = kdb()
        if not db.execute("SELECT 1 FROM families WHERE id = ? AND active = 1", [family_id]).fetchone():
            abort(404)
        notice_id = request.form.get("notice_id", type=int)
        if notice_id and notice_id not in {n["id"] for n in store.family_notices(db, family_id, _weeks())}:
            abort(404)
        try:
            store.concern(db, family_id=family_id, volunteer=session["volunteer"], words=request.form.get("words", ""),
                          notice_id=notice_id)
        except ValueError:
            flash(_("Please write what the family wants to ask or say."), "error")
        else:
            flash(_("Saved for the class teacher. It goes with the next sync; the answer comes on the family's "
                    "next bulletin."), "ok")
        return redirect(url_for("family", family_id=family_id))

    @app.route("/family/<int:family_id>/undo", methods=["POST"])
    @volunteer_required
    def undo(family_id: int):
        """Take back this volunteer's last tap for the family, within UNDO_SECONDS: void events (the
        volunteer as actor) go to the school, and the notice shows as before."""
        db = kdb()
        if store.undo(db, family_id, session["volunteer"], UNDO_SECONDS):
            flash(_("Undone. The school will see that this was a mistake."), "ok")
        else:
            flash(_("There is nothing to undo any more (it is too long ago)."), "error")
        return redirect(url_for("family", family_id=family_id))

    @app.route("/audio/<sha>.ogg")
    @volunteer_required
    def audio(sha: str):
        if not re.fullmatch(r"[0-9a-f]{64}", sha):
            abort(404)
        path = store.audio_dir(kdb()) / f"{sha}.ogg"
        if not path.exists():
            abort(404)
        return send_file(path, mimetype="audio/ogg", max_age=365 * 24 * 3600, etag=sha)

    @app.route("/sync", methods=["POST"])
    @volunteer_required
    def sync_now():
        message = try_sync(kdb())
        said = {"offline": _("The school server cannot be reached; receipts are kept here and sent later."),
                "revoked": _("This kiosk has been switched off by the school (or is not enrolled). Receipts made "
                             "here are kept; please ask the office.")}
        flash(_("Synced with the school.") if message.startswith("synced") else said.get(message, message),
              "ok" if message.startswith("synced") else "error")
        return redirect(local_path(request.form.get("next"), url_for("home")))

    @app.route("/scan-frame", methods=["POST"])
    @volunteer_required
    def scan_frame():
        """A camera frame from the page: find the family code in a bulletin's QR code."""
        data = np.frombuffer(request.get_data(cache=False)[:4 * 1024 * 1024], np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None
        if image is None:
            return jsonify({"found": False})
        for code in find_codes(image):
            family = _family_from_qr(code.text)
            if family:
                return jsonify({"found": True, "url": url_for("family", family_id=family)})
        return jsonify({"found": False})


def _family_from_qr(text: str) -> int | None:
    """The family in a bulletin QR. The kiosk has no signing key, so this is a lookup (like typing
    the code, check digit included), never proof: the volunteer sees the family's names."""
    parts = text.split(".")
    if len(parts) != 6 or not parts[0].startswith("PB"):
        return None
    try:
        code = tokens.check_family_code(parts[3])
    except BadCode:
        return None
    row = kdb().execute("SELECT id FROM families WHERE code = ? AND active = 1", [code]).fetchone()
    return row[0] if row else None


def _shown(db, notice: dict, language: str) -> dict:
    """A notice as the desk shows it to this family: the text, the language it is actually in
    (for the page's lang and the voice), the answers, and the clip to play."""
    if notice["private"]:
        return {"notice": notice}
    title, body, used = notices.text_for(notice, language)
    voice = speech.voice_for(language, used)
    return {"notice": notice, "title": title, "body": body, "lang": used,
            "speech_lang": {"cmn": "zh-CN", "yue": "zh-HK", "en": "en-US"}[voice],
            "options": [(o["key"], _label(o, language)) for o in notice["reply_options"]],
            "clip": store.clip(db, notice, language)}


def _find(query: str) -> list[dict]:
    """Families by family code (whole, check digit checked; or its last digits), or by any name:
    a guardian's, the family's, a student's; Traditional and Simplified alike (劉 finds 刘)."""
    db = kdb()
    digits = "".join(ch for ch in query if ch.isdigit())
    if digits and len(digits) == len(query.replace(" ", "")):
        ids = _by_code(db, digits)
    else:
        ids = store.find_by_name(db, query)
    out = []
    for family_id in ids[:20]:
        fam = next(db.query("SELECT id, code, display_name, language, guardian_names FROM families WHERE id = ?",
                            [family_id]))
        fam["students"] = list(db.query("SELECT name, class_id FROM students WHERE family_id = ? AND active = 1",
                                        [family_id]))
        out.append(fam)
    return out


def _by_code(db, digits: str) -> list[int]:
    """A whole family code (its check digit must match; wrong ones count against the volunteer), or
    the last 3 or 4 digits of one (the families whose code ends so, to choose from by name)."""
    if 3 <= len(digits) <= 4:
        return [r[0] for r in db.execute("SELECT id FROM families WHERE active = 1 AND code LIKE ? ORDER BY code"
                                         " LIMIT 20", [f"%{digits}"])]
    guard = webtools.limiter(ratelimit.FAMILY_CODE)
    wait = guard.blocked_for(session["volunteer"])
    if wait:
        minutes = ratelimit.minutes(wait)
        flash(ngettext("Too many wrong family codes. Try again in %(n)s minute, or search by name.",
                       "Too many wrong family codes. Try again in %(n)s minutes, or search by name.",
                       minutes, n=minutes), "error")
        return []
    try:
        code = tokens.check_family_code(digits)
    except BadCode:
        guard.hit(session["volunteer"])
        flash(_("That family code is not right (its last digit does not match). Check it, or search by name."),
              "error")
        return []
    ids = [r[0] for r in db.execute("SELECT id FROM families WHERE code = ? AND active = 1", [code])]
    if not ids:
        guard.hit(session["volunteer"])
    return ids


def _label(option: dict, language: str) -> str:
    return next((option["labels"][lang] for lang in text_fallbacks(language) if lang in option["labels"]), option["key"])
