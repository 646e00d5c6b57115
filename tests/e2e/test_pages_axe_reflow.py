"""Whole-app guard, generated from the live URL map: every page a GET route answers passes
axe-core, reflows without sideways scrolling at 320 px (WCAG 1.4.10) and shows a focus ring of
3:1 on every kind of control (WCAG 2.4.7/1.4.11, see test_focus_rings.py), seen by the audience
it is for and filled with real objects. Any axe violation fails it.

Each language and each width is covered, in two passes rather than their cross product:
Swedish, the default, on a phone (axe at 390 px), and English on a laptop (axe at 1280 px). The
cross product's other two (sv at 1280, en at 390) would run axe twice more a page: timed phase
by phase, about 40 % more time for the same rules on the same markup, so they are left out.
The language is chosen as a visitor chooses it (?lang=en, then remembered in a cookie) and every
page must render in it (<html lang>). Reflow is checked at 320 px and focus rings on every page
in both passes.

A new GET route is checked without anyone adding it here; one whose URL arguments the guard
cannot fill fails and says so. What is not a page (images, PDFs, downloads, JSON) is told
apart by its Content-Type. axe-core is vendored for the tests only (vendor/axe-core/).
"""

from __future__ import annotations

import io
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from fake_bankid import FakeBankId
from helpers import PASSWORD, SECRET_KEY, app_with
from PIL import Image
from playwright.sync_api import BrowserContext, Page
from test_account_story import assert_no_horizontal_overflow
from test_focus_rings import focus_ring_problems

from stickerreg import codes
from stickerreg.models import (
    ApiScope,
    CardCreate,
    CardType,
    DeskCreate,
    FireContactCreate,
    HandedInItemCreate,
    IdProtectEventIn,
    LostItems,
    MobileDeviceCreate,
    Role,
    TokenPurpose,
    utcnow,
)
from stickerreg.services import accounts, api_keys, desks, finder, handed_in, registers
from stickerreg.services.linked import blocking, cards, devices, directory, fire, idprotect
from stickerreg.services.printshop import batches, exports
from stickerreg.services.relay import FinderDetails

# Run by the browser as an init script, which the pages' CSP (only 'self' scripts) does not
# govern: the guard sees each page as its CSP renders it, and the app never serves axe.
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
REFLOW_WIDTH = 320  # WCAG 1.4.10


@dataclass(frozen=True)
class Pass:
    """One look at every page: a language, a device, the widths axe runs at (the page loads
    at the first; each is also checked for overflow), and whether focus rings are checked."""

    language: str
    desktop: bool
    axe_widths: tuple[int, ...]
    focus_rings: bool = False

    def __str__(self) -> str:
        return f"{self.language}, {'/'.join(map(str, self.axe_widths))} px"


PASSES = (
    Pass("sv", desktop=False, axe_widths=(390,), focus_rings=True),  # the phone the browser tests use
    Pass("en", desktop=True, axe_widths=(1280,), focus_rings=True),  # the laptop (conftest.py's DESKTOP)
)
PERSONNUMMER = "198112189876"
NOBODYS_PERSONNUMMER = "198112289874"  # an inquiry no customer matches (admin's list)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# Who opens each part of the site: the longest matching prefix wins; the rest is public.
AUDIENCES = {
    "/account/": "customer",
    "/printshop/": "printshop",
    "/crm/": "customer_service",
    "/admin/": "admin",
    "/sales/": "sales",
    "/kiosk/": "kiosk",
    "/kiosk/pair/": "anonymous",  # the one-time link opens on a tablet that is not paired yet
}
STAFF = {"printshop": Role.PRINTSHOP, "customer_service": Role.CUSTOMER_SERVICE, "admin": Role.ADMIN,
         "sales": Role.SALES}


def audience_of(path: str) -> str:
    matches = [prefix for prefix in AUDIENCES if path.startswith(prefix)]
    return AUDIENCES[max(matches, key=len)] if matches else "anonymous"


