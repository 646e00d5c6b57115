"""What every page shares: htmx-aware rendering, owner checks, private-page and security
headers, the language switch and the template helpers. Every blueprint imports this
module; it imports no blueprint."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from urllib.parse import urlencode

from flask import Flask, Response, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from markupsafe import Markup, escape
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


# Finder pages send no Referer at all: a conversation's address is its finder's key. The sticker
# page and its form's answers send one to this site only ("same-origin" sends nothing to any
# other either): under "no-referrer" a browser too old for Sec-Fetch-Site would post the form
# with `Origin: null`, which web/crossorigin.py must refuse, as another site can send it too.
_SAME_ORIGIN_REFERRER = frozenset({"finder.sticker", "finder.send_message"})


def security_headers(response: Response) -> Response:
    """Headers every response carries; finder pages also send no Referer (see above)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "geolocation=(self), camera=(self), microphone=()"
    no_referrer = request.blueprint == "finder" and request.endpoint not in _SAME_ORIGIN_REFERRER
    headers["Referrer-Policy"] = "no-referrer" if no_referrer else "same-origin"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    # What response.vary.add does, without parsing the header into a set on every response.
    vary = headers.get("Vary")
    if not vary:
        headers["Vary"] = "HX-Request"
    elif "hx-request" not in vary.lower():
        headers["Vary"] = f"{vary}, HX-Request"
    return response


def lang_url(lang: str) -> str:
    """This page in another language. After a rejected POST the address is the form's
    target, which only takes POST, so views name their page in `g.page_url`."""
    page = g.get("page_url") or (request.path if request.method == "GET" else url_for("finder.index"))
    args = request.args.to_dict() if request.method == "GET" else {}
    args["lang"] = lang
    return f"{page}?{urlencode(args)}"


# --- pages rendered once ------------------------------------------------------------------
#
# A page that is the same for every visitor but for a few values (the finder's sticker page:
# the ID, its form's address, the owner's note, the language link) is rendered once per app,
# language and variant with a Slot where each such value goes, and split there; a request
# then only joins the pieces with its values, escaped as the template would have escaped
# them. Only for anonymous visitors with no notices waiting: anything else renders as usual.


class Slot(Markup):
    """Where a once-rendered page takes a per-request value. Markup, so autoescaping leaves
    the marker alone; NUL never occurs in rendered templates, so it can't be confused."""

    def __new__(cls, name: str):
        return super().__new__(cls, f"\x00{name}\x00")


_SLOTS = re.compile("\x00([A-Za-z_]+)\x00")
_LANG_URL_SLOT = "lang_url_"


def can_prerender() -> bool:
    """Whether this request may get a once-rendered page: a full page (not an htmx fragment)
    for an anonymous visitor with no notices waiting, whose header and notices are the same
    for everyone."""
    return not (is_htmx() or current_user.is_authenticated or session.get("_flashes"))


def prerendered(template: str, variant: Hashable, context: Callable[[], dict]) -> tuple[str, ...]:
    """`template` rendered with `context()` once per app, language and `variant`, split at its
    slots (even items are text, odd ones slot names). In development (templates reloading)
    every request renders afresh, so an edited template shows at once."""
    cache = current_app.extensions.setdefault("prerendered", {})
    key = (template, str(get_locale()), variant)
    parts = cache.get(key)
    if parts is None:
        html = render_template(template, lang_url=lambda lang: Slot(_LANG_URL_SLOT + lang), **context())
        parts = tuple(_SLOTS.split(html))
        if not current_app.jinja_env.auto_reload:
            cache[key] = parts
    return parts


def fill(parts: tuple[str, ...], **values) -> str:
    """A prerendered page with each slot's value, escaped as the template would have escaped
    it (Markup stays as it is). A value may be a function, called only if its slot is used;
    the language links fill themselves."""
    page = list(parts)
    for index in range(1, len(page), 2):
        name = page[index]
        if name.startswith(_LANG_URL_SLOT) and name not in values:
            value = lang_url(name.removeprefix(_LANG_URL_SLOT))
        else:
            value = values[name]
            value = value() if callable(value) else value
        page[index] = escape(value)
    return "".join(page)


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
    app.jinja_env.globals["customer_number"] = accounts.display_customer_number  # 123 456 789
    # The form-field macro is used by every form page, so it is a global, not an import.
    macros = app.jinja_env.get_template("_macros.html").module
    app.jinja_env.globals.update(field=macros.field, notices=macros.notices, inbox_entry=macros.inbox_entry,
                                 revoke_button=macros.revoke_button)
    app.after_request(security_headers)
