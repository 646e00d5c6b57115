"""Linked services a customer has besides stickers: payment cards and mobile phones to block
when lost (with the directory of issuers and operators), blocking cases, ID-protection
alerts (credit inquiries) and fire-alarm contacts.

Every customer-owned record has a random `public_id` for URLs and is reached only through
its owner. What a customer submits goes through a Create/Update allowlist (extra fields
refused); the services normalise and check it (phone numbers, IMEI, personnummer).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

import sqlalchemy as sa
from pydantic import AfterValidator, ConfigDict, StringConstraints, field_validator
from sqlmodel import Field, SQLModel

from stickerreg.models.base import UTCDateTime, created_at_field

_ALLOWLIST = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- the directory of card issuers and mobile operators ---


class DirectoryKind(StrEnum):
    CARD_ISSUER = "card_issuer"
    MOBILE_OPERATOR = "mobile_operator"


class DirectoryEntryFields(SQLModel):
    """What a directory entry tells a customer who must block a card or a SIM."""

    name: str = Field(min_length=1, max_length=80)
    blocking_phone: str | None = Field(default=None, max_length=20)  # E.164; None: unknown
    web: str | None = Field(default=None, max_length=200)  # https only


class DirectoryEntry(DirectoryEntryFields, table=True):
    """A card issuer or mobile operator, loaded from stickerreg/data/directory.json and
    editable by admins."""

    __tablename__ = "directory_entries"
    __table_args__ = (sa.UniqueConstraint("kind", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    key: str = Field(max_length=40)  # a slug, stable across reloads of the data file
    updated_at: datetime = created_at_field()


class DirectoryEntryUpdate(DirectoryEntryFields):
    """An admin's change to an entry (the phone is normalised by the service)."""

    model_config = _ALLOWLIST


# --- payment cards ---


class CardType(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"
    CHARGE = "charge"
    OTHER = "other"


class Card(SQLModel, table=True):
    """A payment card to block when lost: who holds it, its issuer, its type and its last
    four digits. Never the card number: a full one is refused where it is typed."""

    __tablename__ = "cards"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    owner_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    holder_name: str = Field(max_length=100)
    issuer_id: int | None = Field(default=None, foreign_key="directory_entries.id", ondelete="SET NULL")
    card_type: str = Field(max_length=16)
    last_four: str = Field(max_length=4)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class CardCreate(SQLModel):
    """A card as the customer registers it: the allowlist, issuer by directory key."""

    model_config = _ALLOWLIST

    holder_name: str = Field(min_length=1, max_length=100)
    issuer: str = Field(min_length=1, max_length=40)
    card_type: CardType
    last_four: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]  # SQLModel ignores Field(regex=)


class CardUpdate(CardCreate):
    """A change to a card: the same allowlist."""


# --- mobile phones ---


class MobileDevice(SQLModel, table=True):
    """A mobile phone to block when lost: its owner, number, operator and IMEI. The owner's
    personnummer, when given, is kept only as a keyed digest and a masked form."""

    __tablename__ = "mobile_devices"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    owner_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    owner_name: str = Field(max_length=100)
    owner_personnummer_digest: str | None = Field(default=None, max_length=64)
    owner_personnummer_masked: str | None = Field(default=None, max_length=16)
    phone: str = Field(max_length=20)  # E.164
    operator_id: int | None = Field(default=None, foreign_key="directory_entries.id", ondelete="SET NULL")
    imei: str | None = Field(default=None, max_length=15)  # shown masked but for the last four
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class MobileDeviceCreate(SQLModel):
    """A phone as the customer registers it, as typed; the service checks and normalises
    the number, the IMEI (Luhn) and the personnummer."""

    model_config = _ALLOWLIST

    owner_name: str = Field(min_length=1, max_length=100)
    owner_personnummer: str | None = Field(default=None, max_length=20)
    phone: str = Field(min_length=1, max_length=30)
    operator: str = Field(min_length=1, max_length=40)
    imei: str | None = Field(default=None, max_length=30)


class MobileDeviceUpdate(MobileDeviceCreate):
    """A change to a phone. A personnummer left out keeps the one stored."""


# --- blocking cases ---


class LostItems(StrEnum):
    WALLET = "wallet"
    PHONE = "phone"
    BOTH = "both"


class BlockingStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"  # customer service is on it
    DONE = "done"


