"""What the phone line says, in the caller's language, and how (voice, pace, chunks)."""

from __future__ import annotations

import re

from twilio.twiml.voice_response import Gather, Say, VoiceResponse

from server.i18n import gettext_for, ngettext_for

# Family language -> (Twilio language, voice). Google voices read SSML prosody.
VOICES = {
    "zh-Hans": ("cmn-CN", "Google.cmn-CN-Standard-A"),
    "zh-Hant": ("cmn-TW", "Google.cmn-TW-Standard-A"),
    "yue-Hant": ("yue-HK", "Google.yue-HK-Standard-A"),
    "en": ("en-US", "Google.en-US-Standard-C"),
}
MENU = (("1", "zh-Hans", "普通话请按1。"), ("2", "yue-Hant", "廣東話請按2。"), ("3", "en", "For English, press 3."))
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


def say(target: VoiceResponse | Gather, text: str, language: str) -> None:
    lang, voice = VOICES.get(language, VOICES["en"])
    for part in chunks(text):
        spoken = Say(language=lang, voice=voice)
        spoken.prosody(part.strip(), rate=RATE)
        target.append(spoken)


def words(language: str):
    """The `_` for this language's spoken prompts."""
    return gettext_for(language)


def plural_words(language: str):
    """The ngettext for this language's spoken prompts: counts said right (1 notice, 2 notices)."""
    return ngettext_for(language)