@pytest.fixture
def fake_bankid():
    with FakeBankId() as server:
        yield server


@pytest.fixture
def app(database_url, tmp_path, fake_bankid):
    """The root conftest's app with BankID on (its buttons and pages exist only then).
    Rate limits are off: the guard opens many pages from one address within a minute."""
    with app_with(database_url, tmp_path, BANKID_URL=fake_bankid.url, RATELIMIT_ENABLED=False,
                  EXPORT_DIR=str(tmp_path / "exports")) as app:
        yield app


@pytest.fixture
def world(session, engine, user_factory, sticker_factory, tmp_path):
    """Data in every area, made with the services, and the URL arguments that name it,
    by the longest route prefix they belong to (a list: each value is a page of its own)."""
    alice = user_factory(email="alice@example.se", password=PASSWORD)
    staff = {audience: user_factory(email=f"{audience}@example.se", password=PASSWORD, role=role)
             for audience, role in STAFF.items()}
    sticker = sticker_factory(owner=alice, label="Cykelnycklar till lådcykeln")
    lost = sticker_factory(owner=alice, label="Plånbok", lost_mode=True, reward_text="200 kr hittelön",
                           public_note="Ring mig gärna, tack!")
    conversation, finder_token = finder.report_found(
        session, code=sticker.code, message="Hittade dem vid cykelstället.",
        details=FinderDetails(email="finn@example.org", found_where="Stadsbiblioteket"))
    desk, kiosk, kiosk_token, spare_token = desk_with_a_kiosk(session)
    item = handed_in.hand_in(session, device=kiosk, sticker_code=sticker.code, photo=jpeg(), key=SECRET_KEY,
                             details=HandedInItemCreate(category="keys", description="Nyckelknippa",
                                                        storage_place="Hylla B3", finder_name="Finn",
                                                        finder_contact="070-123 45 67", finder_shares_contact=True))
    card, phone, case, blocking_item, alert, contact = linked_services(session, alice)
    api_key, _ = api_keys.create_key(session, name="UC", scope=ApiScope.IDPROTECT, created_by=staff["admin"])
    batch, job = exported_batch(session, engine, staff["printshop"], tmp_path / "exports")
    dnc_entry, lead_import = telemarketing(session)
    tokens = {purpose: accounts.issue_token(session, alice, purpose, new_email="alice.ny@example.se")
              for purpose in TokenPurpose}
    session.commit()
    return {
        "alice": alice, "staff": staff, "kiosk_token": kiosk_token,
        "arguments": {
            "/s/": {"raw": [sticker.code, lost.code, codes.generate(), "0000"]},  # active, lost, unknown, a typo
            "/S/": {"raw": [sticker.code]},
            "/c/": {"token": [finder_token]},
            "/auth/verify/": {"token": [tokens[TokenPurpose.VERIFY_EMAIL], "not-a-live-link"]},
            "/auth/reset/": {"token": [tokens[TokenPurpose.RESET_PASSWORD]]},
            "/auth/email/": {"token": [tokens[TokenPurpose.CHANGE_EMAIL]]},
            "/account/": {"code": [sticker.code], "public_id": [conversation.public_id], "item_id": [item.public_id],
                          "card_id": [card.public_id], "device_id": [phone.public_id], "case_id": [case.public_id],
                          "blocking_item_id": [blocking_item.public_id], "alert_id": [alert.public_id],
                          "contact_id": [contact.public_id]},
            "/printshop/batches/": {"public_id": [batch.public_id]},
            "/printshop/exports/": {"public_id": [job.public_id]},
            "/crm/": {"case_id": [case.public_id], "item_id": [blocking_item.public_id],
                      "customer_number": [alice.customer_number], "entry_id": [dnc_entry.public_id]},
            "/sales/": {"import_id": [lead_import.public_id]},
            "/admin/": {"desk_id": [desk.public_id], "device_id": [kiosk.public_id], "kind": ["card_issuer"],
                        "key": ["handelsbanken"], "key_id": [api_key.public_id],
                        "customer_number": [alice.customer_number]},
            "/kiosk/pair/": {"token": [spare_token, "not-a-live-link"]},
            "/kiosk/": {"item_id": [item.public_id]},  # the receipt: the paired kiosk took the item in
        },
        # States a path alone doesn't reach: the query strings a page takes.
        "queries": {
            "finder.lookup": ["", f"?code={sticker.code.lower()}"],
            "kiosk.hand_in_form": ["", f"?sticker={sticker.code}"],
            "printshop.mark": [f"?to={batches.next_status(batch).value}"],
        },
    }


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


