"""Customers and staff: users, their signed-in browsers and mailed single-use tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

from stickerreg.models.base import UTCDateTime, created_at_field


class Role(StrEnum):
    CUSTOMER = "customer"
    CUSTOMER_SERVICE = "customer_service"
    SALES = "sales"  # telemarketing: callable leads only, never customers' records
    PRINTSHOP = "printshop"
    ADMIN = "admin"


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"
    CHANGE_EMAIL = "change_email"


class ProfileFields(SQLModel):
    """The details a customer keeps up to date: columns of users, and the allowlist of
    ProfileUpdate."""

    display_name: str = Field(default="", max_length=100)
    phone: str | None = Field(default=None, max_length=20, index=True)  # E.164; leads are checked against it
    street: str | None = Field(default=None, max_length=120)
    postal_code: str | None = Field(default=None, max_length=10)  # five digits
    city: str | None = Field(default=None, max_length=60)
    locale: str = Field(default="sv", max_length=5)
    notify_by_email: bool = Field(default=True)


class User(ProfileFields, table=True):
    __tablename__ = "users"
    __table_args__ = (
        sa.Index("uq_users_proved_personnummer", "personnummer_digest", unique=True,
                 sqlite_where=sa.text("personnummer_verified_at IS NOT NULL"),
                 postgresql_where=sa.text("personnummer_verified_at IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Nine digits, the last a Luhn check: what the customer quotes, and what a partner (the
    # alarm-receiving centre) knows them by. Random, so it tells nothing about other customers.
    customer_number: str = Field(max_length=9, unique=True, index=True)
    email: str = Field(max_length=254, unique=True, index=True)  # stored lower-case
    password_hash: str | None = Field(default=None, max_length=255)
    email_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    role: str = Field(default=Role.CUSTOMER.value, max_length=16)
    # A keyed digest finds the account at BankID login; only a masked form is shown. A typed
    # number is the customer's claim (several accounts may claim one); a BankID-proved one is
    # unique (the partial index below).
    personnummer_digest: str | None = Field(default=None, max_length=64, index=True)
    personnummer_masked: str | None = Field(default=None, max_length=16)
    # Set only when BankID proved the number; a typed number never signs anyone in.
    personnummer_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()


class LoginSession(SQLModel, table=True):
    """One signed-in browser. Deleting the row signs it out, wherever its cookie is."""

    __tablename__ = "login_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    method: str = Field(default="password", max_length=16)
    created_at: datetime = created_at_field()
    # Written at most every few minutes; a session unused for too long ends (see accounts).
    last_seen_at: datetime = created_at_field()


class AuthToken(SQLModel, table=True):
    """Single-use, expiring tokens mailed for verification, reset and email change."""

    __tablename__ = "auth_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    purpose: str = Field(max_length=20)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    new_email: str | None = Field(default=None, max_length=254)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()


class ProfileUpdate(ProfileFields):
    """A customer's change to their profile; services.accounts normalises phone and postal
    code before it is applied. Anything outside the allowlist is refused."""

    model_config = ConfigDict(extra="forbid")
