"""The lost-and-found kiosk on a touchscreen tablet at a desk: a barcode scanner types a
sticker's link, the desk records the item and prints a receipt, the owner reads the pickup
code in their account, and the staff hand the item back against that code.

The kiosk is paired the way a desk pairs it (the one-time link and its button) and picks
English with ?lang=en on the pairing page (the choice is remembered in a cookie), so every
label the tests look for is deterministic. The idle reset always returns to Swedish, so
after it the tests only look at roles and values, never at labels.

The kiosk's controls are tapped, as on the desk's touchscreen: with a mouse, a press on a
link below the fold of the scan screen can be lost (kiosk.js moves the focus back to the
scan field between mousedown and mouseup, which scrolls the page under the pointer).
"""

from __future__ import annotations

import re

import pytest
from helpers import everything_in, link_in
from playwright.sync_api import Locator, Page, expect
from sqlmodel import select

from stickerreg import codes
from stickerreg.models import Desk, DeskCreate, HandedInItem, HandedInItemCreate, KioskDevice
from stickerreg.services import desks, handed_in

DESK = "Hittegods Centralstationen"
ADDRESS = "Centralplan 15, 111 20 Stockholm"
OPENING_HOURS = "Vardagar 8–18, lördagar 10–14"
OWNER_EMAIL = "agnes.agare@example.se"
PASSWORD = "korvbröd med senap 42"
LABEL = "Cykelnycklar"
DESCRIPTION = "Nyckelknippa med röd karbinhake"
STORAGE = "Hylla B3"
FINDER_NAME = "Finn Hittare"
FINDER_CONTACT = "070-123 45 67"
STAFF = "KL"
KEEP_CONSENT = "The finder agrees that we keep their name and contact until the item is collected"
SHARE_CONSENT = "The finder agrees that the owner may see their name and contact"
SCAN_HEADING = "Hand in a found item"
# A 10-inch Android tablet in landscape: the scan screen is taller than the screen.
TABLET = dict(
    viewport={"width": 1280, "height": 800},
    device_scale_factor=1,
    is_mobile=False,
    has_touch=True,
    user_agent=(
        "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
    ),
)


@pytest.fixture
def desk(session) -> Desk:
    desk = desks.create_desk(session, DeskCreate(name=DESK, address=ADDRESS, opening_hours=OPENING_HOURS))
    session.commit()
    return desk


@pytest.fixture
def tablet(new_phone, session, desk, live_server) -> Page:
    """A tablet browser paired with the desk through its one-time link, on the scan screen."""
    page = new_phone(**TABLET).new_page()
    _device, token = desks.start_pairing(session, desk=desk, name="Disk 1")
    session.commit()
    page.goto(f"/kiosk/pair/{token}?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Pair this screen with {DESK}")
    page.get_by_role("button", name="Pair this screen").tap()
    expect(page).to_have_url(f"{live_server.base_url}/kiosk/")
    expect(page.get_by_role("heading", level=1)).to_have_text(SCAN_HEADING)
    [device_cookie] = [cookie for cookie in page.context.cookies() if cookie["name"] == "kiosk_device"]
    assert device_cookie["httpOnly"]
    return page


def scan_input(page: Page) -> Locator:
    return page.get_by_label("Sticker ID or scanned link")


def scripts_ready(page: Page) -> None:
    """kiosk.js un-hides the keypad; htmx, loaded before it, has boosted the screen by then.
    (A scan in the first instant after a page load is a plain GET: a new history entry.)"""
    expect(page.get_by_role("group", name="Keypad")).to_be_visible()


def scan_with_wedge(page: Page, code: str) -> None:
    """A keyboard-wedge barcode scanner: it types the QR's link and Enter into whatever has focus."""
    scripts_ready(page)
    expect(scan_input(page)).to_be_focused()  # nobody touches the field first
    page.keyboard.type(f"https://stickerreg.se/s/{code.lower()}")
    page.keyboard.press("Enter")


def settled(page: Page) -> None:
    """Wait until kiosk.js has set up a swapped-in screen (htmx:load comes after the swap and
    moves the focus to the screen's first field): text typed earlier could land elsewhere."""
    page.wait_for_function("document.activeElement && document.activeElement !== document.body")


