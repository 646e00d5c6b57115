"""What a real browser keeps: a finder scans a sticker and writes, the owner signs in, uses the
account (profile, their data, the download) and switches language. Every cookie the browser
then holds is one the cookie page lists, set by this site; no request ever left it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from helpers import PASSWORD, choose_english
from playwright.sync_api import BrowserContext, Page, expect
from test_account_story import sign_in


def listed_cookies(page: Page) -> set[str]:
    page.goto("/cookies?lang=en")
    return set(page.get_by_role("list", name="The cookies we set").locator("code").all_inner_texts())


def watch_requests(context: BrowserContext) -> list[str]:
    hosts: list[str] = []
    context.on("request", lambda request: hosts.append(urlsplit(request.url).netloc))
    return hosts


def test_the_browser_holds_only_listed_first_party_cookies(live_server, new_phone, user_factory, sticker_factory,
                                                           screenshot):
    owner = user_factory(email="agnes@example.se", password=PASSWORD)
    sticker = sticker_factory(owner=owner, label="Cykelnycklar", lost_mode=True, reward_text="200 kr")
    host = urlsplit(live_server.base_url).netloc

    finder_context = new_phone()
    finder_hosts = watch_requests(finder_context)
    finder = finder_context.new_page()
    finder.goto(f"/s/{sticker.code}")
    choose_english(finder)
    finder.get_by_label("Message").fill("Hittade nycklarna vid biblioteket.")
    finder.get_by_role("button", name=re.compile("Send")).click()
    expect(finder.get_by_role("heading", level=1)).to_be_visible()

    owner_context = new_phone()
    owner_hosts = watch_requests(owner_context)
    page = owner_context.new_page()
    page.goto("/auth/login?lang=en")
    sign_in(page, email=owner.email, password=PASSWORD)
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Your data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your data")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download my data").click()
    assert download.value.suggested_filename == "stickerreg-data.zip"
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Profile").click()
    page.goto("/account/?lang=sv")
    screenshot(page, "your-data-menu")

    listed = listed_cookies(page)
    assert {"session", "lang", "known_browser"} <= listed
    for context in (finder_context, owner_context):
        cookies = context.cookies()
        assert cookies, "the browser holds the sign-in and language cookies"
        assert {cookie["name"] for cookie in cookies} <= listed, cookies
        assert {cookie["domain"] for cookie in cookies} == {host.split(":")[0]}
    assert set(finder_hosts) == {host} and set(owner_hosts) == {host}


def test_the_cookie_and_privacy_pages_are_linked_from_every_footer(phone: Page):
    phone.goto("/?lang=en")
    phone.get_by_role("navigation", name="About the service").get_by_role("link", name="Cookies").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Cookies")
    phone.get_by_role("link", name="How we handle personal data").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Privacy")
    expect(phone.get_by_role("link", name="Every cookie we set")).to_have_attribute("href", "/cookies")
    expect(phone.get_by_role("link", name="Your data")).to_have_attribute("href", "/account/privacy")
