"""The kiosk's camera for real: Chromium's fake camera films a printed sticker's QR code
(a .y4m video made from the very QR the print shop prints), the kiosk at a paired desk
reads it with jsQR and opens the hand-in form for that sticker; at pickup it films the
QR of the owner's pickup code, as their account page shows it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select
from y4m import qr_frame

from stickerreg import codes, qr
from stickerreg.models import Desk, DeskCreate, HandedInItem, HandedInItemCreate, HandedInStatus
from stickerreg.services import desks, handed_in

PRINTED_BASE = "HTTPS://STICKERREG.SE"  # printed stickers carry the public address, upper-item


@pytest.fixture
def desk(session) -> Desk:
    desk = desks.create_desk(session, DeskCreate(name="Hittegods Centralen", address="Centralplan 15",
                                     opening_hours="8-20"))
    session.commit()
    return desk


def paired_kiosk(camera: Browser, live_server, session, desk: Desk) -> Page:
    """The camera browser, paired with the desk through its link, on the scan screen in English."""
    _, token = desks.start_pairing(session, desk=desk, name="Tablet")
    session.commit()
    page = camera.new_context(base_url=live_server.base_url, viewport={"width": 1280, "height": 800}).new_page()
    # Debian's Chromium has no BarcodeDetector; removing it anyway proves jsQR did the reading.
    page.add_init_script("delete window.BarcodeDetector;")
    page.goto(f"/kiosk/pair/{token}?lang=en")
    page.get_by_role("button", name="Pair this screen").click()
    expect(page.get_by_role("heading", name="Hand in a found item")).to_be_visible()
    return page


def test_the_kiosk_reads_a_sticker_with_the_camera(live_server, session, desk, sticker_factory, camera_browser):
    sticker = sticker_factory(label="Nycklar")
    camera = camera_browser(qr_frame(qr.sticker_url(PRINTED_BASE, sticker.code)))
    page = paired_kiosk(camera, live_server, session, desk)

    page.get_by_role("button", name="Scan with the camera").click()

    heading = f"Handing in an item with sticker {codes.display(sticker.code)}"
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=20_000)
    assert page.evaluate("'BarcodeDetector' in window") is False
    assert page.url.endswith("/kiosk/")  # the screen was swapped in, not navigated to
    # The camera is off once the screen changed: no live video track is left.
    assert page.evaluate("document.querySelectorAll('video').length") == 0


def test_the_kiosk_reads_the_owners_pickup_code_with_the_camera(live_server, session, desk, camera_browser):
    # An item already waiting at the desk (handed in at its other screen).
    other_screen, token = desks.start_pairing(session, desk=desk, name="Counter")
    desks.complete_pairing(session, token)
    key = live_server.app.config["SECRET_KEY"].encode()
    details = HandedInItemCreate(category="keys", description="Blue key ring", storage_place="Shelf B3")
    item = handed_in.hand_in(session, device=other_screen, sticker_code=None, details=details, key=key)
    session.commit()
    code = handed_in.pickup_code(item.public_id, key=key)
    # The owner holds up their phone: the account page's QR is the code's 8 digits.
    page = paired_kiosk(camera_browser(qr_frame(code)), live_server, session, desk)

    page.get_by_role("button", name="Hand an item back (staff)").click()
    page.get_by_label("Handed over by (your name or initials)").fill("KL")
    page.get_by_role("button", name="Scan the code with the camera").click()

    expect(page.get_by_role("heading", name="Code accepted: hand the item over")).to_be_visible(timeout=20_000)
    expect(page.get_by_text("Fetch it from")).to_have_text("Fetch it from Shelf B3")
    session.expire_all()
    collected = session.exec(select(HandedInItem)).one()
    assert (collected.status, collected.collected_by) == (HandedInStatus.COLLECTED, "KL")


def test_without_a_camera_the_kiosk_says_so(live_server, session, desk, new_phone):
    _, token = desks.start_pairing(session, desk=desk, name="PC")
    session.commit()
    page = new_phone(viewport={"width": 1280, "height": 800}, is_mobile=False).new_page()
    page.goto(f"/kiosk/pair/{token}?lang=en")
    page.get_by_role("button", name="Pair this screen").click()
    page.get_by_role("button", name="Scan with the camera").click()
    # No fake device here: the headless browser has no camera at all.
    expect(page.get_by_text("No camera was found", exact=False)
           .or_(page.get_by_text("The camera may not be used", exact=False))).to_be_visible()
    expect(page.get_by_label("Sticker ID or scanned link")).to_be_focused()
