"""The sales area (/sales): partners' lead files uploaded and reported on, the callable leads
exported as a CSV that is safe in a spreadsheet and checked against NIX and the do-not-call
register again; sales reach nothing else of the staff areas. And the operator's `leads
import` and `seed-demo`'s sales user."""

from __future__ import annotations

import csv
import io
import json

import pytest
from helpers import PASSWORD, browser, csrf_token, visible, visible_text
from sqlmodel import select

from stickerreg.cli import DEMO_SALES_EMAIL
from stickerreg.models import AuditEntry, Lead, LeadImport, Role
from stickerreg.services import registers
from stickerreg.web import sessions

ANNA, BERTIL, CECILIA, DAVID = "+46701740605", "+46701740606", "+46701740607", "+46701740611"
LEADS = ("\ufeffnamn;adress;telefon;partner\r\n"
         "Anna Andersson;Storgatan 1, Stockholm;070-174 06 05;Partner A\r\n"
         "Bertil Berg;Kungsgatan 2;070-174 06 06;Partner A\r\n"
         "Cecilia Ek;;070-174 06 07;Partner A\r\n"
         "David Dahl;Vasagatan 4;070-174 06 11;Partner A\r\n"
         "Fredrik Falk;Sveavägen 5;070-174;Partner A\r\n"
         "=HYPERLINK(\"https://evil.example\");@SUM(1);+46 70 174 06 12;-Partner\r\n").encode()


@pytest.fixture
def seller(user_factory):
    return user_factory(email="sales@example.se", password=PASSWORD, role=Role.SALES)


@pytest.fixture
def sales_client(app, seller):
    return browser(app, email=seller.email)


@pytest.fixture
def registered(session, user_factory):
    """Bertil in NIX, Cecilia on the do-not-call register, David a customer."""
    registers.import_nix(session, b"070-174 06 06\n")
    registers.add_dnc(session, phone="0701740607", source="email", actor=None)
    david = user_factory(email="david@example.se")
    david.phone = DAVID
    session.add(david)
    session.commit()


def upload(client, data: bytes, *, partner: str = "Leads AB", filename: str = "leads.csv"):
    token = csrf_token(client, "/sales/leads")
    return client.post("/sales/leads", data={"csrf_token": token, "partner": partner,
                                             "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def site_header(response) -> str:
    """The text of the page's header: the main navigation."""
    return visible_text(response.get_data(as_text=True).split("<header", 1)[1].split("</header>", 1)[0])


def exported(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))


def test_sales_land_on_their_portal_and_see_only_its_link(app, seller, sales_client):
    fresh = browser(app)
    token = csrf_token(fresh, "/auth/login")
    signed_in = fresh.post("/auth/login", data={"email": seller.email, "password": PASSWORD, "csrf_token": token})
    assert signed_in.headers["Location"] == "/sales/"
    assert sales_client.get("/sales/").headers["Location"] == "/sales/leads"
    page = sales_client.get("/sales/leads")
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    header = site_header(page)
    assert "Sales" in header and "Customer service" not in header and "Admin" not in header
    assert "No lead files imported yet." in visible(page)


def test_an_upload_reports_every_kind_of_row_and_keeps_the_callable(session, sales_client, registered, seller):
    answer = upload(sales_client, LEADS)
    assert answer.status_code == 200
    page = visible(answer)
    assert "Imported from Leads AB" in page
    assert ("Callable (kept) 2 In the NIX register 1 On our do-not-call register 1 Already customers 1 "
            "Invalid rows 1") in page
    assert "Line 6: not a valid phone number" in page
    assert "2 callable, 1 in NIX, 1 do not call, 1 customers, 1 invalid" in page  # the list of imports
    found = session.exec(select(LeadImport)).one()
    assert found.created_by_id == seller.id and found.partner == "Leads AB"
    assert sorted(lead.phone for lead in session.exec(select(Lead))) == [ANNA, "+46701740612"]
    assert "david@example.se" not in answer.get_data(as_text=True)  # a customer's count, never who
    [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "leads.imported"))
    assert (entry.actor_id, entry.object_id) == (seller.id, found.public_id)
    assert entry.detail == {"callable": 2, "blocked_nix": 1, "blocked_dnc": 1, "customers": 1, "invalid": 1}


