"""Words for the codes the data holds (channels, states, languages, suggestions), in the user's
language, for pages and exports alike: no `paper` or `zh-Hans` reaches a person."""

from __future__ import annotations

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


def reach(kind: str) -> str:
    return {"unreached": _("not reached"), "read_only": _("read, not confirmed")}.get(kind, kind)


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
