"""Texts to basic phones: a notice's short form with "reply 1 <notice>" and the inbound webhook.

Reply format: ``<answer digit> <notice number> [family code]``, e.g. "1 12". The family
comes from the sender's number (one family only) or the family code. STOP / 退订 opts out;
START opts back in.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, request
from twilio.twiml.messaging_response import MessagingResponse

from ivr import calls
from ivr.voice import twilio_signed
from server import clock, ledger, notices, phones, roster, settings, tokens
from server.errors import BadCode, UnknownNotice
from server.i18n import gettext_for
from server.webtools import get_db

bp = Blueprint("sms", __name__, url_prefix="/ivr")
STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "退订", "退訂", "取消"}
START_WORDS = {"start", "unstop", "订阅", "訂閱"}
SHORT = 60


def notice_text(notice: dict, language: str, school: str) -> str:
    """The text message for one notice: title, a short body, and how to answer."""
    _ = gettext_for(language)
    title, body, _lang = notices.text_for(notice, language)
    short = body if len(body) <= SHORT else body[:SHORT] + "…"
    if notice["reply_options"]:
        how = " ".join(_("Reply %(digit)s %(notice)s for %(answer)s.", digit=d, notice=notice["id"],
                         answer=notices.reply_label(notice, o["key"], language))
                       for d, o in zip("123", notice["reply_options"][:3], strict=False))
    else:
        how = _("Reply 1 %(notice)s to confirm you have read it.", notice=notice["id"])
    return f"[{school}] {title}: {short} {how} " + _("Reply STOP to stop texts.")


def set_opt_out(db, phone: str, opted_out: bool) -> None:
    db.execute("INSERT INTO phone_prefs (phone, sms_opt_out, updated_at) VALUES (?, ?, ?) ON CONFLICT (phone)"
               " DO UPDATE SET sms_opt_out = excluded.sms_opt_out, updated_at = excluded.updated_at",
               [phone, int(opted_out), clock.now_iso()])


def _answer(text: str) -> Response:
    response = MessagingResponse()
    response.message(text)
    return Response(str(response), mimetype="text/xml")


@bp.route("/sms", methods=["POST"])
@twilio_signed
def incoming():
    db = get_db()
    sender = phones.normalize(request.form.get("From", ""), settings.get(db, "default_region"))
    number = sender.e164 or request.form.get("From", "")
    body = request.form.get("Body", "").strip()
    family = calls.family_for_caller(db, number)
    _ = gettext_for(family["language"] if family else settings.get(db, "default_language"))
    word = body.lower().strip(" .!。！")
    if word in STOP_WORDS:
        set_opt_out(db, number, True)
        return _answer(_("You will get no more texts from the school. Reply START to receive them again."))
    if word in START_WORDS:
        set_opt_out(db, number, False)
        return _answer(_("Texts from the school are on again."))
    parts = re.findall(r"\d+", body.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    if len(parts) < 2:
        return _answer(_("Sorry, we did not understand. Reply with the answer digit and the notice number, e.g. 1 12."))
    try:
        notice = notices.get_published(db, int(parts[1]))
        if len(parts) >= 3:
            family = _family_by_code_and_pin(db, number, family, parts)
    except (BadCode, UnknownNotice):
        return _answer(_("Sorry, that notice number or family code is not right."))
    except PermissionError:
        return _answer(_("Sorry, we could not check that. From a phone the school does not know, add your family "
                         "code and PIN, e.g. 1 12 100017 123456."))
    if family is None or family["id"] not in notices.audience(db, notice) or notice["private"]:
        return _answer(_("Sorry, we could not tell which family this is. Please add your family code, e.g. 1 12 100017."))
    return _record(db, family, notice, int(parts[0]), request.form.get("MessageSid", ""), _)


def _family_by_code_and_pin(db, number: str, caller_family: dict | None, parts: list[str]) -> dict:
    """The family a text names by its code. Its code is printed everywhere and guessable, so unless the
    text comes from one of that family's own numbers, its PIN must follow (PermissionError if not)."""
    if calls.rate_limited(db, number):
        raise PermissionError("too many wrong codes or PINs from this number")
    named = roster.family_by_code(db, tokens.check_family_code(parts[2]))
    if named is None:
        raise BadCode("no family has that code")
    if caller_family is not None and caller_family["id"] == named["id"]:
        return named
    if len(parts) < 4 or not calls.pin_ok(db, number, named, parts[3]):
        raise PermissionError("the PIN is missing or wrong")
    return named


@bp.route("/sms/status", methods=["POST"])
@twilio_signed
def status():
    """Twilio's message status callback: delivered, failed, undelivered (with the carrier's ErrorCode,
    e.g. 30003 unreachable, 30005 unknown number, 30007 filtered as spam)."""
    get_db().execute("UPDATE contact_attempts SET outcome = ?, error_code = coalesce(?, error_code) WHERE sid = ?",
                     [request.form.get("MessageStatus", ""), request.form.get("ErrorCode") or None,
                      request.form.get("MessageSid", "")])
    return ("", 204)


def _record(db, family: dict, notice: dict, digit: int, sid: str, _) -> Response:
    options = notice["reply_options"][:3]
    if options and not 1 <= digit <= len(options) or not options and digit != 1:
        return _answer(_("Sorry, that answer is not one of the choices."))
    base: dict = {"source": f"sms:{sid}", "actor": "family"}
    events = [ledger.new_event(notice["id"], family["id"], "sms", "confirmed",
                               dedupe_key=f"sms:{sid}:{notice['id']}:confirmed", **base)]
    if options:
        events.append(ledger.new_event(notice["id"], family["id"], "sms", "reply", payload={"choice": options[digit - 1]["key"]},
                                       dedupe_key=f"sms:{sid}:{notice['id']}:reply", **base))
    ledger.record(db, events)
    return _answer(_("Thank you, the school has your answer."))
