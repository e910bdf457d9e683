"""The phone line's webhooks: TwiML for every step, reached through the action URLs we give.

Flow: greeting with the number of notices -> (caller ID) or language menu, family code and
PIN -> each unconfirmed notice, read inside a <Gather> so that keys work while it is spoken:
a notice with choices is answered by its digit ("参加请按1，不参加请按2"); another is
confirmed with 1 (2 again, 3 next; the hint is said until the caller has used it) -> at the
end, "confirm the N you heard" for notices skipped, the summary, and a last menu (1 private
messages, 9 a message for the teacher). `*` repeats a notice, `9` records a short message for
the teacher (silence: a call-back request), both in the concerns register; `0` reaches the office
in office hours and comes back to the notices when nobody answers. The teacher's answers to the
family's earlier questions are read after the greeting.
Silence is repeated once, then the call moves on (a menu) or ends politely (a code).
An answering machine gets a short message with the school's number, never the notices.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import wraps

from flask import Blueprint, Response, abort, current_app, g, request, send_file
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr import calls, config
from ivr.prompts import MENU, plural_words, say, spoken_date, spoken_number, words
from server import clock, concerns, notices, settings, speech
from server.errors import BadCode, UnknownNotice
from server.transaction import write_transaction
from server.webtools import get_db

bp = Blueprint("ivr", __name__, url_prefix="/ivr")
TIMEOUT = 6  # seconds of silence before a menu counts as unanswered (repeated once)
CODE_TIMEOUT = 10  # typing a code takes longer


def conf() -> config.TwilioConfig:
    """The phone line's configuration, read once per request."""
    request_g = g._get_current_object()
    line = request_g.get("ivr_conf")
    if line is None:
        line = request_g.ivr_conf = config.load(get_db())
    return line


def twilio_signed(view):
    """403 unless X-Twilio-Signature matches this exact URL and form (RequestValidator).

    The whole webhook is one write transaction (all of it or nothing), begun before the check:
    the server's threads then take turns on the database's lock instead of trading Python's
    lock at every SQL statement, and the settings are read inside it. A rejected request
    writes nothing (rolled back)."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        with write_transaction(get_db()):
            line = conf()
            if line.validate and not _signed(line):
                current_app.logger.warning("rejected an unsigned or wrongly signed Twilio request to %s", request.path)
                abort(403)
            return view(*args, **kwargs)
    return wrapped


def _signed(line: config.TwilioConfig) -> bool:
    url = line.public_url.rstrip("/") + request.full_path.rstrip("?")
    signature, form = request.headers.get("X-Twilio-Signature", ""), request.form.to_dict()
    validator = RequestValidator(line.auth_token)
    # the URL as configured first (one HMAC); else every form Twilio may have signed (with or without the port)
    return hmac.compare_digest(validator.compute_signature(url, form), signature) or \
        validator.validate(url, form, signature)


def twiml(response) -> Response:
    return Response(str(response), mimetype="text/xml")


def _url(path: str, **params) -> str:
    """An action or redirect URL of this call. The notices read so far travel along in ``h``
    (signed by Twilio with the rest of the URL), so no webhook writes them down."""
    params.setdefault("h", ".".join(map(str, _heard())) or None)
    params.setdefault("only", request.args.get("only"))
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    return conf().url(path + (f"?{query}" if query else ""))


def _heard() -> list[int]:
    """The notices this call has read out, from the URL's ``h`` (e.g. h=2.3.5)."""
    return [int(n) for n in request.args.get("h", "").split(".")[:50] if n.isdigit()]


def _call() -> dict:
    db = get_db()
    found = calls.get(db, request.form.get("CallSid", ""))
    if found is None:  # a step without a start: treat it as the start
        found = calls.start(db, request.form.get("CallSid", ""), "inbound", request.form.get("From", ""),
                            request.form.get("To", ""))
    return found


def _language(call: dict) -> str:
    return call["language"] or settings.get(get_db(), "default_language")


def _retry() -> int:
    return request.args.get("r", 0, type=int)


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
        _greet(response, call)
        return _go_on(response, call)
    gather = Gather(num_digits=1, action=_url("/ivr/voice/language", r=_retry() or None), timeout=TIMEOUT,
                    action_on_empty_result=True)
    if not _retry():
        say(gather, words("zh-Hans")("Hello, this is %(school)s.", school=settings.school_name(db, "zh-Hans")),
            "zh-Hans")
    for _digit, language, text in MENU:
        say(gather, text, language)
    response.append(gather)
    return twiml(response)


