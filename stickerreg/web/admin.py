"""The admin area (/admin): lost-and-found desks and the pairing of their kiosk screens, the
directory of card issuers and mobile operators, partner API keys, the ID-protection
events no customer matched, staff roles, the audit log and erasing a customer's account.

Admins only; to everyone else, signed in or not, every URL here answers 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from stickerreg.models import (
    ApiScope,
    Desk,
    DeskCreate,
    DeskUpdate,
    DirectoryEntry,
    DirectoryEntryUpdate,
    DirectoryKind,
    Role,
    User,
)
from stickerreg.printing import images
from stickerreg.services import accounts, api_keys, audit, desks, privacy, registers, stickers
from stickerreg.services.desks import DeskError
from stickerreg.services.linked import directory, idprotect
from stickerreg.services.linked.directory import DirectoryError
from stickerreg.web.fields import CLEAN, VIEW_REASONS, ConfirmForm, at_most
from stickerreg.web.pages import private_page, public_url, render
from stickerreg.web.sessions import allow_upload, looked_at, staff_area

bp = Blueprint("admin", __name__, url_prefix="/admin")
staff_area(bp, Role.ADMIN)
bp.after_request(private_page)

DEVICE_STATES = {
    "paired": _l("Paired"),
    "waiting": _l("Waiting for its pairing link"),
    "expired": _l("Pairing link expired"),
    "revoked": _l("Revoked"),
}

DIRECTORY_KINDS = {
    DirectoryKind.CARD_ISSUER: _l("Card issuers"),
    DirectoryKind.MOBILE_OPERATOR: _l("Mobile operators"),
}
SCOPE_LABELS = {
    ApiScope.IDPROTECT: _l("ID protection: a credit bureau reports credit inquiries"),
    ApiScope.FIRE: _l("Fire alarm: an alarm-receiving centre reads customers' contacts"),
}


def _text(label, max_length: int, required: str, field=StringField):
    return field(label, filters=CLEAN, validators=[
        DataRequired(required), Length(max=max_length, message=_l("Use at most %(max)d characters."))])


class DeskForm(FlaskForm):
    """A desk as owners see it in their notice: where, and when it is open. Its staff PIN
    field says "empty keeps the current one" only on a desk that has a PIN to keep."""

    name = _text(_l("Name"), 100, _l("Name the desk."))
    address = _text(_l("Address"), 200, _l("Write the desk's address."))
    opening_hours = _text(_l("Opening hours"), 500, _l("Write when the desk is open."), TextAreaField)
    hold_days = IntegerField(_l("Days to keep items before they are listed as not collected"), default=30,
                             validators=[InputRequired(_l("Enter a number of days.")),
                                         NumberRange(1, 365, _l("Choose %(min)d to %(max)d days."))])
    staff_pin = PasswordField(
        _l("Staff PIN (4 to 8 digits, optional)"),
        validators=[Optional(), Regexp(r"^[0-9]{4,8}$", message=_l("A staff PIN is 4 to 8 digits."))],
    )
    remove_staff_pin = BooleanField(_l("No staff PIN: anyone at the kiosk may open the staff screens"))

    def __init__(self, *args, has_pin: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_pin = has_pin
        if has_pin:
            self.staff_pin.label.text = _l("New staff PIN (4 to 8 digits; empty keeps the current one)")

    def details(self) -> dict:
        """The desk's details as the DeskCreate/DeskUpdate allowlist takes them."""
        return dict(name=self.name.data, address=self.address.data, opening_hours=self.opening_hours.data,
                    hold_days=self.hold_days.data)


class DeviceNameForm(FlaskForm):
    name = _text(_l("Screen name"), 60, _l("Name the screen, e.g. Counter 1."))


class PairForm(FlaskForm):
    """A new screen's name; left empty, the screen is numbered among the desk's ("Screen 2")."""

    name = StringField(_l("Screen name (optional)"), filters=CLEAN, validators=[Optional(), at_most(60)])


class DirectoryEntryForm(FlaskForm):
    """An issuer's or operator's name, the line that blocks a card or SIM, and its web page."""

    name = _text(_l("Name"), 80, _l("Write the name customers know it by."))
    blocking_phone = StringField(_l("Blocking line (empty when unknown)"), filters=CLEAN,
                                 validators=[Optional(), at_most(20)])
    web = StringField(_l("Web page (empty when unknown)"), filters=CLEAN, validators=[Optional(), at_most(200)])

    def changes(self) -> DirectoryEntryUpdate:
        return DirectoryEntryUpdate(name=self.name.data, blocking_phone=self.blocking_phone.data or None,
                                    web=self.web.data or None)


