"""What every page shares: htmx-aware rendering, owner checks, private-page and security
headers, the language switch and the template helpers. Every blueprint imports this
module; it imports no blueprint."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlmodel import Session

from stickerreg import codes
from stickerreg.models import StickerStatus
from stickerreg.services import accounts
from stickerreg.services.ownership import owned

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


def go_to(url: str):
    """Redirect after a successful POST; htmx is told to load the page itself."""
    if is_htmx():
        return "", 200, {"HX-Redirect": url}
    return redirect(url, 303)


def get_owned_or_404(session: Session, model: type, key: str, owner):
    """The owner's object, or 404: another customer's object looks exactly like a missing one."""
    found = owned(session, model, key, owner)
    if found is None:
        abort(404)
    return found


def private_page(response: Response) -> Response:
    """For pages holding personal data, tokens or form secrets: never cached, never indexed."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def public_url(endpoint: str, **values) -> str:
    """An app address at PUBLIC_BASE_URL, whatever host a request came in on; needs no
    request, so the CLI can print links (a kiosk's pairing link, say) as the web shows them."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["PUBLIC_BASE_URL"] + path


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


class CompiledTemplates(BytecodeCache):
    """Compiled templates kept for the life of the process and shared by its apps. A
    server has one app, so this costs nothing there; a test run makes an app per test,
    and compiling every template again for each of them was most of a page's cost. Jinja
    keys each entry by the template's source, so an edited template compiles anew."""

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def init_app(app: Flask) -> None:
    """Template helpers every page uses, and the headers every response carries."""
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    app.context_processor(template_globals)
    app.add_template_filter(codes.display, "display_code")
    app.add_template_filter(accounts.display_phone, "phone")
    # The form-field macro is used by every form page, so it is a global, not an import.
    macros = app.jinja_env.get_template("_macros.html").module
    app.jinja_env.globals.update(field=macros.field, notices=macros.notices, inbox_entry=macros.inbox_entry,
                                 revoke_button=macros.revoke_button)
    app.after_request(security_headers)
