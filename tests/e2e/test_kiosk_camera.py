"""The kiosk's camera for real: Chromium's fake camera films a printed sticker's QR code
(a .y4m video made from the very QR the print shop prints), the kiosk at a paired desk
reads it with jsQR and opens the hand-in form for that sticker."""

from __future__ import annotations

from playwright.sync_api import expect
from y4m import qr_frame

from stickerreg import codes, qr
from stickerreg.services import kiosk

PRINTED_BASE = "HTTPS://STICKERREG.SE"  # printed stickers carry the public address, upper-case


def test_the_kiosk_reads_a_sticker_with_the_camera(live_server, session, sticker_factory, camera_browser):
    desk = kiosk.create_location(session, name="Hittegods Centralen", address="Centralplan 15",
                                 opening_hours="8-20")
    _, token = kiosk.start_pairing(session, location=desk, name="Tablet")
    session.commit()
    sticker = sticker_factory(label="Nycklar")
    camera = camera_browser(qr_frame(qr.sticker_url(PRINTED_BASE, sticker.code)))
    page = camera.new_context(base_url=live_server.base_url, viewport={"width": 1280, "height": 800}).new_page()
    # Debian's Chromium has no BarcodeDetector; removing it anyway proves jsQR did the reading.
    page.add_init_script("delete window.BarcodeDetector;")
    page.goto(f"/kiosk/pair/{token}?lang=en")
    page.get_by_role("button", name="Pair this screen").click()
    expect(page.get_by_role("heading", name="Hand in a found item")).to_be_visible()

    page.get_by_role("button", name="Scan with the camera").click()

    heading = f"Handing in an item with sticker {codes.display(sticker.code)}"
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=20_000)
    assert page.evaluate("'BarcodeDetector' in window") is False
    assert page.url.endswith("/kiosk/")  # the screen was swapped in, not navigated to
    # The camera is off once the screen changed: no live video track is left.
    assert page.evaluate("document.querySelectorAll('video').length") == 0


def test_without_a_camera_the_kiosk_says_so(live_server, session, browser):
    desk = kiosk.create_location(session, name="Desk", address="Street 1", opening_hours="9-17")
    _, token = kiosk.start_pairing(session, location=desk, name="PC")
    session.commit()
    page = browser.new_context(base_url=live_server.base_url).new_page()
    page.goto(f"/kiosk/pair/{token}?lang=en")
    page.get_by_role("button", name="Pair this screen").click()
    page.get_by_role("button", name="Scan with the camera").click()
    # No fake device here: the headless browser has no camera at all.
    expect(page.get_by_text("No camera was found", exact=False)
           .or_(page.get_by_text("The camera may not be used", exact=False))).to_be_visible()
    expect(page.get_by_label("Sticker ID or scanned link")).to_be_focused()
