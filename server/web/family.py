"""The digital channel: each family's personal link to a light page in their language.

Opening a notice records ``read``; "I have read it" records ``confirmed``; a reply
records ``reply``. All channel ``digital``, actor the family.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from server import clock, concerns, ledger, links, notices, pins, ratelimit, speech, webtools
from server.errors import BadSignature, NoSpeech, UnknownNotice
from server.languages import ui_locale
from server.webtools import LOCALES, get_db

bp = Blueprint("family", __name__, url_prefix="/f")
# Link previews in chat apps fetch a URL without a person reading it.
_PREVIEW_AGENTS = re.compile(r"bot|preview|facebookexternalhit|whatsapp|telegram|slack|discord|skype|curl|wget",
                             re.IGNORECASE)


def _family(token: str) -> dict:
    db = get_db()
    guard, address = webtools.limiter(ratelimit.BAD_LINK), webtools.client_address()
    if wait := guard.blocked_for(address):
        minutes = ratelimit.minutes(wait)
        message = ngettext("Too many wrong links were opened from this network. Try again in %(n)s minute.",
                           "Too many wrong links were opened from this network. Try again in %(n)s minutes.",
                           minutes, n=minutes)
        abort(make_response(render_template("error.html", code=429, message=message), 429, {"Retry-After": str(wait)}))
    try:
        family_id = links.family_for_token(db, token)
    except BadSignature:
        guard.hit(address)
        abort(404)
    family = db.table("families").get(family_id)
    family["students"] = list(db.query(
        "SELECT name, class_id FROM students WHERE family_id = ? AND active = 1 ORDER BY class_id, name", [family_id]))
    chosen = request.args.get("lang")
    g.family_locale = chosen if chosen in LOCALES else ui_locale(family["language"])
    return family


def _family_notices(family: dict) -> list[dict]:
    classes = sorted({s["class_id"] for s in family["students"]})
    return notices.list_notices(get_db(), class_ids=classes, published_only=True, current_only=True)


def _notice(family: dict, notice_id: int) -> dict:
    for notice in _family_notices(family):
        if notice["id"] == notice_id:
            return notice
    abort(404)


def _language(family: dict) -> str:
    return {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant", "en": "en"}.get(g.family_locale, family["language"])


@bp.route("/<token>")
def home(token: str):
    family = _family(token)
    statuses = ledger.family_status(get_db(), family["id"])
    rows = [{"notice": n, "title": notices.title_for(n, _language(family)),
             "status": statuses.get(n["id"], ledger.Status())} for n in _family_notices(family)]
    asked = concerns.listing(get_db(), family_id=family["id"])
    if _viewed_by_a_person():  # an answer to a question asked here is told once the family sees this page
        for concern in asked:
            if concern["channel"] == "link" and concern["answer"] and not concern["told_at"]:
                concerns.mark_told(get_db(), concern["id"], "link")
    return render_template("family_home.html", family=family, rows=rows, token=token, asked=asked[-10:], nonce=uuid.uuid4().hex,
                           pin=pins.pin_for(get_db(), family["id"]))


QUESTIONS_PER_DAY = 10


@bp.route("/<token>/question", methods=["POST"])
def question(token: str):
    """A question for the teacher from the family page (about a notice, or in general)."""
    family = _family(token)
    db = get_db()
    notice_id = request.form.get("notice_id", type=int)
    if notice_id is not None:
        _notice(family, notice_id)
    words = request.form.get("words", "").strip()
    nonce = re.sub(r"[^0-9a-f]", "", request.form.get("nonce", ""))[:32] or uuid.uuid4().hex
    since = clock.iso(clock.now() - dt.timedelta(days=1))
    if not words:
        flash(_("write your question or message"), "error")
    elif db.execute("SELECT count(*) FROM concerns WHERE family_id = ? AND channel = 'link' AND received_at > ?",
                    [family["id"], since]).fetchone()[0] >= QUESTIONS_PER_DAY:
        flash(_("You have sent many questions today; the teacher will answer them. Please call the school if it is "
                "urgent."), "error")
    else:
        concerns.add(db, family_id=family["id"], notice_id=notice_id, channel="link", kind="message", words=words,
                     source="family-link", actor="family", key=f"link:{family['id']}:question:{nonce}")
        flash(_("Thank you. Your message is with the class teacher; the answer will appear on this page."), "ok")
    return redirect(url_for("family.home", token=token, lang=request.args.get("lang")) + "#questions")


def _viewed_by_a_person() -> bool:
    """A real page view: a GET, not a link preview, a HEAD or a browser's prefetch."""
    prefetch = "prefetch" in (request.headers.get("Sec-Purpose", "") + request.headers.get("Purpose", "")
                              + request.headers.get("X-Moz", "")).lower()
    return request.method == "GET" and not prefetch and not _PREVIEW_AGENTS.search(request.headers.get("User-Agent", ""))


@bp.route("/<token>/n/<int:notice_id>")
def notice(token: str, notice_id: int):
    family = _family(token)
    notice = _notice(family, notice_id)
    if _viewed_by_a_person():
        _record(family["id"], notice_id, "read", f"link:{family['id']}:{notice_id}:read")
    title, body, lang = notices.text_for(notice, _language(family))
    status = ledger.family_status(get_db(), family["id"]).get(notice_id, ledger.Status())
    options = [(o["key"], notices.reply_label(notice, o["key"], _language(family))) for o in notice["reply_options"]]
    return render_template("family_notice.html", family=family, notice=notice, title=title, body=body,
                           question_nonce=uuid.uuid4().hex,
                           note=notices.version_note(notice, _language(family)), lang=lang, status=status, options=options,
                           token=token, nonce=uuid.uuid4().hex)


@bp.route("/<token>/n/<int:notice_id>/audio.ogg")
def audio(token: str, notice_id: int):
    """The notice read aloud for this family: a teacher's recording, else the offline voice."""
    family = _family(token)
    notice = _notice(family, notice_id)
    try:
        clip = speech.clip_for(get_db(), notice, _language(family))
    except NoSpeech:
        clip = None
    if clip is None:
        abort(404)
    return send_file(clip.path, mimetype="audio/ogg", max_age=3600, etag=clip.sha)


@bp.route("/<token>/n/<int:notice_id>", methods=["POST"])
def answer(token: str, notice_id: int):
    family = _family(token)
    notice = _notice(family, notice_id)
    nonce = re.sub(r"[^0-9a-f]", "", request.form.get("nonce", ""))[:32] or uuid.uuid4().hex
    choice = request.form.get("choice", "")
    if choice:
        if choice not in {o["key"] for o in notice["reply_options"]}:
            abort(400)
        _record(family["id"], notice_id, "reply", f"link:{family['id']}:{notice_id}:reply:{nonce}", {"choice": choice})
    _record(family["id"], notice_id, "confirmed", f"link:{family['id']}:{notice_id}:confirmed")
    return redirect(url_for("family.notice", token=token, notice_id=notice_id, lang=request.args.get("lang")))


def _record(family_id: int, notice_id: int, kind: str, key: str, payload: dict | None = None) -> None:
    try:
        event = ledger.new_event(notice_id, family_id, "digital", kind, dedupe_key=key, payload=payload,
                                 source="family-link", actor="family")
        ledger.record(get_db(), [event])
    except UnknownNotice:
        abort(404)