class ReloadForm(FlaskForm):
    confirm = BooleanField(_l("Yes, overwrite the entries the data file lists with its values"),
                           validators=[DataRequired(_l("Tick the box to confirm."))])


class ApiKeyForm(FlaskForm):
    """A new partner key: who it is for, and the one thing it may do."""

    name = _text(_l("Name (who uses the key)"), 80, _l("Name the partner, e.g. the credit bureau."))
    scope = SelectField(_l("What the key may do"), validate_choice=True,
                        choices=[SelectChoice(scope.value, label) for scope, label in SCOPE_LABELS.items()])


@bp.context_processor
def admin_helpers() -> dict:
    return {"device_state": lambda device: str(DEVICE_STATES[desks.device_state(device)]),
            "scope_label": lambda scope: str(SCOPE_LABELS.get(scope, scope))}


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
    form = DeskForm(obj=found, has_pin=bool(found.staff_pin_hash))
    if request.method == "POST" and form.validate_on_submit() and _save_desk(form, found):
        g.db.commit()
        flash(_("The desk was saved."), "info")
        return redirect(url_for(".desk", desk_id=desk_id), 303)
    status = 422 if request.method == "POST" else 200
    return _desk_page(found, form=form), status


def _desk_page(desk: Desk, **context):
    return render("admin/desk.html", desk=desk, devices=desks.devices(g.db, desk),
                  pair_form=context.pop("pair_form", None) or PairForm(formdata=None),
                  default_screen_name=_default_screen_name(desk),
                  form=context.pop("form", None) or DeskForm(formdata=None, obj=desk, has_pin=bool(desk.staff_pin_hash)),
                  **context)


def _default_screen_name(desk: Desk) -> str:
    """What a new screen of `desk` is called when the admin names it nothing: "Screen 2"."""
    return desks.default_screen_name(g.db, desk, lambda number: _("Screen %(num)d", num=number))


@bp.post("/desks/<desk_id>/pair")
def pair_device(desk_id: str):
    """Start pairing a screen: the one-time link is shown now, and never again."""
    desk = desks.desk_by_public_id(g.db, desk_id) or abort(404)
    form = PairForm()
    if not form.validate_on_submit():
        return _desk_page(desk, pair_form=form), 422
    name = form.name.data or _default_screen_name(desk)
    device, token = desks.start_pairing(g.db, desk=desk, name=name, created_by=g.user)
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


# --- the directory of card issuers and mobile operators ---------------------------------


@bp.get("/directory")
def directory_list():
    """Every card issuer and mobile operator with its blocking line, and the reload button."""
    return _directory_page(ReloadForm(formdata=None))


def _directory_page(reload_form: ReloadForm):
    lists = [(kind, label, directory.entries(g.db, kind)) for kind, label in DIRECTORY_KINDS.items()]
    return render("admin/directory.html", lists=lists, reload_form=reload_form)


@bp.post("/directory/reload")
def reload_directory():
    """Load the shipped data file again: its entries are added or overwritten, others kept."""
    form = ReloadForm()
    if not form.validate_on_submit():
        return _directory_page(form), 422
    result = directory.load_file(g.db)
    g.db.commit()
    flash(_("The directory was reloaded from the data file: %(added)d added, %(updated)d updated.",
            added=result.added, updated=result.updated), "info")
    return redirect(url_for(".directory_list"), 303)


@bp.route("/directory/<kind>/<key>", methods=["GET", "POST"])
def directory_entry(kind: str, key: str):
    """One issuer or operator: correct its name, blocking line or web page."""
    entry = _entry_or_404(kind, key)
    form = DirectoryEntryForm(obj=entry)
    if request.method == "POST" and form.validate_on_submit() and _save_entry(form, entry):
        g.db.commit()
        flash(_("%(name)s was saved.", name=entry.name), "info")
        return redirect(url_for(".directory_list"), 303)
    status = 422 if request.method == "POST" else 200
    return render("admin/directory_entry.html", entry=entry, kind_label=DIRECTORY_KINDS[DirectoryKind(kind)],
                  form=form), status


def _entry_or_404(kind: str, key: str) -> DirectoryEntry:
    if kind not in {known.value for known in DirectoryKind}:
        abort(404)
    return directory.find(g.db, DirectoryKind(kind), key) or abort(404)


