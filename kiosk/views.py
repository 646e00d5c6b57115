"""Kiosk routes: pairing, the scan screen, hand-in with receipt, pickup and the desk's list
of handed-in items."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import wraps

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from kiosk import DEVICE_COOKIE, DEVICE_COOKIE_AGE, bp, device_key
from kiosk.forms import HandInForm, PickupForm, StaffPinForm
from stickerreg import codes
from stickerreg.extensions import configured, limiter
from stickerreg.models import Desk, utcnow
from stickerreg.printing import images
from stickerreg.services import desks, handed_in
from stickerreg.services.handed_in import PhotoError
from stickerreg.web.fields import ConfirmForm
from stickerreg.web.pages import is_htmx
from stickerreg.web.sessions import sign_out

# A receipt can be shown again only briefly, on the device that took the item in.
RECEIPT_WINDOW = timedelta(minutes=10)
# A staff PIN opens the staff screens for this long, or until the start screen shows again.
STAFF_UNLOCK_SECONDS = 10 * 60
STAFF_SESSION = "kiosk_staff"


def _failed(response) -> bool:
    """Only refused codes count toward the pickup limits."""
    return response.status_code == 422


def screen(name: str, status: int = 200, **context):
    """One kiosk screen: the `#screen` fragment for htmx, the whole page otherwise."""
    template = f"kiosk/_{name}.html" if is_htmx() else "kiosk/page.html"
    return render_template(template, screen=name, **context), status


def _key() -> bytes:
    return current_app.config["SECRET_KEY"].encode()


# --- pairing ---


@bp.route("/pair/<token>", methods=["GET", "POST"])
@limiter.limit(configured("RATELIMIT_KIOSK_PAIR"), methods=["POST"], deduct_when=lambda r: r.status_code == 404)
def pair(token: str):
    """The one-time pairing link: a button turns this browser into the desk's kiosk."""
    device = desks.pending_pairing(g.db, token)
    if device is None:
        return render_template("kiosk/pair_invalid.html"), 404
    form = ConfirmForm()
    if request.method == "GET" or not form.validate_on_submit():
        desk = g.db.get(Desk, device.desk_id)
        return render_template("kiosk/pair.html", device=device, desk=desk, form=form)
    paired = desks.complete_pairing(g.db, token)
    if paired is None:
        return render_template("kiosk/pair_invalid.html"), 404
    g.db.commit()
    sign_out()  # a kiosk is nobody's signed-in browser
    response = redirect(url_for(".scan"), 303)
    response.set_cookie(DEVICE_COOKIE, paired[1], max_age=DEVICE_COOKIE_AGE, httponly=True,
                        samesite="Lax", secure=request.is_secure, path="/")
    return response


# --- scan and hand in ---


@bp.get("/")
def scan():
    """The start screen: scan the sticker's QR, use the barcode scanner, or type the ID.
    Showing it ends staff mode (the idle reset lands here too)."""
    if STAFF_SESSION in session:
        del session[STAFF_SESSION]
    g.db.commit()  # keeps the device's last-seen time
    return screen("scan")


@bp.get("/hand-in")
@limiter.limit(configured("RATELIMIT_KIOSK_HAND_IN_FORM"), key_func=device_key)
def hand_in_form():
    """The hand-in form for a scanned or typed sticker ID (or for an item without one).

    The page is the same for every valid ID: whether it is registered is never shown.
    """
    raw = request.args.get("sticker")
    if raw is None:
        return screen("hand_in", form=HandInForm(formdata=None), code=None)
    code = codes.normalize(raw)
    if code is None:
        return screen("scan", 422, scan_error=_scan_error(raw), typed=raw[:200])
    form = HandInForm(formdata=None, sticker=code)
    return screen("hand_in", form=form, code=code)


def _scan_error(raw: str) -> str:
    if not raw.strip():
        return _("Scan the sticker, or type the 12 characters of its ID.")
    if len(codes.symbols(raw)) < codes.LENGTH:
        return _("That ID is too short: it has 12 characters, like 0123-4567-89AB.")
    return _("That ID has a typo. Check each character and try again.")


