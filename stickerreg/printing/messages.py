"""The words the print engine prints, and the names of label stocks, in a batch's language.

Every word on a sticker or a backing card comes from the app's message catalogs
(``stickerreg/translations``, domain ``messages``), the same ones Flask-Babel serves
the web pages from; ``layouts.json`` names a message by its key and holds no words
of its own. The engine has no Flask, so the catalogs are read here with
``babel.support.Translations``. The English msgid is the English text.
"""

from __future__ import annotations

import functools
import gettext
from dataclasses import dataclass
from importlib import resources

from babel.numbers import format_decimal
from babel.support import Translations

LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"
SOURCE_LANGUAGE = "en"  # the msgids' language: it needs no catalog
DOMAIN = "messages"


def N_(message: str) -> str:  # noqa: N802 - the extraction keyword (`pybabel extract -k N_`)
    """Mark ``message`` for the catalog; it is translated when printed."""
    return message


# Key (as layouts.json names it) → English msgid. `%(domain)s` is the host the QR points to.
MESSAGES: dict[str, str] = {
    "found_me": N_("Found me?"),
    "scan_or_visit": N_("Scan or visit"),
    "card_title": N_("Your Stickerreg stickers"),
    "claim_go_to": N_("1. Go to %(domain)s/account/claim"),
    "claim_enter_id": N_("2. Enter any sticker ID from this card"),
    "claim_enter_code": N_("3. Enter this activation code:"),
    "card_ids_heading": N_("Sticker IDs in this set"),
}
PLACEHOLDERS = frozenset({"domain"})

# Names of label stocks, built from the layout's paper, grid and label size.
SHEET = N_("%(paper)s sheet, %(columns)d×%(rows)d labels, %(width)s×%(height)s mm")
SHEET_ROUND = N_("%(paper)s sheet, %(columns)d×%(rows)d round labels, Ø %(width)s mm")
ROLL = N_("Label roll, %(width)s×%(height)s mm")


class UnknownLanguage(ValueError):
    """A language the print engine has no catalog for."""


@dataclass(frozen=True)
class Texts:
    """Printed words and numbers in one language: ``texts(msgid, **values)``, ``texts.number(x)``."""

    language: str
    catalog: gettext.NullTranslations

    def __call__(self, message: str, **values: object) -> str:
        text = self.catalog.gettext(message)
        return text % values if values else text

    def number(self, value: float) -> str:
        """A measurement as this language writes it: 63.5 in English, 63,5 in Swedish; 25 for 25.0."""
        return format_decimal(value, locale=self.language)


@functools.cache
def for_language(language: str) -> Texts:
    """The printed words in ``language`` (``sv`` or ``en``), read from the compiled catalog once.

    Raises UnknownLanguage for any other language, and LookupError when a translated
    language's catalog was not compiled (``make translations``): a Swedish batch must
    never be printed in English by accident."""
    if language not in LANGUAGES:
        raise UnknownLanguage(f"no printed texts in {language!r}; choose one of {', '.join(LANGUAGES)}")
    folder = resources.files("stickerreg").joinpath("translations")
    catalog = Translations.load(str(folder), [language], DOMAIN)
    if language != SOURCE_LANGUAGE and not isinstance(catalog, Translations):
        raise LookupError(f"the {language!r} catalog is not compiled: run `make translations`")
    return Texts(language, catalog)


def placeholders(message: str) -> set[str]:
    """The ``%(name)s`` placeholders ``message`` uses."""
    names: set[str] = set()

    class _Recorder(dict):
        def __missing__(self, key: str) -> str:
            names.add(key)
            return 0

    message % _Recorder()
    return names
