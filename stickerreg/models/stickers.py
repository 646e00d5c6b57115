"""Stickers and the sets they are sold and claimed in."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

from stickerreg.models.base import UTCDateTime, created_at_field


class StickerStatus(StrEnum):
    UNCLAIMED = "unclaimed"  # minted, waiting for a customer to claim its set
    ACTIVE = "active"
    DEACTIVATED = "deactivated"  # owner reported it lost or destroyed
    VOIDED = "voided"  # misprint; can never be claimed


class ItemCategory(StrEnum):
    KEYS = "keys"
    PHONE = "phone"
    WALLET = "wallet"
    BAG = "bag"
    LAPTOP = "laptop"
    PET = "pet"
    OTHER = "other"


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
    created_at: datetime = created_at_field()


class StickerOwnerFields(SQLModel):
    """What the owner chooses about a sticker: columns of the table, and the allowlist
    of StickerUpdate."""

    label: str = Field(default="", max_length=80)
    category: str = Field(default=ItemCategory.OTHER.value, max_length=16)
    lost_mode: bool = Field(default=False)
    scan_alerts: bool = Field(default=True)
    reward_text: str | None = Field(default=None, max_length=200)
    public_note: str | None = Field(default=None, max_length=500)


class Sticker(StickerOwnerFields, table=True):
    __tablename__ = "stickers"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=12, unique=True, index=True)
    status: str = Field(default=StickerStatus.UNCLAIMED.value, max_length=16, index=True)
    owner_id: int | None = Field(
        default=None, foreign_key="users.id", index=True, ondelete="SET NULL"
    )
    set_id: int | None = Field(default=None, foreign_key="sticker_sets.id", index=True, ondelete="SET NULL")
    last_scan_alert_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StickerUpdate(StickerOwnerFields):
    """An owner's change to a sticker. Fields left unset stay as they are; anything outside
    the allowlist (owner, status, code, set) is refused by validation."""

    model_config = ConfigDict(extra="forbid")

    category: ItemCategory = ItemCategory.OTHER


class StickerPublic(SQLModel):
    """What a finder sees of a sticker: the owner's lost-mode texts, and nothing else."""

    reward_text: str | None = None
    public_note: str | None = None
