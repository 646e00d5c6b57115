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

from stickerreg.models import Desk, DeskCreate, DeskUpdate, Role
from stickerreg.printing import images
from stickerreg.services import desks
from stickerreg.services.desks import DeskError
from stickerreg.web.fields import CLEAN, ConfirmForm
from stickerreg.web.pages import private_page, public_url, render
from stickerreg.web.sessions import staff_area

bp = Blueprint("admin", __name__, url_prefix="/admin")
staff_area(bp, Role.ADMIN)
bp.after_request(private_page)

DEVICE_STATES = {
    "paired": _l("Paired"),
    "waiting": _l("Waiting for its pairing link"),
    "expired": _l("Pairing link expired"),
    "revoked": _l("Revoked"),
}


def _text(label, max_length: int, required: str, field=StringField):
    return field(label, filters=CLEAN, validators=[
        DataRequired(required), Length(max=max_length, message=_l("Use at most %(max)d characters."))])


class DeskForm(FlaskForm):
    """A desk as owners see it in their notice: where, and when it is open."""

    name = _text(_l("Name"), 100, _l("Name the desk."))
    address = _text(_l("Address"), 200, _l("Write the desk's address."))
    opening_hours = _text(_l("Opening hours"), 500, _l("Write when the desk is open."), TextAreaField)
    hold_days = IntegerField(_l("Days to keep items before they are listed as not collected"), default=30,
                             validators=[InputRequired(_l("Enter a number of days.")),
                                         NumberRange(1, 365, _l("Choose %(min)d to %(max)d days."))])
    staff_pin = PasswordField(
        _l("New staff PIN (4 to 8 digits; empty keeps the current one)"),
        validators=[Optional(), Regexp(r"^[0-9]{4,8}$", message=_l("A staff PIN is 4 to 8 digits."))],
    )
    remove_staff_pin = BooleanField(_l("No staff PIN: anyone at the kiosk may open the staff screens"))

    def details(self) -> dict:
        """The desk's details as the DeskCreate/DeskUpdate allowlist takes them."""
        return dict(name=self.name.data, address=self.address.data, opening_hours=self.opening_hours.data,
                    hold_days=self.hold_days.data)


class DeviceNameForm(FlaskForm):
    name = _text(_l("Screen name"), 60, _l("Name the screen, e.g. Counter 1."))


@bp.context_processor
def admin_helpers() -> dict:
    return {"device_state": lambda device: str(DEVICE_STATES[desks.device_state(device)])}


@bp.get("/")
def index():
    """The admin start page."""
    return redirect(url_for(".desk_list"))


@bp.route("/desks", methods=["GET", "POST"])
def desk_list():
    """Every desk, and a form to add one."""
    form = DeskForm()
    if request.method == "POST" and form.validate_on_submit():
        desk = _save_desk(form, None)
        if desk is not None:
            g.db.commit()
            flash(_("The desk %(name)s was added. Pair a screen with it below.", name=desk.name), "info")
            return redirect(url_for(".desk", desk_id=desk.public_id), 303)
    status = 422 if request.method == "POST" else 200
    return render("admin/desks.html", desks=desks.all_desks(g.db), form=form), status


def _save_desk(form: DeskForm, desk: Desk | None) -> Desk | None:
    """Create or update a desk from the form; a taken name becomes a form error."""
    try:
        if desk is None:
            desk = desks.create_desk(g.db, DeskCreate(**form.details()))
        else:
            desks.update_desk(g.db, desk, DeskUpdate(**form.details()))
    except DeskError:
        form.name.errors.append(_("Another desk has this name."))
        return None
    if form.remove_staff_pin.data:
        desks.set_staff_pin(g.db, desk, None)
    elif form.staff_pin.data:
        desks.set_staff_pin(g.db, desk, form.staff_pin.data)
    return desk


@bp.route("/desks/<desk_id>", methods=["GET", "POST"])
def desk(desk_id: str):
    """One desk: its details, its screens, and pairing a new one."""
    found = desks.desk_by_public_id(g.db, desk_id) or abort(404)
    form = DeskForm(obj=found)
    if request.method == "POST" and form.validate_on_submit() and _save_desk(form, found):
        g.db.commit()
        flash(_("The desk was saved."), "info")
        return redirect(url_for(".desk", desk_id=desk_id), 303)
    status = 422 if request.method == "POST" else 200
    return _desk_page(found, form=form), status


def _desk_page(desk: Desk, **context):
    return render("admin/desk.html", desk=desk, devices=desks.devices(g.db, desk),
                  pair_form=context.pop("pair_form", None) or DeviceNameForm(formdata=None, name="Kiosk"),
                  form=context.pop("form", None) or DeskForm(formdata=None, obj=desk), **context)


@bp.post("/desks/<desk_id>/pair")
def pair_device(desk_id: str):
    """Start pairing a screen: the one-time link is shown now, and never again."""
    desk = desks.desk_by_public_id(g.db, desk_id) or abort(404)
    form = DeviceNameForm()
    if not form.validate_on_submit():
        return _desk_page(desk, pair_form=form), 422
    device, token = desks.start_pairing(g.db, desk=desk, name=form.name.data, created_by=g.user)
    g.db.commit()
    link = public_url("kiosk.pair", token=token)
    return render("admin/pairing.html", desk=desk, device=device, link=link, link_qr=images.text_qr_svg(link),
                  minutes=int(desks.PAIRING_LIFETIME.total_seconds() // 60))


@bp.post("/desks/<desk_id>/devices/<device_id>/rename")
def rename_device(desk_id: str, device_id: str):
    """Give a screen a clearer name."""
    desk = desks.desk_by_public_id(g.db, desk_id) or abort(404)
    device = desks.find_device(g.db, desk, device_id) or abort(404)
    form = DeviceNameForm()
    if not form.validate_on_submit():
        return _desk_page(desk, rename_errors={device.public_id: form.name.errors}), 422
    desks.rename_device(g.db, device, form.name.data)
    g.db.commit()
    flash(_("The screen was renamed."), "info")
    return redirect(url_for(".desk", desk_id=desk_id), 303)


@bp.post("/desks/<desk_id>/devices/<device_id>/revoke")
def revoke_device(desk_id: str, device_id: str):
    """Unpair a screen (lost, stolen or replaced): it is logged out on its next request."""
    desk = desks.desk_by_public_id(g.db, desk_id) or abort(404)
    device = desks.find_device(g.db, desk, device_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        return _desk_page(desk), 422
    desks.revoke_device(g.db, device)
    g.db.commit()
    flash(_("%(name)s is unpaired. It shows the not-paired page from its next click on.", name=device.name), "info")
    return redirect(url_for(".desk", desk_id=desk_id), 303)