def desk_with_a_kiosk(session):
    """A desk, the screen the kiosk audience pairs as, and a second one still waiting for its link."""
    desk = desks.create_desk(session, DeskCreate(name="Hittegods Centralstationen", address="Centralplan 15",
                                                 opening_hours="Vardagar 8–18"))
    kiosk, kiosk_token = desks.start_pairing(session, desk=desk, name="Disk 1")
    _spare, spare_token = desks.start_pairing(session, desk=desk, name="Reservplatta")
    return desk, kiosk, kiosk_token, spare_token


def linked_services(session, alice):
    """Alice's card, phone, blocking case (customer service asked), credit-inquiry alert and
    fire-alarm contact, as tests/web/test_access_matrix.py makes them; and an unmatched inquiry."""
    directory.load_file(session)
    card = cards.add_card(session, alice, CardCreate(holder_name="Alice", issuer="handelsbanken",
                                                     card_type=CardType.DEBIT, last_four="4242"), actor=alice)
    phone = devices.add_device(session, alice, MobileDeviceCreate(owner_name="Alice", phone="0701112233",
                                                                 operator="telia"), key=SECRET_KEY, actor=alice)
    case = blocking.open_case(session, alice, lost=LostItems.BOTH)
    blocking.request_help(session, case, actor=alice)
    accounts.link_personnummer(session, alice, PERSONNUMMER, key=SECRET_KEY, verified=True)
    alert, _ = idprotect.ingest(session, IdProtectEventIn(id="e-1", bureau="UC", requester="Bank AB",
                                                          requested_at=utcnow(), personnummer=PERSONNUMMER),
                                key=SECRET_KEY)
    idprotect.ingest(session, IdProtectEventIn(id="e-2", bureau="UC", requester="Kredit AB",
                                               requested_at=utcnow(), personnummer=NOBODYS_PERSONNUMMER), key=SECRET_KEY)
    contact = fire.add_contact(session, alice, FireContactCreate(name="Granne", phone="0702223344"), actor=alice)
    return card, phone, case, blocking.items_of(session, case)[0], alert, contact


def telemarketing(session):
    """The NIX register, a do-not-call entry and a partner's lead file with a row of each kind."""
    registers.import_nix(session, b"070-174 06 06\n")
    entry = registers.add_dnc(session, phone="070-174 06 07", source="phone_call", actor=None)
    leads = registers.import_leads(session, b"namn;adress;telefon;partner\nAnna Andersson;Storgatan 1;070-174 06 05;P\n"
                                   b"Bertil Berg;;070-174 06 06;P\nCecilia Ek;;070-174 06 07;P\nDavid;;070;P\n",
                                   partner="Exempelpartner AB")
    return entry, leads.lead_import


def exported_batch(session, engine, staff, out_dir: Path):
    """A minted batch with a finished CSV export (its download is a file, not a page)."""
    batch = batches.create_and_mint(session, count=4, set_size=2, layout="a4-3x7", product="Nyckelbricka",
                                    actor=staff)
    job = exports.start_export(session, batch, "csv", staff)
    session.commit()
    exports.run_export(engine, job.id, out_dir, base_url="http://localhost")
    return batch, job


