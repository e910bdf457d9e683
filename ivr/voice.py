"""The phone line's webhooks: TwiML for every step, reached through the action URLs we give.

Flow: greet -> caller ID or language menu -> family code when needed -> each unconfirmed
notice (1 confirm, 2 again, 3 next; answers 1/2/3) -> summary. `*` repeats, `9` asks the
teacher to call back, `0` reaches the office in office hours. Silence reaches the server
(actionOnEmptyResult), a prompt is repeated once, then the call moves on.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr import calls, config
from ivr.prompts import MENU, plural_words, say, words
from server import followups, notices, settings
from server.errors import BadCode, UnknownNotice
from server.webtools import get_db

bp = Blueprint("ivr", __name__, url_prefix="/ivr")
TIMEOUT = 8  # seconds to wait for a key: generous for elderly callers


def twilio_signed(view):
    """403 unless X-Twilio-Signature matches this exact URL and form (RequestValidator)."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        conf = config.load(get_db())
        if conf.validate:
            url = conf.public_url.rstrip("/") + request.full_path.rstrip("?")
            signature = request.headers.get("X-Twilio-Signature", "")
            if not RequestValidator(conf.auth_token).validate(url, request.form.to_dict(), signature):
                current_app.logger.warning("rejected an unsigned or wrongly signed Twilio request to %s", request.path)
                abort(403)
        return view(*args, **kwargs)
    return wrapped


def twiml(response) -> Response:
    return Response(str(response), mimetype="text/xml")


