"""The kiosk as a stressed desk worker sees it at arm's length, measured in the browser:
the staff entrance on the first screen, errors as loud as the heading, a focus ring anyone
can find, a header that survives 320 px and 200 % zoom, and labels centred in their buttons.

Everything here is read from the page itself (getBoundingClientRect, getComputedStyle, a
Range over a label's text), in both of the kiosk's languages where wording changes widths.
"""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlmodel import select

from stickerreg.models import Desk, DeskCreate, HandedInItem
from stickerreg.services import desks

PIN = "2468"
# The words the tests look for, in each language the kiosk speaks.
TEXT = {
    "en": {
        "staff_entrance": "Hand an item back (staff)",
        "scan_heading": "Hand in a found item",
        "without_sticker": "Item without a sticker",
        "category": "What is it?",
        "choose": "Choose…",
        "choose_error": "Choose what kind of item it is.",
        "keys": "Keys",
        "description": "Short description",
        "storage": "Stored at (shelf or bin)",
        "finder_name": "Finder's name (optional)",
        "hand_in": "Hand in the item",
        "receipt": "Receipt",
    },
    "sv": {
        "staff_entrance": "Lämna ut en sak (personal)",
        "scan_heading": "Lämna in en hittad sak",
        "without_sticker": "Sak utan dekal",
        "category": "Vad är det för sak?",
        "choose": "Välj…",
        "choose_error": "Välj vad det är för sak.",
        "keys": "Nycklar",
        "description": "Kort beskrivning",
        "storage": "Förvaras i (hylla eller låda)",
        "finder_name": "Upphittarens namn (valfritt)",
        "hand_in": "Lämna in saken",
        "receipt": "Kvitto",
    },
}
LANGUAGES = ("Svenska", "English")
FULL_SCREEN = {"en": "Full screen", "sv": "Helskärm"}


@pytest.fixture
def desk(session) -> Desk:
    desk = desks.create_desk(session, DeskCreate(name="Hittegods Centralstationen", address="Centralplan 15",
                                                 opening_hours="Vardagar 8–18"))
    desks.set_staff_pin(session, desk, PIN)
    session.commit()
    return desk


@pytest.fixture
def kiosk(new_phone, session, desk):
    """`kiosk(lang, width, height)`: a desk PC's browser paired through the one-time link,
    on the start screen in that language, once kiosk.js has set the screen up."""
    screens = itertools.count(1)

    def open_kiosk(lang: str = "en", width: int = 1280, height: int = 800) -> Page:
        page = new_phone(viewport={"width": width, "height": height}, is_mobile=False, has_touch=False).new_page()
        _device, token = desks.start_pairing(session, desk=desk, name=f"Disk {next(screens)}")
        session.commit()
        page.goto(f"/kiosk/pair/{token}?lang={lang}")
        assert_labels_centred(page, "the pairing page")
        page.get_by_role("button").click()  # the page's one button pairs it
        expect(page.get_by_role("heading", level=1)).to_have_text(TEXT[lang]["scan_heading"])
        ready(page)
        return page

    return open_kiosk


def ready(page: Page) -> None:
    """kiosk.js un-hides the keypad and the full-screen button: the layout is final then."""
    expect(page.locator("[data-kiosk-keypad]")).to_be_visible()
    expect(page.locator("[data-kiosk-fullscreen]")).to_be_visible()


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def box_within_viewport(page: Page, element: Locator) -> bool:
    box = element.bounding_box()
    size = page.viewport_size
    return bool(box) and box["x"] >= 0 and box["y"] >= 0 and \
        box["x"] + box["width"] <= size["width"] and box["y"] + box["height"] <= size["height"]


def on_top(element: Locator) -> bool:
    """Nothing covers the element's middle (it is what a tap there reaches)."""
    return element.evaluate("""(el) => {
        const r = el.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return hit !== null && (hit === el || el.contains(hit));
    }""")


