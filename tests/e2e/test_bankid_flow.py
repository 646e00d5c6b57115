"""BankID in a real browser, against the fake BankID server: htmx polls under the strict
CSP and lands on the account; a failure stops polling and removes the stale buttons;
without JavaScript the "Check status" link gets there too."""

from __future__ import annotations

import re

import pytest
from fake_bankid import FakeBankId, complete, failed, pending
from helpers import app_with
from playwright.sync_api import Page, expect

from stickerreg.services import accounts

PNR = "198112289874"


@pytest.fixture
def fake():
    with FakeBankId() as server:
        yield server


@pytest.fixture
def app(database_url, tmp_path, fake):
    """The root conftest's app, with BankID pointed at the fake server."""
    with app_with(database_url, tmp_path, BANKID_URL=fake.url) as app:
        yield app


@pytest.fixture
def linked_owner(session, user_factory):
    user = user_factory(email="agnes.agare@example.se")
    accounts.link_personnummer(session, user, PNR, key=b"test-secret-key", verified=True)
    session.commit()
    return user


def start_on_login_page(page: Page) -> None:
    page.goto("/auth/login?lang=en")
    page.get_by_role("button", name="Sign in with BankID").click()
    expect(page.get_by_role("heading", name="Sign in with BankID")).to_be_visible()
    expect(page.get_by_role("img", name="QR code to scan with the BankID app")).to_be_visible()


def test_htmx_polls_until_bankid_signs_the_owner_in(phone: Page, fake, linked_owner, screenshot):
    fake.next_order(pending(), pending("userSign"), complete(PNR))
    refused: list[str] = []
    phone.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    start_on_login_page(phone)
    assert phone.get_by_role("link", name="Open BankID on this device").get_attribute("href").startswith(
        "bankid:///?autostarttoken="
    )
    screenshot(phone, "qr")
    expect(phone.get_by_text("Enter your security code in the BankID app")).to_be_visible(timeout=10_000)
    expect(phone).to_have_url(re.compile(r"/account/$"), timeout=10_000)
    assert refused == []


def test_a_cancelled_order_stops_polling_and_offers_to_try_again(phone: Page, fake, screenshot):
    fake.next_order(pending(), failed("userCancel"))
    start_on_login_page(phone)
    expect(phone.get_by_role("alert")).to_have_text("You cancelled the identification in the BankID app.",
                                                     timeout=10_000)
    expect(phone.get_by_role("link", name="Open BankID on this device")).to_have_count(0)
    expect(phone.get_by_role("button", name="Try again")).to_be_visible()
    screenshot(phone, "cancelled")
    polls = len(fake.calls("collect"))
    phone.wait_for_timeout(2500)
    assert len(fake.calls("collect")) == polls  # polling has stopped


def test_without_javascript_check_status_gets_there(new_phone, fake, linked_owner):
    page = new_phone(java_script_enabled=False).new_page()
    fake.next_order(pending("started"), complete(PNR))
    start_on_login_page(page)
    page.get_by_role("link", name="Check status").click()
    expect(page.get_by_text("Searching for BankID")).to_be_visible()
    page.get_by_role("link", name="Check status").click()
    expect(page).to_have_url(re.compile(r"/account/$"))
