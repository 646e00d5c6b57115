"""The masked relay: conversations, private links, held messages, closing and abuse."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from stickerreg.models import ConversationStatus, OutboxKind, OutboxMessage, RelayLink, User
from stickerreg.services import relay, stickers
from stickerreg.services.relay import ConversationClosed, FinderDetails
from stickerreg.tokens import hash_token


def open_for(session, sticker, *, email=None, body="Hittade din plånbok"):
    conversation, token = relay.open_conversation(
        session, sticker=sticker, body=body, details=FinderDetails(email=email)
    )
    session.commit()
    return conversation, token


def outbox_kinds(session):
    return [row.kind for row in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_the_token_opens_its_conversation_and_only_its_hash_is_stored(session, sticker_factory):
    conversation, token = open_for(session, sticker_factory())
    assert relay.find_by_token(session, token).id == conversation.id
    stored = session.exec(select(RelayLink.token_hash)).all()
    assert stored == [hash_token(token)] and token not in stored
    assert relay.find_by_token(session, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert relay.find_by_token(session, "") is None


def test_every_link_issued_opens_the_same_conversation(session, sticker_factory):
    conversation, first = open_for(session, sticker_factory())
    second = relay.issue_link(session, conversation)
    assert first != second
    assert relay.find_by_token(session, first).id == relay.find_by_token(session, second).id


def test_owner_replies_notify_the_finder_only_if_they_left_an_address(session, sticker_factory):
    silent, _ = open_for(session, sticker_factory())
    reachable, _ = open_for(session, sticker_factory(), email="finder@example.org")
    relay.add_owner_reply(session, silent, "Tack!")
    relay.add_owner_reply(session, reachable, "Tack!")
    session.commit()
    assert outbox_kinds(session) == [OutboxKind.FINDER_MESSAGE, OutboxKind.FINDER_MESSAGE, OutboxKind.FINDER_RECEIPT,
                                     OutboxKind.OWNER_REPLY]


def test_held_messages_are_delivered_when_the_sticker_is_claimed(session, sticker_factory, user_factory):
    sticker = sticker_factory(activated=False)
    conversation, _ = open_for(session, sticker)
    relay.add_finder_message(session, conversation, "Hallå igen")
    session.commit()
    assert conversation.status == ConversationStatus.HELD and outbox_kinds(session) == []

    stickers.activate_for(session, sticker, user_factory())
    assert relay.release_held(session, sticker) == 1
    session.commit()
    assert conversation.status == ConversationStatus.OPEN
    [row] = session.exec(select(OutboxMessage)).all()
    assert row.payload["conversation_id"] == conversation.id


def test_owner_cannot_reply_to_a_held_or_undeliverable_conversation(session, sticker_factory):
    held, _ = open_for(session, sticker_factory(activated=False))
    nowhere, _ = open_for(session, None)
    for conversation in (held, nowhere):
        with pytest.raises(ConversationClosed):
            relay.add_owner_reply(session, conversation, "?")


@pytest.mark.parametrize("close", [relay.mark_returned, relay.report_abuse])
def test_a_closed_conversation_refuses_both_sides(session, sticker_factory, close):
    conversation, token = open_for(session, sticker_factory())
    close(session, conversation)
    session.commit()
    with pytest.raises(ConversationClosed):
        relay.add_finder_message(session, conversation, "more")
    with pytest.raises(ConversationClosed):
        relay.add_owner_reply(session, conversation, "more")
    assert relay.find_by_token(session, token).status in (ConversationStatus.CLOSED, ConversationStatus.BLOCKED)


def test_unread_counts_follow_the_owner_reading(session, sticker_factory):
    conversation, _ = open_for(session, sticker_factory())
    relay.add_finder_message(session, conversation, "en till")
    assert relay.unread_for_owner(session, conversation) == 2
    relay.mark_read_by_owner(session, conversation)
    assert relay.unread_for_owner(session, conversation) == 0
    relay.add_owner_reply(session, conversation, "svar")
    assert relay.unread_for_owner(session, conversation) == 0


def test_the_inbox_shows_the_owners_visible_conversations_newest_activity_first(session, sticker_factory, user_factory):
    owner = user_factory()
    keys, wallet = sticker_factory(owner=owner, label="Nycklar"), sticker_factory(owner=owner, label="Plånbok")
    older, _ = open_for(session, keys, body="Först")
    newer, _ = open_for(session, wallet, body="Sedan")
    returned, _ = open_for(session, keys, body="Tillbaka")
    relay.mark_returned(session, returned)
    open_for(session, sticker_factory(activated=False))  # held: not the owner's yet
    open_for(session, None)  # undeliverable
    open_for(session, sticker_factory(owner=user_factory()))  # someone else's
    relay.add_finder_message(session, older, "  Hallå\n  igen  ")  # activity moves it to the top
    session.commit()

    entries = relay.inbox(session, owner)
    assert [e.conversation.id for e in entries] == [older.id, returned.id, newer.id]
    assert [e.label for e in entries] == ["Nycklar", "Nycklar", "Plånbok"]
    assert [e.excerpt for e in entries] == ["Hallå igen", "Tillbaka", "Sedan"]
    assert [e.unread for e in entries] == [2, 1, 1]
    assert entries[1].conversation.status == ConversationStatus.CLOSED
    assert relay.unread_total(session, owner) == 4


def test_the_inbox_counts_only_unread_finder_messages_and_shortens_long_ones(session, sticker_factory):
    sticker = sticker_factory()
    conversation, _ = open_for(session, sticker, body="x" * 500)
    relay.mark_read_by_owner(session, conversation)
    relay.add_owner_reply(session, conversation, "Tack! " * 40)
    session.commit()
    [entry] = relay.inbox(session, session.get(User, sticker.owner_id))
    assert entry.unread == 0 and entry.last_sender == "owner"
    assert len(entry.excerpt) == relay.EXCERPT_LENGTH and entry.excerpt.endswith("…")
    assert relay.unread_total(session, session.get(User, sticker.owner_id)) == 0


def test_the_inbox_is_one_query_however_many_conversations(session, sticker_factory, user_factory):
    owner = user_factory()
    for _ in range(5):
        conversation, _ = open_for(session, sticker_factory(owner=owner))
        relay.add_finder_message(session, conversation, "igen")
    session.commit()
    session.expire_all()
    session.refresh(owner)  # loading the owner is the caller's business, not the inbox's
    statements = []
    engine = session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        entries = relay.inbox(session, owner)
        labels = [e.conversation.public_id and e.label for e in entries]
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert len(entries) == 5 and all(labels) and len(statements) == 1
    assert [e.unread for e in entries] == [2] * 5


def test_a_blocked_conversation_is_not_reopened_as_returned(session, sticker_factory):
    conversation, _ = open_for(session, sticker_factory())
    relay.report_abuse(session, conversation)
    with pytest.raises(ConversationClosed):
        relay.mark_returned(session, conversation)
    assert conversation.status == ConversationStatus.BLOCKED
    assert not relay.is_visible_to_owner(open_for(session, None)[0])
