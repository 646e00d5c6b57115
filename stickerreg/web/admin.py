"""The admin area (/admin): lost-and-found desks and the pairing of their kiosk screens.

Admins only; to everyone else, signed in or not, every URL here answers 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from kiosk import pairing_url
from stickerreg import qr
from stickerreg.models import KioskLocation, Role
from stickerreg.services import kiosk
from stickerreg.services.kiosk import KioskError
from stickerreg.text import clean_text
from stickerreg.web import private_page, render
from stickerreg.web.auth import staff_only
from stickerreg.web.forms import ConfirmForm

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(staff_only(Role.ADMIN))
bp.after_request(private_page)

DEVICE_STATES = {
    "paired": _l("Paired"),
    "waiting": _l("Waiting for its pairing link"),
    "expired": _l("Pairing link expired"),
    "revoked": _l("Revoked"),
}


def _text(label, max_length: int, required: str, field=StringField):
    return field(label, filters=[clean_text], validators=[
        DataRequired(required), Length(max=max_length, message=_l("Use at most %(max)d characters."))])


class LocationForm(FlaskForm):
    """A desk as owners see it in their notice: where, and when it is open."""

    name = _text(_l("Name"), 100, _l("Name the desk."))
    address = _text(_l("Address"), 200, _l("Write the desk's address."))
    opening_hours = _text(_l("Opening hours"), 500, _l("Write when the desk is open."), TextAreaField)
    hold_days = IntegerField(_l("Days to keep items before they are listed as not collected"), default=30,
                             validators=[InputRequired(_l("Enter a number of days.")),
                                         NumberRange(1, 365, _l("Choose %(min)d to %(max)d days."))])
    staff_pin = PasswordField(
        _l("New staff PIN (4 to 8 digits; empty keeps the current one)"),
        validators=[Optional(), Regexp(r"^\d{4,8}$", message=_l("A staff PIN is 4 to 8 digits."))],
    )
    remove_staff_pin = BooleanField(_l("No staff PIN: anyone at the kiosk may open the staff screens"))


class DeviceNameForm(FlaskForm):
    name = _text(_l("Screen name"), 60, _l("Name the screen, e.g. Counter 1."))


@bp.context_processor
def admin_helpers() -> dict:
    return {"device_state": lambda device: str(DEVICE_STATES[kiosk.device_state(device)])}


@bp.get("/")
def index():
    """The admin start page."""
    return redirect(url_for(".kiosks"))


@bp.route("/kiosks", methods=["GET", "POST"])
def kiosks():
    """Every desk, and a form to add one."""
    form = LocationForm()
    if request.method == "POST" and form.validate_on_submit():
        location = _save_location(form, None)
        if location is not None:
            g.db.commit()
            flash(_("The desk %(name)s was added. Pair a screen with it below.", name=location.name), "info")
            return redirect(url_for(".kiosk_location", location_id=location.public_id), 303)
    status = 422 if request.method == "POST" else 200
    return render("admin/kiosks.html", locations=kiosk.locations(g.db), form=form), status


def _save_location(form: LocationForm, location: KioskLocation | None) -> KioskLocation | None:
    """Create or update a desk from the form; a taken name becomes a form error."""
    values = dict(name=form.name.data, address=form.address.data, opening_hours=form.opening_hours.data,
                  hold_days=form.hold_days.data)
    try:
        if location is None:
            location = kiosk.create_location(g.db, **values)
        else:
            kiosk.update_location(g.db, location, **values)
    except KioskError:
        form.name.errors.append(_("Another desk has this name."))
        return None
    if form.remove_staff_pin.data:
        kiosk.set_staff_pin(g.db, location, None)
    elif form.staff_pin.data:
        kiosk.set_staff_pin(g.db, location, form.staff_pin.data)
    return location


@bp.route("/kiosks/<location_id>", methods=["GET", "POST"])
def kiosk_location(location_id: str):
    """One desk: its details, its screens, and pairing a new one."""
    location = kiosk.location_by_public_id(g.db, location_id) or abort(404)
    form = LocationForm(obj=location)
    if request.method == "POST" and form.validate_on_submit() and _save_location(form, location):
        g.db.commit()
        flash(_("The desk was saved."), "info")
        return redirect(url_for(".kiosk_location", location_id=location_id), 303)
    status = 422 if request.method == "POST" else 200
    return _location_page(location, form=form), status


def _location_page(location: KioskLocation, **context):
    return render("admin/kiosk_location.html", location=location, devices=kiosk.devices(g.db, location),
                  pair_form=context.pop("pair_form", None) or DeviceNameForm(formdata=None, name="Kiosk"),
                  form=context.pop("form", None) or LocationForm(formdata=None, obj=location), **context)


@bp.post("/kiosks/<location_id>/pair")
def pair_device(location_id: str):
    """Start pairing a screen: the one-time link is shown now, and never again."""
    location = kiosk.location_by_public_id(g.db, location_id) or abort(404)
    form = DeviceNameForm()
    if not form.validate_on_submit():
        return _location_page(location, pair_form=form), 422
    device, token = kiosk.start_pairing(g.db, location=location, name=form.name.data, created_by=g.user)
    g.db.commit()
    link = pairing_url(token)
    return render("admin/pairing.html", location=location, device=device, link=link, link_qr=qr.svg_text(link),
                  minutes=int(kiosk.PAIRING_LIFETIME.total_seconds() // 60))


@bp.post("/kiosks/<location_id>/devices/<device_id>/rename")
def rename_device(location_id: str, device_id: str):
    """Give a screen a clearer name."""
    location = kiosk.location_by_public_id(g.db, location_id) or abort(404)
    device = kiosk.find_device(g.db, location, device_id) or abort(404)
    form = DeviceNameForm()
    if not form.validate_on_submit():
        return _location_page(location, rename_errors={device.public_id: form.name.errors}), 422
    kiosk.rename_device(g.db, device, form.name.data)
    g.db.commit()
    flash(_("The screen was renamed."), "info")
    return redirect(url_for(".kiosk_location", location_id=location_id), 303)


@bp.post("/kiosks/<location_id>/devices/<device_id>/revoke")
def revoke_device(location_id: str, device_id: str):
    """Unpair a screen (lost, stolen or replaced): it is logged out on its next request."""
    location = kiosk.location_by_public_id(g.db, location_id) or abort(404)
    device = kiosk.find_device(g.db, location, device_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        return _location_page(location), 422
    kiosk.revoke_device(g.db, device)
    g.db.commit()
    flash(_("%(name)s is unpaired. It shows the not-paired page from its next click on.", name=device.name), "info")
    return redirect(url_for(".kiosk_location", location_id=location_id), 303)
