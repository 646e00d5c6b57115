"""The finder's path on a phone: scan the sticker, write to the owner, read the reply.

The pages are Swedish by default; the tests check that, then choose English with the
site's own language link so every label and text they look for is deterministic (the
Swedish catalogs are compiled at install time and may be missing in a checkout).
"""

from __future__ import annotations

import re

from helpers import body_text, choose_english, everything_in
from playwright.sync_api import Page, expect
from sqlmodel import func, select

from stickerreg import codes
from stickerreg.models import Conversation
from stickerreg.services import relay

OWNER_EMAIL = "agnes.agare@example.se"
FINDER_EMAIL = "finn.hittare@example.org"
MESSAGE = "Hej! Jag hittade dina nycklar vid busshållplatsen. De ligger i receptionen på biblioteket."
FOUND_WHERE = "Busshållplatsen Stora torget"
FOLLOW_UP = "Receptionen stänger 18, hämta dem gärna före det."
OWNER_REPLY = "Tack så jättemycket! Jag hämtar dem i eftermiddag."


def messages_in(page: Page):
    """The items of the conversation's message list."""
    return page.get_by_role("list", name="Messages").get_by_role("listitem")


def fill_message_form(page: Page, *, message: str, found_where: str = "", email: str = "") -> None:
    page.get_by_label("Your message to the owner").fill(message)
    page.get_by_label("Your email, to hear back").fill(email)
    if found_where:  # folded away under the send button's way, opened by the finder who wants it
        more = page.locator("details.more-details")
        if more.get_attribute("open") is None:
            more.get_by_text("Add where you found it").click()
        page.get_by_label("Where did you find it?").fill(found_where)