def _url(path: str, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    return config.load(get_db()).url(path + (f"?{query}" if query else ""))


def _call() -> dict:
    db = get_db()
    found = calls.get(db, request.form.get("CallSid", ""))
    if found is None:  # a step without a start: treat it as the start
        found = calls.start(db, request.form.get("CallSid", ""), "inbound", request.form.get("From", ""),
                            request.form.get("To", ""))
    return found


def _language(call: dict) -> str:
    return call["language"] or settings.get(get_db(), "default_language")


@bp.route("/voice", methods=["POST"])
@twilio_signed
def incoming():
    db = get_db()
    call = calls.start(db, request.form.get("CallSid", ""), "inbound", request.form.get("From", ""),
                       request.form.get("To", ""))
    family = calls.family_for_caller(db, call["from_number"])
    if family and not call["family_id"]:
        calls.update(db, call["sid"], family_id=family["id"], language=family["language"], auth="callerid")
        call = calls.require(db, call["sid"])
    response = VoiceResponse()
    if call["family_id"]:
        _greet(response, _language(call))
        response.redirect(_url("/ivr/voice/next"))
        return twiml(response)
    gather = Gather(num_digits=1, action=_url("/ivr/voice/language"), timeout=TIMEOUT, action_on_empty_result=True)
    say(gather, f"您好，这里是{settings.get(db, 'school_name')}。", "zh-Hans")
    for _digit, language, text in MENU:
        say(gather, text, language)
    response.append(gather)
    return twiml(response)


def _greet(response: VoiceResponse, language: str) -> None:
    _ = words(language)
    say(response, _("Hello, this is %(school)s. We will read this week's notices to you.",
                    school=settings.get(get_db(), "school_name")), language)
    say(response, _("At any time: press star to hear something again, 9 to ask the teacher to call you, "
                    "0 for the school office."), language)


@bp.route("/voice/language", methods=["POST"])
@twilio_signed
def language():
    db = get_db()
    call = _call()
    digits = request.form.get("Digits", "")
    chosen = next((lang for digit, lang, _text in MENU if digit == digits), None)
    response = VoiceResponse()
    if chosen is None:
        retry = int(request.args.get("r", 0))
        if retry >= 1:
            chosen = settings.get(db, "default_language")
        else:
            response.redirect(_url("/ivr/voice", r=1))
            return twiml(response)
    calls.update(db, call["sid"], language=chosen)
    _greet(response, chosen)
    _ask_code(response, chosen)
    return twiml(response)


def _ask_code(response: VoiceResponse, language: str, private: bool = False) -> None:
    _ = words(language)
    gather = Gather(finish_on_key="#", num_digits=12, timeout=TIMEOUT + 4, action=_url("/ivr/voice/code",
                    p=1 if private else None), action_on_empty_result=True)
    say(gather, _("Please enter your family code from the school letter, then press the hash key."), language)
    response.append(gather)


@bp.route("/voice/code", methods=["POST"])
@twilio_signed
def code():
    db = get_db()
    call = _call()
    lang = _language(call)
    _ = words(lang)
    response = VoiceResponse()
    digits = request.form.get("Digits", "")
    if calls.rate_limited(db, call["from_number"]):
        say(response, _("Too many wrong codes from this number. Please try again later or ask the school office. "
                        "Goodbye."), lang)
        response.hangup()
        return twiml(response)
    if not digits:
        if request.args.get("p"):
            return _goodbye(response, call)
        _ask_code(response, lang)
        return twiml(response)
    try:
        family = calls.check_code(db, call, digits)
    except BadCode:
        call = calls.require(db, call["sid"])
        if call["code_tries"] >= calls.MAX_CODE_TRIES:
            say(response, _("Sorry, that code is not right. Please ask the class teacher for your family code. "
                            "Thank you for calling, goodbye."), lang)
            response.hangup()
            return twiml(response)
        say(response, _("Sorry, that code is not right."), lang)
        _ask_code(response, lang, bool(request.args.get("p")))
        return twiml(response)
    language = family["language"] if call["auth"] == "none" and not call["language"] else lang
    calls.update(db, call["sid"], family_id=family["id"], auth="code", language=language)
    _ask_pin(response, language, bool(request.args.get("p")))
    return twiml(response)


def _ask_pin(response: VoiceResponse, language: str, private: bool = False) -> None:
    _ = words(language)
    gather = Gather(finish_on_key="#", num_digits=8, timeout=TIMEOUT + 4,
                    action=_url("/ivr/voice/pin", p=1 if private else None), action_on_empty_result=True)
    say(gather, _("Please enter your family's six-digit phone PIN from inside your school letter, then press the "
                  "hash key."), language)
    response.append(gather)


@bp.route("/voice/pin", methods=["POST"])
@twilio_signed
def pin():
    """The family's secret PIN: needed for private notices, and for anything from a number the roster does not know."""
    db = get_db()
    call = _call()
    lang = _language(call)
    _ = words(lang)
    response = VoiceResponse()
    family = db.table("families").get(call["family_id"]) if call["family_id"] else None
    if family is None:
        _ask_code(response, lang, bool(request.args.get("p")))
        return twiml(response)
    if calls.rate_limited(db, call["from_number"]) or calls.family_locked(db, family["code"]):
        say(response, _("Too many wrong PINs. Please try again later or ask the school office. Goodbye."), lang)
        response.hangup()
        return twiml(response)
    digits = request.form.get("Digits", "")
    if not digits and request.args.get("p"):  # silence at "enter your PIN for the private message": fine, goodbye
        return _goodbye(response, call)
    if not digits or not calls.check_pin(db, call, family, digits):
        call = calls.require(db, call["sid"])
        if call["code_tries"] >= calls.MAX_CODE_TRIES or not digits:
            say(response, _("Sorry, we cannot check your PIN. The class teacher can tell you your family's PIN. "
                            "Thank you for calling, goodbye."), lang)
            response.hangup()
            return twiml(response)
        say(response, _("Sorry, that PIN is not right."), lang)
        _ask_pin(response, lang, bool(request.args.get("p")))
        return twiml(response)
    calls.update(db, call["sid"], auth="pin")
    response.redirect(_url("/ivr/voice/next", only="private" if request.args.get("p") else None))
    return twiml(response)


@bp.route("/voice/next", methods=["POST"])
@twilio_signed
def next_notice():
    """Read the next unconfirmed notice after ``n`` (or the first), or finish."""
    db = get_db()
    call = _call()
    after = request.args.get("n", type=int)
    notice = calls.next_notice(db, call, after, private_only=request.args.get("only") == "private")
    response = VoiceResponse()
    if notice is None:
        return _finish(response, call)
    _read(response, call, notice)
    return twiml(response)


def _read(response: VoiceResponse, call: dict, notice: dict) -> None:
    lang = _language(call)
    _ = words(lang)
    title, body, _used = notices.text_for(notice, lang)
    say(response, _("Notice: %(title)s.", title=title), lang)
    say(response, body, lang)
    if notice["due_date"]:
        say(response, _("Please answer by %(date)s", date=notice["due_date"]), lang)
    _keys(response, call, notice["id"])


@bp.route("/voice/outbound", methods=["POST"])
@twilio_signed
def outbound():
    """A reminder call we placed to a guardian of family ``f``: name the school, give a number to call back."""
    db = get_db()
    rows = list(db.query("SELECT * FROM families WHERE id = ?", [request.args.get("f", type=int)]))
    if not rows:  # only our own reminder calls come here; a bad URL ends the call politely
        current_app.logger.warning("outbound call webhook for an unknown family: %s", request.url)
        response = VoiceResponse()
        response.hangup()
        return twiml(response)
    family = rows[0]
    call = calls.start(db, request.form.get("CallSid", ""), "outbound", request.form.get("From", ""),
                       request.form.get("To", ""))
    if not call["family_id"]:
        calls.update(db, call["sid"], family_id=family["id"], language=family["language"], auth="dialled")
        call = calls.require(db, call["sid"])
    lang = _language(call)
    _ = words(lang)
    response = VoiceResponse()
    say(response, _("Hello, this is %(school)s calling about notices for your family.",
                    school=settings.get(db, "school_name")), lang)
    number = settings.get(db, "phone_line")
    if number:
        say(response, _("To call us back, dial %(number)s.", number=" ".join(number)), lang)
    response.redirect(_url("/ivr/voice/next"))
    return twiml(response)


def _keys(response: VoiceResponse, call: dict, notice_id: int, retry: int = 0) -> None:
    lang = _language(call)
    _ = words(lang)
    gather = Gather(num_digits=1, timeout=TIMEOUT, action=_url("/ivr/voice/key", n=notice_id, r=retry),
                    action_on_empty_result=True)
    say(gather, _("To confirm you have heard it, press 1. To hear it again, press 2. For the next notice, press 3."),
        lang)
    response.append(gather)


@bp.route("/voice/key", methods=["POST"])
@twilio_signed
def key():
    db = get_db()
    call = _call()
    notice_id = request.args.get("n", 0, type=int)
    retry = request.args.get("r", 0, type=int)
    digits = request.form.get("Digits", "")
    lang = _language(call)
    _ = words(lang)
    response = VoiceResponse()
    try:
        notice = notices.get_published(db, notice_id)
    except UnknownNotice:
        say(response, _("Sorry, this notice is no longer available."), lang)
        response.redirect(_url("/ivr/voice/next", n=None))
        return twiml(response)
    if digits == "1":
        if notice["reply_options"]:
            _ask_reply(response, call, notice)
        else:
            calls.record(db, call, notice_id, "confirmed")
            say(response, _("Thank you, confirmed."), lang)
            response.redirect(_url("/ivr/voice/next", n=notice_id))
    elif digits == "2":
        _read(response, call, notice)
    elif digits == "3" or (not digits and retry >= 1):
        response.redirect(_url("/ivr/voice/next", n=notice_id))
    elif _global_key(response, call, digits, notice_id):
        pass
    else:
        if digits:
            say(response, _("Sorry, that key is not one of the choices."), lang)
        _keys(response, call, notice_id, retry + (0 if digits else 1))
    return twiml(response)


def _global_key(response: VoiceResponse, call: dict, digits: str, notice_id: int) -> bool:
    """`*` repeats, `9` asks for a call back, `0` the office. True if the key was one of these."""
    db = get_db()
    lang = _language(call)
    _ = words(lang)
    if digits == "*":
        _keys(response, call, notice_id)
    elif digits == "9" and call["family_id"]:
        followups.add(db, family_id=call["family_id"], notice_id=notice_id or None,
                      reason="pressed 9 on the phone line: please call back", source=f"call:{call['sid']}",
                      actor="family", key=f"call:{call['sid']}:call-me:{notice_id}")
        say(response, _("Thank you. The teacher will call you back."), lang)
        _keys(response, call, notice_id)
    elif digits == "0":
        if calls.office_open(db):
            say(response, _("Connecting you to the school office."), lang)
            response.dial(settings.get(db, "office_phone"))
        else:
            say(response, _("The school office is closed now."), lang)
            _keys(response, call, notice_id)
    else:
        return False
    return True


def _ask_reply(response: VoiceResponse, call: dict, notice: dict, retry: int = 0) -> None:
    lang = _language(call)
    _ = words(lang)
    gather = Gather(num_digits=1, timeout=TIMEOUT, action=_url("/ivr/voice/reply", n=notice["id"], r=retry),
                    action_on_empty_result=True)
    for digit, option in zip("123", notice["reply_options"][:3], strict=False):
        say(gather, _("For %(answer)s, press %(digit)s.", answer=notices.reply_label(notice, option["key"], lang),
                      digit=digit), lang)
    response.append(gather)


@bp.route("/voice/reply", methods=["POST"])
@twilio_signed
def reply():
    db = get_db()
    call = _call()
    notice_id = request.args.get("n", 0, type=int)
    retry = request.args.get("r", 0, type=int)
    lang = _language(call)
    _ = words(lang)
    response = VoiceResponse()
    try:
        notice = notices.get_published(db, notice_id)
    except UnknownNotice:
        response.redirect(_url("/ivr/voice/next"))
        return twiml(response)
    digits = request.form.get("Digits", "")
    options = notice["reply_options"][:3]
    if digits.isdigit() and 1 <= int(digits) <= len(options):
        choice = options[int(digits) - 1]["key"]
        calls.record(db, call, notice_id, "confirmed")
        calls.record(db, call, notice_id, "reply", choice)
        say(response, _("Thank you, your answer is %(answer)s.",
                        answer=notices.reply_label(notice, choice, lang)), lang)
        response.redirect(_url("/ivr/voice/next", n=notice_id))
    elif not digits and retry >= 1:
        calls.record(db, call, notice_id, "confirmed")  # they pressed 1 to confirm, but gave no answer
        response.redirect(_url("/ivr/voice/next", n=notice_id))
    else:
        if digits:
            say(response, _("Sorry, that key is not one of the choices."), lang)
        _ask_reply(response, call, notice, retry + 1)
    return twiml(response)


def _finish(response: VoiceResponse, call: dict):
    db = get_db()
    lang = _language(call)
    _, n_ = words(lang), plural_words(lang)
    confirmed = calls.confirmed_in_call(db, call["sid"])
    if confirmed:
        say(response, n_("You confirmed %(n)s notice in this call.", "You confirmed %(n)s notices in this call.",
                         confirmed), lang)
    else:
        say(response, _("There are no more notices for you now."), lang)
    waiting = calls.private_waiting(db, call)
    if waiting:
        say(response, n_(
            "There is %(n)s private message for you. To hear it, enter your family's PIN.",
            "There are %(n)s private messages for you. To hear them, enter your family's PIN.", waiting), lang)
        _ask_pin(response, lang, private=True)
        return twiml(response)
    return _goodbye(response, call)


def _goodbye(response: VoiceResponse, call: dict):
    lang = _language(call)
    _ = words(lang)
    say(response, _("Thank you for calling. Goodbye."), lang)
    response.hangup()
    return twiml(response)


@bp.route("/status", methods=["POST"])
@twilio_signed
def status():
    """Twilio's status callback: the call's outcome, also for reminder attempts."""
    db = get_db()
    sid, outcome = request.form.get("CallSid", ""), request.form.get("CallStatus", "")
    if request.form.get("AnsweredBy", "").startswith("machine"):
        outcome = "machine"
    if calls.get(db, sid):
        calls.update(db, sid, status=outcome)
    db.execute("UPDATE contact_attempts SET outcome = ? WHERE sid = ?", [outcome, sid])
    return ("", 204)
