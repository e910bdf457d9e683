"""Words for the codes the data holds (channels, states, languages, suggestions), in the user's
language, for pages and exports alike: no `paper` or `zh-Hans` reaches a person."""

from __future__ import annotations

import re

from flask_babel import gettext as _

from server import delivery as delivery_states
from server.languages import LANGUAGES


def channel(code: str | None) -> str:
    names = {"digital": _("app / link"), "paper": _("paper slip"), "voice": _("phone call"), "sms": _("text message"),
             "kiosk": _("help desk"), "in_person": _("in person")}
    return names.get(code or "", code or "")


def state(code: str | None) -> str:
    names = {"unread": _("unread"), "read": _("read"), "confirmed": _("confirmed"), "delivered": _("delivered"),
             "reply": _("answered"), "void": _("cancelled")}
    return names.get(code or "", code or "")


def language(code: str | None) -> str:
    return LANGUAGES.get(code or "", code or "")


def suggestion(text: str) -> str:
    names = {"switch channel: phone call in the family's language": _("switch channel: phone call in the family's language"),
             "home visit, or meet at pick-up": _("home visit, or meet at pick-up"),
             "kiosk appointment with a volunteer who speaks the family's language":
                 _("kiosk appointment with a volunteer who speaks the family's language"),
             "remind to confirm": _("remind them to confirm (they read the notices)")}
    return names.get(text, text)


def roster_column(name: str) -> str:
    names = {"student id": _("student id"), "student name": _("student name"), "class": _("class"),
             "name": _("name"), "family id": _("family id"), "guardian name": _("guardian name"),
             "guardian phone": _("guardian phone")}
    return names.get(name.replace("_", " "), name)


def state_of_notice(code: str) -> str:
    names = {"scheduled": _("scheduled"), "published": _("published"), "corrected": _("corrected"),
             "withdrawn": _("withdrawn"), "waiting": _("waiting for approval"), "sent_back": _("sent back")}
    return names.get(code, code)


def reach(kind: str) -> str:
    return {"unreached": _("not reached"), "read_only": _("read, not confirmed")}.get(kind, kind)


def told_where(where: str, told: bool = False) -> str:
    """How the family meets an answer, for the person who wrote it."""
    if told:
        return _("told on the phone already")
    return {"text": _("by text message now (after quiet hours at night)"),
            "phone": _("read to them the next time they call the school line"),
            "link": _("on their family page")}.get(where, _("printed on their next bulletin, and on their family page"))


def told_via(code: str | None) -> str:
    """How the family was told the answer ('bulletin:2026-W49' -> on the bulletin of that week)."""
    if code and code.startswith("bulletin:"):
        return _("on the bulletin of %(week)s", week=code.split(":", 1)[1])
    return {"call": _("on a phone call with staff"), "phone": _("read to them on the school line"),
            "text": _("by text message"), "link": _("on their family page"),
            "none": _("no number of theirs takes texts: only on their family page"),
            "note": _("closed with a note; nothing was sent to the family")}.get(code or "", _("not yet"))


def concern_channel(code: str) -> str:
    return {"phone": _("phone (key 9)"), "text": _("text message"), "link": _("family page"),
            "kiosk": _("help desk"), "paper": _("paper slip")}.get(code, code)


def concern_status(code: str, overdue: bool = False) -> str:
    if overdue:
        return _("overdue")
    return {"open": _("open"), "answered": _("answered"), "closed": _("closed")}.get(code, code)


def localized(rows: list[dict], **fields) -> list[dict]:
    """Copies of ``rows`` with each named field passed through its labeller: ``localized(rows, state=state)``."""
    return [{**row, **{name: label(row.get(name)) for name, label in fields.items()}} for row in rows]


def delivery(code: str | None) -> str:
    """A delivery state of server.delivery (phone, text, paper)."""
    names = {"answered": _("answered"), "machine": _("answering machine"), "busy": _("busy"),
             "no answer": _("no answer"), "failed": _("failed"), "calling": _("calling"), "opted out": _("opted out"),
             "consent pending": _("waiting for consent to calls"), "delivered": _("delivered"), "sent": _("sent"),
             "undelivered": _("not delivered"), "printed": _("printed"), "handed out": _("handed out"),
             "slip returned": _("slip returned"), "in review": _("in review")}
    return names.get(code or "", code or "")


def failures(entry: dict) -> str:
    """A family's failed deliveries in words: "text: not delivered (carrier code 30007)"."""
    words = {"phone": _("phone"), "text": _("text"), "paper": _("paper")}
    return "; ".join(f"{words[channel]}: {delivery(entry[channel])}"
                     + (" (" + _("carrier code %(code)s", code=entry[channel + "_error"]) + ")"
                        if entry.get(channel + "_error") else "")
                     for channel in delivery_states.CHANNELS if entry[channel] in delivery_states.FAILED)


