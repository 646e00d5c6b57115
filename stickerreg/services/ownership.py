"""Which objects belong to whom: the one place that answers it, for every owned model; and
the one guarded lookup by public id that staff areas and scoped lookups use."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, select

from stickerreg import tokens
from stickerreg.models import (
    BlockingCase,
    Card,
    Conversation,
    FireContact,
    HandedInItem,
    IdProtectAlert,
    MobileDevice,
    Sticker,
    User,
)

# Each owned model is looked up by its public key (never a sequential id) and its owner.
_OWNED: dict[type, Callable[[str, User], object]] = {
    Sticker: lambda key, owner: select(Sticker).where(Sticker.code == key, Sticker.owner_id == owner.id),
    Conversation: lambda key, owner: (
        select(Conversation)
        .join(Sticker, Conversation.sticker_id == Sticker.id)
        .where(Conversation.public_id == key, Sticker.owner_id == owner.id)
    ),
    HandedInItem: lambda key, owner: (
        select(HandedInItem)
        .join(Sticker, HandedInItem.sticker_id == Sticker.id)
        .where(HandedInItem.public_id == key, Sticker.owner_id == owner.id)
    ),
}
# Linked services belong to their owner directly.
for _model, _column in ((Card, Card.owner_id), (MobileDevice, MobileDevice.owner_id),
                        (BlockingCase, BlockingCase.owner_id), (FireContact, FireContact.owner_id),
                        (IdProtectAlert, IdProtectAlert.user_id)):
    _OWNED[_model] = lambda key, owner, model=_model, column=_column: (
        select(model).where(model.public_id == key, column == owner.id)
    )


def by_public_id(session: Session, model: type, public_id: str, *scope):
    """The `model` row with this public id that meets the `scope` conditions, or None. Text
    that can't be a public id never reaches a query (PostgreSQL refuses a NUL byte outright)."""
    if not tokens.is_public_id(public_id):
        return None
    return session.exec(select(model).where(model.public_id == public_id, *scope)).first()


def owned(session: Session, model: type, key: str, owner: User):
    """The `model` row with public key `key` if `owner` owns it, else None."""
    if not tokens.is_public_id(key):
        return None
    return session.exec(_OWNED[model](key, owner)).first()