def _greet(response: VoiceResponse, call: dict) -> None:
    """Who is calling and how many notices wait: the keys are said with the first notice."""
    lang = _language(call)
    _, n_ = words(lang), plural_words(lang)
    count = len(calls.waiting(get_db(), call))
    school = settings.school_name(get_db(), lang)
    if count:
        say(response, n_("Hello, this is %(school)s. You have %(n)s new notice.",
                         "Hello, this is %(school)s. You have %(n)s new notices.", count, school=school), lang)
    else:
        say(response, _("Hello, this is %(school)s.", school=school), lang)
    _answers(response, call)


@bp.route("/voice/language", methods=["POST"])
@twilio_signed
def language():
    db = get_db()
    call = _call()
    digits = request.form.get("Digits", "")
    chosen = next((lang for digit, lang, _text in MENU if digit == digits), None)
    response = VoiceResponse()
    if chosen is None:
        if _retry() >= 1:  # asked twice: go on in the school's language rather than loop
            chosen = settings.get(db, "default_language")
        else:
            response.redirect(_url("/ivr/voice", r=1))
            return twiml(response)
    calls.update(db, call["sid"], language=chosen)
    if chosen != "zh-Hans" or digits == "":
        _ = words(chosen)
        say(response, _("Hello, this is %(school)s.", school=settings.school_name(db, chosen)), chosen)
    _ask_code(response, chosen)
    return twiml(response)


def _ask_code(response: VoiceResponse, language: str, private: bool = False, retry: int = 0) -> None:
    _ = words(language)
    gather = Gather(finish_on_key="#", num_digits=12, timeout=CODE_TIMEOUT, action_on_empty_result=True,
                    action=_url("/ivr/voice/code", p=1 if private else None, r=retry or None))
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
    private = bool(request.args.get("p"))
    if calls.rate_limited(db, call["from_number"]):
        say(response, _("Too many wrong codes from this number. Please try again later or ask the school office. "
                        "Goodbye."), lang)
        response.hangup()
        return twiml(response)
    if not digits:
        if private or _retry() >= 1:
            say(response, _("The class teacher can tell you your family code. Thank you for calling, goodbye."), lang)
            response.hangup()
            return twiml(response)
        _ask_code(response, lang, retry=1)
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
        _ask_code(response, lang, private)
        return twiml(response)
    language = family["language"] if call["auth"] == "none" and not call["language"] else lang
    calls.update(db, call["sid"], family_id=family["id"], auth="code", language=language)
    _ask_pin(response, language, private)
    return twiml(response)