# Reasons the scanner, the phone line and the chase list write down (in English, for the log and
# the command line), said again in the user's language. An unknown reason is shown as written.
_REASONS = [
    (r"a slip is on this page but its QR code cannot be read",
     lambda m: _("a slip is on this page but its QR code cannot be read")),
    (r"the QR code is not a valid slip of this school: (.*)",
     lambda m: _("the QR code is not a valid slip of this school (%(detail)s)", detail=m[1])),
    (r"the slip does not match any printed slip on record",
     lambda m: _("the slip does not match any printed slip on record")),
    (r"the slip is from (\S+), more than (\d+) weeks ago",
     lambda m: _("the slip is from %(week)s, more than %(n)s weeks ago", week=m[1], n=m[2])),
    (r"the slip's corner markers cannot be found \(torn, folded or cut off\?\)",
     lambda m: _("the slip's corner markers cannot be found (torn, folded or cut off?)")),
    (r"a mark for notice (\d+) is unclear \(faint, scribbled out or partly outside the box\)",
     lambda m: _("a mark for notice %(id)s is unclear (faint, scribbled out or partly outside the box)", id=m[1])),
    (r"more than one answer is ticked for notice (\d+)",
     lambda m: _("more than one answer is ticked for notice %(id)s", id=m[1])),
    (r"the 'please call me' box is unclear", lambda m: _("the 'please call me' box is unclear")),
    (r"this slip was scanned before with different marks \(a copy, or marks added later\)",
     lambda m: _("this slip was scanned before with different marks (a copy, or marks added later)")),
    (r"ticked 'please call me' on the paper slip", lambda m: _("ticked 'please call me' on the paper slip")),
    (r"pressed 9 on the phone line: please call back", lambda m: _("pressed 9 on the phone line: please call back")),
    (r"the name (.*) has characters no installed font can print \((.*)\); the bulletin prints their code instead",
     lambda m: _("the name %(name)s has characters no installed font can print (%(codes)s); the bulletin prints "
                 "their code instead", name=m[1], codes=m[2])),
    (r"the recording is empty", lambda m: _("the recording is empty")),
    (r"this file is not a sound recording that can be read",
     lambda m: _("this file is not a sound recording that can be read")),
    (r"choose a recording first \(or record one with the microphone\)",
     lambda m: _("choose a recording first (or record one with the microphone)")),
    (r"the recording is (\d+) minutes long; at most (\d+)",
     lambda m: _("the recording is %(n)s minutes long; at most %(max)s", n=m[1], max=m[2])),
    (r"(espeak-ng|ffmpeg) is not installed; \./run\.sh installs it",
     lambda m: _("%(tool)s is missing on the server: ./run.sh installs it", tool=m[1])),
    (r"recordings need ffmpeg; \./run\.sh installs it",
     lambda m: _("%(tool)s is missing on the server: ./run.sh installs it", tool="ffmpeg")),
    (r"text message not understood: (.*)",
     lambda m: _("a text we could not read as an answer: “%(words)s”", words=m[1])),
    (r"no number with consent to calls", lambda m: _("no number with consent to calls")),
    (r"no number that accepts texts", lambda m: _("no number that accepts texts")),
    # a roster line refused or noted in the import preview
    (r"missing (student id|student name|class)", lambda m: _("missing %(what)s", what=roster_column(m[1]))),
    (r"unknown preferred channel '(.*)' \(use .*\)",
     lambda m: _("unknown preferred channel %(value)s (use app, paper, phone, text or help desk)", value=m[1])),
    (r"'has smartphone' must be yes or no, not '(.*)'",
     lambda m: _("\u201chas smartphone\u201d must be yes or no, not %(value)s", value=m[1])),
    (r"(.+) has a control character \(U\+([0-9A-F]+)\) at position (\d+); retype that cell in the file",
     lambda m: _("%(column)s has an invisible control character (U+%(code)s) at position %(n)s; retype that cell",
                 column=roster_column(m[1]), code=m[2], n=m[3])),
    (r"student id (\S+) taken as (\S+) \(the same id in other letters\)",
     lambda m: _("student id %(id)s taken as %(kept)s (the same id in other letters)", id=m[1], kept=m[2])),
    (r"student (\S+) has a different (name|class|family id) on line (\d+)",
     lambda m: _("student %(id)s has a different %(what)s on line %(line)s", id=m[1], what=roster_column(m[2]),
                 line=m[3])),
    (r"phone '(.*)' is not a valid number; kept, flagged, and used to join households on its digits",
     lambda m: _("phone %(value)s is not a valid number; kept, flagged, and used to join households on its digits",
                 value=m[1])),
    (r"phone (.+) is shared by two family ids; kept apart",
     lambda m: _("phone %(value)s is shared by two family ids; kept apart", value=m[1])),
    (r"(.+) blank: taken from line (\d+) above \(merged cells\)",
     lambda m: _("%(column)s blank: taken from line %(line)s above (merged cells)", column=roster_column(m[1]),
                 line=m[2])),
    (r"this line is in (\S+), the rest of the file in (\S+); retype it, or save the whole file as 'CSV UTF-8'",
     lambda m: _("this line is in %(one)s, the rest of the file in %(other)s; retype it, or save the whole file as"
                 " \u201cCSV UTF-8\u201d", one=m[1], other=m[2])),
    (r"student (\S+) has no class enrollment", lambda m: _("student %(id)s has no class enrollment", id=m[1])),
    # what a form was refused for (notices, settings, accounts)
    (r"a notice needs a title and body in at least one language",
     lambda m: _("a notice needs a title and body in at least one language")),
    (r"the (\S+) version needs both a title and a body",
     lambda m: _("the %(language)s version needs both a title and a body", language=language(m[1]))),
    (r"reply options must differ", lambda m: _("reply options must differ")),
    (r"name at least one class, or send it to the whole school",
     lambda m: _("name at least one class, or send it to the whole school")),
    (r"unknown class (.+?)(; known classes: .*)?", lambda m: _("unknown class %(name)s", name=m[1])),
    (r"this notice is already published: .*",
     lambda m: _("This notice is published: correct it or withdraw it, so families who read it are told.")),
    (r"say why \(families and colleagues see the reason\)",
     lambda m: _("say why (families and colleagues see the reason)")),
    (r"this notice is not published yet: edit it instead", lambda m: _("this notice is not published yet: edit it instead")),
    (r"this notice was already (\w+); change its newest version \(notice (\d+)\)",
     lambda m: _("this notice was already %(state)s; change its newest version (notice %(id)s)",
                 state=state_of_notice(m[1]), id=m[2])),
    (r"school_id must be 1-8 letters or digits", lambda m: _("the school code is 1 to 8 letters or digits")),
    (r"(\w+) must be a whole number above 0.*", lambda m: _("%(name)s must be a whole number above 0", name=m[1])),
    (r"unknown time zone '(.*)' \(example: Asia/Hong_Kong\)",
     lambda m: _("unknown time zone %(value)s (example: Asia/Hong_Kong)", value=m[1])),
    (r"unknown language '(.*)'; one of .*", lambda m: _("unknown language %(value)s", value=m[1])),
    (r"unknown phone region '(.*)'; .*",
     lambda m: _("unknown phone region %(value)s; a two-letter country code such as CN, HK, TW, MO, SG or US",
                 value=m[1])),
    (r"'(.*)' is not a web address; .*",
     lambda m: _("%(value)s is not a web address; write it like https://school.example.org", value=m[1])),
    (r"'(.*)' is not a time window like 08:00-17:00",
     lambda m: _("%(value)s is not a time window like 08:00-17:00", value=m[1])),
    (r"a username is letters, digits, '\.', '-' or '_'",
     lambda m: _("a user name is letters, digits, '.', '-' or '_'")),
    (r"user '(.*)' already exists", lambda m: _("the account %(name)s already exists", name=m[1])),
    (r"role must be one of .*", lambda m: _("choose a role")),
    (r"a teacher account needs at least one class.*", lambda m: _("a teacher account needs at least one class")),
    (r"a volunteer PIN is at least (\d+) digits", lambda m: _("a volunteer PIN is at least %(n)s digits", n=m[1])),
    (r"a password is at least (\d+) characters", lambda m: _("a password is at least %(n)s characters", n=m[1])),
    (r"name the integration", lambda m: _("name the integration")),
    (r"volunteers sign in with a PIN and staff with a password: .*",
     lambda m: _("volunteers sign in with a PIN and staff with a password: add a new account instead")),
    (r"you cannot do this to your own account; ask another admin",
     lambda m: _("you cannot do this to your own account; ask another admin")),
    (r"this is the last active admin; make another admin first",
     lambda m: _("this is the last active admin; make another admin first")),
    (r"write the answer the family will hear or read", lambda m: _("write the answer the family will hear or read")),
    (r"an answer is at most (\d+) characters \(this one is (\d+)\)",
     lambda m: _("an answer is at most %(n)s characters (this one is %(length)s)", n=m[1], length=m[2])),
    (r"concern (\d+) was closed by (.*) at .*; it takes no more answers",
     lambda m: _("this concern was closed by %(name)s; it takes no more answers", name=m[2])),
    (r"concern (\d+) is already closed", lambda m: _("this concern is already closed")),
    (r"an unanswered concern is closed with a note saying why .*",
     lambda m: _("write a note saying why this unanswered concern is closed (for example: called back)")),
    (r"write your question or message", lambda m: _("write your question or message")),
    (r"only the office or an admin approves notices", lambda m: _("only the office or an admin approves notices")),
    (r"say what the teacher should change", lambda m: _("say what the teacher should change")),
    (r"notice (\d+) is not waiting for approval.*", lambda m: _("this notice is not waiting for approval")),
]
_COMPILED = [(re.compile(pattern + "$"), say) for pattern, say in _REASONS]


def reason(text: str | None) -> str:
    """A recorded reason in the user's language."""
    for pattern, say in _COMPILED:
        if found := pattern.match(text or ""):
            return say(found)
    return text or ""
