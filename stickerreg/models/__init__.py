"""SQLModel tables: users, stickers, the relay, the outbox and the print shop here;
the lost-and-found desks in `models/kiosk.py` (re-exported below).

Times are stored as UTC. Enumerations are stored as short strings (not database enum
types) so later migrations can add states without altering a type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as naive UTC and hands them back aware (SQLite has no zones)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def _created() -> datetime:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class StickerStatus(StrEnum):
    UNCLAIMED = "unclaimed"  # minted, waiting for a customer to claim its set
    ACTIVE = "active"
    DEACTIVATED = "deactivated"  # owner reported it lost or destroyed
    VOIDED = "voided"  # misprint; can never be claimed


class ConversationStatus(StrEnum):
    OPEN = "open"
    HELD = "held"  # sticker not active yet: kept, delivered when claimed
    UNDELIVERABLE = "undeliverable"  # no such sticker; the finder is not told
    CLOSED = "closed"  # item returned
    BLOCKED = "blocked"  # owner reported abuse


class Sender(StrEnum):
    FINDER = "finder"
    OWNER = "owner"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # gave up after repeated failures
    CANCELLED = "cancelled"  # nothing left to send (recipient or conversation gone)


class Role(StrEnum):
    CUSTOMER = "customer"
    PRINTSHOP = "printshop"
    ADMIN = "admin"


class ItemCategory(StrEnum):
    KEYS = "keys"
    PHONE = "phone"
    WALLET = "wallet"
    BAG = "bag"
    LAPTOP = "laptop"
    PET = "pet"
    OTHER = "other"


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"
    CHANGE_EMAIL = "change_email"


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)  # stored lower-case
    password_hash: str | None = Field(default=None, max_length=255)
    email_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    role: str = Field(default=Role.CUSTOMER.value, max_length=16)
    display_name: str = Field(default="", max_length=100)
    locale: str = Field(default="sv", max_length=5)
    phone: str | None = Field(default=None, max_length=20)  # E.164
    street: str | None = Field(default=None, max_length=120)
    postal_code: str | None = Field(default=None, max_length=10)
    city: str | None = Field(default=None, max_length=60)
    # A keyed digest finds the account at BankID login; only a masked form is shown.
    personnummer_digest: str | None = Field(default=None, max_length=64, unique=True)
    personnummer_masked: str | None = Field(default=None, max_length=16)
    # Set only when BankID proved the number; a typed number never signs anyone in.
    personnummer_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notify_by_email: bool = Field(default=True)
    created_at: datetime = _created()


class LoginSession(SQLModel, table=True):
    """One signed-in browser. Deleting the row signs it out, wherever its cookie is."""

    __tablename__ = "login_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    method: str = Field(default="password", max_length=16)
    created_at: datetime = _created()


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
    created_at: datetime = _created()


class BatchStatus(StrEnum):
    DRAFT = "draft"
    MINTED = "minted"
    EXPORTED = "exported"
    PRINTED = "printed"
    SHIPPED = "shipped"
    VOIDED = "voided"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Batch(SQLModel, table=True):
    """A print run: `count` stickers in sets of `set_size`, laid out for one label stock."""

    __tablename__ = "batches"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    product: str = Field(max_length=80)
    count: int
    set_size: int
    layout: str = Field(max_length=40)
    status: str = Field(default=BatchStatus.DRAFT.value, max_length=16)
    reprint_of_id: int | None = Field(default=None, foreign_key="batches.id", ondelete="SET NULL")
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = _created()


class BatchEvent(SQLModel, table=True):
    """One change of a batch's state: who and when."""

    __tablename__ = "batch_events"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batches.id", index=True, ondelete="CASCADE")
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    actor_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    note: str | None = Field(default=None, max_length=200)
    at: datetime = _created()


class ExportJob(SQLModel, table=True):
    """A background export of a batch (pdf, cards, csv, svg) with its progress."""

    __tablename__ = "export_jobs"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    batch_id: int = Field(foreign_key="batches.id", index=True, ondelete="CASCADE")
    format: str = Field(max_length=8)
    status: str = Field(default=JobStatus.QUEUED.value, max_length=16, index=True)
    done: int = 0
    total: int = 0
    path: str | None = Field(default=None, max_length=500)
    error: str | None = Field(default=None, max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = _created()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StickerSet(SQLModel, table=True):
    """A pack of stickers sold together, claimed with the activation code on its card."""

    __tablename__ = "sticker_sets"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int | None = Field(default=None, foreign_key="batches.id", index=True, ondelete="SET NULL")
    activation_hash: str = Field(max_length=64)
    # Kept only while the backing cards may still be printed; purged when the batch is printed.
    activation_plain: str | None = Field(default=None, max_length=16)
    owner_id: int | None = Field(default=None, foreign_key="users.id", index=True, ondelete="SET NULL")
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created()


class Sticker(SQLModel, table=True):
    __tablename__ = "stickers"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=12, unique=True, index=True)
    status: str = Field(default=StickerStatus.UNCLAIMED.value, max_length=16, index=True)
    owner_id: int | None = Field(
        default=None, foreign_key="users.id", index=True, ondelete="SET NULL"
    )
    set_id: int | None = Field(default=None, foreign_key="sticker_sets.id", index=True, ondelete="SET NULL")
    label: str = Field(default="", max_length=80)
    category: str = Field(default=ItemCategory.OTHER.value, max_length=16)
    lost_mode: bool = Field(default=False)
    scan_alerts: bool = Field(default=True)
    last_scan_alert_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reward_text: str | None = Field(default=None, max_length=200)
    public_note: str | None = Field(default=None, max_length=500)
    created_at: datetime = _created()
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Conversation(SQLModel, table=True):
    """A finder's report and the masked relay thread that follows it."""

    __tablename__ = "conversations"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)  # owner-side URLs
    sticker_id: int | None = Field(
        default=None, foreign_key="stickers.id", index=True, ondelete="SET NULL"
    )
    status: str = Field(default=ConversationStatus.OPEN.value, max_length=16, index=True)
    # Used only to notify the finder of replies; never shown to the owner.
    finder_email: str | None = Field(default=None, max_length=254)
    finder_locale: str = Field(default="sv", max_length=5)
    found_where: str | None = Field(default=None, max_length=200)
    latitude: float | None = None
    longitude: float | None = None
    created_at: datetime = _created()
    updated_at: datetime = _created()


class RelayLink(SQLModel, table=True):
    """A finder's private link to a conversation; only the token's hash is stored.

    The first link is shown on screen; every reply notification mails a fresh one, so
    the plain token never has to be kept anywhere.
    """

    __tablename__ = "relay_links"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = _created()


class Message(SQLModel, table=True):
    __tablename__ = "messages"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True, ondelete="CASCADE")
    sender: str = Field(max_length=8)
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = _created()
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """An email waiting to be sent, written in the same transaction as its cause."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    # References only (row ids); the email is composed at send time in the reader's language.
    payload: dict = Field(default_factory=dict, sa_type=sa.JSON)
    status: str = Field(default=OutboxStatus.PENDING.value, max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = _created()
    last_error: str | None = Field(default=None, max_length=500)
    email_message_id: str = Field(max_length=255, unique=True)
    created_at: datetime = _created()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# Imported last: the kiosk tables build on the helpers above.
from stickerreg.models.kiosk import (  # noqa: E402, F401
    FoundCase,
    FoundCasePhoto,
    FoundCaseStatus,
    KioskDevice,
    KioskLocation,
)