def _ask_pin(response: VoiceResponse, language: str, private: bool = False) -> None:
    _ = words(language)
    gather = Gather(finish_on_key="#", num_digits=8, timeout=CODE_TIMEOUT,
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
    private = bool(request.args.get("p"))
    if family is None:
        _ask_code(response, lang, private)
        return twiml(response)
    if calls.rate_limited(db, call["from_number"]) or calls.family_locked(db, family["code"]):
        say(response, _("Too many wrong PINs. Please try again later or ask the school office. Goodbye."), lang)
        response.hangup()
        return twiml(response)
    digits = request.form.get("Digits", "")
    if not digits and private:  # silence at "enter your PIN for the private message": fine, goodbye
        return _goodbye(response, call)
    if not digits or not calls.check_pin(db, call, family, digits):
        call = calls.require(db, call["sid"])
        if call["code_tries"] >= calls.MAX_CODE_TRIES or not digits:
            say(response, _("Sorry, we cannot check your PIN. The class teacher can tell you your family's PIN. "
                            "Thank you for calling, goodbye."), lang)
            response.hangup()
            return twiml(response)
        say(response, _("Sorry, that PIN is not right."), lang)
        _ask_pin(response, lang, private)
        return twiml(response)
    calls.update(db, call["sid"], auth="pin")
    call = calls.require(db, call["sid"])
    if not private:
        _greet(response, call)
    return _go_on(response, call, only="private" if private else None)


@bp.route("/voice/next", methods=["POST"])
@twilio_signed
def next_notice():
    """Read the next unconfirmed notice after ``n`` (or from ``at``, or the first), or finish."""
    return _go_on(VoiceResponse(), _call(), after=request.args.get("n", type=int), at=request.args.get("at", type=int))


def _go_on(response: VoiceResponse, call: dict, *, after: int | None = None, at: int | None = None,
           only: str | None = None):
    """Append the next notice to ``response`` (or the end of the call): in the same answer as the
    key that led here, not through a Redirect, so the caller hears no gap and Twilio makes one
    request, not two."""
    only = only or request.args.get("only")
    notice = calls.next_notice(get_db(), call, after, private_only=only == "private", at=at)
    if notice is None:
        return _finish(response, call)
    _read(response, call, notice, only)
    return twiml(response)


def _read(response: VoiceResponse, call: dict, notice: dict, only: str | None = None) -> None:
    """The notice and its keys, in one Gather: keys work while it is spoken."""
    lang = _language(call)
    _ = words(lang)
    heard = [n for n in _heard() if n != notice["id"]] + [notice["id"]]
    title, body, used = notices.text_for(notice, lang)
    gather = Gather(num_digits=1, timeout=TIMEOUT, action_on_empty_result=True,
                    action=_url("/ivr/voice/key", n=notice["id"], h=".".join(map(str, heard)), only=only))
    recording = speech.recordings(get_db(), notice["id"]).get(speech.voice_for(lang, used))
    if recording:  # the teacher's own voice before any synthetic one
        gather.play(_audio_url(recording["sha"]))
    else:
        say(gather, [_("%(title)s.", title=title.rstrip("。.")), body], lang)
    if notice["reply_options"] or not calls.confirmed_by_key_1(get_db(), call):
        for line in _key_lines(call, notice):  # a caller who has confirmed once knows that 1 confirms
            say(gather, line, lang)  # a Say each: the caller presses 1 after the first
    response.append(gather)


AUDIO_MINUTES = 60  # how long a <Play> URL works: Twilio fetches it during the call


def _audio_url(sha: str) -> str:
    """A signed URL that expires, for Twilio to fetch a recording (it sends no signature of its own)."""
    expires = int(clock.now().timestamp()) + AUDIO_MINUTES * 60
    return conf().url(f"/ivr/audio/{sha}.mp3?e={expires}&s={_audio_signature(sha, expires)}")


def _audio_signature(sha: str, expires: int) -> str:
    key = hmac.new(settings.school_secret(get_db()), b"ivr-audio", hashlib.sha256).digest()
    return hmac.new(key, f"{sha}.{expires}".encode(), hashlib.sha256).hexdigest()[:32]


@bp.route("/audio/<sha>.mp3")
def audio(sha: str):
    """A recording for <Play>: only with a valid, unexpired signature (404 otherwise, whoever asks)."""
    expires = request.args.get("e", 0, type=int)
    given = request.args.get("s", "")
    path = speech.file_for(get_db(), sha, ".mp3")
    if path is None or expires < clock.now().timestamp() or \
            not hmac.compare_digest(given, _audio_signature(sha, expires)):
        abort(404)
    return send_file(path, mimetype="audio/mpeg", max_age=AUDIO_MINUTES * 60)


def _gather(notice_id: int, retry: int) -> Gather:
    return Gather(num_digits=1, timeout=TIMEOUT, action=_url("/ivr/voice/key", n=notice_id, r=retry or None),
                  action_on_empty_result=True)


def _key_lines(call: dict, notice: dict, again: bool = False) -> list[str]:
    """The notice's keys; said ``again`` (after silence) with the date to answer by, for a caller
    who wants to think it over (answering now needs no date)."""
    lang = _language(call)
    _ = words(lang)
    lines = []
    if again and notice["due_date"]:
        lines.append(_("Please answer by %(date)s.", date=spoken_date(notice["due_date"], lang)))
    if notice["reply_options"]:
        lines += [_("For %(answer)s, press %(digit)s.", answer=notices.reply_label(notice, option["key"], lang),
                    digit=digit) for digit, option in zip("123", notice["reply_options"][:3], strict=False)]
    else:  # two prompts: a caller may press 1 after the first
        lines += [_("To confirm, press 1."), _("To hear it again, press 2.")]
    return lines


@bp.route("/voice/key", methods=["POST"])
@twilio_signed
def key():
    db = get_db()
    call = _call()
    notice_id = request.args.get("n", 0, type=int)
    digits = request.form.get("Digits", "")
    lang = _language(call)
    _ = words(lang)
    response = VoiceResponse()
    try:
        notice = notices.get_published(db, notice_id)
    except UnknownNotice:
        say(response, _("Sorry, this notice is no longer available."), lang)
        return _go_on(response, call)
    options = notice["reply_options"][:3]
    if (options and digits.isdigit() and 1 <= int(digits) <= len(options) or not options and digits == "1") \
            and call["auth"] not in calls.ANSWERING:  # keys for a call that has not shown whose it is
        _ask_code(response, lang)
        return twiml(response)
    if options and digits.isdigit() and 1 <= int(digits) <= len(options):
        choice = options[int(digits) - 1]["key"]
        calls.record(db, call, notice, choice)
        say(response, _("Noted: %(answer)s.", answer=notices.reply_label(notice, choice, lang)), lang)
        return _go_on(response, call, after=notice_id)
    elif not options and digits == "1":
        calls.record(db, call, notice)
        say(response, _("Confirmed."), lang)
        return _go_on(response, call, after=notice_id)
    elif digits == "*" or not options and digits == "2":
        _read(response, call, notice)
    elif not options and digits == "3" or not digits and _retry() >= 1:
        return _go_on(response, call, after=notice_id)
    elif not _global_key(response, call, digits, notice_id):
        if digits:
            say(response, _("Sorry, that key is not one of the choices."), lang)
        gather = _gather(notice_id, _retry() + (0 if digits else 1))
        for line in _key_lines(call, notice, again=not digits):
            say(gather, line, lang)
        response.append(gather)
    return twiml(response)


def _global_key(response: VoiceResponse, call: dict, digits: str, notice_id: int) -> bool:
    """`9` leaves a message for the teacher, `0` reaches the office. True if the key was one of these."""
    db = get_db()
    lang = _language(call)
    _ = words(lang)
    if digits == "9" and call["family_id"]:
        _record_message(response, call, notice_id or None)
    elif digits == "0":
        if calls.office_open(db):
            say(response, _("Connecting you to the school office."), lang)
            response.dial(settings.get(db, "office_phone"), action=_url("/ivr/voice/dialled", n=notice_id or None),
                          timeout=25)
        else:
            say(response, _("The school office is closed now."), lang)
            _go_on(response, call, at=notice_id or None)
    else:
        return False
    return True


MESSAGE_SECONDS = 60


def _record_message(response: VoiceResponse, call: dict, notice_id: int | None, last: bool = False) -> None:
    """Key 9: a short voice message for the teacher, ended by # or silence."""
    lang = _language(call)
    _ = words(lang)
    say(response, _("After the tone, say your message for the teacher, then press the hash key."), lang)
    response.record(max_length=MESSAGE_SECONDS, timeout=5, finish_on_key="#", play_beep=True,
                    action=_url("/ivr/voice/message", n=notice_id, last=1 if last else None))
    # Twilio goes on to the next verb, not the action, when nothing was said: a call-back request
    response.redirect(_url("/ivr/voice/message", n=notice_id, last=1 if last else None, silent=1))


@bp.route("/voice/message", methods=["POST"])
@twilio_signed
def message():
    """The message was recorded (Twilio keeps it; the server fetches it as evidence): into the
    concerns register. Nothing said is a request to be called back."""
    call = _call()
    lang = _language(call)
    _ = words(lang)
    notice_id = request.args.get("n", type=int)
    url = request.form.get("RecordingUrl", "")
    duration = request.form.get("RecordingDuration", "0")
    said = not request.args.get("silent") and url.startswith("https://") and duration.isdigit() and int(duration) >= 1
    response = VoiceResponse()
    if call["family_id"]:
        concerns.add(get_db(), family_id=call["family_id"], notice_id=notice_id, channel="phone",
                     kind="message" if said else "call_back", recording_url=url if said else None,
                     source=f"call:{call['sid']}", actor="family", key=f"call:{call['sid']}:message:{notice_id or 0}")
    say(response, _("Thank you. The teacher has your message.") if said
        else _("Thank you. The teacher will call you back."), lang)
    if request.args.get("last"):
        return _goodbye(response, call)
    return _go_on(response, call, at=notice_id)


def _answers(response: VoiceResponse, call: dict) -> None:
    """The teacher's answers to this family's questions that it has not heard or read yet."""
    lang = _language(call)
    _ = words(lang)
    for concern in concerns.to_tell(get_db(), call["family_id"]):
        say(response, _("An answer from the school to your message:"), lang)
        say(response, concern["answer"], lang)
        concerns.mark_told(get_db(), concern["id"], "phone")


@bp.route("/voice/dialled", methods=["POST"])
@twilio_signed
def dialled():
    """The office call ended: after a talk, goodbye; unanswered or busy, back to the notices."""
    call = _call()
    lang = _language(call)
    response = VoiceResponse()
    if request.form.get("DialCallStatus") == "completed":
        return _goodbye(response, call)
    _ = words(lang)
    say(response, _("Nobody at the office could answer. Back to your notices."), lang)
    return _go_on(response, call, at=request.args.get("n", type=int))


@bp.route("/voice/outbound", methods=["POST"])
@twilio_signed
def outbound():
    """A reminder call we placed to a guardian of family ``f``: name the school, give a number to call
    back. An answering machine gets only that, never a notice."""
    db = get_db()
    rows = list(db.query("SELECT * FROM families WHERE id = ?", [request.args.get("f", type=int)]))
    response = VoiceResponse()
    if not rows:  # only our own reminder calls come here; a bad URL ends the call politely
        current_app.logger.warning("outbound call webhook for an unknown family: %s", request.url)
        response.hangup()
        return twiml(response)
    family = rows[0]
    call = calls.start(db, request.form.get("CallSid", ""), "outbound", request.form.get("From", ""),
                       request.form.get("To", ""))
    machine = request.form.get("AnsweredBy", "").startswith("machine") or request.form.get("AnsweredBy") == "fax"
    if not call["family_id"]:
        calls.update(db, call["sid"], family_id=family["id"], language=family["language"],
                     auth="dialled", status="machine" if machine else call["status"])
        call = calls.require(db, call["sid"])
    lang = _language(call)
    _ = words(lang)
    number = settings.get(db, "phone_line")
    school = settings.school_name(db, lang)
    if machine:
        say(response, _("Hello, this is %(school)s. There are school notices for your family.", school=school), lang)
        if number:
            say(response, _("Please call %(number)s to hear them. Goodbye.", number=spoken_number(number)), lang)
        response.hangup()
        return twiml(response)
    say(response, _("Hello, this is %(school)s calling about notices for your family.", school=school), lang)
    if number:
        say(response, _("To call us back, dial %(number)s.", number=spoken_number(number)), lang)
    return _go_on(response, call)


def _finish(response: VoiceResponse, call: dict, offer_all: bool = True):
    """Skipped notices first ("press 1 to confirm the 2 you heard"), then the summary and a last menu."""
    db = get_db()
    lang = _language(call)
    _, n_ = words(lang), plural_words(lang)
    skipped = calls.heard_unconfirmed(db, call, _heard())
    if skipped and offer_all:
        gather = Gather(num_digits=1, timeout=TIMEOUT, action=_url("/ivr/voice/all"), action_on_empty_result=True)
        say(gather, n_("You heard %(n)s notice without confirming it. To confirm it now, press 1.",
                       "You heard %(n)s notices without confirming them. To confirm them all now, press 1.",
                       len(skipped)), lang)
        response.append(gather)
        return twiml(response)
    if not calls.confirmed_in_call(db, call):  # each answer was acknowledged as it was given
        say(response, _("There are no more notices for you now."), lang)
    return _last_menu(response, call)


@bp.route("/voice/all", methods=["POST"])
@twilio_signed
def confirm_all():
    """1: confirm every notice this call read out and the caller skipped (none asks a question)."""
    db = get_db()
    call = _call()
    lang = _language(call)
    response = VoiceResponse()
    _ = words(lang)
    if request.form.get("Digits") == "1":
        for notice in calls.heard_unconfirmed(db, call, _heard()):
            calls.record(db, call, notices.get_published(db, notice["id"]))
        say(response, _("Confirmed."), lang)
    return _finish(response, calls.require(db, call["sid"]), offer_all=False)


def _last_menu(response: VoiceResponse, call: dict):
    """1 for private messages (after the PIN), 9 a message for the teacher, then goodbye."""
    lang = _language(call)
    _, n_ = words(lang), plural_words(lang)
    private = calls.private_waiting(get_db(), call)
    gather = Gather(num_digits=1, timeout=TIMEOUT, action=_url("/ivr/voice/end"), action_on_empty_result=True)
    if private:
        say(gather, n_("There is %(n)s private message: to hear it, press 1.",
                       "There are %(n)s private messages: to hear them, press 1.", private), lang)
    say(gather, _("To leave a message for the teacher, press 9. Goodbye."), lang)
    response.append(gather)
    response.hangup()
    return twiml(response)


@bp.route("/voice/end", methods=["POST"])
@twilio_signed
def end():
    db = get_db()
    call = _call()
    lang = _language(call)
    _ = words(lang)
    response = VoiceResponse()
    digits = request.form.get("Digits", "")
    if digits == "1" and calls.private_waiting(db, call):
        _ask_pin(response, lang, private=True)
    elif digits == "9" and call["family_id"]:
        _record_message(response, call, None, last=True)
    else:
        response.hangup()
    return twiml(response)


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