def test_finder_reaches_the_owner_through_the_relay_and_hears_back(
    phone, live_server, user_factory, sticker_factory, session, smtp_server, drain_outbox, screenshot
):
    owner = user_factory(email=OWNER_EMAIL)
    code = sticker_factory(owner=owner, label="Cykelnycklar").code
    base = live_server.base_url

    # The QR code holds the upper-case URL (compact in QR alphanumeric mode): served as is.
    arrival = phone.goto(f"/S/{code}")
    assert arrival.status == 200
    expect(phone).to_have_url(f"{base}/S/{code}")
    expect(phone.locator("html")).to_have_attribute("lang", "sv")
    expect(phone.get_by_role("heading", level=1)).to_be_visible()
    expect(phone.get_by_text(codes.display(code))).to_be_visible()
    screenshot(phone, "sticker")

    choose_english(phone)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Contact the owner")
    fill_message_form(phone, message=MESSAGE, found_where=FOUND_WHERE, email=FINDER_EMAIL)
    # Location is opt-in: offered beside "where" (JavaScript is on) but never pre-selected.
    expect(phone.get_by_role("switch", name="Share my approximate location")).not_to_be_checked()
    phone.get_by_role("button", name="Send to the owner").click()

    # htmx swaps the form for the confirmation, which holds the private link.
    confirmation = phone.get_by_role("heading", name="Your message has been sent")
    sent = phone.get_by_role("status").filter(has=confirmation)
    expect(sent).to_be_visible()
    expect(phone.get_by_label("Your message to the owner")).to_have_count(0)
    link = sent.get_by_role("button", name="Open the conversation")
    expect(link).to_have_attribute("href", re.compile(rf"^{re.escape(base)}/c/[A-Za-z0-9_-]+$"))
    private_url = link.get_attribute("href")
    expect(sent.locator("#private-link")).to_have_text(private_url)  # selectable text, too
    expect(sent).to_contain_text(f"We are also emailing the link to {FINDER_EMAIL}.")
    # The private link is also put in the address bar (a reload keeps it), and focus
    # moves to the confirmation so screen readers announce it.
    expect(phone).to_have_url(private_url)
    expect(confirmation).to_be_focused()
    screenshot(phone, "confirmation")

    # The worker mails the owner: the finder's words, never the finder's address; and the
    # finder their receipt: a link of its own to the same conversation.
    assert drain_outbox().sent == 2
    first = {email["To"]: email for email in smtp_server.wait_for(2)}
    assert sorted(first) == sorted([OWNER_EMAIL, FINDER_EMAIL])
    assert sorted(envelope[1] for envelope in smtp_server.envelopes) == sorted([[OWNER_EMAIL], [FINDER_EMAIL]])
    to_owner, receipt = first[OWNER_EMAIL], first[FINDER_EMAIL]
    [receipt_url] = re.findall(rf"{re.escape(base)}/c/[A-Za-z0-9_-]+", body_text(receipt))
    assert receipt_url != private_url and MESSAGE not in body_text(receipt)
    assert "Cykelnycklar" in to_owner["Subject"]
    assert MESSAGE in body_text(to_owner)
    assert FOUND_WHERE in body_text(to_owner)
    assert FINDER_EMAIL not in everything_in(to_owner)

    # The private link shows the conversation, and the finder can write again there.
    phone.goto(private_url)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your conversation with the owner")
    expect(messages_in(phone)).to_have_count(1)
    expect(messages_in(phone).first).to_contain_text(MESSAGE)
    expect(phone.get_by_text("No reply yet")).to_be_visible()
    phone.get_by_label("Your reply").fill(FOLLOW_UP)
    phone.get_by_role("button", name="Send", exact=True).click()
    expect(messages_in(phone)).to_have_count(2)
    expect(messages_in(phone).last).to_contain_text(FOLLOW_UP)
    screenshot(phone, "conversation")

    # The owner answers through the relay; the finder is mailed a fresh private link.
    conversation = relay.find_by_token(session, private_url.rsplit("/", 1)[1])
    relay.add_owner_reply(session, conversation, OWNER_REPLY)
    session.commit()
    assert drain_outbox().sent == 2  # the follow-up to the owner, the reply to the finder
    smtp_server.wait_for(4)
    by_recipient = {email["To"]: email for email in smtp_server.messages[2:]}
    assert sorted(by_recipient) == sorted([OWNER_EMAIL, FINDER_EMAIL])
    assert FOLLOW_UP in body_text(by_recipient[OWNER_EMAIL])
    assert FINDER_EMAIL not in everything_in(by_recipient[OWNER_EMAIL])
    to_finder = by_recipient[FINDER_EMAIL]
    assert OWNER_REPLY in body_text(to_finder)
    assert OWNER_EMAIL not in everything_in(to_finder)
    [fresh_url] = re.findall(rf"{re.escape(base)}/c/[A-Za-z0-9_-]+", body_text(to_finder))
    assert fresh_url != private_url

    phone.goto(receipt_url)  # the receipt's link opens the same conversation
    expect(messages_in(phone)).to_have_count(3)
    phone.goto(fresh_url)
    expect(messages_in(phone)).to_have_count(3)
    owner_says = messages_in(phone).filter(has_text=OWNER_REPLY)
    expect(owner_says).to_contain_text("The owner")
    expect(phone.get_by_text("No reply yet")).to_have_count(0)


def test_the_id_as_typed_from_the_sticker_leads_to_its_canonical_page(
    phone, live_server, sticker_factory
):
    code = sticker_factory().code
    typed = codes.display(code).lower()  # as printed under the QR code, typed on a phone
    canonical = f"{live_server.base_url}/s/{code}"

    arrival = phone.goto(f"/s/{typed}")
    assert arrival.request.redirected_from.response().status == 301
    expect(phone).to_have_url(canonical)
    expect(phone.get_by_role("heading", level=1)).to_be_visible()

    phone.goto("/?lang=en")
    phone.get_by_label("Sticker ID").fill(typed)
    phone.get_by_role("button", name="Continue").click()
    expect(phone).to_have_url(canonical)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Contact the owner")