def test_a_file_bigger_than_the_site_wide_limit_is_taken_here(session, sales_client):
    rows = "".join(f"Lead {n};Gatan {n};070-{n:07d};P\r\n" for n in range(1_740_000, 1_743_000))
    assert len(rows) > 64 * 1024  # MAX_CONTENT_LENGTH elsewhere
    answer = upload(sales_client, rows.encode())
    assert answer.status_code == 200, answer.status_code
    assert session.exec(select(LeadImport)).one().callable == 3000


def test_a_body_over_the_upload_limit_is_refused_and_strangers_get_404(app, sales_client, monkeypatch):
    monkeypatch.setitem(sessions._UPLOAD_LIMITS, "sales.leads", 100_000)  # 16 MB is slow to send in a test
    assert upload(sales_client, b"x" * 200_000).status_code == 413
    stranger = browser(app)
    assert stranger.post("/sales/leads", data={"file": (io.BytesIO(b"x" * 200_000), "a.csv")},
                         content_type="multipart/form-data").status_code == 404


@pytest.mark.parametrize(("data", "partner", "message"), [
    (None, "Leads AB", "Choose the partner's file."),
    (LEADS, "", "Name the partner the file came from."),
    (b"PK\x03\x04\x00\x00\x00xlsx", "Leads AB", "That is not a text file."),
    (b"namn;adress;telefon;partner\r\n", "Leads AB", "The file has no rows to import."),
])
def test_a_wrong_upload_says_what_is_wrong_and_stores_nothing(session, sales_client, data, partner, message):
    token = csrf_token(sales_client, "/sales/leads")
    form = {"csrf_token": token, "partner": partner}
    if data is not None:
        form["file"] = (io.BytesIO(data), "leads.xlsx")
    answer = sales_client.post("/sales/leads", data=form, content_type="multipart/form-data")
    assert answer.status_code == 422 and message in visible(answer)
    assert session.exec(select(LeadImport)).all() == []


def test_the_export_is_safe_in_a_spreadsheet(sales_client, registered):
    upload(sales_client, LEADS)
    download = sales_client.get("/sales/leads.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"].startswith("attachment; filename=leads-")
    assert "no-store" in download.headers["Cache-Control"]
    rows = exported(download)
    assert rows[0] == ["name", "address", "phone", "source_partner", "imported_at"]
    assert [row[:4] for row in rows[1:]] == [
        ["Anna Andersson", "Storgatan 1, Stockholm", "'" + ANNA, "Partner A"],
        ["'=HYPERLINK(\"https://evil.example\")", "'@SUM(1)", "'+46701740612", "'-Partner"],
    ]


def test_numbers_that_joined_nix_or_do_not_call_after_the_import_are_not_exported(session, sales_client, registered):
    upload(sales_client, LEADS)
    found = session.exec(select(LeadImport)).one()
    registers.import_nix(session, b"0701740606\n0701740612\n")  # the next month's NIX file
    registers.add_dnc(session, phone="070-174 06 05", source="phone_call", actor=None)
    session.commit()
    assert exported(sales_client.get("/sales/leads.csv"))[1:] == []
    assert exported(sales_client.get(f"/sales/imports/{found.public_id}/leads.csv"))[1:] == []
    page = visible(sales_client.get("/sales/leads"))
    assert "0 numbers may be called today." in page and "None may be called today." in page
    assert "Export the callable leads (CSV)" not in page


