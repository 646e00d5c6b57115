"""Customer service and telemarketing: staff notes on a customer, the do-not-call register
("ring inte oss"), the NIX register (Sweden's national opt-out from telemarketing) and
marketing leads filtered against both.

Phone numbers are stored in E.164 (``+46701234567``), normalised with ``phonenumbers`` by
the services, so one number has one spelling whatever format it came in.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from stickerreg.models.base import created_at_field


class CustomerNote(SQLModel, table=True):
    """A timestamped note customer service keeps on a customer (erased with the customer)."""

    __tablename__ = "customer_notes"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    customer_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    body: str = Field(max_length=2000)
    created_at: datetime = created_at_field()


class DncEntry(SQLModel, table=True):
    """A number that asked us not to call it; kept until its owner asks to be removed.
    Only customer service and admins add or remove entries; sales only reads through it."""

    __tablename__ = "dnc_register"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    phone: str = Field(max_length=16, unique=True)  # E.164
    source: str = Field(max_length=100)  # e.g. "phone call", "email", "letter"
    created_at: datetime = created_at_field()
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class NixNumber(SQLModel, table=True):
    """One number of the NIX register as last imported; an import replaces the whole list."""

    __tablename__ = "nix_register"

    phone: str = Field(max_length=16, primary_key=True)  # E.164
    imported_at: datetime = created_at_field()


class LeadVerdict(StrEnum):
    """What an import decided for one row of a partner's lead file."""

    CALLABLE = "callable"
    NIX = "nix"  # the number is in the NIX register
    DNC = "dnc"  # the number asked us not to call
    CUSTOMER = "customer"  # already a customer: not a lead
    INVALID = "invalid"  # no usable name or phone number


class LeadImport(SQLModel, table=True):
    """One imported lead file and what became of its rows (only callable rows are kept)."""

    __tablename__ = "lead_imports"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    partner: str = Field(max_length=100)
    created_at: datetime = created_at_field()
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    callable: int = 0
    blocked_nix: int = 0
    blocked_dnc: int = 0
    customers: int = 0
    invalid: int = 0


class Lead(SQLModel, table=True):
    """A callable lead; deleted after the lead retention period (LEAD_RETENTION_DAYS)."""

    __tablename__ = "leads"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="lead_imports.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    address: str | None = Field(default=None, max_length=200)
    phone: str = Field(max_length=16, index=True)  # E.164
    source_partner: str = Field(max_length=100)
    created_at: datetime = created_at_field()
