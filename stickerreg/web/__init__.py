"""Blueprints by audience, plus what every page shares: htmx-aware rendering,
the per-request database session and the security headers."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, Response, abort, g, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlmodel import Session

from stickerreg import codes

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def is_htmx() -> bool:
    """True when htmx sent this request (and wants a fragment back)."""
    return request.headers.get("HX-Request") == "true"


def render(page: str, fragment: str | None = None, **context) -> str:
    """The fragment for htmx requests, the full page otherwise (same context for both)."""
    return render_template(fragment if fragment and is_htmx() else page, **context)


def get_owned_or_404(session: Session, model: type, key: str, owner):
    """The owner's object, or 404: another customer's object looks exactly like a missing one."""
    from stickerreg.services.ownership import owned

    found = owned(session, model, key, owner)
    if found is None:
        abort(404)
    return found


def private_page(response: Response) -> Response:
    """For pages holding personal data, tokens or form secrets: never cached, never indexed."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def security_headers(response: Response) -> Response:
    """Headers every response carries; finder pages also send no Referer at all."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "geolocation=(self), camera=(self), microphone=()"
    is_finder = request.blueprint == "finder"
    response.headers["Referrer-Policy"] = "no-referrer" if is_finder else "same-origin"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    response.vary.add("HX-Request")
    return response


def lang_url(lang: str) -> str:
    """This page in another language. After a rejected POST the address is the form's
    target, which only takes POST, so views name their page in `g.page_url`."""
    page = g.get("page_url") or (request.path if request.method == "GET" else url_for("finder.index"))
    args = request.args.to_dict() if request.method == "GET" else {}
    args["lang"] = lang
    return f"{page}?{urlencode(args)}"


def sticker_status_label(sticker) -> str:
    """A short, translated badge text for a sticker's state."""
    from stickerreg.models import StickerStatus

    if sticker.status == StickerStatus.ACTIVE:
        return _("Lost mode") if sticker.lost_mode else _("Active")
    labels = {
        StickerStatus.UNCLAIMED: _("Not claimed"),
        StickerStatus.DEACTIVATED: _("Deactivated"),
        StickerStatus.VOIDED: _("Void"),
    }
    return labels.get(sticker.status, sticker.status)


def template_globals() -> dict:
    return {
        "current_locale": lambda: str(get_locale() or "sv"),
        "lang_url": lang_url,
        "sticker_status_label": sticker_status_label,
    }


def register(app: Flask) -> None:
    """Attach blueprints, error pages and per-request hooks."""
    import kiosk
    from stickerreg.web import account, admin, auth, bankid, errors, finder, printshop

    app.context_processor(template_globals)
    app.add_template_filter(codes.display, "display_code")
    # The form-field macro is used by every form page, so it is a global, not an import.
    macros = app.jinja_env.get_template("_macros.html").module
    app.jinja_env.globals.update(field=macros.field, notices=macros.notices, inbox_entry=macros.inbox_entry)
    app.after_request(security_headers)
    app.register_blueprint(finder.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(bankid.bp)  # hidden (404) unless BANKID_URL is set
    app.register_blueprint(printshop.bp)  # 404 to everyone but print-shop staff and admins
    app.register_blueprint(admin.bp)  # 404 to everyone but admins
    kiosk.register(app)  # paired desk devices; they are kept inside /kiosk
    errors.register(app)
