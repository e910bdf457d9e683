"""What the phone line says, in the caller's language, and how (voice, pace, chunks)."""

from __future__ import annotations

import datetime as dt
import re

import phonenumbers
from babel.dates import format_skeleton
from twilio.twiml.voice_response import Gather, Say, VoiceResponse

from server.i18n import gettext_for, ngettext_for
from server.languages import ui_locale

# Family language -> (Twilio language, voice). Google voices read SSML prosody.
VOICES = {
    "zh-Hans": ("cmn-CN", "Google.cmn-CN-Standard-A"),
    "zh-Hant": ("cmn-TW", "Google.cmn-TW-Standard-A"),
    "yue-Hant": ("yue-HK", "Google.yue-HK-Standard-A"),
    "en": ("en-US", "Google.en-US-Standard-C"),
}
MENU = (("1", "zh-Hans", "普通话请按1。"), ("2", "yue-Hant", "廣東話請撳2。"), ("3", "en", "For English, press 3."))
RATE = "85%"  # slow and clear for elderly listeners
MAX_SAY = 1000  # characters per <Say>: well under Twilio's 4 KB cap even in Chinese


def chunks(text: str, limit: int = MAX_SAY) -> list[str]:
    """Split at sentence ends so that no <Say> is too long."""
    sentences = [s for s in re.split(r"(?<=[。！？!?.;；\n])", text) if s.strip()]
    out, current = [], ""
    for sentence in sentences:
        while len(sentence) > limit:
            out.append(sentence[:limit])
            sentence = sentence[limit:]
        if len(current) + len(sentence) > limit:
            out.append(current)
            current = ""
        current += sentence
    if current.strip():
        out.append(current)
    return out


def say(target: VoiceResponse | Gather, text: str | list[str], language: str) -> None:
    """``text`` (sentences given as a list are said in one breath: one <Say>, split only where
    longer than MAX_SAY) in the language's voice, at the app's pace."""
    lang, voice = VOICES.get(language, VOICES["en"])
    for part in chunks(text if isinstance(text, str) else " ".join(text)):
        spoken = Say(language=lang, voice=voice)
        spoken.prosody(part.strip(), rate=RATE)
        target.append(spoken)


def words(language: str):
    """The `_` for this language's spoken prompts (Cantonese as it is spoken, not as written)."""
    return gettext_for(language, spoken=True)


def plural_words(language: str):
    """The ngettext for this language's spoken prompts: counts said right (1 notice, 2 notices)."""
    return ngettext_for(language, spoken=True)


def spoken_date(iso: str, language: str) -> str:
    """A date as the language says it: '12月7日', 'December 7' (never '2026-12-07')."""
    skeleton = "MMMMd" if language == "en" else "MMMd"
    return format_skeleton(skeleton, dt.date.fromisoformat(iso), locale=ui_locale(language))


def spoken_number(number: str, region: str = "CN") -> str:
    """A phone number to dial back, digit by digit in its national groups: '0 2 0, 8 8 8 8, 0 0 0 0'."""
    try:
        national = phonenumbers.format_number(phonenumbers.parse(number, region),
                                              phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        national = number
    groups = re.findall(r"\d+", national)
    return ", ".join(" ".join(group) for group in groups)
