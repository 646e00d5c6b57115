"""The print-shop portal and its CLI: hidden (404) from everyone but print-shop staff and
admins, batches made and moved with confirmation, misprints, and exports whose progress
a fragment polls until the file can be downloaded."""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile

import pytest
from helpers import PASSWORD, browser, csrf_token
from helpers import visible as raw_visible
from sqlmodel import select

from stickerreg import codes
from stickerreg import worker as background
from stickerreg.models import Batch, BatchStatus, ExportJob, JobStatus, Role, StickerSet, User
from stickerreg.services import accounts
from stickerreg.services.printshop import batches, exports

LAYOUT = "a4-3x7"


@pytest.fixture
def make_user(user_factory):
    def make(email: str, role: Role) -> User:
        return user_factory(email=email, password=PASSWORD, role=role)

    return make


@pytest.fixture
def staff(make_user):
    return make_user("print@example.se", Role.PRINTSHOP)


@pytest.fixture
def staff_browser(app, staff):
    return browser(app, staff.email)


@pytest.fixture
def export_dir(app, tmp_path):
    app.config["EXPORT_DIR"] = str(tmp_path / "exports")
    return tmp_path / "exports"


@pytest.fixture
def batch(session, staff):
    batch = batches.create_and_mint(session, count=5, set_size=2, layout=LAYOUT, product="Nyckelbricka", actor=staff)
    session.commit()
    return batch


@pytest.fixture
def queued_job(session, batch, staff):
    """An export nobody runs: stays queued, as if its worker had not started yet."""
    job = exports.start_export(session, batch, "csv", staff)
    session.commit()
    return job


def visible(response) -> str:
    """The page's text, entities decoded (apostrophes come escaped)."""
    return html.unescape(raw_visible(response))


def worker_writes(app, session, public_id: str) -> ExportJob:
    """The export job once the worker (`flask worker`) has written it: the web only queues it."""
    assert exports.find_job(session, public_id).status == JobStatus.QUEUED
    with app.app_context():
        while background.exports_duty(app, "test-worker").run():
            pass
    session.expire_all()
    return exports.find_job(session, public_id)