# --- 1. the staff entrance ----------------------------------------------------------------


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_staff_entrance_is_on_the_first_screen_without_scrolling(kiosk, lang):
    page = kiosk(lang)
    entrance = page.get_by_role("button", name=TEXT[lang]["staff_entrance"])
    expect(entrance).to_be_visible()
    assert page.evaluate("window.scrollY") == 0
    assert box_within_viewport(page, entrance), entrance.bounding_box()
    assert on_top(entrance)
    # It still leads to the staff PIN.
    entrance.click()
    expect(page.get_by_label("Staff PIN" if lang == "en" else "Personalkod")).to_be_focused()


# --- 2. the category is chosen, never assumed ---------------------------------------------


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_desk_must_choose_what_the_item_is(kiosk, session, lang):
    words = TEXT[lang]
    page = kiosk(lang)
    page.get_by_role("button", name=words["without_sticker"]).click()
    category = page.get_by_label(words["category"])
    expect(category).to_have_value("")
    expect(category.locator("option:checked")).to_have_text(words["choose"])

    page.get_by_label(words["description"]).fill("Svart paraply")
    page.get_by_label(words["storage"]).fill("Hylla B3")
    page.get_by_label(words["finder_name"]).fill("Finn")
    page.get_by_role("button", name=words["hand_in"]).click()

    expect(page.get_by_text(words["choose_error"])).to_be_visible()
    expect(category).to_have_attribute("aria-invalid", "true")
    expect(category).to_be_focused()  # the one thing to fix
    expect(page.get_by_label(words["description"])).to_have_value("Svart paraply")
    expect(page.get_by_label(words["storage"])).to_have_value("Hylla B3")
    expect(page.get_by_label(words["finder_name"])).to_have_value("Finn")
    assert session.exec(select(HandedInItem)).all() == []

    category.select_option(label=words["keys"])
    page.get_by_label(words["finder_name"]).fill("")
    page.get_by_role("button", name=words["hand_in"]).click()
    expect(heading(page)).to_have_text(words["receipt"])
    session.expire_all()
    assert session.exec(select(HandedInItem.category)).one() == "keys"


# --- 3. errors as loud as the heading ----------------------------------------------------


def font(element: Locator) -> tuple[str, str]:
    return element.evaluate("(el) => { const s = getComputedStyle(el); return [s.fontSize, s.fontWeight]; }")


def unlock_staff_screens(page: Page) -> None:
    page.get_by_role("button", name="Hand an item back (staff)").click()
    expect(heading(page)).to_have_text("For the desk's staff")


