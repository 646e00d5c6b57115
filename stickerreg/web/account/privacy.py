"""Account routes: the customer's own data. Download all of it (a ZIP with data.json and a
readable summary), or erase the account after typing the password.

Erasure asks for the password because a signed-in browser alone may be someone else's (a
shared or stolen one). An account without a password (made with BankID) sets one first
through "Forgot your password?"; the page says so. A member of staff is erased by an admin once
their role is taken away, so no admin can leave the service without one.
"""

from __future__ import annotations

from flask import current_app, flash, g, make_response, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField
from wtforms.validators import DataRequired, Length

from stickerreg import privacy_export
from stickerreg.extensions import configured, limiter
from stickerreg.models import Role
from stickerreg.services import accounts, privacy
from stickerreg.web import sessions
from stickerreg.web.account import bp
from stickerreg.web.fields import ConfirmForm
from stickerreg.web.pages import render


class EraseForm(FlaskForm):
    """The customer's password and their word that they mean it."""

    password = PasswordField(_l("Your password"), validators=[
        DataRequired(_l("Type your password to erase the account.")), Length(max=200)])
    understood = BooleanField(_l("I understand that my account and its data are erased for good"),
                              validators=[DataRequired(_l("Tick the box to confirm."))])


@bp.get("/privacy")
def privacy_page():
    """What we hold about the customer, the download, and erasing the account."""
    return _page(EraseForm(formdata=None))


def _page(erase_form: EraseForm):
    g.page_url = url_for(".privacy_page")
    return render("account/privacy.html", export_form=ConfirmForm(formdata=None), erase_form=erase_form,
                  user=g.user, has_password=bool(g.user.password_hash), is_staff=g.user.role != Role.CUSTOMER)


@bp.post("/privacy/export")
@limiter.limit(configured("RATELIMIT_PRIVACY_EXPORT"))
def privacy_export_download():
    """All the customer's data as a ZIP download (audited)."""
    if not ConfirmForm().validate_on_submit():
        return _page(EraseForm(formdata=None)), 422
    archive = privacy_export.export_zip(g.db, g.user, actor=g.user)
    g.db.commit()
    response = make_response(archive)
    response.mimetype = "application/zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{privacy_export.FILENAME}"'
    return response


@bp.post("/privacy/erase")
@limiter.limit(configured("RATELIMIT_ERASE"), deduct_when=lambda response: response.status_code == 422)
def erase_account():
    """Erase the account and everything about it, once the password is right."""
    form = EraseForm()
    if not form.validate_on_submit():
        return _page(form), 422
    if g.user.role != Role.CUSTOMER or not g.user.password_hash or \
            not accounts.verify_password(g.user.password_hash, form.password.data):
        form.password.errors.append(_("Wrong password."))
        return _page(form), 422
    erasure = privacy.erase(g.db, g.user, actor=g.user)
    g.db.commit()
    if not current_app.config["SMTP_URL"]:
        privacy.purge_mail_spool(current_app.config["MAIL_DIR"], erasure)
    sessions.sign_out()
    flash(_("Your account and your data are erased. Thank you for using Stickerreg."), "info")
    return redirect(url_for("finder.index"), 303)
