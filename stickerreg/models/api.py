"""API keys for partner integrations (a credit bureau, an alarm-receiving centre): each key has
one scope, is shown once when made and stored only as a hash."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from stickerreg.models.base import UTCDateTime, created_at_field


class ApiScope(StrEnum):
    IDPROTECT = "idprotect"  # POST /api/v1/idprotect/events
    FIRE = "fire"  # GET /api/v1/fire/contacts


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    name: str = Field(max_length=80)
    scope: str = Field(max_length=16)
    prefix: str = Field(max_length=12)  # the key's first characters, to tell keys apart in lists
    key_hash: str = Field(max_length=64, unique=True, index=True)
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
