"""Translations outside a web request (printed bulletins, phone prompts), from the same
catalogues as the web UI, chosen by the family's language."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

from server.languages import ui_locale

DIRECTORY = Path(__file__).parent / "translations"


@cache
def translations(language: str) -> NullTranslations:
    locale = ui_locale(language)
    if locale == "en":
        return NullTranslations()
    return Translations.load(str(DIRECTORY), [locale])


def gettext_for(language: str):
    """A `_` for one family language, formatting like Flask-Babel: _('%(n)s read', n=3)."""
    catalogue = translations(language)

    def gettext(message: str, **values) -> str:
        text = catalogue.gettext(message)
        return text % values if values else text
    return gettext


def ngettext_for(language: str):
    """Plural forms for one family language: n_('%(n)s family', '%(n)s families', n)."""
    catalogue = translations(language)

    def ngettext(singular: str, plural: str, n: int, **values) -> str:
        return catalogue.ngettext(singular, plural, n) % {"n": n, **values}
    return ngettext
