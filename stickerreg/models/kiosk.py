"""Lost-and-found desks: their locations, the paired kiosk devices, and found-item cases."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stickerreg.models import UTCDateTime, _created


class KioskLocation(SQLModel, table=True):
    """A lost-and-found desk (a station, a shop, a school) where items are handed in."""

    __tablename__ = "kiosk_locations"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    name: str = Field(max_length=100, unique=True)
    address: str = Field(max_length=200)
    opening_hours: str = Field(max_length=500)
    # Cases older than this are listed for the desk as not collected.
    hold_days: int = Field(default=30)
    # When set (argon2), the staff screens (pickup, the desk's list) ask for this PIN, so a
    # finder alone at the kiosk can't browse what the desk holds.
    staff_pin_hash: str | None = Field(default=None, max_length=255)
    created_at: datetime = _created()


class KioskDevice(SQLModel, table=True):
    """A browser paired with a desk. Only hashes are stored: of the one-time pairing token
    (until it is used or expires) and of the long-lived device cookie."""

    __tablename__ = "kiosk_devices"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    location_id: int = Field(foreign_key="kiosk_locations.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=60)
    pairing_hash: str | None = Field(default=None, max_length=64, unique=True)
    pairing_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    paired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = _created()


class FoundCaseStatus(StrEnum):
    WAITING = "waiting"  # at the desk, waiting for its owner
    COLLECTED = "collected"


class FoundCase(SQLModel, table=True):
    """An item handed in at a desk, with or without a sticker.

    The owner is whoever owns the sticker (looked up through it, like conversations).
    The pickup code is never stored: it is derived from `public_id` with the app's key.
    """

    __tablename__ = "found_cases"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)  # owner-side URLs
    reference: str = Field(max_length=12, unique=True, index=True)  # on the finder's receipt
    location_id: int = Field(foreign_key="kiosk_locations.id", index=True)
    sticker_id: int | None = Field(default=None, foreign_key="stickers.id", index=True, ondelete="SET NULL")
    status: str = Field(default=FoundCaseStatus.WAITING.value, max_length=16, index=True)
    category: str = Field(max_length=16)
    description: str = Field(max_length=200)
    storage_place: str = Field(max_length=60)
    # Given only with the finder's consent; shown to the owner only if the finder agrees.
    finder_name: str | None = Field(default=None, max_length=100)
    finder_contact: str | None = Field(default=None, max_length=120)
    finder_shares_contact: bool = Field(default=False)
    handed_in_device_id: int | None = Field(default=None, foreign_key="kiosk_devices.id", ondelete="SET NULL")
    created_at: datetime = _created()
    owner_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    collected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    collected_device_id: int | None = Field(default=None, foreign_key="kiosk_devices.id", ondelete="SET NULL")
    collected_by: str | None = Field(default=None, max_length=60)  # the staff member's name or initials


class FoundCasePhoto(SQLModel, table=True):
    """An optional photo of a handed-in item, re-encoded (no metadata) and kept apart from
    the case so listing cases never loads image bytes."""

    __tablename__ = "found_case_photos"

    case_id: int = Field(foreign_key="found_cases.id", primary_key=True, ondelete="CASCADE")
    content_type: str = Field(default="image/jpeg", max_length=32)
    data: bytes = Field(sa_type=sa.LargeBinary)
