"""Account routes: the mobile phones a customer would block if lost (number, operator, IMEI;
the owner's personnummer, if given, only masked)."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from stickerreg.models import DirectoryEntry, DirectoryKind, MobileDevice, MobileDeviceCreate
from stickerreg.services import accounts
from stickerreg.services.linked import devices, directory
from stickerreg.services.linked.devices import DeviceError
from stickerreg.web.account import bp
from stickerreg.web.account.forms import MobileDeviceForm
from stickerreg.web.fields import ConfirmForm
from stickerreg.web.pages import get_owned_or_404, render

# Where a reason from the devices service is shown.
_ERROR_FIELDS = {"invalid_phone": "phone", "invalid_imei": "imei", "invalid_personnummer": "owner_personnummer",
                 "unknown_operator": "operator"}


@bp.context_processor
def device_helpers() -> dict:
    return {"mask_imei": devices.mask_imei}


def _device_form(**kwargs) -> MobileDeviceForm:
    return MobileDeviceForm(operators=directory.entries(g.db, DirectoryKind.MOBILE_OPERATOR), **kwargs)


@bp.route("/phones", methods=["GET", "POST"])
def device_list():
    """The customer's phones, and a form to add one."""
    form = _device_form()
    if request.method == "POST":
        if form.validate_on_submit() and _saved(form, None):
            flash(_("The phone was added."), "info")
            return redirect(url_for(".device_list"), 303)
        return _list_page(form), 422
    return _list_page(_device_form(formdata=None))


@bp.route("/phones/<device_id>", methods=["GET", "POST"])
def device(device_id: str):
    """Change a phone's details; an empty personnummer keeps the one stored."""
    found = get_owned_or_404(g.db, MobileDevice, device_id, g.user)
    operator = g.db.get(DirectoryEntry, found.operator_id) if found.operator_id else None
    form = _device_form(data={"owner_name": found.owner_name, "phone": accounts.display_phone(found.phone),
                              "operator": operator.key if operator else None, "imei": found.imei})
    if request.method == "POST":
        if form.validate_on_submit() and _saved(form, found):
            flash(_("The phone was saved."), "info")
            return redirect(url_for(".device_list"), 303)
        status = 422
    else:
        status = 200
    g.page_url = url_for(".device", device_id=device_id)
    return render("account/device.html", form=form, device=found), status


@bp.route("/phones/<device_id>/delete", methods=["GET", "POST"])
def delete_device(device_id: str):
    """Remove a phone, after a confirmation."""
    found = get_owned_or_404(g.db, MobileDevice, device_id, g.user)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        devices.delete_device(g.db, found, actor=g.user)
        g.db.commit()
        flash(_("The phone was removed."), "info")
        return redirect(url_for(".device_list"), 303)
    g.page_url = url_for(".delete_device", device_id=device_id)
    return render("account/device_delete.html", form=form, device=found), 200 if request.method == "GET" else 422


def _saved(form: MobileDeviceForm, device: MobileDevice | None) -> bool:
    """Add or update from the form; a reason the service gives becomes a field error."""
    details = MobileDeviceCreate(owner_name=form.owner_name.data, owner_personnummer=form.owner_personnummer.data or None,
                                 phone=form.phone.data, operator=form.operator.data, imei=form.imei.data or None)
    key = current_app.config["SECRET_KEY"].encode()
    try:
        if device is None:
            devices.add_device(g.db, g.user, details, key=key, actor=g.user)
        else:
            devices.update_device(g.db, device, details, key=key, actor=g.user)
    except DeviceError as error:
        field = form[_ERROR_FIELDS.get(str(error), "owner_name")]
        field.errors = [*field.errors, _("That didn't work. Check this field.")]
        g.db.rollback()
        return False
    g.db.commit()
    return True


def _list_page(form: MobileDeviceForm):
    g.page_url = url_for(".device_list")
    return render("account/devices.html", form=form, devices=devices.devices_of(g.db, g.user))
