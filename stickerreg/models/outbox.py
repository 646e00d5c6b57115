"""The transactional outbox: emails written with their cause, sent by a worker."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stickerreg.models.base import UTCDateTime, created_at_field


class OutboxKind(StrEnum):
    """Every kind of email the outbox sends; ``stickerreg.emails`` has a builder for each."""

    FINDER_MESSAGE = "finder_message"  # a finder wrote to the owner
    FINDER_RECEIPT = "finder_receipt"  # the finder's own copy of their private link
    OWNER_REPLY = "owner_reply"  # the owner answered; the finder gets a fresh private link
    ITEM_RETURNED = "item_returned"  # the owner has the item back: thank the finder
    SCAN_ALERT = "scan_alert"  # someone opened a lost sticker's page
    HANDED_IN = "handed_in"  # an item with the owner's sticker was handed in at a desk
    VERIFY_EMAIL = "verify_email"
    ALREADY_REGISTERED = "already_registered"  # sign-up with an address that has an account
    RESET_PASSWORD = "reset_password"
    CHANGE_EMAIL = "change_email"  # the link to the new address
    EMAIL_CHANGED = "email_changed_notice"  # the notice to the old address
    BLOCKING_CASE = "blocking_case"  # a blocking case opened or changed
    IDPROTECT_ALERT = "idprotect_alert"  # someone asked a credit bureau about the customer


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # gave up after repeated failures
    CANCELLED = "cancelled"  # nothing left to send (recipient or conversation gone)


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
    next_attempt_at: datetime = created_at_field()
    last_error: str | None = Field(default=None, max_length=500)
    email_message_id: str = Field(max_length=255, unique=True)
    created_at: datetime = created_at_field()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A worker's claim on a pending row, taken by one conditional UPDATE so that no two workers
    # send it. A worker that dies mid-send leaves its claim to run out; the row is then sent
    # again by whoever claims it next, with the same Message-ID (at least once, never lost).
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
