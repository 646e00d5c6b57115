"""Signed-in browsers: the Flask-Login principal, signing in and out, and the role guard
for staff areas. Shared by the auth and BankID sign-ins, the staff blueprints and the
kiosk's pairing (a kiosk is nobody's signed-in browser)."""

from __future__ import annotations

from flask import Flask, abort, g, session
from flask_login import UserMixin, current_user, login_user, logout_user

from stickerreg.extensions import login_manager
from stickerreg.models import Role, User
from stickerreg.services import accounts


class Principal(UserMixin):
    """The signed-in user together with the session token their cookie carries."""

    def __init__(self, user: User, token: str):
        self.user = user
        self.token = token

    def get_id(self) -> str:
        return self.token


def load_principal(token: str) -> Principal | None:
    """A cookie is only as good as its server-side session row."""
    user = accounts.user_for_session(g.db, token)
    return Principal(user, token) if user else None


def init_app(app: Flask) -> None:
    """Flask-Login finds the signed-in user through the session row its cookie names."""
    login_manager.user_loader(load_principal)


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


def require_role(*roles: Role):
    """A before_request hook for staff blueprints: anyone without one of `roles`, signed in
    or not, gets the plain 404 page, so the area's existence is not revealed."""
    allowed = frozenset(role.value for role in roles)

    def guard() -> None:
        principal = current_user
        if not principal.is_authenticated or principal.user.role not in allowed:
            abort(404)
        g.user = principal.user

    return guard
