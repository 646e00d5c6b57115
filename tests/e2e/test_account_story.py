"""The owner's path on a phone: sign up, confirm the email, claim a set, name a sticker,
turn on lost mode, then hear from a finder and answer through the relay.

The owner picks English with the site's language link on the first page (the choice is
remembered in a cookie), so every label the test looks for is deterministic; the finder
does the same on the sticker's page.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from helpers import body_text, choose_english, everything_in, link_in
from playwright.sync_api import Locator, Page, expect

from stickerreg import codes
from stickerreg.services import finder, stickers
from stickerreg.services.relay import FinderDetails

OWNER_EMAIL = "agnes.agare@example.se"
PASSWORD = "korvbröd med senap 42"
FINDER_EMAIL = "finn.hittare@example.org"
LABEL = "Cykelnycklar"
REWARD = "200 kr hittelön"
PUBLIC_NOTE = "Nycklarna hänger på en röd karbinhake. Tack för att du hör av dig!"
MESSAGE = "Hej! Jag hittade nycklarna vid cykelstället utanför biblioteket."
FOUND_WHERE = "Cykelstället vid Stadsbiblioteket"
OWNER_REPLY = "Tack! Jag hämtar dem i receptionen före 18."
# Long unbroken text, as pasted from a maps app: it must wrap, not widen the page.
LONG_URL = "https://maps.example.com/place/Stadsbiblioteket,+Odengatan+53/@59.3432,18.0546,17z/data=4m5m4b1"


def account_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Account")


def messages_in(page: Page) -> Locator:
    return page.get_by_role("list", name="Messages").get_by_role("listitem")


def sign_in(page: Page, *, email: str, password: str) -> None:
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My stickers")


def new_emails(smtp_server, drain_outbox, *, seen: int) -> list[EmailMessage]:
    """Run the outbox worker and return what reached the SMTP server since `seen`."""
    sent = drain_outbox().sent
    return smtp_server.wait_for(seen + sent)[seen:]


def sloppy(code: str) -> str:
    """A sticker ID as people type it off the sticker: lower case, odd spaces and dashes."""
    return f" {code[:4].lower()} {code[4:8].lower()}-{code[8:].lower()} "


def assert_no_horizontal_overflow(page: Page, what: str) -> None:
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        # Name the culprits, so a failure says what to fix (a diagnostic, not a locator).
        culprits = page.evaluate(
            """(width) => [...document.querySelectorAll('body *')]
                .filter((el) => el.getBoundingClientRect().right > width + 0.5)
                .slice(0, 8)
                .map((el) => `${el.tagName.toLowerCase()}.${el.className} → ${Math.round(el.getBoundingClientRect().right)}px`)""",
            width,
        )
        raise AssertionError(f"{what}: {scroll_width}px wide in a {width}px viewport; {culprits}")


def test_owner_signs_up_claims_a_set_and_answers_a_finder(
    new_phone, live_server, session, smtp_server, drain_outbox, screenshot
):
    # Arrange: an unclaimed set of three, as printed; the plain activation code exists only now.
    minted = stickers.mint_set(session, size=3)
    session.commit()
    set_codes = [sticker.code for sticker in minted.stickers]
    code = set_codes[1]
    base = live_server.base_url
    owner = new_phone().new_page()

    # Sign up; the answer is the same whether or not the address has an account.
    owner.goto("/auth/signup")
    choose_english(owner)
    expect(owner.get_by_role("heading", level=1)).to_have_text("Create an account")
    owner.get_by_label("Email", exact=True).fill(OWNER_EMAIL)
    owner.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    owner.get_by_label("Repeat the password").fill(PASSWORD)
    owner.get_by_role("button", name="Create account").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Check your email")
    expect(owner.get_by_role("status")).to_contain_text(OWNER_EMAIL)

    [verification] = new_emails(smtp_server, drain_outbox, seen=0)
    assert verification["To"] == OWNER_EMAIL
    assert verification["Subject"] == "Confirm your email address"
    # Opening the link changes nothing (mail scanners follow links): the button confirms.
    owner.goto(link_in(verification, "/auth/verify/"))
    expect(owner.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    owner.get_by_role("button", name="Confirm").click()
    expect(owner).to_have_url(re.compile(r"/auth/login$"))
    expect(owner.get_by_role("status")).to_have_text("Your email address is confirmed. Welcome!")
    sign_in(owner, email=OWNER_EMAIL, password=PASSWORD)
    expect(owner.get_by_text("You have no stickers yet.")).to_be_visible()

    # Claim the set with one sticker's ID and the backing card's code, both typed sloppily.
    account_nav(owner).get_by_role("link", name="Claim a set").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Claim a set")
    owner.get_by_label("Sticker ID").fill(sloppy(set_codes[2]))
    owner.get_by_label("Activation code").fill(stickers.display_activation(minted.activation_code).lower())
    owner.get_by_role("button", name="Claim the set").click()
    expect(owner).to_have_url(f"{base}/account/")
    expect(owner.get_by_role("status")).to_have_text("You claimed 3 stickers. They are active now.")
    rows = owner.get_by_role("list", name="My stickers").get_by_role("listitem")
    expect(rows).to_have_count(3)
    for set_code in set_codes:
        row = rows.filter(has_text=codes.display(set_code))
        expect(row).to_contain_text("Active")
        expect(row).to_contain_text("New")
    screenshot(owner, "dashboard")

    # Name the sticker and say what it is on.
    rows.filter(has_text=codes.display(code)).get_by_role("link", name="Unnamed sticker").click()
    expect(owner).to_have_url(f"{base}/account/stickers/{code}")
    details = owner.get_by_role("region", name="Name and item")
    details.get_by_label("Name", exact=True).fill(LABEL)
    details.get_by_label("Item", exact=True).select_option(label="Keys")
    details.get_by_role("button", name="Save").click()
    expect(details.get_by_role("status")).to_have_text("Saved.")
    head = owner.get_by_role("paragraph").filter(has_text=codes.display(code))  # ID, state, item
    expect(owner.get_by_role("heading", level=1)).to_have_text(LABEL)
    expect(head).to_contain_text("Keys")

    # Lost mode: the preview shows exactly what finders will get, and saves nothing.
    lost = owner.get_by_role("region", name="Lost mode", exact=True)
    lost.get_by_role("switch", name=re.compile(r"^Lost mode")).check()
    lost.get_by_label("Reward (optional)").fill(REWARD)
    lost.get_by_label("Note to the finder (optional)").fill(PUBLIC_NOTE)
    lost.get_by_role("button", name="Preview").click()
    preview = lost.get_by_role("region", name="What a finder sees")
    expect(preview.get_by_role("status")).to_contain_text("Preview of what you typed, not saved yet.")
    note = preview.get_by_role("complementary", name="From the owner")
    expect(note.get_by_text(f"Reward: {REWARD}", exact=True)).to_be_visible()
    expect(note.get_by_text(PUBLIC_NOTE, exact=True)).to_be_visible()
    expect(lost.get_by_label("Reward (optional)")).to_have_value(REWARD)
    expect(head).to_contain_text("Active")
    screenshot(owner, "sticker-preview")
    lost.get_by_role("button", name="Save").click()
    expect(lost.get_by_role("status").filter(has_text="Lost mode is on. Finders now see your note.")).to_be_visible()
    expect(preview.get_by_role("status")).to_have_text("Lost mode is on. Finders who scan the sticker see this now:")
    expect(note.get_by_text(f"Reward: {REWARD}", exact=True)).to_be_visible()
    expect(head).to_contain_text("Lost mode")
    expect(owner.get_by_role("switch", name=re.compile(r"^Email me when someone opens"))).to_be_checked()

    # A finder who never signed in scans the QR code (its URL is upper case).
    finder_page = new_phone().new_page()
    finder_page.goto(f"/S/{code}")
    expect(finder_page.get_by_text(REWARD)).to_be_visible()
    expect(finder_page.get_by_text(PUBLIC_NOTE)).to_be_visible()
    choose_english(finder_page)
    from_owner = finder_page.get_by_role("complementary", name="From the owner")
    expect(from_owner.get_by_text(f"Reward: {REWARD}", exact=True)).to_be_visible()
    expect(from_owner).not_to_contain_text(LABEL)  # the sticker's name is the owner's alone
    finder_page.get_by_label("Your message to the owner").fill(MESSAGE)
    finder_page.get_by_text("Add where you found it").click()  # folded away: it is optional
    finder_page.get_by_label("Where did you find it?").fill(FOUND_WHERE)
    finder_page.get_by_label("Your email, to hear back").fill(FINDER_EMAIL)
    finder_page.get_by_role("button", name="Send to the owner").click()
    sent = finder_page.get_by_role("status").filter(
        has=finder_page.get_by_role("heading", name="Your message has been sent")
    )
    link = sent.get_by_role("button", name="Open the conversation")
    expect(link).to_have_attribute("href", re.compile(rf"^{re.escape(base)}/c/[A-Za-z0-9_-]+$"))
    private_url = link.get_attribute("href")

    # The owner is mailed the message (and, lost mode having alerts on, maybe a scan alert);
    # the finder gets a receipt with a private link of its own.
    first_round = new_emails(smtp_server, drain_outbox, seen=1)
    [receipt] = [email for email in first_round if email["To"] == FINDER_EMAIL]
    assert "/c/" in body_text(receipt) and MESSAGE not in body_text(receipt)
    to_owner = [email for email in first_round if email is not receipt]
    assert {email["To"] for email in to_owner} == {OWNER_EMAIL}
    [found_mail] = [email for email in to_owner if email["Subject"] == f"Someone found your item: {LABEL}"]
    # Besides the message, at most the one scan alert an hour allows (the finder opened the page).
    assert len(to_owner) <= 2
    assert all(
        email["Subject"] == f"Your sticker was scanned: {LABEL}" for email in to_owner if email is not found_mail
    )
    assert MESSAGE in body_text(found_mail)
    assert FOUND_WHERE in body_text(found_mail)
    assert not any(FINDER_EMAIL in everything_in(email) for email in to_owner)
    conversation_path = link_in(found_mail, "/account/conversations/")

    # In the account: the navigation counts the unread message; opening it reads it.
    owner.reload()
    conversations_link = account_nav(owner).get_by_role("link", name=re.compile(r"^Conversations"))
    # Screen readers hear "Conversations, 1 unread"; the eye sees "Conversations (1)".
    expect(conversations_link).to_have_accessible_name(re.compile(r"^Conversations ?, 1 unread$"))
    expect(conversations_link).to_contain_text("(1)")
    conversations_link.click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Conversations")
    entry = owner.get_by_role("link", name=re.compile(LABEL))
    expect(entry).to_contain_text("1 new message")
    assert FINDER_EMAIL not in owner.content().lower()
    entry.click()
    expect(owner).to_have_url(f"{base}{conversation_path}")
    expect(owner.get_by_role("heading", level=1)).to_have_text(f"Found: {LABEL}")
    expect(conversations_link).to_have_accessible_name("Conversations")
    expect(owner.get_by_text(FOUND_WHERE)).to_be_visible()
    expect(messages_in(owner)).to_have_count(1)
    expect(messages_in(owner).first).to_contain_text(MESSAGE)
    expect(messages_in(owner).first).to_contain_text("New")
    assert FINDER_EMAIL not in owner.content().lower()
    owner.get_by_label("Your reply to the finder").fill(OWNER_REPLY)
    owner.get_by_role("button", name="Send reply").click()
    expect(owner.get_by_role("status").filter(has_text="Your reply has been sent.")).to_be_visible()
    expect(messages_in(owner)).to_have_count(2)
    expect(messages_in(owner).last).to_contain_text(OWNER_REPLY)
    expect(owner.get_by_label("Your reply to the finder")).to_have_value("")
    screenshot(owner, "conversation")

    # The finder is mailed a fresh private link, never the owner's address.
    [to_finder] = new_emails(smtp_server, drain_outbox, seen=1 + len(first_round))
    assert to_finder["To"] == FINDER_EMAIL
    assert OWNER_REPLY in body_text(to_finder)
    assert OWNER_EMAIL not in everything_in(to_finder)
    [fresh_url] = re.findall(rf"{re.escape(base)}/c/[A-Za-z0-9_-]+", body_text(to_finder))
    assert fresh_url != private_url
    finder_page.goto(fresh_url)
    expect(messages_in(finder_page)).to_have_count(2)
    expect(messages_in(finder_page).filter(has_text=OWNER_REPLY)).to_contain_text("The owner")
    assert OWNER_EMAIL not in finder_page.content().lower()

    # The keys are back: the owner closes the conversation, and the finder's page says so.
    owner.get_by_role("button", name="Mark as returned").click()
    expect(owner.get_by_role("status").filter(has_text=re.compile(r"^Marked as returned\."))).to_be_visible()
    expect(owner.get_by_text("This conversation is closed: the item is marked as returned.")).to_be_visible()
    expect(owner.get_by_label("Your reply to the finder")).to_have_count(0)
    finder_page.goto(private_url)  # the first link still opens the conversation
    expect(finder_page.get_by_role("status")).to_have_text("This conversation is closed. Thank you for your help!")
    expect(messages_in(finder_page)).to_have_count(2)
    expect(finder_page.get_by_label("Your reply")).to_have_count(0)
    screenshot(finder_page, "finder-closed")


def test_account_pages_fit_a_desktop_and_a_phone_without_sideways_scrolling(
    desktop, phone, user_factory, sticker_factory, session
):
    """Long names and pasted links wrap inside the page at 1280 and at 390 px."""
    owner = user_factory(email="karin.langnamnsdotter-bergqvist@exempel-foretaget.se", password=PASSWORD)
    sticker = sticker_factory(
        owner=owner,
        label="Cykelnycklar till lådcykeln",
        lost_mode=True,
        reward_text=REWARD,
        public_note=f"{PUBLIC_NOTE} {LONG_URL}",
    )
    sticker_factory(owner=owner, label="Plånbok")
    conversation, _token = finder.report_found(
        session,
        code=sticker.code,
        message=f"{MESSAGE} {LONG_URL}",
        details=FinderDetails(email=FINDER_EMAIL, found_where=FOUND_WHERE),
    )
    session.commit()
    pages = {
        "dashboard": ("/account/", "My stickers"),
        "sticker page": (f"/account/stickers/{sticker.code}", sticker.label),
        "conversations": ("/account/conversations", "Conversations"),
        "conversation": (f"/account/conversations/{conversation.public_id}", f"Found: {sticker.label}"),
        "profile": ("/account/profile", "Profile"),
    }

    for page, names in ((desktop, ["dashboard", "sticker page"]), (phone, list(pages))):
        page.goto("/auth/login?lang=en")
        sign_in(page, email=owner.email, password=PASSWORD)
        for name in names:
            path, heading = pages[name]
            page.goto(path)
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
            assert_no_horizontal_overflow(page, f"{name} at {page.viewport_size['width']} px")
