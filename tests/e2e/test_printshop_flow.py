"""The print shop in a desktop browser: sign in, create a small batch, export its sticker
sheets as PDF, watch the progress bar that htmx polls, download the file and open it."""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from stickerreg import worker as background
from stickerreg.models import Batch, Role
from stickerreg.services import accounts
from stickerreg.services.printshop import batches

EMAIL = "tryckeri@example.se"
PASSWORD = "etiketter på rulle 2026"


@pytest.fixture
def print_shop_user(session):
    user = accounts.create_user(session, email=EMAIL, password=PASSWORD, role=Role.PRINTSHOP)
    session.commit()
    return user


@pytest.fixture
def exports_in(live_server, tmp_path):
    """The export folder, and a worker beside the server writing what the page queues (as
    `flask serve` runs one)."""
    live_server.app.config["EXPORT_DIR"] = str(tmp_path / "exports")
    worker = background.build(live_server.app, ("exports",), idle=0.1)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="export-worker", daemon=True)
    thread.start()
    yield tmp_path / "exports"
    stop.set()
    thread.join()


def sign_in(page: Page) -> None:
    page.goto("/auth/login?lang=en")
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/(account|printshop)/$"))  # staff may land in the print shop


def test_print_shop_user_creates_a_batch_and_downloads_its_pdf(desktop: Page, session, print_shop_user, exports_in,
                                                               tmp_path, screenshot):
    page = desktop
    sign_in(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Print shop").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Print shop")

    page.get_by_role("link", name="New batch").first.click()
    page.get_by_label("Number of stickers").fill("42")
    page.get_by_label("Stickers per set").fill("6")
    page.get_by_label("Label stock").select_option("a4-3x7")
    expect(page.get_by_label("Label stock")).to_contain_text("A4 sheet, 3×7 labels, 63.5×38.1 mm")
    expect(page.get_by_label("Language on stickers and cards")).to_have_value("sv")  # Swedish unless asked
    page.get_by_label("Product").fill("Nyckelbricka, blå")
    page.get_by_role("button", name="Create and mint").click()

    batch = session.exec(select(Batch)).one()  # the one batch just minted
    expect(page).to_have_url(re.compile(rf"/printshop/batches/{batch.public_id}$"))
    expect(page.get_by_role("status").first).to_contain_text("42 stickers in 7 sets")
    expect(page.get_by_role("heading", level=1)).to_contain_text(batch.public_id)

    page.get_by_role("button", name="Sticker sheets (PDF)").click()
    progress = page.locator(".export-progress").first  # the fragment htmx swapped in
    expect(progress.get_by_role("progressbar", name="Export progress")).to_be_visible()
    screenshot(page, "export-started")
    download_link = progress.get_by_role("button", name="Download")
    expect(download_link).to_be_visible(timeout=20_000)  # the fragment polled itself to the end
    expect(progress).to_contain_text("42 of 42 stickers")
    screenshot(page, "export-done")

    with page.expect_download() as info:
        download_link.click()
    download = info.value
    assert re.fullmatch(rf"stickerreg-{batch.public_id}-pdf\.pdf", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF")
    try:
        import pymupdf
    except ImportError:
        return
    with pymupdf.open(saved) as document:
        assert document.page_count == 2  # 42 labels, 21 per A4 sheet
        assert document[0].get_text().count("-") >= 21


def test_without_javascript_the_refresh_link_shows_the_finished_export(new_phone, session, print_shop_user,
                                                                       exports_in, live_server):
    batch = batches.create_and_mint(session, count=5, set_size=5, layout="a4-3x7", product="Tag")
    session.commit()
    page = new_phone(java_script_enabled=False, locale="en-GB").new_page()
    sign_in(page)
    page.goto(f"/printshop/batches/{batch.public_id}")
    page.get_by_role("button", name="Manifest (CSV)").click()
    expect(page).to_have_url(re.compile(r"/printshop/exports/[^/]+$"))
    for _ in range(50):
        if page.get_by_role("button", name="Download").count():
            break
        page.get_by_role("link", name="Refresh").click()
        page.wait_for_timeout(200)
    expect(page.get_by_role("button", name="Download")).to_be_visible()


def test_the_batch_page_leads_with_exports_and_keeps_voiding_small_last_and_confirmed(desktop: Page, session,
                                                                                       print_shop_user, screenshot):
    batch = batches.create_and_mint(session, count=6, set_size=3, layout="a4-3x7", product="Tag")
    session.commit()
    page = desktop
    sign_in(page)
    page.goto(f"/printshop/batches/{batch.public_id}")
    next_step = page.get_by_role("region", name="Next step")
    primary = next_step.get_by_role("button")
    expect(primary).to_have_count(1)
    expect(primary).to_have_text("Mark as exported…")
    void = page.get_by_role("button", name="Void the whole batch…")
    screenshot(page, "batch-page")

    tops = [page.get_by_role("heading", name=name, exact=True).bounding_box()["y"]
            for name in ("Exports", "Next step", "Misprints")]
    void_box, primary_box = void.bounding_box(), primary.bounding_box()
    assert tops == sorted(tops) and tops[1] < primary_box["y"] < tops[2] < void_box["y"]
    assert page.get_by_role("heading", name="History").bounding_box()["y"] > void_box["y"]

    def style(locator, prop: str) -> str:
        return locator.evaluate(f"element => getComputedStyle(element).{prop}")

    assert style(void, "backgroundColor") == "rgba(0, 0, 0, 0)"  # outline: no fill
    assert style(primary, "backgroundColor") not in ("rgba(0, 0, 0, 0)", "transparent")
    assert style(void, "color") != style(primary, "backgroundColor")  # muted, not the primary colour
    assert float(style(void, "fontSize").removesuffix("px")) < float(style(primary, "fontSize").removesuffix("px"))
    assert void_box["height"] < primary_box["height"] and void_box["width"] < primary_box["width"]

    void.click()  # htmx swaps the confirmation in where the button was
    confirm = page.get_by_role("button", name="Void the whole batch", exact=True)
    expect(confirm).to_be_visible()
    confirm.click()
    expect(page.get_by_text("Tick the box to confirm.")).to_be_visible()
    session.refresh(batch)
    assert batch.status == "minted"
    page.get_by_label("Yes, I have checked the batch").check()
    page.get_by_role("button", name="Void the whole batch", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("is now: Void")
    session.refresh(batch)
    assert batch.status == "voided"