def _save_entry(form: DirectoryEntryForm, entry: DirectoryEntry) -> bool:
    """Apply the form; a number or address the directory refuses becomes a form error."""
    try:
        directory.update_entry(g.db, entry, form.changes())
    except DirectoryError as error:  # raised before the entry is changed
        if str(error) == "invalid_phone":
            form.blocking_phone.errors.append(_("That is not a phone number we can call. Write it as 020-41 12 12 "
                                                "or +46 20 41 12 12."))
        else:
            form.web.errors.append(_("Use an address that starts with https://."))
        return False
    return True


# --- partner API keys -------------------------------------------------------------------


@bp.route("/api-keys", methods=["GET", "POST"])
def api_key_list():
    """Every partner key, and a form to make one; a new key is shown once, on its own page."""
    form = ApiKeyForm()
    if request.method == "POST" and form.validate_on_submit():
        key, plain = api_keys.create_key(g.db, name=form.name.data, scope=ApiScope(form.scope.data),
                                         created_by=g.user)
        g.db.commit()
        return render("admin/api_key_created.html", key=key, plain=plain)
    status = 422 if request.method == "POST" else 200
    return render("admin/api_keys.html", keys=api_keys.keys(g.db), form=form), status


@bp.post("/api-keys/<key_id>/revoke")
def revoke_api_key(key_id: str):
    """The key stops working at once: the partner gets 401 from its next call."""
    key = api_keys.find_key(g.db, key_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        return render("admin/api_keys.html", keys=api_keys.keys(g.db), form=ApiKeyForm(formdata=None)), 422
    api_keys.revoke(g.db, key)
    g.db.commit()
    flash(_("The key “%(name)s” is revoked.", name=key.name), "info")
    return redirect(url_for(".api_key_list"), 303)


# --- ID protection ----------------------------------------------------------------------


@bp.get("/idprotect")
def idprotect_unmatched():
    """Credit inquiries reported for a personnummer no customer has proved (masked only)."""
    return render("admin/idprotect.html", alerts=idprotect.unmatched(g.db))


# --- staff and their roles; the audit log ------------------------------------------------

ROLE_LABELS = {
    Role.CUSTOMER: _l("Customer (no staff role)"),
    Role.CUSTOMER_SERVICE: _l("Customer service"),
    Role.SALES: _l("Sales"),
    Role.PRINTSHOP: _l("Print shop"),
    Role.ADMIN: _l("Admin"),
}


class RoleForm(FlaskForm):
    """Give an account a role; the email is posted, never put in a URL."""

    email = StringField(_l("The person's email address"), filters=CLEAN,
                        validators=[DataRequired(_l("Enter the email address of their account.")), at_most(254)])
    role = SelectField(_l("Role"), choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()])


@bp.route("/users", methods=["GET", "POST"])
def users():
    """Staff and their roles; give an existing account a role (or take it away)."""
    form = RoleForm()
    if request.method == "POST" and form.validate_on_submit():
        user = accounts.find_by_email(g.db, form.email.data)
        if user is None:
            form.email.errors.append(_("No account has that email address. They sign up first."))
        else:
            try:
                changed = accounts.set_role(g.db, user, Role(form.role.data), actor=g.user)
            except accounts.AccountError:
                form.role.errors.append(_("You can't take away your own admin role. Ask another admin."))
            else:
                g.db.commit()
                label = ROLE_LABELS[Role(form.role.data)]
                flash(_("%(email)s is now: %(role)s.", email=user.email, role=label) if changed
                      else _("%(email)s already had that role.", email=user.email), "info")
                return redirect(url_for(".users"), 303)
    status = 422 if request.method == "POST" else 200
    return render("admin/users.html", staff=accounts.staff_members(g.db), form=form,
                  role_label=lambda value: ROLE_LABELS.get(value, value)), status


class AuditSearchForm(FlaskForm):
    """A GET form: the customer number is redacted from every log line (`?customer=`)."""

    class Meta:
        csrf = False

    customer = StringField(_l("Customer number"), filters=CLEAN, validators=[Optional(), at_most(20)])
    action = StringField(_l("Action (or its start, e.g. customer.)"), filters=CLEAN,
                         validators=[Optional(), at_most(40)])