def test_one_imports_export_and_an_unknown_import(session, sales_client):
    upload(sales_client, LEADS, partner="First")
    upload(sales_client, b"Gun Gran,Gatan 9,070-174 06 20,P\n", partner="Second")
    second = session.exec(select(LeadImport).where(LeadImport.partner == "Second")).one()
    rows = exported(sales_client.get(f"/sales/imports/{second.public_id}/leads.csv"))
    assert [row[0] for row in rows[1:]] == ["Gun Gran"]
    assert sales_client.get("/sales/imports/nope/leads.csv").status_code == 404
    everything = exported(sales_client.get("/sales/leads.csv"))
    # Each export is on the audit log with how many rows it held (never who).
    one, every = session.exec(select(AuditEntry).where(AuditEntry.action == "leads.exported").order_by(AuditEntry.id))
    assert (one.object_id, one.detail) == (second.public_id, {"rows": 1})
    assert (every.object_type, every.object_id, every.detail) == ("lead_imports", None, {"rows": len(everything) - 1})
    page = sales_client.get("/sales/leads").get_data(as_text=True)
    assert f'href="/sales/imports/{second.public_id}/leads.csv"' in page


@pytest.mark.parametrize("url", ["/crm/", "/crm/do-not-call", "/crm/customers", "/admin/nix", "/admin/",
                                 "/printshop/"])
def test_sales_reach_no_other_staff_area(sales_client, url):
    assert sales_client.get(url).status_code == 404
    token = csrf_token(sales_client, "/sales/leads")
    assert sales_client.post(url, data={"csrf_token": token, "dnc-phone": "0701740605"}).status_code == 404


@pytest.mark.parametrize("role", [None, Role.CUSTOMER, Role.CUSTOMER_SERVICE, Role.PRINTSHOP])
def test_the_sales_area_is_a_plain_404_to_everyone_else(app, user_factory, role, registered):
    client = browser(app, email=user_factory(password=PASSWORD, role=role).email) if role else browser(app)
    for url in ("/sales/", "/sales/leads", "/sales/leads.csv", "/sales/imports/x/leads.csv"):
        assert client.get(url).status_code == 404, url
    assert client.post("/sales/leads", data={}).status_code == 404
    assert "Sales" not in site_header(client.get("/"))


def test_admins_reach_the_sales_area(app, user_factory):
    admin = user_factory(email="admin@example.se", password=PASSWORD, role=Role.ADMIN)
    client = browser(app, email=admin.email)
    assert client.get("/sales/leads").status_code == 200
    assert "Sales" in site_header(client.get("/admin/desks"))


# --- operator commands ------------------------------------------------------------------


def test_leads_import_from_the_shell_reports_each_kind_and_names_bad_lines(app, session, registered, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(LEADS)
    result = app.test_cli_runner().invoke(args=["leads", "import", str(path), "--partner", "Leads AB"])
    assert result.exit_code == 0, result.output
    assert ("2 callable (kept), 1 in NIX, 1 on the do-not-call register, 1 customers already, 1 invalid"
            in result.stdout)
    assert "line 6: not a valid phone number" in result.stderr
    assert session.exec(select(LeadImport)).one().partner == "Leads AB"


def test_leads_import_refuses_what_it_cant_use(app, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["leads", "import", str(empty), "--partner", "P"]).exit_code == 1
    assert runner.invoke(args=["leads", "import", str(tmp_path / "missing.csv"), "--partner", "P"]).exit_code == 2
    assert runner.invoke(args=["leads", "import", str(empty)]).exit_code == 2  # --partner is required


def test_seed_demo_has_a_sales_user_with_an_imported_lead_file(app, session):
    runner = app.test_cli_runner()
    demo = json.loads(runner.invoke(args=["seed-demo", "--json"]).output)
    assert demo["sales_email"] == DEMO_SALES_EMAIL
    client = browser(app, email=DEMO_SALES_EMAIL, password=demo["password"])
    page = visible(client.get("/sales/leads"))
    assert "3 callable, 1 in NIX, 1 do not call, 0 customers, 1 invalid" in page
    runner.invoke(args=["seed-demo", "--json"])
    assert len(session.exec(select(LeadImport)).all()) == 1  # the seed imports it once
    assert f"sales: {DEMO_SALES_EMAIL}" in runner.invoke(args=["seed-demo"]).output
