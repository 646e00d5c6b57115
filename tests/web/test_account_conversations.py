"""The owner's side of the relay: inbox, reading, replying, returned and abuse, and the
finder's address never crossing over."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers import BROWSER_UA, PASSWORD, body_text, browser, csrf_token, drain_outbox, link_in, visible
from sqlmodel import func, select

from stickerreg.models import Conversation, ConversationStatus, Message, OutboxMessage, StickerStatus, User
from stickerreg.services import finder, relay
from stickerreg.services.relay import FinderDetails

FINDER_EMAIL = "hemlig.upphittare@example.org"
HTMX = {"HX-Request": "true"}


def report(session, sticker, message="Hittade dina nycklar vid bussen", **details):
    conversation, token = finder.report_found(
        session, code=sticker.code, message=message, details=FinderDetails(**details)
    )
    session.commit()
    return conversation, token


def post(client, url, data=None, *, page=None, headers=None):
    """POST as the browser would, with the CSRF token of the page the form is on."""
    token = csrf_token(client, page or "/account/")
    return client.post(url, data={**(data or {}), "csrf_token": token}, headers=headers)


def message_count(session) -> int:
    return session.exec(select(func.count(Message.id))).one()


@pytest.fixture
def conversation(session, owner, sticker_factory):
    """An open conversation about the owner's keys, from a finder who left an address."""
    sticker = sticker_factory(owner=owner, label="Nycklar")
    found, _token = report(session, sticker, email=FINDER_EMAIL, found_where="Bänken vid Medborgarplatsen",
                           latitude=59.31423, longitude=18.07391)
    return found


def url(conversation, action: str = "") -> str:
    return f"/account/conversations/{conversation.public_id}" + (f"/{action}" if action else "")


# --- inbox -------------------------------------------------------------------


def test_the_inbox_lists_the_owners_conversations_newest_first_with_unread_counts(
    session, owner, owner_client, sticker_factory, user_factory
):
    keys = sticker_factory(owner=owner, label="Nycklar")
    wallet = sticker_factory(owner=owner, label="Plånbok")
    first, _ = report(session, keys, message="Hittade nycklarna")
    report(session, wallet, message="Din plånbok ligger i receptionen")
    relay.add_finder_message(session, first, "Hallå? Jag väntar vid entrén.")
    session.commit()
    report(session, sticker_factory(owner=owner, label="Väska", status=StickerStatus.DEACTIVATED), message="Held")
    report(session, sticker_factory(owner=user_factory(), label="Annans"), message="Someone else's")

    page = owner_client.get("/account/conversations")
    assert page.status_code == 200
    text = visible(page)
    assert text.index("Nycklar") < text.index("Plånbok")  # the newest activity first
    assert "Hallå? Jag väntar vid entrén." in text and "Din plånbok ligger i receptionen" in text
    assert "2 new messages" in text and "1 new message" in text
    assert "Held" not in text and "Annans" not in text and "Someone else's" not in text
    assert page.headers["Cache-Control"] == "no-store"


def test_the_inbox_says_so_when_there_is_nothing_yet(owner_client):
    page = owner_client.get("/account/conversations")
    assert page.status_code == 200 and "No messages yet" in visible(page)


def test_the_account_navigation_shows_the_unread_total(session, owner_client, conversation):
    relay.add_finder_message(session, conversation, "En sak till")
    session.commit()
    page = visible(owner_client.get("/account/"))
    assert "Conversations (2), 2 unread" in page
    owner_client.get(url(conversation))
    dashboard = visible(owner_client.get("/account/"))
    assert "Conversations" in dashboard and "unread" not in dashboard


# --- reading ------------------------------------------------------------------


def test_the_conversation_shows_messages_place_location_and_local_times(session, owner_client, conversation):
    [first] = relay.messages(session, conversation)
    first.created_at = datetime(2025, 7, 1, 10, 5, tzinfo=UTC)  # summer: Stockholm is UTC+2
    session.add(first)
    session.commit()

    page = owner_client.get(url(conversation))
    assert page.status_code == 200
    text, html = visible(page), page.get_data(as_text=True)
    assert "Hittade dina nycklar vid bussen" in text
    assert "Bänken vid Medborgarplatsen" in text
    assert "59.314, 18.074" in text
    assert "https://www.openstreetmap.org/?mlat=59.314&amp;mlon=18.074" in html
    assert "1 Jul 2025 12:05" in text
    assert "New" in text.split("Hittade dina nycklar")[0]  # unread until now
    assert 'name="message"' in html and "Mark as returned" in text