def printshop_urls(app, batch: Batch, job: ExportJob):
    """Every print-shop URL and method from the live URL map, filled with real ids."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/printshop"):
            continue
        key = job.public_id if rule.rule.startswith("/printshop/exports/") else batch.public_id
        url = rule.rule.replace("<public_id>", key)
        query = "?to=exported" if rule.endpoint == "printshop.mark" else ""
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url + query


def states(session):
    session.expire_all()
    return [(b.status, b.count) for b in session.exec(select(Batch))], session.exec(select(ExportJob)).all()


# --- who gets in -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_everyone_but_print_shop_staff_gets_404_on_every_url(app, session, make_user, batch, queued_job, export_dir, who):
    if who == "customer":
        make_user("customer@example.se", Role.CUSTOMER)
    client = browser(app, "customer@example.se" if who == "customer" else None)
    token = csrf_token(client, "/auth/login" if who == "anonymous" else "/account/")
    before = states(session)
    form = {"csrf_token": token, "count": "5", "set_size": "1", "layout": LAYOUT, "product": "X", "to": "exported",
            "confirm": "y", "sets": "1", "format": "csv"}
    answers = []
    for method, url in printshop_urls(app, batch, queued_job):
        with client.open(url, method=method, data=form if method == "POST" else None) as response:
            answers.append((method, url, response.status_code, response.headers.get("Location")))
    assert len(answers) >= 9
    assert all(status == 404 and location is None for _, _, status, location in answers), answers
    assert states(session) == before


def test_the_404_looks_like_any_unknown_address(app, make_user):
    make_user("customer@example.se", Role.CUSTOMER)
    client = browser(app, "customer@example.se")
    assert visible(client.get("/printshop/")) == visible(client.get("/no-such-page/"))


def test_print_shop_staff_and_admins_reach_every_page(app, session, make_user, batch, queued_job):
    make_user("admin@example.se", Role.ADMIN)
    for email in ("print@example.se", "admin@example.se"):
        client = browser(app, email)
        for method, url in printshop_urls(app, batch, queued_job):
            if method == "GET" and not url.endswith("/download"):
                with client.get(url) as response:
                    assert response.status_code == 200, url
                    assert response.headers["Cache-Control"] == "no-store"


def test_the_nav_links_to_the_print_shop_for_staff_only(app, staff, make_user):
    make_user("customer@example.se", Role.CUSTOMER)
    assert 'href="/printshop/"' in browser(app, staff.email).get("/account/").get_data(as_text=True)
    assert 'href="/printshop/"' not in browser(app, "customer@example.se").get("/account/").get_data(as_text=True)


def test_every_print_shop_form_needs_its_csrf_token(app, staff_browser, batch, session):
    urls = ["/printshop/batches/new", f"/printshop/batches/{batch.public_id}/mark",
            f"/printshop/batches/{batch.public_id}/void", f"/printshop/batches/{batch.public_id}/exports"]
    form = {"count": "5", "set_size": "1", "layout": LAYOUT, "product": "X", "to": "exported", "confirm": "y",
            "sets": "1", "format": "csv"}
    for url in urls:
        assert staff_browser.post(url, data=form).status_code == 400, url
    assert states(session)[0] == [("minted", 5)]


# --- batches ---------------------------------------------------------------------------------


def test_staff_create_and_mint_a_batch_from_the_form(app, session, staff, staff_browser):
    page = staff_browser.get("/printshop/batches/new")
    assert page.status_code == 200 and LAYOUT in page.get_data(as_text=True)
    token = csrf_token(staff_browser, "/printshop/batches/new")
    response = staff_browser.post("/printshop/batches/new", data={
        "csrf_token": token, "count": "42", "set_size": "6", "layout": LAYOUT, "product": "Nyckelbricka blå"})
    assert response.status_code == 303
    batch = session.exec(select(Batch)).one()
    assert response.headers["Location"] == f"/printshop/batches/{batch.public_id}"
    assert (batch.status, batch.count, batch.set_size, batch.created_by_id) == ("minted", 42, 6, staff.id)
    text = visible(staff_browser.get(response.headers["Location"]))
    assert "42 stickers in 7 sets" in text and "Nyckelbricka blå" in text and staff.email in text
    assert batch.public_id in visible(staff_browser.get("/printshop/"))


@pytest.mark.parametrize(
    ("field", "value"),
    [("count", "0"), ("count", "20001"), ("count", "many"), ("set_size", "0"), ("set_size", "25"),
     ("layout", "no-such-stock"), ("product", "")],
)
def test_the_batch_form_refuses_values_out_of_range(app, session, staff_browser, field, value):
    token = csrf_token(staff_browser, "/printshop/batches/new")
    data = {"csrf_token": token, "count": "10", "set_size": "2", "layout": LAYOUT, "product": "X", field: value}
    response = staff_browser.post("/printshop/batches/new", data=data)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert session.exec(select(Batch)).first() is None


def test_a_step_is_confirmed_before_it_is_taken(app, session, staff, staff_browser, batch):
    url = f"/printshop/batches/{batch.public_id}/mark"
    page = staff_browser.get(url + "?to=exported")
    assert page.status_code == 200 and "Mark as exported" in visible(page)
    token = csrf_token(staff_browser, url + "?to=exported")
    unconfirmed = staff_browser.post(url, data={"csrf_token": token, "to": "exported"})
    assert unconfirmed.status_code == 422 and "Tick the box" in visible(unconfirmed)
    confirmed = staff_browser.post(url, data={"csrf_token": token, "to": "exported", "confirm": "y"})
    assert confirmed.status_code == 303 and confirmed.headers["Location"] == f"/printshop/batches/{batch.public_id}"
    session.refresh(batch)
    assert batch.status == BatchStatus.EXPORTED
    event, email = batches.events(session, batch)[-1]
    assert (event.from_status, event.to_status, email) == ("minted", "exported", staff.email)


def test_with_htmx_the_confirmation_is_a_fragment_and_success_redirects(app, session, staff_browser, batch):
    url = f"/printshop/batches/{batch.public_id}/mark"
    fragment = staff_browser.get(url + "?to=voided", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'id="batch-mark"' in fragment
    token = csrf_token(staff_browser, url + "?to=voided")
    response = staff_browser.post(url, data={"csrf_token": token, "to": "voided", "confirm": "y"},
                                  headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == f"/printshop/batches/{batch.public_id}"
    session.refresh(batch)
    assert batch.status == BatchStatus.VOIDED


def test_an_illegal_step_is_not_offered_and_is_refused(app, session, staff_browser, batch):
    url = f"/printshop/batches/{batch.public_id}/mark"
    assert staff_browser.get(url + "?to=shipped").status_code == 404
    assert staff_browser.get(url + "?to=bogus").status_code == 404
    token = csrf_token(staff_browser, url + "?to=exported")
    response = staff_browser.post(url, data={"csrf_token": token, "to": "shipped", "confirm": "y"})
    assert response.status_code == 409 and "can't be marked “Shipped”" in visible(response)
    session.refresh(batch)
    assert batch.status == BatchStatus.MINTED


def test_misprints_are_voided_and_their_reprint_is_shown(app, session, staff_browser, batch):
    page = f"/printshop/batches/{batch.public_id}"
    token = csrf_token(staff_browser, page)
    response = staff_browser.post(page + "/void", data={"csrf_token": token, "sets": "2", "codes": ""})
    assert response.status_code == 303
    reprint = session.exec(select(Batch).where(Batch.reprint_of_id == batch.id)).one()
    assert response.headers["Location"] == f"/printshop/batches/{reprint.public_id}"
    text = visible(staff_browser.get(response.headers["Location"]))
    assert "2 stickers of batch" in text and batch.public_id in text
    assert batches.sticker_counts(session, batch) == {"unclaimed": 3, "voided": 2}


@pytest.mark.parametrize(
    ("data", "message"),
    [({"sets": "", "codes": ""}, "Name the misprinted stickers"),
     ({"sets": "9"}, "sets 1 to 3"),
     ({"sets": "two"}, "whole numbers"),
     ({"codes": "0000-0000-0000"}, "not stickers of this batch")],
)
def test_void_errors_are_explained(app, session, staff_browser, batch, data, message):
    page = f"/printshop/batches/{batch.public_id}"
    token = csrf_token(staff_browser, page)
    response = staff_browser.post(page + "/void", data={"csrf_token": token, **data})
    assert response.status_code == 422 and message in visible(response)
    assert batches.reprints_of(session, batch) == []


# --- what the batch page puts first ------------------------------------------------------------


def sections(page_html: str) -> list[str]:
    """The ids of the batch page's parts, in the order they come."""
    return re.findall(r'<(?:section|div) id="(batch-[a-z-]+)"', page_html)


