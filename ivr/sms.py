"""Texts to basic phones: a notice's short form with "reply 1 <notice>", and the inbound webhook.

Replies are read in the words families use (``ivr.text_replies``): ``1 12`` (answer digit and
notice number, plus family code and PIN from an unknown number); with one open notice, a
plain "收到" / "OK" / "👍" / "1" confirms it and a reply option's word ("参加", "不參加",
"yes") answers it; with several, the family gets a numbered list and its number picks one.
Anything else goes to the class teacher as a follow-up with the family's words, and records
nothing. STOP / 退订 opts out; START opts back in.
"""

from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, Response, request
from twilio.twiml.messaging_response import MessagingResponse

from ivr import calls
from ivr.text_replies import Reply, understand
from ivr.voice import twilio_signed
from server import clock, concerns, ledger, notices, phones, roster, settings, tokens
from server.chinese import fold
from server.errors import BadCode, UnknownNotice
from server.i18n import gettext_for
from server.webtools import get_db

bp = Blueprint("sms", __name__, url_prefix="/ivr")
MENU_HOURS = 24  # a numbered list can be answered for this long
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
    body, sid = request.form.get("Body", "").strip(), request.form.get("MessageSid", "")
    family = calls.family_for_caller(db, number)
    _ = gettext_for(family["language"] if family else settings.get(db, "default_language"))
    reply = understand(body)
    if reply.kind == "stop":
        set_opt_out(db, number, True)
        return _answer(_("You will get no more texts from the school. Reply START to receive them again."))
    if reply.kind == "start":
        set_opt_out(db, number, False)
        return _answer(_("Texts from the school are on again."))
    if reply.kind == "numbers" and len(reply.numbers) >= 2:
        return _numbered(db, number, family, reply.numbers, sid, _)
    if family is None:
        return _answer(_("Sorry, we could not tell which family this is. Please add your family code, e.g. 1 12 100017."))
    if reply.kind == "empty":
        return _answer(_("Sorry, we did not understand. Reply with the answer digit and the notice number, e.g. 1 12."))
    return _in_words(db, number, family, reply, body, sid, _)


def _numbered(db, number: str, family: dict | None, parts: tuple[str, ...], sid: str, _) -> Response:
    """'1 12' (answer 1 to notice 12), '1 12 100017 402913' from a number the roster does not know."""
    try:
        notice = notices.get_published(db, int(parts[1]))
        if len(parts) >= 3:
            family = _family_by_code_and_pin(db, number, family, list(parts))
    except (BadCode, UnknownNotice):
        return _answer(_("Sorry, that notice number or family code is not right."))
    except PermissionError:
        return _answer(_("Sorry, we could not check that. From a phone the school does not know, add your family "
                         "code and PIN, e.g. 1 12 100017 123456."))
    if family is None or not notices.addressed_to(db, notice, family["id"]) or notice["private"]:
        return _answer(_("Sorry, we could not tell which family this is. Please add your family code, e.g. 1 12 100017."))
    return _by_digit(db, family, notice, int(parts[0]), sid, _)


def _by_digit(db, family: dict, notice: dict, digit: int, sid: str, _) -> Response:
    """The digit the notice's text asked for: 1 confirms; with reply options, 1-3 is the answer."""
    options = notice["reply_options"][:3]
    if options and not 1 <= digit <= len(options) or not options and digit != 1:
        return _answer(_("Sorry, that answer is not one of the choices."))
    return _record(db, family, notice, options[digit - 1]["key"] if options else None, sid, _)


def _in_words(db, number: str, family: dict, reply: Reply, body: str, sid: str, _) -> Response:
    """A reply without a notice number: placed on the family's open notices, or passed to a person."""
    menu = _menu(db, number, family)
    if menu and reply.kind == "numbers" and len(reply.numbers) == 1:
        picked = _pick(db, menu, int(reply.numbers[0]))
        if picked is None:
            return _answer(_("Sorry, that number is not on the list. Reply with one of its numbers."))
        return _apply(db, family, picked, menu["intent"], sid, _)  # the list stays: Twilio may retry this text
    waiting = _open_notices(db, family)
    matches = [(n, key) for n in waiting for key in [_option(n, reply)] if key]
    if len(matches) == 1:  # a reply option's own word ("参加", "是"): the answer
        return _record(db, family, matches[0][0], matches[0][1], sid, _)
    if matches:
        return _ask_which(db, number, family, [n for n, _key in matches], {"option": reply.words or reply.whole}, _)
    intent = {"digit": int(reply.numbers[0])} if reply.kind == "numbers" else {"ack": True}
    if reply.kind not in ("numbers", "ack"):
        return _to_teacher(db, family, body, sid, _)
    if not waiting:
        return _answer(_("Thank you. Nothing is waiting for your answer now."))
    if len(waiting) == 1:
        return _apply(db, family, waiting[0], intent, sid, _)
    return _ask_which(db, number, family, waiting, intent, _)