def test_opening_a_conversation_marks_the_finders_messages_read(session, owner_client, conversation):
    assert relay.unread_for_owner(session, conversation) == 1
    owner_client.get(url(conversation))
    session.expire_all()
    assert relay.unread_for_owner(session, conversation) == 0
    again = visible(owner_client.get(url(conversation)))
    assert " New " not in f" {again} "


def test_the_finders_email_address_never_appears_on_the_owners_pages(session, owner_client, conversation):
    relay.add_finder_message(session, conversation, "Skriv till mig")
    session.commit()
    responses = [
        owner_client.get("/account/conversations"),
        owner_client.get(url(conversation)),
        owner_client.get(url(conversation, "abuse")),
        post(owner_client, url(conversation, "reply"), {"message": ""}),  # 422
        post(owner_client, url(conversation, "reply"), {"message": "Tack!"}, headers=HTMX),
    ]
    relay.mark_returned(session, conversation)
    session.commit()
    responses.append(post(owner_client, url(conversation, "reply"), {"message": "Hej"}))  # 409
    assert [r.status_code for r in responses] == [200, 200, 200, 422, 200, 409]
    for response in responses:
        html = response.get_data(as_text=True).lower()
        assert FINDER_EMAIL not in html and "hemlig.upphittare" not in html


# --- replying -----------------------------------------------------------------


def test_the_owner_replies_and_the_finder_is_emailed_without_the_owners_address(
    app, session, owner_client, conversation
):
    response = post(owner_client, url(conversation, "reply"), {"message": "Tack! Jag hämtar dem i kväll."},
                    page=url(conversation))
    assert response.status_code == 303 and response.headers["Location"] == url(conversation)
    assert "Your reply has been sent." in visible(owner_client.get(url(conversation)))
    [reply] = [m for m in relay.messages(session, conversation) if m.sender == "owner"]
    assert reply.body == "Tack! Jag hämtar dem i kväll."

    # The reply, not the finder's receipt of their own message (both go to the finder).
    to_finder = [e for e in drain_outbox(app) if e["To"] == FINDER_EMAIL and "Tack! Jag hämtar" in body_text(e)]
    assert len(to_finder) == 1
    assert "Tack! Jag hämtar dem i kväll." in body_text(to_finder[0])
    assert "owner@example.se" not in to_finder[0].as_string()
    finder_page = app.test_client().get(link_in(to_finder[0], "/c/"), headers={"User-Agent": BROWSER_UA})
    assert "Tack! Jag hämtar dem i kväll." in finder_page.get_data(as_text=True)