def part(page_html: str, part_id: str) -> str:
    """The HTML of one part of the batch page, up to the next part."""
    start = page_html.index(f'id="{part_id}"')
    following = [page_html.find(f'id="{other}"', start + 1) for other in sections(page_html) if other != part_id]
    return page_html[start:min([i for i in following if i > start] or [len(page_html)])]


def action_links(page_html: str) -> list[tuple[str, str]]:
    """(to, class) of every link to a step of the batch's life."""
    return re.findall(r'<a href="/printshop/batches/[^/]+/mark\?to=([a-z]+)" role="button" class="([^"]*)"', page_html)


def test_the_batch_page_puts_exports_first_then_the_one_next_step_and_voiding_last(staff_browser, batch):
    html_ = staff_browser.get(f"/printshop/batches/{batch.public_id}").get_data(as_text=True)
    assert sections(html_) == ["batch-exports", "batch-actions", "batch-void", "batch-void-all", "batch-history"]
    assert action_links(part(html_, "batch-actions")) == [("exported", "next-step")]  # primary: Pico's default
    assert action_links(part(html_, "batch-void-all")) == [("voided", "secondary outline")]
    assert "Mark as exported…" in part(html_, "batch-actions") and "Void" not in part(html_, "batch-actions")


def test_the_next_step_is_always_the_batchs_real_next_status(session, staff_browser, batch):
    url = f"/printshop/batches/{batch.public_id}"
    for status, expected in [(BatchStatus.EXPORTED, "printed"), (BatchStatus.PRINTED, "shipped")]:
        batches.mark(session, batch, status)
        session.commit()
        html_ = staff_browser.get(url).get_data(as_text=True)
        assert [to for to, _ in action_links(part(html_, "batch-actions"))] == [expected]
        assert [to for to, _ in action_links(html_)] == [expected, "voided"]
    batches.mark(session, batch, BatchStatus.SHIPPED)
    session.commit()
    html_ = staff_browser.get(url).get_data(as_text=True)
    assert action_links(html_) == [] and "batch-void-all" not in html_  # shipped: nothing to do, nothing to void
    assert "nothing more to do" in visible(staff_browser.get(url))