def history_length(page: Page) -> int:
    return page.evaluate("history.length")


def hand_in_heading(page: Page, code: str) -> Locator:
    return page.get_by_role("heading", level=1, name=f"Handing in an item with sticker {codes.display(code)}")


def test_a_wedge_scan_opens_the_hand_in_form_the_same_for_any_valid_id(
    tablet: Page, live_server, sticker_factory, screenshot
):
    page = tablet
    registered = sticker_factory(label=LABEL).code
    unknown = codes.generate()
    landed = history_length(page)
    scripts_ready(page)
    expect(page.get_by_role("button", name="Scan with the camera")).to_be_visible()
    screenshot(page, "scan")

    scan_with_wedge(page, registered)
    expect(hand_in_heading(page, registered)).to_be_visible()
    expect(page.get_by_label("Short description")).to_be_focused()
    # htmx swapped the screen in place: no new URL, no history entry for the next visitor.
    expect(page).to_have_url(f"{live_server.base_url}/kiosk/")
    assert history_length(page) == landed
    for_registered = page.get_by_role("main").inner_text()

    page.get_by_role("button", name="Cancel").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(SCAN_HEADING)
    scan_with_wedge(page, unknown)
    expect(hand_in_heading(page, unknown)).to_be_visible()
    assert history_length(page) == landed
    # Whether the sticker is registered is never shown: the screens differ only in the ID.
    for_unknown = page.get_by_role("main").inner_text()
    assert for_registered.replace(codes.display(registered), "<ID>") == for_unknown.replace(
        codes.display(unknown), "<ID>"
    )


