"""The masked relay: finder and owner talk through a conversation, never seeing each
other's address. The finder holds a private link (token, stored hashed); the owner
reaches the conversation through their account."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import aliased
from sqlmodel import Session, func, select

from stickerreg import tokens
from stickerreg.models import (
    Conversation,
    ConversationStatus,
    Message,
    OutboxKind,
    RelayLink,
    Sender,
    Sticker,
    User,
    utcnow,
)
from stickerreg.services import outbox, stickers

# Held and undeliverable conversations are not the owner's (yet): they never see them.
OWNER_VISIBLE = (ConversationStatus.OPEN, ConversationStatus.CLOSED, ConversationStatus.BLOCKED)
EXCERPT_LENGTH = 120


@dataclass(frozen=True)
class FinderDetails:
    """What a finder may tell besides the message itself (all optional)."""

    email: str | None = None
    found_where: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    locale: str = "sv"


class ConversationClosed(Exception):
    """The conversation no longer takes messages from this side."""


def open_conversation(
    session: Session, *, sticker: Sticker | None, body: str, details: FinderDetails
) -> tuple[Conversation, str]:
    """Start a conversation with the finder's first message; returns it and the finder's token.
    Everything is built before the first INSERT, then written with as few flushes as the ids
    allow (the conversation's for the message and link, the message's for the owner's
    notification): on SQLite the first INSERT takes the write lock until the commit."""
    token = tokens.new_token()
    conversation = Conversation(
        public_id=tokens.new_public_id(),
        sticker_id=sticker.id if sticker else None,
        status=_initial_status(sticker).value,
        finder_email=details.email,
        finder_locale=details.locale,
        found_where=details.found_where,
        latitude=details.latitude,
        longitude=details.longitude,
    )
    message = Message(sender=Sender.FINDER.value, body=body)
    conversation.updated_at = message.created_at
    session.add(conversation)
    session.flush()
    message.conversation_id = conversation.id
    session.add_all([message, RelayLink(conversation_id=conversation.id, token_hash=tokens.hash_token(token))])
    session.flush()
    # The notifications are written by the caller's commit, in this same transaction.
    _notify(session, conversation, message, flush=False)
    if details.email:
        # The finder's copy of the private link, for every code alike (the receipt says
        # nothing about whether the sticker has an owner), so a lost tab loses nothing.
        outbox.enqueue(session, kind=OutboxKind.FINDER_RECEIPT, payload={"conversation_id": conversation.id},
                       flush=False)
    return conversation, token


def _initial_status(sticker: Sticker | None) -> ConversationStatus:
    if sticker is None:
        return ConversationStatus.UNDELIVERABLE
    return ConversationStatus.OPEN if stickers.is_active(sticker) else ConversationStatus.HELD


def issue_link(session: Session, conversation: Conversation) -> str:
    """A new private link token for the finder; only its hash is stored."""
    token = tokens.new_token()
    session.add(RelayLink(conversation_id=conversation.id, token_hash=tokens.hash_token(token)))
    session.flush()
    return token


def find_by_token(session: Session, token: str) -> Conversation | None:
    """The conversation a finder's link opens, or None for an unknown token."""
    if not token or len(token) > 64:
        return None
    statement = (
        select(Conversation)
        .join(RelayLink, RelayLink.conversation_id == Conversation.id)
        .where(RelayLink.token_hash == tokens.hash_token(token))
    )
    return session.exec(statement).first()


def messages(session: Session, conversation: Conversation) -> list[Message]:
    """The conversation's messages, oldest first."""
    statement = (
        select(Message)
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.created_at, Message.id)
    )
    return list(session.exec(statement))


def add_finder_message(session: Session, conversation: Conversation, body: str) -> Message:
    """The finder writes again; the owner is notified if the conversation is deliverable."""
    if conversation.status in (ConversationStatus.CLOSED, ConversationStatus.BLOCKED):
        raise ConversationClosed(conversation.status)
    return _add_message(session, conversation, Sender.FINDER, body)


def add_owner_reply(session: Session, conversation: Conversation, body: str) -> Message:
    """The owner answers; the finder is mailed a fresh link if they left an address."""
    if conversation.status != ConversationStatus.OPEN:
        raise ConversationClosed(conversation.status)
    return _add_message(session, conversation, Sender.OWNER, body)


def _add_message(session: Session, conversation: Conversation, sender: Sender, body: str) -> Message:
    message = Message(conversation_id=conversation.id, sender=sender.value, body=body)
    conversation.updated_at = message.created_at
    session.add_all([message, conversation])
    session.flush()
    _notify(session, conversation, message)
    return message