def test_voiding_the_whole_batch_is_still_confirmed_first(session, staff_browser, batch):
    url = f"/printshop/batches/{batch.public_id}/mark"
    confirm = staff_browser.get(url + "?to=voided")
    assert "Yes, I have checked the batch" in visible(confirm) and "none of its stickers can ever be claimed" in visible(
        confirm)
    assert re.search(r'<button type="submit" class="danger">Void the whole batch</button>', confirm.get_data(as_text=True))
    token = csrf_token(staff_browser, url + "?to=voided")
    unconfirmed = staff_browser.post(url, data={"csrf_token": token, "to": "voided"}, headers={"HX-Request": "true"})
    assert unconfirmed.status_code == 422 and "Tick the box to confirm." in visible(unconfirmed)
    session.refresh(batch)
    assert batch.status == BatchStatus.MINTED


# --- label stocks and the printed language ---------------------------------------------------------

STOCK = {"sv": "A4-ark, 3×7 etiketter, 63,5×38,1 mm", "en": "A4 sheet, 3×7 labels, 63.5×38.1 mm"}
ROLL = {"sv": "Etikettrulle, 50×30 mm", "en": "Label roll, 50×30 mm"}


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_label_stocks_are_named_with_their_size_on_every_page(staff_browser, batch, lang):
    other = "en" if lang == "sv" else "sv"
    for url in (f"/printshop/batches/{batch.public_id}", "/printshop/"):
        text = visible(staff_browser.get(f"{url}?lang={lang}"))
        assert STOCK[lang] in text and STOCK[other] not in text and LAYOUT not in text, url
    form = staff_browser.get(f"/printshop/batches/new?lang={lang}").get_data(as_text=True)
    options = re.search(r'<select[^>]* name="layout"[^>]*>(.*?)</select>', form).group(1)
    assert f'<option value="{LAYOUT}">{STOCK[lang]}</option>' in options.replace(" selected", "")
    assert f'<option value="roll-50x30">{ROLL[lang]}</option>' in options


def test_the_batch_list_and_page_say_which_language_the_batch_prints_in(session, staff_browser, batch):
    english = batches.create_and_mint(session, count=1, set_size=1, layout=LAYOUT, product="Tag", language="en")
    session.commit()
    assert "Language Swedish" in visible(staff_browser.get(f"/printshop/batches/{batch.public_id}"))
    listing = visible(staff_browser.get("/printshop/"))
    assert f"{english.public_id} Tag Minted 1 in sets of 1 {STOCK['en']} English" in listing
    assert f"{STOCK['en']} Swedish" in listing
    assert "Språk Engelska" in visible(staff_browser.get(f"/printshop/batches/{english.public_id}?lang=sv"))


