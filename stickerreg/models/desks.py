"""Lost-and-found desks, the kiosk screens paired with them, and the items handed in there."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import ConfigDict, field_validator
from sqlmodel import Field, SQLModel

from stickerreg.models.base import UTCDateTime, created_at_field
from stickerreg.models.stickers import ItemCategory


class DeskFields(SQLModel):
    """A desk as owners read it in their notice: where it is and when it is open."""

    name: str = Field(min_length=1, max_length=100, unique=True)
    address: str = Field(min_length=1, max_length=200)
    opening_hours: str = Field(min_length=1, max_length=500)
    # Items older than this are listed for the desk as not collected.
    hold_days: int = Field(default=30, ge=1, le=365)


class Desk(DeskFields, table=True):
    """A lost-and-found desk (a station, a shop, a school) where items are handed in."""

    __tablename__ = "desks"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    # When set (argon2), the staff screens (pickup, the desk's list) ask for this PIN, so a
    # finder alone at the kiosk can't browse what the desk holds.
    staff_pin_hash: str | None = Field(default=None, max_length=255)
    created_at: datetime = created_at_field()


class DeskCreate(DeskFields):
    """A new desk, from the admin area or the CLI; surrounding spaces are dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("name", "address", "opening_hours")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("text holds a NUL character")
        return value


class DeskUpdate(DeskCreate):
    """A change to a desk's details: the same allowlist as a new one."""


class KioskDevice(SQLModel, table=True):
    """A browser paired with a desk. Only hashes are stored: of the one-time pairing token
    (until it is used or expires) and of the long-lived device cookie."""

    __tablename__ = "kiosk_devices"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    desk_id: int = Field(foreign_key="desks.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=60)
    pairing_hash: str | None = Field(default=None, max_length=64, unique=True)
    pairing_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    paired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class HandedInStatus(StrEnum):
    WAITING = "waiting"  # at the desk, waiting for its owner
    COLLECTED = "collected"


class HandedInFields(SQLModel):
    """What the desk writes down about an item; finder details only with the finder's consent."""

    category: str = Field(max_length=16)
    description: str = Field(max_length=200)
    storage_place: str = Field(max_length=60)
    # Given only with the finder's consent; shown to the owner only if the finder agrees.
    finder_name: str | None = Field(default=None, max_length=100)
    finder_contact: str | None = Field(default=None, max_length=120)
    finder_shares_contact: bool = Field(default=False)


class HandedInItem(HandedInFields, table=True):
    """An item handed in at a desk, with or without a sticker.

    The owner is whoever owns the sticker (looked up through it, like conversations).
    The pickup code is never stored: it is derived from `public_id` with the app's key.
    """

    __tablename__ = "handed_in_items"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)  # owner-side URLs
    reference: str = Field(max_length=12, unique=True, index=True)  # on the finder's receipt
    desk_id: int = Field(foreign_key="desks.id", index=True)
    sticker_id: int | None = Field(default=None, foreign_key="stickers.id", index=True, ondelete="SET NULL")
    status: str = Field(default=HandedInStatus.WAITING.value, max_length=16, index=True)
    handed_in_device_id: int | None = Field(default=None, foreign_key="kiosk_devices.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    owner_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    collected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    collected_device_id: int | None = Field(default=None, foreign_key="kiosk_devices.id", ondelete="SET NULL")
    collected_by: str | None = Field(default=None, max_length=60)  # the staff member's name or initials


class HandedInItemCreate(HandedInFields):
    """An item as the desk records it at hand-in: the allowlist, nothing else."""

    model_config = ConfigDict(extra="forbid")

    category: ItemCategory = ItemCategory.OTHER


class HandedInPhoto(SQLModel, table=True):
    """An optional photo of a handed-in item, re-encoded (no metadata) and kept apart from
    the item so listing items never loads image bytes."""

    __tablename__ = "handed_in_photos"

    item_id: int = Field(foreign_key="handed_in_items.id", primary_key=True, ondelete="CASCADE")
    content_type: str = Field(default="image/jpeg", max_length=32)
    data: bytes = Field(sa_type=sa.LargeBinary)
