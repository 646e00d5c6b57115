"""Fire protection: the people an alarm-receiving centre calls when the customer's fire alarm
goes off, in the customer's order, at most five. The centre reads the list through the API."""

from __future__ import annotations

from sqlmodel import Session, select

from stickerreg import tokens
from stickerreg.models import (
    FIRE_CONTACTS_MAX,
    ApiKey,
    FireContact,
    FireContactCreate,
    FireContactPublic,
    FireContactUpdate,
    User,
)
from stickerreg.services import accounts, audit


class FireError(ValueError):
    """A contact that can't be stored: too_many or invalid_phone."""


def contacts_of(session: Session, owner: User) -> list[FireContact]:
    """The owner's contacts in calling order."""
    return list(session.exec(select(FireContact).where(FireContact.owner_id == owner.id)
                             .order_by(FireContact.position, FireContact.id)))


def add_contact(session: Session, owner: User, details: FireContactCreate, *, actor: User) -> FireContact:
    """Add a contact last in the order."""
    existing = contacts_of(session, owner)
    if len(existing) >= FIRE_CONTACTS_MAX:
        raise FireError("too_many")
    contact = FireContact(public_id=tokens.new_public_id(), owner_id=owner.id, position=len(existing) + 1,
                          **_columns(details))
    session.add(contact)
    session.flush()
    audit.record(session, action="fire_contact.created", target=contact, subject_id=owner.id, actor=actor)
    return contact


def update_contact(session: Session, contact: FireContact, changes: FireContactUpdate, *, actor: User) -> None:
    audit.apply_changes(session, contact, _columns(changes), action="fire_contact.updated",
                        subject_id=contact.owner_id, actor=actor)


def delete_contact(session: Session, contact: FireContact, *, actor: User) -> None:
    """Remove a contact; those after it move up."""
    owner_id = contact.owner_id
    audit.record(session, action="fire_contact.deleted", target=contact, subject_id=owner_id, actor=actor)
    session.delete(contact)
    session.flush()
    _renumber(session, _contacts_of_id(session, owner_id))


def move(session: Session, contact: FireContact, *, up: bool, actor: User) -> None:
    """Swap the contact with the one before (`up`) or after it; nothing at either end."""
    order = _contacts_of_id(session, contact.owner_id)
    index = next(i for i, other in enumerate(order) if other.id == contact.id)
    neighbour = index - 1 if up else index + 1
    if not 0 <= neighbour < len(order):
        return
    order[index], order[neighbour] = order[neighbour], order[index]
    _renumber(session, order)
    audit.record(session, action="fire_contact.moved", target=contact, subject_id=contact.owner_id, actor=actor,
                 detail={"position": contact.position})


def for_customer(session: Session, customer_number: str, *, reader: ApiKey) -> list[FireContactPublic] | None:
    """The contacts of the customer with this number, in order, for an alarm centre's key
    `reader` (each read is audited); None for no such customer."""
    customer = accounts.find_by_customer_number(session, customer_number)
    if customer is None:
        return None
    audit.record(session, action="fire_contacts.read", target=customer, subject_id=customer.id, role="api",
                 detail={"key": reader.public_id, "key_name": reader.name})
    return [FireContactPublic(position=c.position, name=c.name, phone=c.phone, relation=c.relation, note=c.note)
            for c in contacts_of(session, customer)]


def _contacts_of_id(session: Session, owner_id: int) -> list[FireContact]:
    return list(session.exec(select(FireContact).where(FireContact.owner_id == owner_id)
                             .order_by(FireContact.position, FireContact.id)))


def _renumber(session: Session, order: list[FireContact]) -> None:
    for position, contact in enumerate(order, start=1):
        if contact.position != position:
            contact.position = position
            session.add(contact)
    session.flush()


def _columns(details: FireContactCreate) -> dict:
    phone = accounts.normalize_phone(details.phone)
    if phone is None:
        raise FireError("invalid_phone")
    return {"name": details.name, "phone": phone, "relation": details.relation or None, "note": details.note or None}
