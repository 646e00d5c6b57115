"""Account routes: the customer's profile, the optional personnummer and email change.

A personnummer is checked, then kept only as a keyed digest and a masked form; the number
itself is never stored, logged or written back into a page.
"""

from __future__ import annotations

from flask import current_app, flash, g, make_response, redirect, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from stickerreg.extensions import configured, limiter
from stickerreg.services import accounts
from stickerreg.services.accounts import AccountError
from stickerreg.web.account import bp
from stickerreg.web.account.forms import EmailChangeForm, ProfileForm
from stickerreg.web.pages import is_htmx, render

# Reasons from the accounts service, as the customer reads them (field, message).
_ACCOUNT_ERRORS = {
    "personnummer_already_set": ("personnummer", _l("A personnummer is already linked to your account.")),
    "invalid_personnummer": ("personnummer", _l("That is not a valid personnummer. Example: 19811218-9876.")),
    "wrong_password": ("password", _l("Wrong password.")),
    "same_email": ("new_email", _l("That is already your email address.")),
}
_UNEXPECTED = _l("That didn't work. Please try again.")


@bp.route("/profile", methods=["GET", "POST"])
def profile():
    """The customer's own details: name, phone, address, language, notifications."""
    form = _profile_form()
    if request.method == "GET" or not form.validate_on_submit():
        return _profile_page(form), 200 if request.method == "GET" else 422
    try:
        _link_personnummer(form)
    except AccountError as error:
        return _profile_page(_with_error(form, error)), 422
    old_locale = g.user.locale
    accounts.update_profile(g.db, g.user, form.to_update())
    g.db.commit()
    if is_htmx() and g.user.locale == old_locale:
        return _profile_page(_profile_form(formdata=None), saved=True)
    return _saved_redirect(language_changed=g.user.locale != old_locale)


@bp.post("/profile/email")
@limiter.limit(configured("RATELIMIT_EMAIL_CHANGE"), deduct_when=lambda response: response.status_code == 422)
def change_email():
    """Move the account to a new address; nothing changes until the link mailed there is used."""
    email_form = EmailChangeForm()
    if not email_form.validate_on_submit():
        return _profile_page(_profile_form(formdata=None), email_form=email_form), 422
    try:
        accounts.request_email_change(
            g.db, g.user, new_email=email_form.new_email.data, password=email_form.password.data
        )
    except AccountError as error:
        return _profile_page(_profile_form(formdata=None), email_form=_with_error(email_form, error)), 422
    g.db.commit()
    # The same answer whether or not the address is taken: it must not reveal other accounts.
    flash(_("Check your new inbox: we have sent a confirmation link to %(email)s. "
            "Your address changes when you open it.", email=email_form.new_email.data), "info")
    return redirect(url_for(".profile"), 303)


def _profile_form(**kwargs) -> ProfileForm:
    """The profile form for g.user; the personnummer field only while none is linked."""
    form = ProfileForm(data=ProfileForm.initial(g.user), **kwargs)
    if g.user.personnummer_digest:
        del form.personnummer  # stored once: a posted value is ignored
    return form


def _link_personnummer(form: ProfileForm) -> None:
    entered = form.personnummer.data if "personnummer" in form else None
    if entered:
        number = accounts.normalize_personnummer(entered)
        accounts.link_personnummer(g.db, g.user, number, key=current_app.config["SECRET_KEY"].encode())


def _with_error(form, error: AccountError):
    name, message = _ACCOUNT_ERRORS.get(str(error), (None, _UNEXPECTED))
    if name in form:
        form[name].errors = [*form[name].errors, str(message)]
    else:
        form.form_errors.append(str(message))
    return form


def _saved_redirect(*, language_changed: bool):
    """After saving: back to the page, in the newly chosen language if it changed."""
    with force_locale(g.user.locale):
        flash(_("Your profile has been saved."), "info")
    target = url_for(".profile", lang=g.user.locale) if language_changed else url_for(".profile")
    if not is_htmx():
        return redirect(target, 303)
    response = make_response("", 200)
    response.headers["HX-Redirect"] = target  # the whole page changes language, not just the form
    return response


def _profile_page(form: ProfileForm, *, email_form: EmailChangeForm | None = None, saved: bool = False):
    g.page_url = url_for(".profile")
    return render(
        "account/profile.html",
        "account/_profile_form.html",
        form=form,
        email_form=email_form or EmailChangeForm(formdata=None),
        user=g.user,
        saved=saved,
    )