# Answers other than 200 that are pages in their own right (a person lands on them).
PAGES_WITH_AN_ERROR_STATUS = {
    "/s/0000": 404, "/lookup": 404,  # "that ID has a typo"
    "/auth/verify/not-a-live-link": 404,  # a used or expired mailed link
    "/kiosk/pair/not-a-live-link": 404,
}
# Pages no route names: the error pages, by who meets them.
EXTRA_PAGES = {
    "anonymous": {"/no-such-page": 404, "/kiosk/": 403},  # 403: a tablet that is not paired (yet)
    "customer": {"/account/no-such-page": 404},
}


def expand(rule, world) -> list[str] | str:
    """Every URL to check for one rule, or what the guard needs to be taught."""
    known: dict[str, list[str]] = {}
    for prefix in sorted(world["arguments"], key=len):  # longer prefixes override shorter
        if rule.rule.startswith(prefix):
            known.update(world["arguments"][prefix])
    unknown = rule.arguments - known.keys()
    if unknown:
        return f"teach the axe/reflow guard a value for {sorted(unknown)} (world() in {__name__}.py)"
    names = sorted(rule.arguments)
    paths = [rule.build(dict(zip(names, values, strict=True)))[1]
             for values in itertools.product(*(known[name] for name in names))]
    return [path + query for path in paths for query in world["queries"].get(rule.endpoint, [""])]


def pages_for(app, world, audience: str) -> tuple[dict[str, int], list[str]]:
    """The audience's URLs with the status each should answer, and the routes it can't fill."""
    urls, untaught = {}, []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or audience_of(rule.rule) != audience:
            continue
        expanded = expand(rule, world)
        if isinstance(expanded, str):
            untaught.append(f"{rule.rule}: {expanded}")
            continue
        urls.update({url: PAGES_WITH_AN_ERROR_STATUS.get(url, 200) for url in expanded})
    return {**urls, **EXTRA_PAGES.get(audience, {})}, untaught


def submit(context: BrowserContext, url: str, **form) -> None:
    """Post a page's form with the context's own cookies, as its button would."""
    page = context.request.get(url)
    token = CSRF.search(page.text())
    assert token, f"no form on {url} ({page.status})"
    answer = context.request.post(url, form={**form, "csrf_token": token.group(1)}, max_redirects=0)
    assert answer.status == 303, f"{url} answered {answer.status}"


def browser_for(new_phone, world, audience: str) -> Page:
    """One phone for the audience, signed in or paired as it would be."""
    context = new_phone()
    load_axe(context)
    if audience == "kiosk":
        submit(context, f"/kiosk/pair/{world['kiosk_token']}")
    elif audience != "anonymous":
        user = world["alice"] if audience == "customer" else world["staff"][audience]
        submit(context, "/auth/login", email=user.email, password=PASSWORD)
    return context.new_page()


def load_axe(context: BrowserContext) -> None:
    """axe-core in every page the context opens, handed to the browser once. A script tag
    added per page sent its 500 KB through Playwright's pipe each time: 143 ms a page, against
    34 ms for the browser to run it as an init script."""
    context.add_init_script(path=AXE)


def same_person_on(new_desktop, phone: Page) -> Page:
    """The phone's visitor on a laptop: its cookies (session, kiosk pairing) carried over."""
    context = new_desktop()
    load_axe(context)
    context.add_cookies(phone.context.cookies())
    return context.new_page()


def speak(page: Page, language: str) -> None:
    """Choose the language as a visitor does: ?lang= on any address, remembered in a cookie."""
    page.context.request.get(f"/?lang={language}", max_redirects=0)
    chosen = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}.get("lang")
    assert chosen == language, f"?lang={language} was not remembered (lang cookie {chosen!r})"


# Every rule axe runs by default, and WCAG 2.2's target size (24 px), which it leaves off.
AXE_RUN = """async () => (await axe.run(document, {
    resultTypes: ['violations'], rules: {'target-size': {enabled: true}},
})).violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((node) => node.target.join(' ')),
}))"""


