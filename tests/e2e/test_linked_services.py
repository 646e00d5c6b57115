"""Linked services in a browser: a customer on a phone registers a card (after pasting the
whole number by mistake) and a phone, loses their wallet and phone, opens a blocking case and
hands it to customer service, who works it to the end on a laptop; the customer follows it
and gets an email at each step. Then the fire-alarm contacts are put in order, JavaScript off.
"""

from __future__ import annotations

import re

import pytest
from helpers import body_text
from playwright.sync_api import Page, expect
from sqlmodel import select

from stickerreg.models import Card, Role
from stickerreg.services import accounts
from stickerreg.services.linked import directory

CUSTOMER_EMAIL = "kund@example.se"
SERVICE_EMAIL = "kundservice@example.se"
PASSWORD = "plånbok borta igen 2026"
CARD_NUMBER = "4539 1488 0343 6467"


@pytest.fixture
def people(session):
    directory.load_file(session)
    accounts.create_user(session, email=CUSTOMER_EMAIL, password=PASSWORD, verified=True, display_name="Kim Kund",
                         locale="en")
    accounts.create_user(session, email=SERVICE_EMAIL, password=PASSWORD, verified=True,
                         role=Role.CUSTOMER_SERVICE, display_name="Sam Service")
    session.commit()


def sign_in(page: Page, email: str, *, lands_on: str = "/account/") -> None:
    page.goto("/auth/login?lang=en")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(f"{re.escape(lands_on)}$"))


def open_services(page: Page, link: str) -> None:
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Services").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My services")
    page.get_by_role("list", name="My services").get_by_role("link", name=link).click()


def test_a_lost_wallet_and_phone_are_blocked_with_customer_services_help(
        phone: Page, desktop: Page, session, people, smtp_server, drain_outbox, screenshot):
    page = phone
    sign_in(page, CUSTOMER_EMAIL)

    open_services(page, "Cards")
    page.get_by_label("Name on the card").fill("Kim Kund")
    page.get_by_label("Issued by").select_option(label="Handelsbanken")
    page.get_by_label("Last four digits").fill(CARD_NUMBER)
    page.get_by_role("button", name="Save the card").click()
    expect(page.get_by_text("never type the whole card number")).to_be_visible()
    expect(page.get_by_label("Last four digits")).to_have_value("")  # not shown back
    assert session.exec(select(Card)).all() == []
    page.get_by_label("Last four digits").fill("6467")
    page.get_by_role("button", name="Save the card").click()
    expect(page.get_by_role("status")).to_have_text("The card was added.")
    expect(page.get_by_role("list", name="My cards")).to_contain_text("•••• 6467")

    open_services(page, "Phones")
    page.get_by_label("Whose phone is it?").fill("Kim Kund")
    page.get_by_label("Phone number").fill("070-111 22 33")
    page.get_by_label("Operator").select_option(label="Telia")
    page.get_by_label("IMEI (optional)").fill("49 015420 323751 9")  # a digit wrong
    page.get_by_role("button", name="Save the phone").click()
    expect(page.get_by_text("That is not a valid IMEI")).to_be_visible()
    page.get_by_label("IMEI (optional)").fill("49 015420 323751 8")
    page.get_by_role("button", name="Save the phone").click()
    expect(page.get_by_role("status")).to_have_text("The phone was added.")

    open_services(page, "Lost something?")
    page.get_by_label("Both my wallet and my phone").check()
    page.get_by_role("button", name="Start the blocking case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Both my wallet and my phone")
    to_block = page.get_by_role("list", name="What to block").get_by_role("listitem")
    handelsbanken = to_block.filter(has_text="•••• 6467")
    expect(handelsbanken.get_by_role("button", name="Call 020-41 12 12")).to_have_attribute("href", "tel:+4620411212")
    expect(to_block.filter(has_text="070-111 22 33")).to_contain_text(
        "We don't have a blocking number for it")
    screenshot(page, "case-opened")
    handelsbanken.get_by_role("button", name="I have blocked it").click()
    expect(handelsbanken).to_contain_text("Blocked by you")
    page.get_by_role("button", name="Ask customer service to block everything for me").click()
    expect(page.get_by_role("status")).to_contain_text("Customer service will block everything on the list")

    staff = desktop
    sign_in(staff, SERVICE_EMAIL, lands_on="/crm/blocking-cases")  # customer service's own portal
    staff.get_by_role("navigation", name="Main").get_by_role("link", name="Customer service").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Blocking cases")
    staff.get_by_role("link", name=re.compile("Kim Kund")).first.click()
    staff.get_by_role("button", name="Take the case").click()
    staff.get_by_role("button", name=re.compile(r"^Mark as blocked: Kim Kund · 070-111 22 33")).click()
    expect(staff.get_by_role("status")).to_contain_text("is marked blocked")
    staff.get_by_role("button", name="Close the case").click()
    expect(staff.get_by_role("status")).to_contain_text("The case is closed.")
    screenshot(staff, "case-closed-by-service")

    page.reload()
    expect(page.get_by_text("Done", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="I have blocked it")).to_have_count(0)
    history = page.get_by_role("region", name="What happened")
    expect(history.get_by_role("listitem")).to_have_count(6)  # opened, ticked, help, taken, blocked, done
    screenshot(page, "case-done")

    sent = drain_outbox().sent
    mails = smtp_server.wait_for(sent)
    assert all(mail["To"] == CUSTOMER_EMAIL for mail in mails)
    assert [mail["Subject"].removeprefix("Your blocking case: ") for mail in mails] == [
        "the case is open", "you asked customer service to block for you", "customer service is blocking for you",
        "blocked: Kim Kund · 070-111 22 33", "everything is blocked; the case is closed"]
    assert "020-41 12 12" in body_text(mails[0])  # the numbers to call come with the first


def test_fire_alarm_contacts_are_ordered_without_javascript(new_phone, session, people, screenshot):
    page = new_phone(java_script_enabled=False).new_page()
    sign_in(page, CUSTOMER_EMAIL)
    open_services(page, "Fire alarm contacts")
    for name, number in (("Greta Granne", "070-123 45 67"), ("Sara Syster", "073-987 65 43")):
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_label("Phone number").fill(number)
        page.get_by_role("button", name="Save the contact").click()
        expect(page.get_by_role("status")).to_have_text("The contact was added.")
    page.get_by_role("button", name="Move up: Sara Syster").click()
    expect(page.locator("ol.contact-list > li strong")).to_have_text(["1. Sara Syster", "2. Greta Granne"])
    screenshot(page, "fire-contacts")