def test_an_item_handed_in_at_the_desk_is_collected_with_the_owners_pickup_code(
    tablet: Page, new_phone, live_server, user_factory, sticker_factory, session, smtp_server, drain_outbox,
    screenshot,
):
    page = tablet
    owner = user_factory(email=OWNER_EMAIL, password=PASSWORD, locale="en")
    code = sticker_factory(owner=owner, label=LABEL).code

    # The desk records the item, with the finder's details and consent to share them.
    scan_with_wedge(page, code)
    expect(hand_in_heading(page, code)).to_be_visible()
    expect(page.get_by_label("Short description")).to_be_focused()
    page.get_by_label("What is it?").select_option(label="Keys")
    page.get_by_label("Short description").fill(DESCRIPTION)
    page.get_by_label("Stored at (shelf or bin)").fill(STORAGE)
    page.get_by_label("Finder's name (optional)").fill(FINDER_NAME)
    page.get_by_label("Finder's phone or email (optional, for a reward)").fill(FINDER_CONTACT)
    page.get_by_role("checkbox", name=KEEP_CONSENT).check()
    page.get_by_role("checkbox", name=SHARE_CONSENT).check()
    page.get_by_role("button", name="Hand in the item").tap()

    expect(page.get_by_role("heading", level=1)).to_have_text("Receipt")
    item = session.exec(select(HandedInItem)).one()
    reference = handed_in.display_reference(item.reference)
    expect(page.get_by_text(f"Reference {reference}")).to_be_visible()
    expect(page.get_by_role("img", name=f"QR code of the reference {reference}")).to_be_visible()
    expect(page.get_by_role("button", name="Print the receipt")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(DESCRIPTION)
    expect(page.get_by_role("main")).to_contain_text(ADDRESS)
    screenshot(page, "receipt")
    assert (item.description, item.storage_place, item.category) == (DESCRIPTION, STORAGE, "keys")
    assert (item.finder_name, item.finder_contact, item.finder_shares_contact) == (FINDER_NAME, FINDER_CONTACT, True)
    page.get_by_role("button", name="Done").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(SCAN_HEADING)
    expect(scan_input(page)).to_have_value("")

    # The owner is mailed where and when to collect; the pickup code stays in the account.
    assert drain_outbox().sent == 1
    [notice] = smtp_server.wait_for(1)
    assert notice["To"] == OWNER_EMAIL
    mailed = everything_in(notice)
    for detail in (DESK, ADDRESS, OPENING_HOURS, reference):
        assert detail.lower() in mailed, detail
    pickup = handed_in.pickup_code(item.public_id, key=live_server.app.config["SECRET_KEY"].encode())
    assert pickup not in mailed and handed_in.display_pickup_code(pickup) not in mailed
    item_path = link_in(notice, "/account/handed-in/")
    assert item_path == f"/account/handed-in/{item.public_id}"

    owner_page = new_phone().new_page()
    owner_page.goto("/auth/login?lang=en")
    owner_page.get_by_label("Email", exact=True).fill(OWNER_EMAIL)
    owner_page.get_by_label("Password", exact=True).fill(PASSWORD)
    owner_page.get_by_role("button", name="Sign in", exact=True).click()
    expect(owner_page).to_have_url(re.compile(r"/account/$"))
    owner_page.goto(item_path)
    expect(owner_page.get_by_role("heading", level=1)).to_have_text(f"“{LABEL}” was handed in")
    pickup_region = owner_page.get_by_role("region", name="Pickup code")
    expect(pickup_region).to_contain_text(re.compile(r"\b\d{4} \d{4}\b"))
    shown = re.search(r"\b(\d{4}) (\d{4})\b", pickup_region.inner_text())
    assert shown and shown.group(1) + shown.group(2) == pickup
    expect(owner_page.get_by_role("main")).to_contain_text(OPENING_HOURS)
    expect(owner_page.get_by_role("main")).to_contain_text(f"{FINDER_NAME}, {FINDER_CONTACT}")

    # At the desk: a wrong code is refused, the owner's code hands the item over.
    page.get_by_role("button", name="Hand an item back (staff)").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hand an item back")
    # Staff first: a scanner reading the owner's code ends with Enter, which sends the form.
    expect(page.get_by_label("Handed over by (your name or initials)")).to_be_focused()
    wrong = str((int(pickup) + 1) % 10**8).zfill(8)
    page.get_by_label("Pickup code").fill(wrong)
    page.get_by_label("Handed over by (your name or initials)").fill(STAFF)
    page.get_by_role("button", name="Check the code").tap()
    expect(page.get_by_text("No item waiting at this desk has that pickup code.")).to_be_visible()
    expect(page.get_by_label("Pickup code")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Pickup code")).to_be_focused()  # a second scan lands in the code field
    assert session.exec(select(HandedInItem.status)).one() == "waiting"
    settled(page)

    page.get_by_label("Pickup code").fill(handed_in.display_pickup_code(pickup))  # typed as shown, with the space
    expect(page.get_by_label("Handed over by (your name or initials)")).to_have_value(STAFF)
    page.get_by_role("button", name="Check the code").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Code accepted: hand the item over")
    expect(page.get_by_text("Fetch it from")).to_have_text(f"Fetch it from {STORAGE}")
    expect(page).to_have_url(f"{live_server.base_url}/kiosk/")

    session.expire_all()
    collected = session.exec(select(HandedInItem)).one()
    assert collected.status == "collected"
    assert collected.collected_by == STAFF
    assert collected.collected_at is not None

    owner_page.reload()
    expect(owner_page.get_by_text(re.compile(r"^Collected on "))).to_be_visible()
    expect(owner_page.get_by_role("region", name="Pickup code")).to_have_count(0)


def test_an_idle_kiosk_forgets_the_last_visitor(tablet: Page, live_server, sticker_factory):
    live_server.app.config["KIOSK_IDLE_SECONDS"] = 2  # read per request: the next screen has it
    page = tablet
    page.goto("/kiosk/")
    expect(page.locator("body")).to_have_attribute("data-idle-seconds", "2")
    landed = history_length(page)
    code = sticker_factory().code

    scan_with_wedge(page, code)
    expect(hand_in_heading(page, code)).to_be_visible()
    expect(page.get_by_label("Short description")).to_be_focused()
    page.get_by_label("Short description").press_sequentially(DESCRIPTION[:12])
    page.get_by_label("Stored at (shelf or bin)").press_sequentially(STORAGE)
    assert history_length(page) == landed

    # Two quiet seconds later the next visitor gets a fresh, Swedish scan screen.
    expect(page).to_have_url(re.compile(r"/kiosk/\?lang=sv$"), timeout=8_000)
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_role("textbox")).to_have_count(1)  # the scan field only, whatever its label
    expect(page.get_by_role("textbox")).to_have_value("")
    expect(page.get_by_role("textbox")).to_be_focused()
    expect(page.get_by_text(DESCRIPTION[:12])).to_have_count(0)
    expect(page.get_by_text(codes.display(code))).to_have_count(0)
    # The reset replaced the page: Back cannot bring the previous visitor's form back.
    assert history_length(page) == landed
    # The entry before it is the page before the kiosk's screens: the spent pairing link.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/kiosk/pair/"))
    expect(page.get_by_role("textbox")).to_have_count(0)
    expect(page.get_by_text(DESCRIPTION[:12])).to_have_count(0)


def test_the_keypad_points_out_a_typo_before_the_id_is_sent(tablet: Page):
    page = tablet
    code = codes.generate()
    right = code[-1]
    wrong = codes.ALPHABET[(codes.ALPHABET.index(right) + 1) % len(codes.ALPHABET)]
    keypad = page.get_by_role("group", name="Keypad")
    field = scan_input(page)
    feedback = page.locator("#scan-feedback")  # the form's aria-live line (a paragraph has no name)
    scripts_ready(page)

    for symbol in code[:-1] + wrong:
        keypad.get_by_role("button", name=symbol, exact=True).tap()
    expect(field).to_have_value(code[:-1] + wrong)
    expect(feedback).to_have_text("That ID has a typo. Check each character and try again.")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()  # the keypad keeps the focus in the field for the scanner

    keypad.get_by_role("button", name="Delete the last character").tap()
    expect(feedback).to_have_text("Type 1 more characters.")
    expect(field).not_to_have_attribute("aria-invalid", re.compile(".*"))
    keypad.get_by_role("button", name=codes.check_symbol(code[:-1]), exact=True).tap()
    expect(feedback).to_have_text(f"Sticker {codes.display(code)}")
    expect(field).to_have_attribute("aria-invalid", "false")

    page.get_by_role("button", name="Continue").tap()
    expect(hand_in_heading(page, code)).to_be_visible()


def test_a_slow_mouse_click_below_the_fold_is_not_lost(tablet: Page):
    """A desk PC with a mouse: pressing a staff link moves focus off the scan field, and the
    field taking it back must not scroll the link away before the button is released."""
    page = tablet
    scripts_ready(page)
    for _ in range(3):
        page.get_by_role("button", name="Hand an item back (staff)").click(delay=150)
        expect(page.get_by_role("heading", level=1)).to_have_text("Hand an item back")
        page.get_by_role("button", name="Cancel").click(delay=150)
        expect(page.get_by_role("heading", level=1)).to_have_text(SCAN_HEADING)
        scripts_ready(page)


def test_the_staff_screens_open_with_the_desks_pin_until_the_start_screen(tablet: Page, session, desk,
                                                                          sticker_factory):
    desks.set_staff_pin(session, desk, "2468")
    details = HandedInItemCreate(category="keys", description=DESCRIPTION, storage_place=STORAGE)
    device = session.exec(select(KioskDevice)).one()
    handed_in.hand_in(session, device=device, sticker_code=None, details=details, key=b"test-secret-key")
    session.commit()
    page = tablet
    scripts_ready(page)

    page.get_by_role("button", name="Items at this desk (staff)").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("For the desk's staff")
    expect(page.get_by_text(DESCRIPTION)).to_have_count(0)
    expect(page.get_by_label("Staff PIN")).to_be_focused()
    page.keyboard.type("1111")
    page.keyboard.press("Enter")
    expect(page.get_by_text("That is not this desk's staff PIN.")).to_be_visible()
    settled(page)
    page.keyboard.type("2468")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Items at this desk")
    expect(page.get_by_role("cell", name=DESCRIPTION)).to_be_visible()

    page.get_by_role("button", name="Back").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(SCAN_HEADING)
    scripts_ready(page)
    page.get_by_role("button", name="Items at this desk (staff)").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("For the desk's staff")
