"""The lost-and-found kiosk (/kiosk): pairing, scan screen, hand-in, receipt and pickup.

A kiosk is a browser paired with one desk. Its device cookie carries a random token whose
hash is a kiosk_devices row; revoking the row logs the kiosk out on its next request. A
browser holding a live device cookie is kept inside /kiosk: it never sees account, admin,
print-shop or finder pages, and every kiosk page shows only its own desk's items.

Screens are swapped into one `#screen` element by htmx without adding history entries, and
every page also works as plain HTML forms without JavaScript. Only the app factory
imports this package.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, make_response, redirect, render_template, request, url_for

from stickerreg import tokens
from stickerreg.extensions import csrf
from stickerreg.models import Desk, KioskDevice
from stickerreg.services import desks, handed_in
from stickerreg.web.pages import is_htmx, private_page

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")
DEVICE_COOKIE = "kiosk_device"
DEVICE_COOKIE_AGE = 400 * 24 * 3600  # the longest lifetime browsers allow
# Pages a browser without a device reaches: the pairing link itself.
OPEN_ENDPOINTS = frozenset({"kiosk.pair"})
# A photo from a phone or tablet camera; everything else keeps the app's small limit.
PHOTO_UPLOAD_MAX = 12 * 1024 * 1024


def device_cookie() -> str | None:
    return request.cookies.get(DEVICE_COOKIE)


def device_key() -> str:
    """Rate-limit key: the kiosk device (its cookie's hash), else the client address."""
    token = device_cookie()
    return "kiosk:" + tokens.hash_token(token)[:24] if token else "addr:" + (request.remote_addr or "")


def live_device() -> KioskDevice | None:
    """This browser's paired, unrevoked device, looked up once per request."""
    if "kiosk_device" not in g:
        g.kiosk_device = desks.device_for_token(g.db, device_cookie())
    return g.kiosk_device


# The app-wide CSRF hook runs before any kiosk hook and reads the whole form, so for the
# hand-in allow_photo_upload checks the token itself, once it has chosen the upload limit.
csrf.exempt("kiosk.views.hand_in")


@bp.before_request
def allow_photo_upload():
    """Only a paired kiosk's hand-in may carry a photo bigger than the app-wide limit; any
    other browser's big body is refused (413) unread, as on every other form."""
    if request.endpoint != "kiosk.hand_in" or request.method != "POST":
        return None
    if live_device() is not None:
        request.max_content_length = PHOTO_UPLOAD_MAX
    if current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()  # reads the form, under the limit just chosen
    return None


@bp.before_request
def require_device():
    """Every kiosk page but pairing needs a paired, unrevoked device."""
    g.page_url = url_for("kiosk.scan")  # language switch on a POST answer: back to the start
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    device = live_device()
    if device is None:
        response = make_response(render_template("kiosk/unpaired.html"), 403)
        if is_htmx():
            response.headers["HX-Refresh"] = "true"  # leave the kiosk screen entirely
        if device_cookie() is not None:
            response.delete_cookie(DEVICE_COOKIE, path="/")
        return response
    desks.touch(g.db, device)
    g.desk = g.db.get(Desk, device.desk_id)
    return None


bp.after_request(private_page)


@bp.context_processor
def kiosk_globals() -> dict:
    return {
        "idle_seconds": _idle_seconds(),
        "desk": g.get("desk"),
        "display_reference": handed_in.display_reference,
    }


def _idle_seconds() -> int:
    return int(current_app.config["KIOSK_IDLE_SECONDS"])


@bp.before_app_request
def confine_devices():
    """A browser with a live device cookie stays inside /kiosk (and static files)."""
    if device_cookie() is None or request.path.startswith(("/kiosk/", "/static/")):
        return None
    if desks.device_for_token(g.db, device_cookie()) is None:
        return None  # a dead cookie: the next kiosk page deletes it
    return redirect(url_for("kiosk.scan"), 303)


from kiosk import views  # noqa: E402,F401  (routes)