@bp.get("/audit")
def audit_log():
    """Who did what to whose records, and why, newest first (at most 200 entries)."""
    form = AuditSearchForm(request.args)
    subject = None
    if form.validate() and form.customer.data:
        subject = accounts.find_by_customer_number(g.db, form.customer.data)
        if subject is None:
            form.customer.errors.append(_("No customer has that number."))
    searched_nobody = bool(form.customer.data) and subject is None
    entries = [] if searched_nobody or form.errors else audit.search(
        g.db, subject_id=subject.id if subject else None, action=form.action.data or None)
    people = accounts.users_by_id(g.db, {entry.actor_id for entry in entries} | {entry.subject_id for entry in entries})
    return render("admin/audit.html", form=form, entries=entries, people=people,
                  reason_label=lambda key: VIEW_REASONS.get(key, key)), 422 if form.errors else 200


# --- erasing a customer's account (GDPR) ---------------------------------------------------


class CustomerLookupForm(FlaskForm):
    """A GET form: the customer number is redacted from every log line (`?customer=`)."""

    class Meta:
        csrf = False

    customer = StringField(_l("Customer number"), filters=CLEAN,
                           validators=[DataRequired(_l("Enter the customer number.")), at_most(20)])


class EraseCustomerForm(FlaskForm):
    understood = BooleanField(_l("Yes, erase this customer's account and data for good"),
                              validators=[DataRequired(_l("Tick the box to confirm."))])


def _erasable(customer_number: str) -> User | None:
    """The customer with this number; staff accounts lose their role first (Staff and roles)."""
    customer = accounts.find_by_customer_number(g.db, customer_number)
    return customer if customer is not None and customer.role == Role.CUSTOMER.value else None


@bp.get("/customers/erase")
def erase_lookup():
    """Find the customer whose account is to be erased, by customer number."""
    form = CustomerLookupForm(request.args)
    if "customer" in request.args and form.validate():
        customer = _erasable(form.customer.data)
        if customer is not None:
            return redirect(url_for(".erase_customer", customer_number=customer.customer_number), 303)
        form.customer.errors.append(_("No customer has that number."))
    return render("admin/erase_lookup.html", form=form), 422 if form.errors else 200


@bp.route("/customers/<customer_number>/erase", methods=["GET", "POST"])
def erase_customer(customer_number: str):
    """What erasing this customer removes, and the erasure itself once confirmed."""
    customer = _erasable(customer_number) or abort(404)
    form = EraseCustomerForm()
    if request.method == "POST" and form.validate_on_submit():
        erasure = privacy.erase(g.db, customer, actor=g.user)
        g.db.commit()
        if not current_app.config["SMTP_URL"]:
            privacy.purge_mail_spool(current_app.config["MAIL_DIR"], erasure)
        flash(_("The customer's account and data are erased; the audit log records that it happened."), "info")
        return redirect(url_for(".erase_lookup"), 303)
    looked_at([customer], reason="privacy_request")
    return render("admin/erase_customer.html", customer=customer, form=form,
                  stickers=len(stickers.owned_by(g.db, customer))), 422 if request.method == "POST" else 200


# --- the NIX register ----------------------------------------------------------------------

NIX_UPLOAD_MAX = 32 * 1024 * 1024  # a NIX file of a million numbers is about 13 MB
allow_upload("admin.nix_register", NIX_UPLOAD_MAX)
NIX_LINES_SHOWN = 100


class NixFileForm(FlaskForm):
    file = FileField(_l("NIX file"), validators=[FileRequired(_l("Choose the NIX file."))])


def nix_error(reason: str) -> str:
    """Why a NIX file was refused (the register is then unchanged)."""
    if reason == "no_numbers":
        return _("The file has no valid phone number, so the register was not changed. Is it the NIX file?")
    return _("That is not a text file. Choose the NIX file (one number per line).")


@bp.route("/nix", methods=["GET", "POST"])
def nix_register():
    """The NIX register: how many numbers it holds and since when; a new NIX file replaces
    the whole list, in one transaction."""
    form = NixFileForm()
    if not form.is_submitted():
        return _nix_page(form)
    if not form.validate_on_submit():
        return _nix_page(form), 422
    try:
        result = registers.import_nix(g.db, form.file.data.read(), actor=g.user)
    except registers.RegisterError as error:
        form.file.errors.append(nix_error(str(error)))
        return _nix_page(form), 422
    g.db.commit()
    return _nix_page(NixFileForm(formdata=None), result=result)


def _nix_page(form: NixFileForm, *, result: registers.NixImportResult | None = None):
    return render("admin/nix.html", form=form, result=result, status=registers.nix_status(g.db),
                  lines_shown=NIX_LINES_SHOWN)