def test_a_wrong_staff_pin_and_a_wrong_pickup_code_are_as_loud_as_the_heading(kiosk):
    page = kiosk("en")
    unlock_staff_screens(page)
    page.get_by_label("Staff PIN").fill("1111")
    page.get_by_role("button", name="Unlock").click()

    alert = page.get_by_role("alert").filter(has_text="That is not this desk's staff PIN.")
    expect(alert).to_be_visible()
    assert font(alert) == font(heading(page))
    expect(page.get_by_label("Staff PIN")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Staff PIN")).to_have_accessible_description("That is not this desk's staff PIN.")

    page.get_by_label("Staff PIN").fill(PIN)
    page.get_by_role("button", name="Unlock").click()
    expect(heading(page)).to_have_text("Hand an item back")
    page.get_by_label("Handed over by (your name or initials)").fill("KL")
    page.get_by_label("Pickup code").fill("1234 5678")
    page.get_by_role("button", name="Check the code").click()

    alert = page.get_by_role("alert").filter(has_text="No item waiting at this desk has that pickup code.")
    expect(alert).to_be_visible()
    assert font(alert) == font(heading(page))
    expect(page.get_by_label("Pickup code")).to_be_focused()
    assert box_within_viewport(page, alert), "the refusal is on screen, not below the fold"
    # The new screen starts at the top, header included, not scrolled to where the last one ended.
    assert box_within_viewport(page, page.get_by_role("banner"))


# --- 4. a focus ring anyone can find ------------------------------------------------------


def channel(value: float) -> float:
    value /= 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def luminance(rgb: tuple[float, float, float]) -> float:
    red, green, blue = (channel(value) for value in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one, other) -> float:
    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def colour(css: str, behind=(255, 255, 255)) -> tuple[float, float, float]:
    """A computed colour, blended over `behind` when it is see-through."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css)]
    alpha = numbers[3] if len(numbers) == 4 else 1.0
    return tuple(alpha * own + (1 - alpha) * under for own, under in zip(numbers[:3], behind, strict=True))


# The focused element's ring and what it is drawn against: the element's own background
# and the first opaque background behind the element.
RING = """(el) => {
    const opaque = (node) => {
        for (; node && node.nodeType === 1; node = node.parentElement) {
            const bg = getComputedStyle(node).backgroundColor;
            if (bg && !/^rgba\\(.*,\\s*0\\)$/.test(bg) && bg !== 'transparent') return bg;
        }
        return 'rgb(255, 255, 255)';
    };
    const s = getComputedStyle(el);
    return {
        focused: document.activeElement === el, visible: el.matches(':focus-visible'),
        style: s.outlineStyle, width: parseFloat(s.outlineWidth), colour: s.outlineColor,
        own: s.backgroundColor, behind: opaque(el.parentElement),
        name: (el.getAttribute('aria-label') || el.textContent || el.name || el.id || el.type).trim().slice(0, 40),
    };
}"""


def ring_problems(element: Locator) -> list[str]:
    ring = element.evaluate(RING)
    name = ring["name"]
    if not (ring["focused"] and ring["visible"]):
        return [f"{name}: not keyboard-focused ({ring})"]
    if ring["style"] in ("none", "hidden") or ring["width"] < 3:
        return [f"{name}: outline {ring['width']}px {ring['style']}"]
    behind = colour(ring["behind"])
    own = colour(ring["own"], behind)
    drawn = colour(ring["colour"], behind)
    problems = []
    for what, against in (("its background", own), ("the background behind it", behind)):
        if (ratio := contrast(drawn, against)) < 3:
            problems.append(f"{name}: ring {ring['colour']} is {ratio:.2f}:1 against {what}")
    return problems


def test_a_keypad_key_reached_with_tab_has_a_ring_that_stands_out(kiosk):
    page = kiosk("en")
    keypad = page.get_by_role("group", name="Keypad")
    expect(page.get_by_label("Sticker ID or scanned link")).to_be_focused()
    for _ in range(12):
        page.keyboard.press("Tab")
        if keypad.evaluate("(group) => group.contains(document.activeElement)"):
            break
    focused = page.locator(":focus")
    assert focused.get_attribute("data-key") == "0", "Tab reaches the keypad's first key"
    background = focused.evaluate("(el) => getComputedStyle(el).backgroundColor")
    assert ring_problems(focused) == []
    # The ring says where the focus is, not a shade of the key: its colour stays put.
    page.keyboard.press("Tab")
    assert focused.evaluate("(el) => getComputedStyle(el).backgroundColor") == background
    for name in ("Delete the last character", "Clear"):  # the keys of the other colour
        key = keypad.get_by_role("button", name=name)
        key.focus()
        assert ring_problems(key) == []


# Every control kiosk users reach with the keyboard, on every screen.
CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, [tabindex='0']"


def controls(page: Page) -> list[Locator]:
    found = page.locator(CONTROLS)
    return [found.nth(i) for i in range(found.count()) if found.nth(i).is_visible()]


def all_ring_problems(page: Page, screen: str) -> list[str]:
    page.keyboard.press("Shift")  # the last input came from the keyboard: focus shows as it would
    problems = []
    for element in controls(page):
        element.focus()
        problems += [f"{screen}: {problem}" for problem in ring_problems(element)]
    return problems


def test_every_kiosk_control_has_a_focus_ring_of_at_least_3_to_1(kiosk, session):
    page = kiosk("en")
    problems = all_ring_problems(page, "start")
    page.get_by_role("button", name="Item without a sticker").click()
    expect(heading(page)).to_have_text("Handing in an item without a sticker")
    problems += all_ring_problems(page, "hand-in")
    page.get_by_role("button", name="Cancel").click()
    unlock_staff_screens(page)
    problems += all_ring_problems(page, "staff PIN")
    page.get_by_label("Staff PIN").fill(PIN)
    page.get_by_label("Staff PIN").press("Enter")
    expect(heading(page)).to_have_text("Hand an item back")
    problems += all_ring_problems(page, "pickup")
    page.goto("/kiosk/items")
    expect(heading(page)).to_have_text("Items at this desk")
    problems += all_ring_problems(page, "items")
    assert problems == []


# --- 5. the header at 320 px and at 200 % zoom --------------------------------------------


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize(("width", "height"), [(320, 640), (640, 400)], ids=["320px", "200%-zoom"])
def test_the_header_fits_a_narrow_or_zoomed_screen(kiosk, lang, width, height):
    page = kiosk(lang, width, height)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    header = page.get_by_role("banner")
    assert header.evaluate("(el) => el.scrollWidth <= el.clientWidth")
    page.evaluate("window.scrollTo(0, 0)")
    tools = [header.get_by_role("link", name=name, exact=True) for name in LANGUAGES]
    tools.append(header.get_by_role("button", name=FULL_SCREEN[lang]))
    for tool in tools:
        expect(tool).to_be_visible()
        assert box_within_viewport(page, tool), (tool, tool.bounding_box())
        assert on_top(tool), tool
        # Not cut off by a box of its own: all of its text fits inside it.
        assert tool.evaluate("(el) => el.scrollWidth <= el.clientWidth && el.scrollHeight <= el.clientHeight")


# --- 6. labels centred in their buttons ---------------------------------------------------


# How far the middle of every visible button-like control's text (a Range over its text
# nodes) is from the middle of the control, across and down, in CSS px. Down counts too: a
# link dressed as a button used to sit its label 4 px higher than the real button beside it.
CENTRES = """() => [...document.querySelectorAll('button, [role=button], input[type=submit], .kiosk-tools a')]
    .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
    .map((el) => {
        const range = document.createRange();
        range.selectNodeContents(el);
        const text = range.getBoundingClientRect();
        const box = el.getBoundingClientRect();
        return {name: el.textContent.trim().slice(0, 40), width: text.width,
                across: (text.left + text.right - box.left - box.right) / 2,
                down: (text.top + text.bottom - box.top - box.bottom) / 2};
    })"""


def assert_labels_centred(page: Page, screen: str) -> None:
    found = page.evaluate(CENTRES)
    assert found, f"no button on {screen}"
    off = [f"{b['name']!r} off by {b['across']:.1f}px across, {b['down']:.1f}px down" for b in found
           if b["width"] and (abs(b["across"]) > 2 or abs(b["down"]) > 2)]
    assert not off, f"{screen}: {off}"


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (640, 400), (320, 640)])
def test_every_button_label_is_centred(kiosk, width, height):
    page = kiosk("sv", width, height)
    assert_labels_centred(page, "start")
    page.get_by_role("button", name="Sak utan dekal").click()
    expect(heading(page)).to_have_text("Inlämning av en sak utan dekal")
    assert_labels_centred(page, "hand-in")
    page.get_by_label("Vad är det för sak?").select_option(label="Nycklar")
    page.get_by_label("Kort beskrivning").fill("Nyckelknippa")
    page.get_by_label("Förvaras i (hylla eller låda)").fill("Hylla B3")
    page.get_by_role("button", name="Lämna in saken").click()
    expect(heading(page)).to_have_text("Kvitto")
    expect(page.get_by_role("button", name="Skriv ut kvittot")).to_be_visible()
    assert_labels_centred(page, "receipt")
    page.get_by_role("button", name="Klart").click()
    page.get_by_role("button", name="Lämna ut en sak (personal)").click()
    page.get_by_label("Personalkod").fill("1111")
    page.get_by_label("Personalkod").press("Enter")
    expect(page.get_by_role("alert")).to_be_visible()
    assert_labels_centred(page, "staff PIN")
    page.get_by_label("Personalkod").fill(PIN)
    page.get_by_label("Personalkod").press("Enter")
    expect(page.get_by_label("Uthämtningskod")).to_be_visible()
    assert_labels_centred(page, "pickup")
    page.goto("/kiosk/items")
    expect(page.get_by_role("searchbox")).to_be_visible()
    assert_labels_centred(page, "items")