@bp.post("/hand-in")
@limiter.limit(configured("RATELIMIT_KIOSK_HAND_IN"), key_func=device_key, deduct_when=lambda r: r.status_code < 400)
def hand_in():
    """Record the item at this desk, notify its owner (if any) and show the finder a receipt."""
    form = HandInForm()
    code = codes.normalize(form.sticker.data or "") if form.sticker.data else None
    if form.sticker.data and code is None:
        abort(400)  # the hidden field was tampered with
    if not form.validate_on_submit():
        return screen("hand_in", 422, form=form, code=code)
    try:
        photo = _photo(form)
    except PhotoError:
        form.photo.errors.append(_("That file is not a photo we can read. Take the photo again or leave it out."))
        return screen("hand_in", 422, form=form, code=code)
    item = handed_in.hand_in(g.db, device=g.kiosk_device, sticker_code=code, details=form.hand_in(),
                             photo=photo, key=_key())
    g.db.commit()
    return redirect(url_for(".receipt", item_id=item.public_id), 303)


def _photo(form: HandInForm) -> bytes | None:
    upload = form.photo.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    return handed_in.prepare_photo(upload.read())


@bp.get("/receipt/<item_id>")
def receipt(item_id: str):
    """The finder's receipt: reference number and its QR, printable on 80 mm paper."""
    item = handed_in.item_at(g.db, g.desk, item_id)
    if item is None or item.handed_in_device_id != g.kiosk_device.id or utcnow() - item.created_at > RECEIPT_WINDOW:
        abort(404)
    reference = handed_in.display_reference(item.reference)
    return screen("receipt", item=item, reference=reference, reference_qr=images.qr_svg(item.reference))


# --- staff screens: pickup and the desk's list ---


def _staff_unlocked() -> bool:
    if not g.desk.staff_pin_hash:
        return True
    unlocked = session.get(STAFF_SESSION) or {}
    return unlocked.get("device") == g.kiosk_device.public_id and unlocked.get("until", 0) > time.time()


def desk_pin_required(view):
    """Staff screens ask for the desk's staff PIN first, when the desk has one (the desk's
    PIN, not a user's role: a kiosk is nobody's signed-in browser)."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not _staff_unlocked():
            form = StaffPinForm(formdata=None, next=request.path)
            return screen("staff_pin", 200 if request.method == "GET" else 403, form=form)
        return view(*args, **kwargs)

    return guarded


@bp.post("/staff")
@limiter.limit(configured("RATELIMIT_KIOSK_STAFF_PIN"), key_func=device_key, deduct_when=_failed)
def staff_unlock():
    """The desk's staff PIN opens the staff screens on this kiosk for a few minutes."""
    form = StaffPinForm()
    if not form.validate_on_submit() or not desks.check_staff_pin(g.desk, form.pin.data):
        if form.pin.data and not form.pin.errors:
            form.pin.errors.append(_("That is not this desk's staff PIN."))
        form.pin.data = ""
        return screen("staff_pin", 422, form=form)
    session[STAFF_SESSION] = {"device": g.kiosk_device.public_id, "until": time.time() + STAFF_UNLOCK_SECONDS}
    target = form.next.data if form.next.data in (url_for(".pickup"), url_for(".items")) else url_for(".scan")
    return redirect(target, 303)


@bp.route("/pickup", methods=["GET", "POST"])
@limiter.limit(configured("RATELIMIT_KIOSK_PICKUP"), methods=["POST"], key_func=device_key, deduct_when=_failed)
@limiter.limit(configured("RATELIMIT_KIOSK_PICKUP_PER_DESK"), methods=["POST"], deduct_when=_failed,
               key_func=lambda: "desk:" + str(getattr(g.get("desk"), "id", request.remote_addr)))
@desk_pin_required
def pickup():
    """Staff enter or scan the owner's pickup code; the right code hands the item over."""
    form = PickupForm()
    if request.method == "GET":
        return screen("pickup", form=PickupForm(formdata=None))
    if not form.validate_on_submit():
        return screen("pickup", 422, form=form)
    item = handed_in.collect(g.db, device=g.kiosk_device, code=form.code.data, staff=form.staff.data, key=_key())
    if item is None:
        form.code.errors.append(_("No item waiting at this desk has that pickup code."))
        return screen("pickup", 422, form=form)
    g.db.commit()
    return screen("collected", item=item)


@bp.get("/items")
@desk_pin_required
def items():
    """Items waiting at this desk, the ones past the holding time first; `q` finds a
    reference from a receipt or words of a description."""
    query = request.args.get("q", "")[:100].strip()
    overdue, recent = [], []
    for item in handed_in.search_waiting(g.db, g.desk, query):
        (overdue if handed_in.is_overdue(item, g.desk) else recent).append(item)
    return screen("items", overdue=overdue, recent=recent, query=query)

