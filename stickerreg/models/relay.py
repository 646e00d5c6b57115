"""The masked relay: a finder's conversation with an owner, its messages and links."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stickerreg.models.base import UTCDateTime, created_at_field


class ConversationStatus(StrEnum):
    OPEN = "open"
    HELD = "held"  # sticker not active yet: kept, delivered when claimed
    UNDELIVERABLE = "undeliverable"  # no such sticker; the finder is not told
    CLOSED = "closed"  # item returned
    BLOCKED = "blocked"  # owner reported abuse


class Sender(StrEnum):
    FINDER = "finder"
    OWNER = "owner"


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
    # The owner asked customer service for help with this conversation: only then may staff
    # read the messages (they see that a conversation exists, never its words, otherwise).
    help_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class RelayLink(SQLModel, table=True):
    """A finder's private link to a conversation; only the token's hash is stored.

    The first link is shown on screen; every reply notification mails a fresh one, so
    the plain token never has to be kept anywhere.
    """

    __tablename__ = "relay_links"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()


class Message(SQLModel, table=True):
    __tablename__ = "messages"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True, ondelete="CASCADE")
    sender: str = Field(max_length=8)
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = created_at_field()
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