def _notify(session: Session, conversation: Conversation, message: Message, *, flush: bool = True) -> None:
    # Same transaction as the message itself, so an accepted message is never lost.
    if conversation.status != ConversationStatus.OPEN:
        return  # held until the sticker is claimed, or nobody to tell
    if message.sender == Sender.FINDER:
        outbox.enqueue(session, kind=OutboxKind.FINDER_MESSAGE, payload=_payload(conversation, message), flush=flush)
    elif conversation.finder_email:
        outbox.enqueue(session, kind=OutboxKind.OWNER_REPLY, payload=_payload(conversation, message), flush=flush)


def _payload(conversation: Conversation, message: Message) -> dict:
    return {"conversation_id": conversation.id, "message_id": message.id}


def release_held(session: Session, sticker: Sticker) -> int:
    """Deliver what finders wrote while the sticker was not active; returns how many."""
    held = session.exec(
        select(Conversation).where(
            Conversation.sticker_id == sticker.id,
            Conversation.status == ConversationStatus.HELD,
        )
    ).all()
    for conversation in held:
        conversation.status = ConversationStatus.OPEN.value
        session.add(conversation)
        finder_messages = [m for m in messages(session, conversation) if m.sender == Sender.FINDER]
        outbox.enqueue(session, kind=OutboxKind.FINDER_MESSAGE, payload=_payload(conversation, finder_messages[-1]))
    session.flush()
    return len(held)


def mark_returned(session: Session, conversation: Conversation) -> None:
    """The owner got the item back: the conversation and the finder's links close."""
    if conversation.status != ConversationStatus.OPEN:
        raise ConversationClosed(conversation.status)  # a blocked one stays blocked
    _close(session, conversation, ConversationStatus.CLOSED)
    if conversation.finder_email:  # a thank-you, so the finder isn't left wondering
        outbox.enqueue(session, kind=OutboxKind.ITEM_RETURNED, payload={"conversation_id": conversation.id})


def report_abuse(session: Session, conversation: Conversation) -> None:
    """The owner reports abuse: no further messages are accepted from this conversation."""
    _close(session, conversation, ConversationStatus.BLOCKED)


def _close(session: Session, conversation: Conversation, status: ConversationStatus) -> None:
    conversation.status = status.value
    conversation.updated_at = utcnow()
    session.add(conversation)
    session.flush()


def unread_for_owner(session: Session, conversation: Conversation) -> int:
    """How many finder messages the owner has not read."""
    return sum(1 for m in messages(session, conversation) if m.sender == Sender.FINDER and not m.read_at)


def mark_read_by_owner(session: Session, conversation: Conversation) -> None:
    """The owner opened the conversation: finder messages count as read."""
    now = utcnow()
    for message in messages(session, conversation):
        if message.sender == Sender.FINDER and message.read_at is None:
            message.read_at = now
            session.add(message)
    session.flush()


@dataclass(frozen=True)
class InboxEntry:
    """One line of the owner's inbox: the conversation and its latest message, shortened."""

    conversation: Conversation
    label: str
    last_sender: str | None
    excerpt: str
    unread: int


def is_visible_to_owner(conversation: Conversation) -> bool:
    """Whether the owner may see this conversation at all (not held, not undeliverable)."""
    return conversation.status in OWNER_VISIBLE


def inbox(session: Session, owner: User) -> list[InboxEntry]:
    """The owner's conversations, newest activity first, with unread counts, in one query."""
    last = aliased(Message)
    last_id = (
        select(func.max(Message.id)).where(Message.conversation_id == Conversation.id)
        .correlate(Conversation).scalar_subquery()
    )
    statement = (
        select(Conversation, Sticker.label, last.sender, func.substr(last.body, 1, EXCERPT_LENGTH + 1),
               _unread_count())
        .join(Sticker, Conversation.sticker_id == Sticker.id)
        .outerjoin(last, last.id == last_id)
        .where(Sticker.owner_id == owner.id, Conversation.status.in_(_visible_values()))
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    )
    return [
        InboxEntry(conversation, label, sender, _excerpt(body or ""), unread)
        for conversation, label, sender, body, unread in session.exec(statement)
    ]


def unread_total(session: Session, owner: User) -> int:
    """Finder messages the owner has not read, over all their visible conversations."""
    statement = (
        select(func.count(Message.id))
        .join(Conversation, Message.conversation_id == Conversation.id)
        .join(Sticker, Conversation.sticker_id == Sticker.id)
        .where(Sticker.owner_id == owner.id, Conversation.status.in_(_visible_values()),
               Message.sender == Sender.FINDER.value, Message.read_at.is_(None))
    )
    return session.exec(statement).one()


def _unread_count():
    return (
        select(func.count(Message.id))
        .where(Message.conversation_id == Conversation.id, Message.sender == Sender.FINDER.value,
               Message.read_at.is_(None))
        .correlate(Conversation).scalar_subquery()
    )


def _visible_values() -> list[str]:
    return [status.value for status in OWNER_VISIBLE]


def _excerpt(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1].rstrip() + "…"
