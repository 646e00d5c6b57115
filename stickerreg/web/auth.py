"""Sign-up, email verification, sign-in and out, password reset and email change.

Answers never reveal whether an email has an account: sign-up and reset always say
"check your email", and a failed sign-in never says which half was wrong.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, make_response, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_required, login_user, logout_user

from stickerreg.extensions import limiter, login_manager
from stickerreg.models import Role, TokenPurpose, User
from stickerreg.services import accounts
from stickerreg.services.accounts import AccountError
from stickerreg.web import render
from stickerreg.web.forms import (
    ConfirmForm,
    LoginForm,
    PasswordResetForm,
    ResetRequestForm,
    SignUpForm,
)

bp = Blueprint("auth", __name__, url_prefix="/auth")


class Principal(UserMixin):
    """The signed-in user together with the session token their cookie carries."""

    def __init__(self, user: User, token: str):
        self.user = user
        self.token = token

    def get_id(self) -> str:
        return self.token


@login_manager.user_loader
def load_principal(token: str) -> Principal | None:
    """A cookie is only as good as its server-side session row."""
    user = accounts.user_for_session(g.db, token)
    return Principal(user, token) if user else None


def staff_only(*roles: Role):
    """A before_request hook for staff blueprints: anyone without one of `roles`, signed in
    or not, gets the plain 404 page, so the area's existence is not revealed."""
    allowed = frozenset(role.value for role in roles)

    def require_role() -> None:
        principal = current_user
        if not principal.is_authenticated or principal.user.role not in allowed:
            abort(404)
        g.user = principal.user

    return require_role


def _failed(response) -> bool:
    return response.status_code == 422


def _login_email_key() -> str:
    return "login:" + accounts.normalize_email(request.form.get("email", ""))[:254]


def sign_in(user: User, *, method: str) -> None:
    """Start a fresh session: the old cookie's contents are dropped (no fixation)."""
    token = accounts.start_session(g.db, user, method=method)
    g.db.commit()
    session.clear()
    login_user(Principal(user, token))


def sign_out() -> None:
    """End this browser's session on the server (a copied cookie is useless) and here."""
    if current_user.is_authenticated:
        accounts.end_session(g.db, current_user.token)
        g.db.commit()
    logout_user()
    session.clear()


def require_live_link(token: str, purpose: TokenPurpose) -> None:
    """A used, expired or unknown mailed link ends here, with one friendly page."""
    if accounts.peek_token(g.db, token, purpose) is None:
        abort(make_response(render("auth/link_invalid.html"), 404))


def safe_next(default: str) -> str:
    """Only same-site paths are followed after sign-in."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc:
        return target
    return default


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
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
@limiter.limit("20 per 15 minutes", methods=["POST"], deduct_when=_failed)
@limiter.limit("5 per 15 minutes", methods=["POST"], key_func=_login_email_key, deduct_when=_failed)
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("account.dashboard"))
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
    return redirect(safe_next(url_for("account.dashboard")), 303)


@bp.post("/logout")
@login_required
def logout():
    """Sign out here; the session ends on the server, so a copied cookie is useless."""
    sign_out()
    flash(_("You have signed out."), "info")
    return redirect(url_for("finder.index"), 303)


@bp.route("/verify/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour")
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
@limiter.limit("10 per hour", methods=["POST"])
def reset_request():
    """Ask for a password reset link; the answer never says whether the email is known."""
    form = ResetRequestForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render("auth/reset_request.html", form=form), 200 if request.method == "GET" else 422
    accounts.request_password_reset(g.db, form.email.data)
    g.db.commit()
    return render("auth/check_email.html", email_sent_to=form.email.data)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour")
def reset(token: str):
    """Choose a new password from a reset link."""
    require_live_link(token, TokenPurpose.RESET_PASSWORD)
    form = PasswordResetForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render("auth/reset.html", form=form), 200 if request.method == "GET" else 422
    accounts.reset_password(g.db, token, form.password.data)
    g.db.commit()
    flash(_("Your password has been changed. Sign in with the new one."), "info")
    return redirect(url_for(".login"), 303)


@bp.route("/email/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour")
def confirm_email_change(token: str):
    """Confirm a new email address from the link sent to it."""
    require_live_link(token, TokenPurpose.CHANGE_EMAIL)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render("auth/confirm.html", form=form, title=_("Confirm your new email address"))
    try:
        accounts.confirm_email_change(g.db, token)
    except AccountError:
        abort(404)
    g.db.commit()
    flash(_("Your email address has been changed."), "info")
    return redirect(url_for("account.dashboard"), 303)