def axe_violations(page: Page) -> list[str]:
    found = page.evaluate(AXE_RUN)
    return [f"axe {v['id']} ({v['impact']}): {v['help']}; {', '.join(v['targets'][:4])}"
            + (f" and {len(v['targets']) - 4} more" if len(v["targets"]) > 4 else "") for v in found]


def answer_problems(page: Page, url: str, status: int, audience: str) -> list[str] | None:
    """None for a page to check; otherwise what is wrong with the answer ([] for one that is
    no page, or a redirect the guard meets where it leads)."""
    probe = page.context.request.get(url, max_redirects=0)
    kind = probe.headers.get("content-type", "").split(";")[0]
    if probe.status in (301, 302, 303, 307, 308):
        target = probe.headers["location"].split("?")[0]
        # A redirect is checked where it leads, unless it leaves the audience (a sign-in page).
        same = audience_of(target) == audience and not target.startswith("/auth/login")
        return [] if same else [f"redirects {audience} to {target}: the guard visits it as the wrong audience"]
    if kind != "text/html":
        return []  # an image, a download, JSON (the partner API): not a page
    if probe.status != status:
        return [f"answered {probe.status}, not {status}, to {audience}: teach the guard who opens it (AUDIENCES) "
                "or what it answers (PAGES_WITH_AN_ERROR_STATUS)"]
    return None


def overflow_at(page: Page, width: int) -> list[str]:
    if page.viewport_size["width"] != width:
        page.set_viewport_size({"width": width, "height": page.viewport_size["height"]})
    try:
        assert_no_horizontal_overflow(page, f"at {width} px")
    except AssertionError as overflow:
        return [str(overflow)]
    return []


def page_problems(page: Page, url: str, run: Pass) -> list[str]:
    """What is wrong with one page in one pass: its language, axe's findings and overflow at
    each width, its focus rings, and overflow at 320 px."""
    page.set_viewport_size({"width": run.axe_widths[0], "height": page.viewport_size["height"]})
    page.goto(url)
    language = page.evaluate("document.documentElement.lang")
    if language != run.language:
        return [f"renders in {language!r}, not {run.language!r}: the language choice did not reach it"]
    problems = []
    for width in run.axe_widths:
        problems += overflow_at(page, width)
        problems += [f"{v} (at {width} px)" for v in axe_violations(page)]
    if run.focus_rings:
        problems += focus_ring_problems(page)
    return problems + overflow_at(page, REFLOW_WIDTH)


@pytest.mark.parametrize("audience", ["anonymous", "customer", "printshop", "customer_service", "admin", "sales",
                                      "kiosk"])
def test_every_page_passes_axe_and_reflows_to_320_px(app, world, new_phone, new_desktop, audience):
    urls, untaught = pages_for(app, world, audience)
    phone = browser_for(new_phone, world, audience)
    answers = {url: answer_problems(phone, url, urls[url], audience) for url in urls}
    found = {url: problems for url, problems in answers.items() if problems}
    pages = [url for url, problems in answers.items() if problems is None]
    for run in PASSES:
        page = same_person_on(new_desktop, phone) if run.desktop else phone
        speak(page, run.language)
        for url in pages:
            if problems := page_problems(page, url, run):
                found.setdefault(url, []).extend(f"[{run}] {problem}" for problem in problems)
    report = "\n".join([*untaught, *(f"{url}\n  " + "\n  ".join(problems) for url, problems in found.items())])
    assert not untaught and not found, f"{audience}:\n{report}"
    assert pages, f"no page for {audience}"


def test_a_route_the_guard_cannot_fill_fails_it_instead_of_being_skipped(app, world):
    app.add_url_rule("/account/widgets/<widget_id>", "widget", lambda widget_id: widget_id)
    _urls, untaught = pages_for(app, world, "customer")
    assert len(untaught) == 1 and untaught[0].startswith("/account/widgets/<widget_id>: teach the axe/reflow guard")