def test_the_new_batch_form_prints_in_swedish_unless_english_is_chosen(session, staff_browser):
    form = staff_browser.get("/printshop/batches/new").get_data(as_text=True)
    options = re.search(r'<select[^>]* name="language"[^>]*>(.*?)</select>', form).group(1)
    assert options == '<option selected value="sv">Swedish</option><option value="en">English</option>'
    token = csrf_token(staff_browser, "/printshop/batches/new")
    data = {"csrf_token": token, "count": "3", "set_size": "3", "layout": LAYOUT, "product": "Tag"}
    assert staff_browser.post("/printshop/batches/new", data=data).status_code == 303
    assert staff_browser.post("/printshop/batches/new", data={**data, "language": "en"}).status_code == 303
    refused = staff_browser.post("/printshop/batches/new", data={**data, "language": "de"})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.get_data(as_text=True)
    assert sorted(b.language for b in session.exec(select(Batch))) == ["en", "sv"]


# --- exports ---------------------------------------------------------------------------------


def test_an_export_without_javascript_redirects_to_its_progress_page(app, session, staff_browser, batch, export_dir):
    page = f"/printshop/batches/{batch.public_id}"
    token = csrf_token(staff_browser, page)
    response = staff_browser.post(page + "/exports", data={"csrf_token": token, "format": "csv"})
    assert response.status_code == 303
    public_id = response.headers["Location"].rsplit("/", 1)[1]
    assert response.headers["Location"] == f"/printshop/exports/{public_id}"
    job = worker_writes(app, session, public_id)
    assert job.status == JobStatus.DONE and job.created_by_id is not None
    text = staff_browser.get(f"/printshop/exports/{public_id}").get_data(as_text=True)
    assert "<html" in text and f'href="/printshop/exports/{public_id}/download"' in text
    assert 'hx-trigger="load delay:1s"' not in text  # finished: no more polling


def test_with_htmx_an_export_answers_with_the_progress_fragment(app, session, staff_browser, batch, export_dir):
    page = f"/printshop/batches/{batch.public_id}"
    token = csrf_token(staff_browser, page)
    response = staff_browser.post(page + "/exports", data={"csrf_token": token, "format": "svg"},
                                  headers={"HX-Request": "true"})
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in fragment and "<progress" in fragment
    public_id = re.search(r'id="export-([^"]+)"', fragment).group(1)
    assert worker_writes(app, session, public_id).status == JobStatus.DONE