def test_a_reply_through_htmx_gets_the_thread_fragment_back(session, owner_client, conversation):
    response = post(owner_client, url(conversation, "reply"), {"message": "Snabbt svar"}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="conversation-thread"' in html and "Snabbt svar" in html and "Your reply has been sent." in html
    assert "HX-Request" in response.headers["Vary"]
    full = post(owner_client, url(conversation, "reply"), {"message": ""})
    assert full.status_code == 422 and "<html" in full.get_data(as_text=True)
    fragment = post(owner_client, url(conversation, "reply"), {"message": ""}, headers=HTMX)
    assert fragment.status_code == 422 and "<html" not in fragment.get_data(as_text=True)
    assert 'id="message-error"' in fragment.get_data(as_text=True)


@pytest.mark.parametrize(
    "body, error",
    [("", "Write a short message."), ("   \n ", "Write a short message."),
     ("\x00\x01\x07\x1b", "Write a short message."), ("x" * 2001, "at most 2000 characters")],
)
def test_bad_replies_are_refused_with_a_message(session, owner_client, conversation, body, error):
    before = message_count(session)
    response = post(owner_client, url(conversation, "reply"), {"message": body})
    assert response.status_code == 422
    assert error in visible(response) and 'aria-invalid="true"' in response.get_data(as_text=True)
    assert message_count(session) == before


def test_control_characters_are_dropped_from_a_reply(session, owner_client, conversation):
    assert post(owner_client, url(conversation, "reply"), {"message": "Hej\x00 där\x07!"}).status_code == 303
    assert relay.messages(session, conversation)[-1].body == "Hej där!"


@pytest.mark.parametrize("close", [relay.mark_returned, relay.report_abuse])
def test_a_closed_conversation_cannot_be_replied_to(session, owner_client, conversation, close):
    page_before_closing = url(conversation)
    token = csrf_token(owner_client, page_before_closing)  # the form was open when the page loaded
    close(session, conversation)
    session.commit()
    before, outbox_before = message_count(session), session.exec(select(func.count(OutboxMessage.id))).one()
    response = owner_client.post(url(conversation, "reply"), data={"message": "Hallå?", "csrf_token": token})
    assert response.status_code == 409
    assert "Your message was not sent." in visible(response)
    assert 'name="message"' not in response.get_data(as_text=True)
    assert message_count(session) == before
    assert session.exec(select(func.count(OutboxMessage.id))).one() == outbox_before
    page = owner_client.get(page_before_closing)
    assert 'name="message"' not in page.get_data(as_text=True) and "No more messages" in visible(page)


# --- returned and abuse -------------------------------------------------------


def test_marking_the_item_returned_closes_the_conversation_for_the_finder_too(app, session, owner, sticker_factory):
    owner_client = browser(app, email=owner.email)
    sticker = sticker_factory(owner=owner)
    found, token = report(session, sticker)
    response = post(owner_client, url(found, "returned"), page=url(found))
    assert response.status_code == 303
    session.expire_all()
    assert session.get(Conversation, found.id).status == ConversationStatus.CLOSED
    assert "Returned" in visible(owner_client.get("/account/conversations"))

    finder_client = browser(app)
    finder_page = finder_client.get(f"/c/{token}")
    assert "This conversation is closed" in visible(finder_page)
    finder_token = csrf_token(finder_client, "/auth/login")  # any form's token: the closed page has none
    assert finder_client.post(f"/c/{token}/reply", data={"message": "?", "csrf_token": finder_token}).status_code == 409
    assert post(owner_client, url(found, "returned")).status_code == 409  # once is enough


def test_reporting_abuse_asks_for_confirmation_then_blocks_the_finder(app, session, owner, sticker_factory):
    owner_client = browser(app, email=owner.email)
    sticker = sticker_factory(owner=owner)
    found, token = report(session, sticker)
    confirm_page = owner_client.get(url(found, "abuse"))
    assert confirm_page.status_code == 200 and 'name="confirm"' in confirm_page.get_data(as_text=True)

    unconfirmed = post(owner_client, url(found, "abuse"), {}, page=url(found, "abuse"))
    assert unconfirmed.status_code == 422 and "Tick the box" in visible(unconfirmed)
    session.expire_all()
    assert session.get(Conversation, found.id).status == ConversationStatus.OPEN

    confirmed = post(owner_client, url(found, "abuse"), {"confirm": "y"}, page=url(found, "abuse"))
    assert confirmed.status_code == 303 and confirmed.headers["Location"] == url(found)
    session.expire_all()
    assert session.get(Conversation, found.id).status == ConversationStatus.BLOCKED
    assert "You reported this conversation as abuse" in visible(owner_client.get(url(found)))
    assert owner_client.get(url(found, "abuse")).status_code == 303  # nothing left to confirm
    assert post(owner_client, url(found, "returned")).status_code == 409  # blocked stays blocked

    finder_client = browser(app)
    finder_token = csrf_token(finder_client, "/auth/login")  # any form's token: the closed page has none
    refused = finder_client.post(f"/c/{token}/reply", data={"message": "Svara!", "csrf_token": finder_token})
    assert refused.status_code == 409
    assert [m.body for m in relay.messages(session, found)] == ["Hittade dina nycklar vid bussen"]


# --- who may do what ------------------------------------------------------------


def test_another_customer_gets_404_for_everything_about_the_conversation(
    app, session, user_factory, conversation
):
    user_factory(email="mallory@example.se", password=PASSWORD)
    mallory = browser(app, email="mallory@example.se")
    token = csrf_token(mallory, "/account/")
    before = [m.model_dump() for m in relay.messages(session, conversation)]
    for method, path, data in [
        ("GET", url(conversation), None),
        ("GET", url(conversation, "abuse"), None),
        ("POST", url(conversation, "reply"), {"message": "Hijack"}),
        ("POST", url(conversation, "returned"), {}),
        ("POST", url(conversation, "abuse"), {"confirm": "y"}),
    ]:
        response = mallory.open(path, method=method, data={**data, "csrf_token": token} if data is not None else None)
        assert response.status_code == 404, (method, path)
    session.expire_all()
    assert session.get(Conversation, conversation.id).status == ConversationStatus.OPEN
    assert [m.model_dump() for m in relay.messages(session, conversation)] == before
    assert "Nycklar" not in visible(mallory.get("/account/conversations"))


def test_held_conversations_are_not_the_owners_yet(session, owner, owner_client, sticker_factory):
    held, _ = report(session, sticker_factory(owner=owner, status=StickerStatus.DEACTIVATED))
    assert held.status == ConversationStatus.HELD
    assert owner_client.get(url(held)).status_code == 404
    assert post(owner_client, url(held, "reply"), {"message": "Hej"}).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(app, conversation):
    visitor = browser(app)
    token = csrf_token(visitor, "/auth/login")
    for method, path in [("GET", "/account/conversations"), ("GET", url(conversation)),
                         ("GET", url(conversation, "abuse")), ("POST", url(conversation, "reply")),
                         ("POST", url(conversation, "returned")), ("POST", url(conversation, "abuse"))]:
        response = visitor.open(path, method=method, data={"csrf_token": token, "message": "x", "confirm": "y"})
        assert response.status_code == 302, (method, path)
        assert response.headers["Location"].startswith("/auth/login")


@pytest.mark.parametrize("action, data", [("reply", {"message": "Hej"}), ("returned", {}), ("abuse", {"confirm": "y"})])
def test_posts_without_a_csrf_token_are_refused(session, owner_client, conversation, action, data):
    before = message_count(session)
    assert owner_client.post(url(conversation, action), data=data).status_code == 400
    session.expire_all()
    assert session.get(Conversation, conversation.id).status == ConversationStatus.OPEN
    assert message_count(session) == before


# --- the owner's notification email ---------------------------------------------


def test_the_owners_email_links_to_the_conversation_page(app, session, owner, sticker_factory):
    sticker = sticker_factory(owner=owner, label="Nycklar")
    finder_client = browser(app)
    sent = finder_client.post(f"/s/{sticker.code}/message", data={"message": "Hittade dem", "email": FINDER_EMAIL})
    assert sent.status_code == 303
    [email] = [email for email in drain_outbox(app) if email["To"] != FINDER_EMAIL]  # not the finder's receipt
    assert email["To"] == "owner@example.se"
    assert "Read and reply:" in body_text(email)
    path = link_in(email, "/account/conversations/")
    assert FINDER_EMAIL not in email.as_string()

    visitor = browser(app)
    redirected = visitor.get(path)
    assert redirected.status_code == 302 and "/auth/login" in redirected.headers["Location"]
    login_url = redirected.headers["Location"]
    login_token = csrf_token(visitor, login_url)
    signed_in = visitor.post(login_url, data={"email": owner.email, "password": PASSWORD, "csrf_token": login_token})
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == path
    assert "Hittade dem" in visible(visitor.get(path))


def test_an_owner_who_chose_no_email_is_not_mailed(app, session, owner, conversation):
    # The conversation fixture's notification is already queued; switch off before it is sent.
    user = session.get(User, owner.id)
    user.notify_by_email = False
    session.add(user)
    session.commit()
    assert [e["To"] for e in drain_outbox(app)] == [FINDER_EMAIL]  # only the finder's receipt