def test_a_finder_without_javascript_lands_on_the_conversation(new_phone, sticker_factory):
    code = sticker_factory().code
    page = new_phone(java_script_enabled=False).new_page()
    page.goto(f"/s/{code}")
    choose_english(page)
    # Without JavaScript there is no location to share, so the offer stays hidden.
    expect(page.get_by_role("switch", name="Share my approximate location")).to_be_hidden()
    fill_message_form(page, message=MESSAGE, found_where=FOUND_WHERE)

    site = re.match(r"https?://[^/]+", page.url).group(0)
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Send to the owner").click()
    assert posted.value.status == 303
    # What the form is checked by instead of a token (web/crossorigin.py): the browser's word
    # that it comes from this site, and this site's Origin (not "null"), an old browser's only proof.
    sent = posted.value.request.all_headers()
    assert (sent["sec-fetch-site"], sent["origin"]) == ("same-origin", site)
    expect(page).to_have_url(re.compile(r"/c/[A-Za-z0-9_-]+$"))
    expect(page.get_by_role("status")).to_have_text("Your message has been sent.")
    expect(messages_in(page)).to_have_count(1)
    expect(messages_in(page).first).to_contain_text(MESSAGE)


def test_an_empty_message_is_pointed_out_without_losing_what_was_typed(
    phone, sticker_factory, session, screenshot
):
    code = sticker_factory().code
    phone.goto(f"/s/{code}")
    choose_english(phone)
    fill_message_form(phone, message="   ", found_where=FOUND_WHERE, email=FINDER_EMAIL)

    with phone.expect_response(lambda response: response.request.method == "POST") as posted:
        phone.get_by_role("button", name="Send to the owner").click()
    assert posted.value.status == 422
    message = phone.get_by_label("Your message to the owner")
    expect(message).to_have_attribute("aria-invalid", "true")
    expect(message).to_have_accessible_description("Write a short message.")
    expect(phone.get_by_role("alert")).to_have_text("Please check the highlighted fields.")
    expect(phone.get_by_label("Where did you find it?")).to_have_value(FOUND_WHERE)
    expect(phone.get_by_label("Your email, to hear back")).to_have_value(FINDER_EMAIL)
    screenshot(phone, "error")
    assert session.exec(select(func.count()).select_from(Conversation)).one() == 0

    # The swapped-in form is live (htmx, sent from our own page): fixing the message sends it.
    message.fill(MESSAGE)
    phone.get_by_role("button", name="Send to the owner").click()
    expect(phone.get_by_role("heading", name="Your message has been sent")).to_be_visible()


def test_a_finder_sees_what_this_is_and_reaches_send_without_scrolling_on_a_phone(
    phone, sticker_factory, screenshot
):
    """390 × 844, in Swedish (the default): the trust line and its link are in the first screen,
    and so is the send button, for an ordinary sticker and for one in lost mode with a note."""
    ordinary = sticker_factory().code
    lost = sticker_factory(lost_mode=True, reward_text="200 kr", public_note="Tack för att du hör av dig! Nyckelringen är blå.").code
    for code in (ordinary, lost):
        phone.goto(f"/s/{code}")
        expect(phone.locator("html")).to_have_attribute("lang", "sv")
        height = phone.viewport_size["height"]
        for what in (phone.locator(".trust a[href='/about']"), phone.locator("#message-form button[type=submit]")):
            box = what.bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= height, (code, box)
    screenshot(phone, "lost-mode-first-screen")


def test_the_copy_button_puts_the_private_link_on_the_clipboard(new_phone, sticker_factory):
    context = new_phone()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"/s/{sticker_factory().code}")
    choose_english(page)
    fill_message_form(page, message=MESSAGE)
    page.get_by_role("button", name="Send to the owner").click()
    copy = page.get_by_role("button", name="Copy the link")
    expect(copy).to_be_visible()
    expect(page.get_by_text("Keep the link: it is the only way to read the reply.")).to_be_visible()
    copy.click()
    expect(page.get_by_text("Link copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("#private-link").inner_text()
    assert page.locator("#private-link").inner_text() == page.url  # the link is this page