def test_the_progress_fragment_polls_itself_until_the_export_is_done(app, staff_browser, queued_job):
    url = f"/printshop/exports/{queued_job.public_id}"
    fragment = staff_browser.get(url, headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and "HX-Request" in fragment.headers["Vary"]
    assert f'hx-get="{url}"' in html and 'hx-trigger="load delay:1s"' in html and 'hx-swap="outerHTML"' in html
    assert re.search(r'<progress value="0" max="100"', html) and "0 of 5 stickers" in visible(fragment)
    page = staff_browser.get(url)
    assert "<html" in page.get_data(as_text=True)
    assert f'<a href="{url}">Refresh</a>' in page.get_data(as_text=True)  # without JavaScript
    assert staff_browser.get(url + "/download").status_code == 404  # not finished yet


@pytest.mark.parametrize("fmt", ["csv", "svg"])
def test_a_finished_export_downloads_as_an_attachment(app, session, staff_browser, batch, export_dir, fmt):
    job = exports.start_export(session, batch, fmt)
    session.commit()
    exports.run_export(app.extensions["db_engine"], job.id, export_dir, base_url="http://localhost")
    with staff_browser.get(f"/printshop/exports/{job.public_id}/download") as response:
        assert response.status_code == 200
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment") and f"stickerreg-{batch.public_id}-{fmt}" in disposition
        assert response.headers["Cache-Control"] == "no-store"
        data = response.get_data()
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        assert len(rows) == 5 and codes.is_valid(rows[0]["code"])
    else:
        assert len(zipfile.ZipFile(io.BytesIO(data)).namelist()) == 5


def test_cards_cannot_be_exported_after_printing(app, session, staff_browser, batch):
    batches.mark(session, batch, BatchStatus.EXPORTED)
    batches.mark(session, batch, BatchStatus.PRINTED)
    session.commit()
    page = f"/printshop/batches/{batch.public_id}"
    html = staff_browser.get(page).get_data(as_text=True)
    assert re.search(r'value="cards"[^>]*disabled', html)
    token = csrf_token(staff_browser, page)
    response = staff_browser.post(page + "/exports", data={"csrf_token": token, "format": "cards"})
    assert response.status_code == 409 and "can't be exported again" in visible(response)
    htmx = staff_browser.post(page + "/exports", data={"csrf_token": token, "format": "cards"},
                              headers={"HX-Request": "true"})
    assert htmx.status_code == 409 and "<html" not in htmx.get_data(as_text=True)
    assert session.exec(select(ExportJob)).first() is None
    assert all(s.activation_plain is None for s in session.exec(select(StickerSet)))


def test_an_unknown_format_is_refused(app, session, staff_browser, batch):
    page = f"/printshop/batches/{batch.public_id}"
    token = csrf_token(staff_browser, page)
    assert staff_browser.post(page + "/exports", data={"csrf_token": token, "format": "exe"}).status_code == 422
    assert session.exec(select(ExportJob)).first() is None


# --- CLI -------------------------------------------------------------------------------------


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_cli_creates_a_verified_print_shop_user_who_can_sign_in(app, session):
    result = cli(app, "user", "create", "--email", "Shop@Example.se", "--password", PASSWORD, "--role", "printshop")
    assert result.exit_code == 0, result.output
    user = accounts.find_by_email(session, "shop@example.se")
    assert user.role == "printshop" and user.email_verified_at is not None
    assert browser(app, "shop@example.se").get("/printshop/").status_code == 200


def test_cli_refuses_weak_passwords_and_existing_users(app, session, staff):
    weak = cli(app, "user", "create", "--email", "a@example.se", "--password", "short", "--role", "admin")
    assert weak.exit_code == 2 and "weak password" in weak.output and "12 characters" in weak.output
    common = cli(app, "user", "create", "--email", "a@example.se", "--password", "password1234")
    assert common.exit_code == 2 and "too common" in common.output
    taken = cli(app, "user", "create", "--email", staff.email, "--password", PASSWORD)
    assert taken.exit_code == 1 and "exists already" in taken.output
    bad_role = cli(app, "user", "create", "--email", "b@example.se", "--password", PASSWORD, "--role", "root")
    assert bad_role.exit_code == 2
    assert accounts.find_by_email(session, "a@example.se") is None


def test_cli_batch_create_prints_only_the_new_batch_id(app, session):
    result = cli(app, "batch", "create", "--count", "25", "--set-size", "4", "--layout", LAYOUT, "--product", "Tag")
    assert result.exit_code == 0, result.output
    public_id = result.stdout.strip()
    batch = batches.find_batch(session, public_id)
    assert result.stdout == public_id + "\n"
    assert (batch.status, batch.count, batches.set_count(session, batch), batch.language) == ("minted", 25, 7, "sv")


def test_cli_batch_create_takes_the_printed_language_and_list_shows_it_with_the_stock(app, session):
    result = cli(app, "batch", "create", "--count", "2", "--set-size", "1", "--layout", "roll-50x30",
                 "--product", "Tag", "--language", "en")
    assert result.exit_code == 0, result.output
    assert batches.find_batch(session, result.stdout.strip()).language == "en"
    refused = cli(app, "batch", "create", "--count", "2", "--set-size", "1", "--layout", LAYOUT, "--product", "X",
                  "--language", "de")
    assert refused.exit_code == 2 and "--language" in refused.output
    listing = cli(app, "batch", "list").stdout
    assert f"{result.stdout.strip()}  minted         2 x1   en  Tag  [roll-50x30: Label roll, 50×30 mm]" in listing


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--count", "0", "--set-size", "1", "--layout", LAYOUT], "--count"),
     (["--count", "5", "--set-size", "30", "--layout", LAYOUT], "--set-size"),
     (["--count", "5", "--set-size", "1", "--layout", "no-such-stock"], "unknown layout")],
)
def test_cli_batch_create_refuses_bad_arguments(app, session, args, message):
    result = cli(app, "batch", "create", *args, "--product", "X")
    assert result.exit_code == 2 and message in result.output
    assert session.exec(select(Batch)).first() is None


