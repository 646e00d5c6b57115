"""Layout a person can see, measured in the browser: the finder's ID box on a phone, the
account menu lined up with the page, the dashboard's banner in the first screen, and
form fields of a sensible width on a desktop."""

from __future__ import annotations

from helpers import PASSWORD
from playwright.sync_api import Page, expect
from test_account_story import sign_in

from stickerreg import codes
from stickerreg.services import finder
from stickerreg.services.relay import FinderDetails


def box(page: Page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found, f"{selector} is not on the page"
    return found


def test_the_id_box_is_a_wide_field_with_a_normal_button_on_a_phone(phone):
    """Pico lays out a [role=search] form as one pill-shaped row; the ID box must stay usable."""
    for path in ("/", f"/s/{codes.generate()[:-1]}"):  # the front page and the typo page
        phone.goto(path)
        form, field, button = box(phone, "form.lookup"), box(phone, "#code"), box(phone, "form.lookup button")
        assert field["width"] >= 0.55 * form["width"], (path, field, form)
        assert button["height"] <= 64 and button["width"] <= 0.45 * form["width"], (path, button)
        help_text = box(phone, "#code-help")
        assert help_text["y"] >= field["y"] + field["height"], "the help sits under the field, not in its row"


def signed_in(page: Page, email: str) -> None:
    page.goto("/auth/login?lang=en")
    sign_in(page, email=email, password=PASSWORD)


def test_the_account_menu_lines_up_with_the_page_and_wraps_into_even_columns(phone, desktop, user_factory):
    owner = user_factory(email="owner@example.se", password=PASSWORD)
    for page in (phone, desktop):
        signed_in(page, owner.email)
        links = page.locator("nav.account-nav li a")
        heading = box(page, "h1")
        lefts = sorted({round(links.nth(i).bounding_box()["x"]) for i in range(links.count())})
        assert abs(lefts[0] - heading["x"]) <= 1, f"menu starts at {lefts[0]}, the page at {heading['x']}"
        tops = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}
        if page is phone:  # two even columns, never a ragged run of one to four links a line
            assert len(lefts) == 2 and len(tops) == (links.count() + 1) // 2, (lefts, tops)
        else:  # one row on a desktop
            assert len(tops) == 1, tops


def test_an_unread_message_is_the_banner_in_the_first_screen_of_the_dashboard(phone, user_factory, sticker_factory,
                                                                              session):
    owner = user_factory(email="owner@example.se", password=PASSWORD)
    for label in ("Väska", "Plånbok", "Cykel"):
        sticker_factory(owner=owner, label=label)
    keys = sticker_factory(owner=owner, label="Nycklar")
    finder.report_found(session, code=keys.code, message="Hittade dem vid bussen", details=FinderDetails())
    session.commit()
    signed_in(phone, owner.email)
    banner = phone.get_by_role("list", name="Needs your attention").get_by_role("link")
    expect(banner).to_have_text("Someone found “Nycklar” Read the finder's message and answer.")
    place = banner.bounding_box()
    assert place["y"] + place["height"] <= phone.viewport_size["height"]


def test_profile_fields_have_a_sensible_width_on_a_desktop(desktop, user_factory):
    owner = user_factory(email="owner@example.se", password=PASSWORD)
    signed_in(desktop, owner.email)
    desktop.goto("/account/profile")
    widths = desktop.locator("#profile-form input:not([type=checkbox]):not([type=hidden]), #profile-form select")
    assert widths.count() >= 3
    for i in range(widths.count()):
        assert widths.nth(i).bounding_box()["width"] <= 40 * 17 + 1  # 40rem at the site's 17 px root
