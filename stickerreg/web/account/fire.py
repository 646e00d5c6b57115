"""Account routes: fire protection. The people the alarm-receiving centre calls when the
customer's fire alarm goes off, in order, at most five; reordered with up/down buttons
(plain forms, so they work without JavaScript)."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from stickerreg.models import FIRE_CONTACTS_MAX, FireContact, FireContactCreate
from stickerreg.services import accounts
from stickerreg.services.linked import fire
from stickerreg.services.linked.fire import FireError
from stickerreg.web.account import bp
from stickerreg.web.account.forms import FireContactForm, MoveForm
from stickerreg.web.fields import ConfirmForm
from stickerreg.web.pages import get_owned_or_404, render


@bp.route("/fire", methods=["GET", "POST"])
def fire_contacts():
    """The alarm contacts in calling order, and a form to add one."""
    form = FireContactForm()
    if request.method == "POST":
        if form.validate_on_submit() and _saved(form, None):
            flash(_("The contact was added."), "info")
            return redirect(url_for(".fire_contacts"), 303)
        return _list_page(form), 422
    return _list_page(FireContactForm(formdata=None))


@bp.route("/fire/<contact_id>", methods=["GET", "POST"])
def fire_contact(contact_id: str):
    """Change a contact."""
    found = get_owned_or_404(g.db, FireContact, contact_id, g.user)
    form = FireContactForm(data={"name": found.name, "phone": accounts.display_phone(found.phone),
                                 "relation": found.relation, "note": found.note})
    if request.method == "POST":
        if form.validate_on_submit() and _saved(form, found):
            flash(_("The contact was saved."), "info")
            return redirect(url_for(".fire_contacts"), 303)
        status = 422
    else:
        status = 200
    g.page_url = url_for(".fire_contact", contact_id=contact_id)
    return render("account/fire_contact.html", form=form, contact=found), status


@bp.post("/fire/<contact_id>/move")
def move_fire_contact(contact_id: str):
    """One step earlier or later in the calling order."""
    found = get_owned_or_404(g.db, FireContact, contact_id, g.user)
    form = MoveForm()
    if form.validate_on_submit():
        fire.move(g.db, found, up=form.direction.data == "up", actor=g.user)
        g.db.commit()
    return redirect(url_for(".fire_contacts", _anchor=f"contact-{found.public_id}"), 303)


@bp.route("/fire/<contact_id>/delete", methods=["GET", "POST"])
def delete_fire_contact(contact_id: str):
    """Remove a contact, after a confirmation; those after it move up."""
    found = get_owned_or_404(g.db, FireContact, contact_id, g.user)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        fire.delete_contact(g.db, found, actor=g.user)
        g.db.commit()
        flash(_("The contact was removed."), "info")
        return redirect(url_for(".fire_contacts"), 303)
    g.page_url = url_for(".delete_fire_contact", contact_id=contact_id)
    return render("account/fire_contact_delete.html", form=form, contact=found), (
        200 if request.method == "GET" else 422)


def _saved(form: FireContactForm, contact: FireContact | None) -> bool:
    details = FireContactCreate(name=form.name.data, phone=form.phone.data, relation=form.relation.data or None,
                                note=form.note.data or None)
    try:
        if contact is None:
            fire.add_contact(g.db, g.user, details, actor=g.user)
        else:
            fire.update_contact(g.db, contact, details, actor=g.user)
    except FireError as error:
        if str(error) == "too_many":
            form.form_errors.append(_("You have %(max)d contacts, the most there can be. Remove one first.",
                                      max=FIRE_CONTACTS_MAX))
        else:
            form.phone.errors = [*form.phone.errors, _("That phone number doesn't look right. Example: 070-123 45 67.")]
        g.db.rollback()
        return False
    g.db.commit()
    return True


def _list_page(form: FireContactForm):
    g.page_url = url_for(".fire_contacts")
    contacts = fire.contacts_of(g.db, g.user)
    return render("account/fire.html", form=form, contacts=contacts, full=len(contacts) >= FIRE_CONTACTS_MAX,
                  most=FIRE_CONTACTS_MAX, move_form=MoveForm(formdata=None))
