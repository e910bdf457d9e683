"""Family languages: the codes we store, what people write in roster files, fallbacks."""

from __future__ import annotations

# Code -> name in that language. yue-Hant is Cantonese (read in Traditional script).
LANGUAGES = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "yue-Hant": "廣東話", "en": "English"}
TEXT_LANGUAGES = ("zh-Hans", "zh-Hant", "en")  # languages a notice can be written in
TRADITIONAL = ("zh-Hant", "yue-Hant")  # family languages read in Traditional characters

_ALIASES = {
    "zh-hans": "zh-Hans", "zh-cn": "zh-Hans", "zh": "zh-Hans", "cmn": "zh-Hans", "mandarin": "zh-Hans",
    "chinese": "zh-Hans", "simplified chinese": "zh-Hans", "中文": "zh-Hans", "简体": "zh-Hans",
    "简体中文": "zh-Hans", "普通话": "zh-Hans", "普通話": "zh-Hans", "国语": "zh-Hans", "汉语": "zh-Hans",
    "zh-hant": "zh-Hant", "zh-tw": "zh-Hant", "traditional chinese": "zh-Hant", "繁体": "zh-Hant",
    "繁體": "zh-Hant", "繁體中文": "zh-Hant", "繁体中文": "zh-Hant", "國語": "zh-Hant",
    "yue": "yue-Hant", "yue-hant": "yue-Hant", "zh-hk": "yue-Hant", "cantonese": "yue-Hant",
    "粤语": "yue-Hant", "粵語": "yue-Hant", "广东话": "yue-Hant", "廣東話": "yue-Hant",
    "en": "en", "en-us": "en", "en-gb": "en", "english": "en", "英语": "en", "英語": "en", "英文": "en",
}


def normalize(text: str, default: str) -> str:
    """A roster's language cell -> a stored code; empty -> default; unknown -> ValueError."""
    key = text.strip().lower().replace("_", "-")
    if not key:
        return default
    if key in _ALIASES:
        return _ALIASES[key]
    raise ValueError(f"unknown language {text.strip()!r} (use zh-Hans, zh-Hant, yue-Hant or en)")


def text_fallbacks(language: str) -> tuple[str, ...]:
    """The order in which to look for a written version of a notice."""
    if language in ("zh-Hant", "yue-Hant"):
        return ("zh-Hant", "zh-Hans", "en")
    if language == "zh-Hans":
        return ("zh-Hans", "zh-Hant", "en")
    return ("en", "zh-Hans", "zh-Hant")


def ui_locale(language: str) -> str:
    """The web UI catalogue for a family language."""
    return {"zh-Hans": "zh_Hans", "zh-Hant": "zh_Hant", "yue-Hant": "zh_Hant"}.get(language, "en")
