"""Customer accounts: creation and password hashing (argon2)."""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlmodel import Session, select

from stickerreg.models import User

_hasher = PasswordHasher()


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively; store them trimmed and lower-case."""
    return email.strip().lower()


def create_user(
    session: Session, *, email: str, password: str | None, display_name: str = "", locale: str = "sv"
) -> User:
    """Create a customer; the password is stored only as an argon2 hash."""
    user = User(
        email=normalize_email(email),
        password_hash=_hasher.hash(password) if password else None,
        display_name=display_name,
        locale=locale,
    )
    session.add(user)
    session.flush()
    return user


def find_by_email(session: Session, email: str) -> User | None:
    """The user with this email, or None."""
    return session.exec(select(User).where(User.email == normalize_email(email))).first()