def test_cli_exports_csv_and_svg_to_the_given_path_with_a_progress_bar(app, session, batch, export_dir, tmp_path):
    out = tmp_path / "manifest.csv"
    result = cli(app, "batch", "export", batch.public_id.lower(), "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    assert f"csv {batch.public_id}" in result.stderr  # the progress bar's label, on stderr
    assert len(list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))) == 5
    zipped = tmp_path / "qr.zip"
    assert cli(app, "batch", "export", batch.public_id, "--format", "svg", "--out", str(zipped)).exit_code == 0
    assert len(zipfile.ZipFile(zipped).namelist()) == 5
    jobs = session.exec(select(ExportJob)).all()
    assert [job.status for job in jobs] == ["done", "done"]


def test_cli_mark_and_void(app, session, batch):
    assert cli(app, "batch", "mark", batch.public_id, "exported").output == f"{batch.public_id} is exported\n"
    [first_set, *_] = session.exec(select(StickerSet).where(StickerSet.batch_id == batch.id).order_by(StickerSet.id))
    misprint = exports.labels(session, batch, base_url="http://x")[-1].code
    result = cli(app, "batch", "void", batch.public_id, "--codes", codes.display(misprint), "--sets", "1")
    assert result.exit_code == 0, result.output
    reprint = batches.find_batch(session, result.stdout.strip())
    assert reprint.reprint_of_id == batch.id and reprint.count == 3
    assert cli(app, "batch", "mark", batch.public_id, "printed").exit_code == 0
    session.refresh(first_set)
    assert first_set.activation_plain is None


@pytest.mark.parametrize(
    ("args", "message"),
    [(["batch", "mark", "NOSUCHBATCH", "printed"], "no batch 'NOSUCHBATCH'"),
     (["batch", "mark", "{id}", "shipped"], "is minted and can't become shipped"),
     (["batch", "mark", "{id}", "bogus"], "bogus"),
     (["batch", "export", "NOSUCHBATCH", "--format", "csv", "--out", "/tmp/x.csv"], "no batch"),
     (["batch", "export", "{id}", "--format", "docx", "--out", "/tmp/x"], "docx"),
     (["batch", "void", "{id}"], "--codes or --sets"),
     (["batch", "void", "{id}", "--sets", "x"], "whole numbers"),
     (["batch", "void", "{id}", "--sets", "99"], "has sets 1 to 3")],
)
def test_cli_errors_are_clear_usage_errors(app, batch, args, message):
    result = cli(app, *[arg.replace("{id}", batch.public_id) for arg in args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_cli_refuses_cards_after_printing(app, session, batch, tmp_path):
    batches.mark(session, batch, BatchStatus.EXPORTED)
    batches.mark(session, batch, BatchStatus.PRINTED)
    session.commit()
    result = cli(app, "batch", "export", batch.public_id, "--format", "cards", "--out", str(tmp_path / "c.pdf"))
    assert result.exit_code == 2 and "can't be exported again" in result.output
    assert not (tmp_path / "c.pdf").exists()


def test_cli_pdf_export_can_add_crop_marks(app, batch, export_dir, tmp_path):
    """Marks are stroked lines outside the labels; without the flag there are none."""
    pymupdf = pytest.importorskip("pymupdf")
    strokes = {}
    for flag in ([], ["--crop-marks"]):
        out = tmp_path / f"stickers{len(flag)}.pdf"
        result = cli(app, "batch", "export", batch.public_id, "--format", "pdf", "--out", str(out), *flag)
        assert result.exit_code == 0, result.output
        with pymupdf.open(out) as document:
            strokes[bool(flag)] = sum(1 for d in document[0].get_drawings() if d["type"] == "s")
    assert strokes[False] == 0 and strokes[True] > 0
