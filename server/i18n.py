"""Translations outside a web request (printed bulletins, phone prompts), from the same
catalogues as the web UI, chosen by the family's language."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

from server.languages import ui_locale

DIRECTORY = Path(__file__).parent / "translations"


@cache
def translations(language: str, spoken: bool = False) -> NullTranslations:
    """The catalogue for a family language; ``spoken`` adds the phone line's spoken Cantonese
    (domain ``spoken``, locale ``yue``) in front of written Traditional Chinese."""
    locale = ui_locale(language)
    written = NullTranslations() if locale == "en" else Translations.load(str(DIRECTORY), [locale])
    if not (spoken and language == "yue-Hant"):
        return written
    said = Translations.load(str(DIRECTORY), ["yue"], domain="spoken")
    said.add_fallback(written)
    return said


def gettext_for(language: str, spoken: bool = False):
    """A `_` for one family language, formatting like Flask-Babel: _('%(n)s read', n=3)."""
    catalogue = translations(language, spoken)

    def gettext(message: str, **values) -> str:
        text = catalogue.gettext(message)
        return text % values if values else text
    return gettext


def ngettext_for(language: str, spoken: bool = False):
    """Plural forms for one family language: n_('%(n)s family', '%(n)s families', n)."""
    catalogue = translations(language, spoken)

    def ngettext(singular: str, plural: str, n: int, **values) -> str:
        return catalogue.ngettext(singular, plural, n) % {"n": n, **values}
    return ngettext
