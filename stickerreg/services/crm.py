"""Customer service: find a customer, see their record, keep notes.

Staff see what they need to help, and every look is on the record: opening a customer's
page writes an audit entry with the reason staff gave. A finder conversation's words are
shown only when the customer asked customer service for help with it; otherwise staff see
that it exists and its state, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_
from sqlmodel import Session, func, select

from stickerreg import codes, tokens
from stickerreg.models import (
    BlockingCase,
    Card,
    Conversation,
    CustomerNote,
    DirectoryEntry,
    FireContact,
    Message,
    MobileDevice,
    Sticker,
    User,
    utcnow,
)
from stickerreg.services import accounts, audit, handed_in, relay
from stickerreg.services.linked import blocking, cards, devices, fire

SEARCH_LIMIT = 50
NOTE_MAX = 2000


@dataclass(frozen=True)
class CustomerConversation:
    """A conversation on the customer's page: its messages only if help was asked for."""

    conversation: Conversation
    label: str | None
    messages: list[Message] | None  # None: the customer has not asked for help with it


@dataclass(frozen=True)
class CustomerRecord:
    """Everything customer service may see about one customer."""

    customer: User
    stickers: list[Sticker]
    cards: list[tuple[Card, DirectoryEntry | None]]
    devices: list[tuple[MobileDevice, DirectoryEntry | None]]
    blocking_cases: list[BlockingCase]
    fire_contacts: list[FireContact]
    handed_in: list[handed_in.OwnerItem]
    conversations: list[CustomerConversation]
    notes: list[tuple[CustomerNote, str | None]]  # the note and its author's name or email


class NoteError(ValueError):
    """A note that can't be kept: empty or too long."""


def search(session: Session, query: str) -> list[User]:
    """Customers matching what staff typed, in any format: a customer number, a sticker's ID,
    an email address, a phone number, or part of a name or email address."""
    query = " ".join(query.split())[:200]
    if len(query) < 2:
        return []
    conditions = [User.display_name.icontains(query, autoescape=True), User.email.icontains(query, autoescape=True)]
    if number := accounts.normalize_customer_number(query):
        conditions.append(User.customer_number == number)
    if phone := _phone_or_none(query):
        conditions.append(User.phone == phone)
    if (code := codes.normalize(query)) and (sticker := session.exec(select(Sticker).where(Sticker.code == code)).first()):
        conditions.append(User.id == sticker.owner_id)
    statement = select(User).where(or_(*conditions)).order_by(User.display_name, User.email).limit(SEARCH_LIMIT)
    return list(session.exec(statement))


def _phone_or_none(text: str) -> str | None:
    if sum(character.isdigit() for character in text) < 6:
        return None
    return accounts.normalize_phone(text)


# Why staff may open a record: a fixed list, because the audit log is append-only and
# outlives an erasure, so it must never hold free text that could name or number a person.
REASONS = ("customer_called", "customer_wrote", "blocking_case", "credit_inquiry", "handed_in_item",
           "privacy_request", "complaint")


def open_record(session: Session, customer: User, *, staff: User, reason: str) -> CustomerRecord:
    """The customer's record, and an audit entry saying who opened it and why (one of REASONS)."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    audit.record(session, action="customer.viewed", target=customer, subject_id=customer.id, actor=staff,
                 reason=reason)
    return record_of(session, customer)


def record_of(session: Session, customer: User) -> CustomerRecord:
    return CustomerRecord(
        customer=customer,
        stickers=list(session.exec(select(Sticker).where(Sticker.owner_id == customer.id).order_by(Sticker.id))),
        cards=cards.cards_of(session, customer),
        devices=devices.devices_of(session, customer),
        blocking_cases=blocking.cases_of(session, customer),
        fire_contacts=fire.contacts_of(session, customer),
        handed_in=handed_in.items_for_owner(session, customer),
        conversations=_conversations(session, customer),
        notes=notes(session, customer),
    )


def _conversations(session: Session, customer: User) -> list[CustomerConversation]:
    rows = session.exec(
        select(Conversation, Sticker.label)
        .join(Sticker, Conversation.sticker_id == Sticker.id)
        .where(Sticker.owner_id == customer.id)
        .order_by(Conversation.updated_at.desc())
    )
    return [
        CustomerConversation(conversation, label,
                             relay.messages(session, conversation) if conversation.help_requested_at else None)
        for conversation, label in rows
    ]


def ask_for_help(session: Session, conversation: Conversation, *, customer: User) -> None:
    """The customer lets customer service read this conversation."""
    if conversation.help_requested_at is None:
        conversation.help_requested_at = utcnow()
        session.add(conversation)
        audit.record(session, action="conversation.help_requested", target=conversation, subject_id=customer.id,
                     actor=customer)


def withdraw_help(session: Session, conversation: Conversation, *, customer: User) -> None:
    """The customer closes the conversation to customer service again."""
    if conversation.help_requested_at is not None:
        conversation.help_requested_at = None
        session.add(conversation)
        audit.record(session, action="conversation.help_withdrawn", target=conversation, subject_id=customer.id,
                     actor=customer)


def add_note(session: Session, customer: User, *, author: User, body: str) -> CustomerNote:
    body = body.strip()
    if not body:
        raise NoteError("empty")
    if len(body) > NOTE_MAX:
        raise NoteError("too_long")
    note = CustomerNote(public_id=tokens.new_public_id(), customer_id=customer.id, author_id=author.id, body=body)
    session.add(note)
    session.flush()
    audit.record(session, action="customer_note.created", target=note, subject_id=customer.id, actor=author)
    return note


def notes(session: Session, customer: User) -> list[tuple[CustomerNote, str | None]]:
    """The customer's notes, newest first, with who wrote each (None: an erased account)."""
    author_name = func.coalesce(func.nullif(User.display_name, ""), User.email)
    rows = session.exec(
        select(CustomerNote, author_name)
        .outerjoin(User, CustomerNote.author_id == User.id)
        .where(CustomerNote.customer_id == customer.id)
        .order_by(CustomerNote.created_at.desc(), CustomerNote.id.desc())
    )
    return list(rows)