def _open_notices(db, family: dict) -> list[dict]:
    """This and last week's published public notices still waiting for this family: not confirmed,
    or asking for an answer it has not given."""
    rows = calls.playlist(db, {"family_id": family["id"], "auth": "callerid"})
    return [notices.get_notice(db, n["id"]) for n in rows
            if n["asks"] and n["reply"] is None or n["requires_confirmation"] and not n["confirmed"]]


def _option(notice: dict, reply: Reply) -> str | None:
    """The reply option this reply names ('参加', '不參加', 'Yes', 'absent'), if exactly one."""
    said = {reply.words, reply.whole}
    found = {o["key"] for o in notice["reply_options"]
             if said & ({fold(label) for label in o["labels"].values()} | {o["key"]})}
    return found.pop() if len(found) == 1 else None


def _apply(db, family: dict, notice: dict, intent: dict, sid: str, _) -> Response:
    if "digit" in intent:
        return _by_digit(db, family, notice, intent["digit"], sid, _)
    if "option" in intent:
        key = _option(notice, Reply("words", words=intent["option"], whole=intent["option"]))
        return _record(db, family, notice, key, sid, _)
    return _record(db, family, notice, None, sid, _)


def _ask_which(db, number: str, family: dict, waiting: list[dict], intent: dict, _) -> Response:
    """Several notices could be meant: list them, numbered, and wait for the number."""
    db.execute("INSERT INTO sms_menus (phone, family_id, notice_ids, intent, created_at) VALUES (?, ?, ?, ?, ?)"
               " ON CONFLICT (phone) DO UPDATE SET family_id = excluded.family_id, notice_ids = excluded.notice_ids,"
               " intent = excluded.intent, created_at = excluded.created_at",
               [number, family["id"], json.dumps([n["id"] for n in waiting]), json.dumps(intent), clock.now_iso()])
    lines = [f"{i}. {notices.title_for(n, family['language'])}" for i, n in enumerate(waiting[:9], 1)]
    return _answer(_("Which notice is your reply for? Reply with its number:") + "\n" + "\n".join(lines))


def _menu(db, number: str, family: dict) -> dict | None:
    since = clock.iso(clock.now() - dt.timedelta(hours=MENU_HOURS))
    rows = list(db.query("SELECT * FROM sms_menus WHERE phone = ? AND family_id = ? AND created_at >= ?",
                         [number, family["id"], since]))
    return {**rows[0], "notice_ids": json.loads(rows[0]["notice_ids"]), "intent": json.loads(rows[0]["intent"])} \
        if rows else None


def _pick(db, menu: dict, number: int) -> dict | None:
    if not 1 <= number <= min(len(menu["notice_ids"]), 9):
        return None
    try:
        return notices.get_published(db, menu["notice_ids"][number - 1])
    except UnknownNotice:
        return None


def _to_teacher(db, family: dict, body: str, sid: str, _) -> Response:
    """Words we cannot read as an answer: nothing is recorded; the class teacher gets them to read."""
    concerns.add(db, family_id=family["id"], notice_id=None, channel="text", kind="message", words=body,
                 source=f"sms:{sid}", actor="family", key=f"sms:{sid}:unclear")
    return _answer(_("Thank you. We could not read this as an answer, so we have passed your message to the class "
                     "teacher."))


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


def _record(db, family: dict, notice: dict, choice: str | None, sid: str, _) -> Response:
    """Confirmed (and the answer, if given); with reply options and no answer, ask for it."""
    base: dict = {"source": f"sms:{sid}", "actor": "family"}
    events = [ledger.new_event(notice["id"], family["id"], "sms", "confirmed",
                               dedupe_key=f"sms:{sid}:{notice['id']}:confirmed", **base)]
    if choice:
        events.append(ledger.new_event(notice["id"], family["id"], "sms", "reply", payload={"choice": choice},
                                       dedupe_key=f"sms:{sid}:{notice['id']}:reply", **base))
    ledger.record(db, events)
    title = notices.title_for(notice, family["language"])
    if choice:
        return _answer(_("Thank you, the school has your answer to %(title)s: %(answer)s.", title=title,
                         answer=notices.reply_label(notice, choice, family["language"])))
    if notice["reply_options"]:
        labels = " / ".join(notices.reply_label(notice, o["key"], family["language"]) for o in notice["reply_options"])
        return _answer(_("Thank you, %(title)s is confirmed. To answer it, reply %(choices)s.", title=title,
                         choices=labels))
    return _answer(_("Thank you, %(title)s is confirmed.", title=title))
