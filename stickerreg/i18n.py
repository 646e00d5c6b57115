"""Language choice: ?lang= first, then the remembered choice, then Accept-Language."""

from __future__ import annotations

from flask import Flask, Response, current_app, has_request_context, request
from flask_login import current_user

LANG_COOKIE = "lang"
ONE_YEAR = 365 * 24 * 3600


def select_locale() -> str:
    """The locale for this request: ?lang=, the remembered choice, the signed-in customer's
    language, the browser's; Swedish unless something says otherwise."""
    languages = current_app.config["LANGUAGES"]
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE), _account_locale()):
        if candidate in languages:
            return candidate
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


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


def init_app(app: Flask) -> None:
    """Wire the language cookie into every response."""
    app.after_request(remember_choice)
