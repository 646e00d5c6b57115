"""Payment cards a customer would block if their wallet is lost: holder, issuer, type and the
last four digits. A full card number is refused wherever it is typed, and never stored."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from stickerreg import tokens
from stickerreg.models import Card, CardCreate, CardUpdate, DirectoryEntry, DirectoryKind, User
from stickerreg.services import audit
from stickerreg.services.linked import directory

# 12 or more digits (in any script), with up to three spaces, dots, slashes or hyphens
# between them: the shape of a card number however it is grouped (PANs are 12 to 19
# digits). Seen anywhere in what is typed, the whole entry is refused.
_CARD_NUMBER = re.compile(r"(?:\d[\s./-]{0,3}){11,}\d")


class CardError(ValueError):
    """A card that can't be stored as given: `full_card_number` or `unknown_issuer`."""


def looks_like_card_number(text: str | None) -> bool:
    """True when `text` holds what looks like a full card number."""
    return bool(text) and _CARD_NUMBER.search(text) is not None


def cards_of(session: Session, owner: User) -> list[tuple[Card, DirectoryEntry | None]]:
    """The owner's cards with their issuers, newest first."""
    rows = session.exec(
        select(Card, DirectoryEntry).join(DirectoryEntry, Card.issuer_id == DirectoryEntry.id, isouter=True)
        .where(Card.owner_id == owner.id).order_by(Card.id.desc())
    )
    return list(rows)


def add_card(session: Session, owner: User, details: CardCreate, *, actor: User) -> Card:
    """Register a card for `owner`."""
    card = Card(public_id=tokens.new_public_id(), owner_id=owner.id, **_columns(session, details))
    session.add(card)
    session.flush()
    audit.record(session, action="card.created", target=card, subject_id=owner.id, actor=actor)
    return card


def update_card(session: Session, card: Card, changes: CardUpdate, *, actor: User) -> Card:
    """Change a card's details."""
    audit.apply_changes(session, card, _columns(session, changes), action="card.updated", subject_id=card.owner_id,
                        actor=actor)
    return card


def delete_card(session: Session, card: Card, *, actor: User) -> None:
    """Forget a card (blocking cases keep their own copy of what they listed)."""
    audit.record(session, action="card.deleted", target=card, subject_id=card.owner_id, actor=actor)
    session.delete(card)


def _columns(session: Session, details: CardCreate) -> dict:
    if looks_like_card_number(details.holder_name):
        raise CardError("full_card_number")
    issuer = directory.find(session, DirectoryKind.CARD_ISSUER, details.issuer)
    if issuer is None:
        raise CardError("unknown_issuer")
    return {"holder_name": details.holder_name, "issuer_id": issuer.id, "card_type": details.card_type.value,
            "last_four": details.last_four}
