"""Sign-up, email verification, sign-in and out, password reset and email change.

Answers never reveal whether an email has an account: sign-up and reset always say
"check your email", and a failed sign-in never says which half was wrong.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, make_response, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from stickerreg.extensions import configured, limiter
from stickerreg.models import TokenPurpose
from stickerreg.services import accounts
from stickerreg.services.accounts import AccountError
from stickerreg.web.fields import ConfirmForm, email_field
from stickerreg.web.pages import render
from stickerreg.web.sessions import home_url, is_known_browser_for, remember_browser, sign_in, sign_out

bp = Blueprint("auth", __name__, url_prefix="/auth")


# --- forms ------------------------------------------------------------------------------


def password_error_message(problem: str) -> str:
    """A person-readable reason for accounts.password_problem()."""
    messages = {
        "too_short": _l("Use at least %(min)d characters.", min=accounts.PASSWORD_MIN_LENGTH),
        "too_common": _l("That password is too common. Choose one that is harder to guess."),
    }
    return str(messages.get(problem, problem))


class StrongPassword:
    """The same rule for sign-up and reset: long enough and not a common password."""

    def __call__(self, form, field) -> None:
        problem = accounts.password_problem(field.data or "")
        if problem:
            raise ValidationError(password_error_message(problem))


def _new_password_fields():
    password = PasswordField(
        _l("Password (at least %(min)d characters)", min=accounts.PASSWORD_MIN_LENGTH),
        validators=[DataRequired(_l("Choose a password.")), Length(max=200), StrongPassword()],
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(_l("Repeat the password.")), EqualTo("password", _l("The passwords don't match."))],
    )
    return password, confirm


class SignUpForm(FlaskForm):
    email = email_field()
    password, password_confirm = _new_password_fields()


class LoginForm(FlaskForm):
    email = email_field()
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)])


class ResetRequestForm(FlaskForm):
    email = email_field()


class PasswordResetForm(FlaskForm):
    password, password_confirm = _new_password_fields()


# --- views ------------------------------------------------------------------------------


def _failed(response) -> bool:
    return response.status_code == 422


def _login_email_key() -> str:
    """The per-account bucket: the address authentication will look up, however typed."""
    return "login:" + accounts.sign_in_identity(request.form.get("email"))


def _owners_browser() -> bool:
    """The owner's own browsers skip the per-account limit (see sessions.remember_browser)."""
    return is_known_browser_for(request.form.get("email"))


def require_live_link(token: str, purpose: TokenPurpose) -> None:
    """A used, expired or unknown mailed link ends here, with one friendly page."""
    if accounts.peek_token(g.db, token, purpose) is None:
        abort(make_response(render("auth/link_invalid.html"), 404))


def safe_next(default: str) -> str:
    """Only same-site paths are followed after sign-in: no other host, no backslash (which
    browsers read as a slash, so `/\\host` would leave the site) and no control characters
    (a line break would end up in the Location header)."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    same_site = target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc
    if same_site and target.isprintable() and "\\" not in target:
        return target
    return default


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(configured("RATELIMIT_SIGNUP"), methods=["POST"])
def signup():
    """Create an account; the answer is the same whether the email is new or not."""
    form = SignUpForm()
    if request.method == "GET" or not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render("auth/signup.html", form=form), status
    accounts.sign_up(g.db, email=form.email.data, password=form.password.data, locale=str(get_locale()))
    g.db.commit()
    return render("auth/check_email.html", email_sent_to=form.email.data)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(configured("RATELIMIT_SIGNIN"), methods=["POST"], deduct_when=_failed)
@limiter.limit(configured("RATELIMIT_SIGNIN_PER_ACCOUNT"), methods=["POST"], key_func=_login_email_key, deduct_when=_failed,
               exempt_when=_owners_browser)
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user.user))
    form = LoginForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render("auth/login.html", form=form), 200 if request.method == "GET" else 422
    user = accounts.authenticate(g.db, email=form.email.data, password=form.password.data)
    if user is None:
        form.password.errors.append(_("Wrong email or password."))
        return render("auth/login.html", form=form), 422
    if user.email_verified_at is None:
        accounts.send_verification(g.db, user)
        g.db.commit()
        form.email.errors.append(_("Confirm your email first: we have sent you a new link."))
        return render("auth/login.html", form=form), 422
    sign_in(user, method="password")
    return redirect(safe_next(home_url(user)), 303)


@bp.post("/logout")
@login_required
def logout():
    """Sign out here; the session ends on the server, so a copied cookie is useless."""
    sign_out()
    flash(_("You have signed out."), "info")
    return redirect(url_for("finder.index"), 303)


@bp.route("/verify/<token>", methods=["GET", "POST"])
@limiter.limit(configured("RATELIMIT_MAILED_LINK"))
def verify(token: str):
    """Confirm an email address. Opening the link shows a button: mail scanners that
    follow links must not use up the token."""
    require_live_link(token, TokenPurpose.VERIFY_EMAIL)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render("auth/confirm.html", form=form, title=_("Confirm your email address"))
    accounts.verify_email(g.db, token)
    g.db.commit()
    flash(_("Your email address is confirmed. Welcome!"), "info")
    return redirect(url_for(".login"), 303)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(configured("RATELIMIT_RESET"), methods=["POST"])
def reset_request():
    """Ask for a password reset link; the answer never says whether the email is known."""
    form = ResetRequestForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render("auth/reset_request.html", form=form), 200 if request.method == "GET" else 422
    accounts.request_password_reset(g.db, form.email.data)
    g.db.commit()
    return render("auth/check_email.html", email_sent_to=form.email.data)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(configured("RATELIMIT_MAILED_LINK"))
def reset(token: str):
    """Choose a new password from a reset link."""
    require_live_link(token, TokenPurpose.RESET_PASSWORD)
    form = PasswordResetForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render("auth/reset.html", form=form), 200 if request.method == "GET" else 422
    user = accounts.reset_password(g.db, token, form.password.data)
    g.db.commit()
    remember_browser(user)  # they read the mail: this is the owner, even mid-attack
    flash(_("Your password has been changed. Sign in with the new one."), "info")
    return redirect(url_for(".login"), 303)


@bp.route("/email/<token>", methods=["GET", "POST"])
@limiter.limit(configured("RATELIMIT_MAILED_LINK"))
def confirm_email_change(token: str):
    """Confirm a new email address from the link sent to it."""
    require_live_link(token, TokenPurpose.CHANGE_EMAIL)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render("auth/confirm.html", form=form, title=_("Confirm your new email address"))
    this_browser = current_user.token if current_user.is_authenticated else None
    try:
        accounts.confirm_email_change(g.db, token, keep_session=this_browser)
    except AccountError:
        abort(404)
    g.db.commit()
    flash(_("Your email address has been changed."), "info")
    return redirect(url_for("account.dashboard"), 303)