class BlockingCase(SQLModel, table=True):
    """'I have lost my wallet / phone / both': every matching card and phone to block."""

    __tablename__ = "blocking_cases"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    owner_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    lost: str = Field(max_length=8)
    status: str = Field(default=BlockingStatus.OPEN.value, max_length=16, index=True)
    sticker_id: int | None = Field(default=None, foreign_key="stickers.id", ondelete="SET NULL")
    help_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class BlockingItem(SQLModel, table=True):
    """One card or phone on a case, as it was when the case opened (so later edits or a
    deleted card leave the case readable), and whether it is blocked."""

    __tablename__ = "blocking_items"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    case_id: int = Field(foreign_key="blocking_cases.id", index=True, ondelete="CASCADE")
    card_id: int | None = Field(default=None, foreign_key="cards.id", ondelete="SET NULL")
    device_id: int | None = Field(default=None, foreign_key="mobile_devices.id", ondelete="SET NULL")
    label: str = Field(max_length=200)
    provider: str = Field(max_length=80)
    blocking_phone: str | None = Field(default=None, max_length=20)
    web: str | None = Field(default=None, max_length=200)
    blocked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    blocked_by: str | None = Field(default=None, max_length=16)  # customer / customer_service


class BlockingEvent(SQLModel, table=True):
    """One step of a case: who (and in which role) did what, and when."""

    __tablename__ = "blocking_events"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="blocking_cases.id", index=True, ondelete="CASCADE")
    at: datetime = created_at_field()
    actor_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    actor_role: str = Field(max_length=20)
    action: str = Field(max_length=32)
    item_label: str | None = Field(default=None, max_length=200)


# --- ID protection ---


class Verdict(StrEnum):
    ME = "me"  # the customer asked for that credit report themselves
    NOT_ME = "not_me"


class IdProtectAlert(SQLModel, table=True):
    """A credit inquiry reported by a credit bureau: who asked about the person, when, and
    at which bureau. Never the report itself. Matched to a customer by personnummer; an
    unmatched alert keeps only a keyed digest and the masked number, for admins."""

    __tablename__ = "idprotect_alerts"
    __table_args__ = (sa.UniqueConstraint("bureau", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    external_id: str = Field(max_length=100)  # the bureau's own event id: ingestion is idempotent on it
    bureau: str = Field(max_length=60)
    requester: str = Field(max_length=120)
    requested_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    personnummer_digest: str = Field(max_length=64, index=True)
    personnummer_masked: str = Field(max_length=16)
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True, ondelete="SET NULL")
    received_at: datetime = created_at_field()
    seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verdict: str | None = Field(default=None, max_length=8)
    verdict_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    help_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    help_done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # customer service helped


def _printable(value: str) -> str:
    """No control characters (NUL breaks PostgreSQL text) and no lone surrogates (UTF-8 can't
    hold them): what a partner's system sends must be storable as it is."""
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise ValueError("control characters are not allowed")
    return value


Printable = Annotated[str, AfterValidator(_printable)]
EARLIEST_INQUIRY = datetime(2000, 1, 1, tzinfo=UTC)
BUREAU_CLOCK_SLACK = timedelta(days=1)


class IdProtectEventIn(SQLModel):
    """A credit inquiry as the bureau integration sends it (API or CSV): the allowlist."""

    model_config = _ALLOWLIST

    id: Printable = Field(min_length=1, max_length=100)
    bureau: Printable = Field(min_length=1, max_length=60)
    requester: Printable = Field(min_length=1, max_length=120)
    requested_at: datetime
    personnummer: str = Field(min_length=10, max_length=20)

    @field_validator("requested_at")
    @classmethod
    def _in_the_past(cls, moment: datetime) -> datetime:
        """An inquiry happened already (a day's slack for the bureau's clock); no zone means UTC."""
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if not EARLIEST_INQUIRY <= moment <= datetime.now(UTC) + BUREAU_CLOCK_SLACK:
            raise ValueError("the inquiry's time must be after 2000 and not in the future")
        return moment


# --- fire protection ---

FIRE_CONTACTS_MAX = 5


class FireContactFields(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    relation: str | None = Field(default=None, max_length=60)
    note: str | None = Field(default=None, max_length=200)


class FireContact(FireContactFields, table=True):
    """Someone the alarm-receiving centre calls when the customer's fire alarm goes off, in
    the customer's order (position 1 first)."""

    __tablename__ = "fire_contacts"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    owner_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    position: int
    phone: str = Field(max_length=20)  # E.164
    created_at: datetime = created_at_field()


class FireContactCreate(FireContactFields):
    """A contact as typed (the phone is normalised by the service)."""

    model_config = _ALLOWLIST

    phone: str = Field(min_length=1, max_length=30)


class FireContactUpdate(FireContactCreate):
    """A change to a contact: the same allowlist."""


class FireContactPublic(SQLModel):
    """What the alarm-receiving centre gets for each contact."""

    position: int
    name: str
    phone: str
    relation: str | None
    note: str | None
