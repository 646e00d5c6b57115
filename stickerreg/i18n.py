"""Language choice: ?lang= first, then the remembered choice, then Accept-Language; and
WTForms' own messages in the same language, read once per process."""

from __future__ import annotations

from functools import cache

from babel import Locale, support
from flask import Flask, Request, Response, current_app, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user
from wtforms.i18n import messages_path

LANG_COOKIE = "lang"
ONE_YEAR = 365 * 24 * 3600


def select_locale() -> Locale:
    """The locale for this request: ?lang=, the remembered choice, the signed-in customer's
    language, the browser's; Swedish unless something says otherwise. A Locale object made
    once per language (Flask-Babel would otherwise parse the code on every request)."""
    languages = current_app.config["LANGUAGES"]
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE), _account_locale()):
        if candidate in languages:
            return _locale(candidate)
    return _locale(request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"])


@cache
def _locale(code: str) -> Locale:
    return Locale.parse(code)


def _account_locale() -> str | None:
    principal = current_user if has_request_context() else None
    return principal.user.locale if principal is not None and principal.is_authenticated else None


def remember_choice(response: Response) -> Response:
    """Keep an explicit ?lang= choice in a cookie; a preference the visitor asked for,
    so it needs no consent."""
    chosen = request.args.get("lang")
    if chosen in current_app.config["LANGUAGES"] and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(
            LANG_COOKIE, chosen, max_age=ONE_YEAR, httponly=True, samesite="Lax", secure=request.is_secure
        )
    return response


@cache
def wtforms_catalog(locale: str) -> support.Translations:
    """WTForms' own catalog for `locale` ("Not a valid float value.", and the default label
    of a field without one), read from disk once per process."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class WtformsTranslations:
    """WTForms' messages in the request's language, from the catalogs `wtforms_catalog` keeps.

    Flask-WTF looks for this object on `request.wtforms_translations` and, finding none, reads
    the catalog from disk and keeps it for that request only: every request that builds a form
    read it again (a tenth of a finder's page). The app's Request class carries it instead."""

    def ugettext(self, string: str) -> str:
        return _wtforms().ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms().ungettext(singular, plural, n)


def _wtforms() -> support.Translations:
    return wtforms_catalog(str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]))


class AppRequest(Request):
    """Flask's request, with WTForms' translations already loaded (see WtformsTranslations)."""

    wtforms_translations = WtformsTranslations()


def init_app(app: Flask) -> None:
    """Wire the language cookie into every response, and WTForms' catalogs into every request."""
    app.request_class = AppRequest
    app.after_request(remember_choice)
