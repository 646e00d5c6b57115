"""The telemarketing registers as a service: numbers in every format as one E.164 number, the
do-not-call register (audited without the number), the NIX register replaced whole by each
import, partners' lead files sorted into callable, NIX, do-not-call, customer and invalid
rows, the export filtered again and safe in a spreadsheet, and the leads' retention."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime, timedelta

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from stickerreg.models import AuditEntry, DncEntry, Lead, LeadImport, NixNumber, Role
from stickerreg.services import registers
from stickerreg.services.registers import RegisterError

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# From PTS's series of numbers for fiction: valid, and nobody's.
ANNA, BERTIL, CECILIA, DAVID, EVA = (f"+467017406{n:02d}" for n in (5, 6, 7, 11, 12))
STOCKHOLM = "+46846500402"


# --- phone numbers ----------------------------------------------------------------------


@pytest.mark.parametrize("typed", [
    "070-174 06 05", "0701740605", "070 174 06 05", "070-1740605", "(070) 174 06 05", "070.174.06.05",
    "+46 70 174 06 05", "+46701740605", "+46 (0)70-174 06 05", "0046 70 174 06 05", "  070-174 06 05  ",
    "070\u00a0174\u00a006\u00a005", "070–174 06 05", "701740605",
])
def test_every_usual_form_of_a_swedish_number_is_one_e164_number(typed):
    assert registers.normalize_number(typed) == ANNA


@pytest.mark.parametrize(("typed", "e164"), [
    ("08-465 004 02", STOCKHOLM), ("+46 8 465 004 02", STOCKHOLM),
    ("+47 412 34 567", "+4741234567"), ("0047 412 34 567", "+4741234567"),
    ("+358 40 1234567", "+358401234567"), ("+44 20 7946 0958", "+442079460958"), ("+1 202 555 0143", "+12025550143"),
])
def test_landlines_and_foreign_numbers_are_accepted(typed, e164):
    assert registers.normalize_number(typed) == e164


@pytest.mark.parametrize("typed", [
    "", "   ", "+", "0", "070", "070-174", "070-174 06 0X", "070 174 06 055", "+4670174060", "07O-174 06 05",
    "070-CALL-ME", "tel:0701740605", "0701740605 ext 12", "0701740605, 0701740606", "+46 70 174 06 05 (mobil)",
    "=0701740605", "070\u2028174 06 05", "٠٧٠١٧٤٠٦٠٥", "+999 1234 5678", "1" * 60, None,
])
def test_what_is_not_one_valid_number_is_refused(typed):
    assert registers.normalize_number(typed) is None


def test_a_national_number_is_read_in_the_region_asked_for():
    assert registers.normalize_number("412 34 567", region="NO") == "+4741234567"
    assert registers.normalize_number("020 7946 0958", region="GB") == "+442079460958"
    assert registers.normalize_number("020 7946 0958") is None  # not a Swedish number


def phonenumbers_answer(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, "SE")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@settings(max_examples=400, deadline=None)
@given(prefix=st.sampled_from(["0", "+46", "0046", "+460", ""]), digits=st.text("0123456789", min_size=1, max_size=13))
def test_the_fast_reading_of_swedish_numbers_agrees_with_phonenumbers(prefix, digits):
    """The usual forms skip `phonenumbers.parse` (a NIX file has a million lines); the answer
    must be the library's, valid or not, whatever the digits."""
    assert registers.normalize_number(prefix + digits) == phonenumbers_answer(prefix + digits)


def test_the_fast_reading_agrees_on_every_kind_of_swedish_number():
    rng = random.Random(14)
    lengths = range(5, 12)
    numbers = [f"0{rng.choice('123456789')}{rng.randrange(10 ** n):0{n}d}" for n in lengths for _ in range(400)]
    assert [registers.normalize_number(n) for n in numbers] == [phonenumbers_answer(n) for n in numbers]
    assert sum(phonenumbers_answer(n) is not None for n in numbers) > 500  # many valid ones were compared


# --- the do-not-call register -----------------------------------------------------------


@pytest.fixture
def agent(user_factory):
    return user_factory(email="kundservice@example.se", role=Role.CUSTOMER_SERVICE)


def test_a_number_is_added_once_in_any_format_and_audited_without_the_number(session, agent):
    entry = registers.add_dnc(session, phone="070-174 06 05", source="phone_call", actor=agent)
    session.commit()
    assert (entry.phone, entry.source, entry.created_by_id) == (ANNA, "phone_call", agent.id)
    with pytest.raises(RegisterError, match="already_listed"):
        registers.add_dnc(session, phone="+46 70 174 06 05", source="email", actor=agent)
    [logged] = session.exec(select(AuditEntry).where(AuditEntry.action == "dnc.added")).all()
    assert (logged.actor_id, logged.object_type, logged.object_id) == (agent.id, "dnc_register", entry.public_id)
    assert "1740605" not in repr(logged.model_dump())


@pytest.mark.parametrize(("phone", "source", "reason"), [
    ("070-174", "phone_call", "invalid_phone"), ("", "email", "invalid_phone"), ("0701740605", "fax", "unknown_source"),
])
def test_a_number_we_cant_read_or_a_made_up_source_is_refused(session, agent, phone, source, reason):
    with pytest.raises(RegisterError, match=reason):
        registers.add_dnc(session, phone=phone, source=source, actor=agent)
    assert session.exec(select(DncEntry)).all() == []


def test_removing_a_number_is_audited_without_the_number(session, agent):
    entry = registers.add_dnc(session, phone="0701740605", source="email", actor=agent)
    session.commit()
    registers.remove_dnc(session, entry, actor=agent)
    session.commit()
    assert registers.dnc_entry_for(session, "0701740605") is None
    [logged] = session.exec(select(AuditEntry).where(AuditEntry.action == "dnc.removed")).all()
    assert logged.object_id == entry.public_id and "1740605" not in repr(logged.model_dump())


def test_the_register_is_searched_by_a_number_in_any_format_or_part_of_one(session, agent):
    for phone in (ANNA, BERTIL, STOCKHOLM, "+4741234567"):
        registers.add_dnc(session, phone=phone, source="letter", actor=agent)
    session.commit()

    def found(query):
        return sorted(entry.phone for entry in registers.dnc_entries(session, query))

    assert found("+46 (0)70-174 06 05") == found("0701740605") == [ANNA]
    assert found("070-174") == [ANNA, BERTIL]  # the start of a national number
    assert found("+47") == ["+4741234567"]
    assert found("465 004") == [STOCKHOLM]  # digits anywhere
    assert found("070-999") == [] and found("nobody") == [] and found("%") == []
    assert len(found(None)) == 4 and registers.dnc_count(session) == 4
    assert registers.find_dnc(session, "x\x00y") is None


# --- the NIX register -------------------------------------------------------------------

NIX_FILE = """# NIX 2026-11-01
070-174 06 06

0701740608
 +46 70 174 06 09
+46 (0)70-174 06 10
08-465 004 01
070-174 06 0X
0701740606
# a comment
12345
"""


def nix(session) -> list[str]:
    return sorted(session.exec(select(NixNumber.phone)))


def test_a_nix_file_is_read_with_its_bad_lines_named(session):
    result = registers.import_nix(session, NIX_FILE.encode(), now=T0)
    session.commit()
    assert nix(session) == sorted([BERTIL, "+46701740608", "+46701740609", "+46701740610", "+46846500401"])
    assert (result.numbers, result.repeated) == (5, 1)
    assert result.invalid.count == 2 and result.invalid.lines == [(8, "invalid_phone"), (11, "invalid_phone")]
    assert registers.nix_status(session) == registers.NixStatus(numbers=5, imported_at=T0)


def test_an_import_replaces_the_whole_register(session):
    registers.import_nix(session, NIX_FILE.encode(), now=T0)
    session.commit()
    registers.import_nix(session, b"0701740605\r\n0701740606\r\n", now=T0 + timedelta(days=30))
    session.commit()
    assert nix(session) == [ANNA, BERTIL]
    assert registers.nix_status(session).imported_at == T0 + timedelta(days=30)


def test_a_file_without_a_valid_number_leaves_the_register_as_it_was(session):
    registers.import_nix(session, NIX_FILE.encode(), now=T0)
    session.commit()
    for wrong in ("name;address;phone\nAnna;Street 1;x\n", "", "# only comments\n\n", "\x89PNG\r\n\x1a\n\x00\x00"):
        with pytest.raises(RegisterError, match="no_numbers|not_text"):
            registers.import_nix(session, wrong.encode("latin-1"))
        session.rollback()
    assert len(nix(session)) == 5


def test_a_nix_file_with_a_bom_or_in_windows_1252_is_read(session):
    registers.import_nix(session, "\ufeff0701740605\n".encode())
    assert nix(session) == [ANNA]
    result = registers.import_nix(session, "# Nix-fil från PTS\n0701740606\n".encode("cp1252"))
    assert nix(session) == [BERTIL] and result.encoding == "windows-1252"
    numbers, _, invalid = registers.read_nix("0701740605\r0701740606\r\n\r\n0701740608")  # old Mac line ends too
    assert sorted(numbers) == [ANNA, BERTIL, "+46701740608"] and invalid.count == 0


def test_many_bad_lines_are_all_counted_and_the_first_thousand_named(session):
    text = "0701740605\n" + "nope\n" * 1500
    result = registers.import_nix(session, text.encode())
    assert result.invalid.count == 1500 and len(result.invalid.lines) == registers.PROBLEM_LINES_KEPT
    assert result.invalid.lines[0] == (2, "invalid_phone")


def test_a_large_nix_file_is_stored_whole(session):
    """Bulk insert in chunks: more numbers than one chunk, every one stored once."""
    numbers = [f"070{n:07d}" for n in range(1_740_000, 1_765_000)]
    result = registers.import_nix(session, "\n".join(numbers).encode(), now=T0)
    session.commit()
    stored = set(session.exec(select(NixNumber.phone)))
    assert result.numbers == len(stored) == 25_000 and "+46701740605" in stored


# --- leads ------------------------------------------------------------------------------


def lead_file(rows: list[str], *, header: str | None = "name,address,phone,source partner", bom: bool = False,
              newline: str = "\n") -> bytes:
    text = newline.join(([header] if header else []) + rows) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


@pytest.fixture
def registered(session, agent, user_factory):
    """Bertil in NIX, Cecilia on our do-not-call register, David a customer."""
    registers.import_nix(session, b"070-174 06 06\n", now=T0)
    registers.add_dnc(session, phone="070-174 06 07", source="phone_call", actor=agent)
    customer = user_factory(email="david@example.se")
    customer.phone = DAVID
    session.add(customer)
    session.commit()


def stored_leads(session) -> list[Lead]:
    return list(session.exec(select(Lead).order_by(Lead.id)))


def test_a_lead_import_counts_each_kind_of_row_and_keeps_only_the_callable(session, registered):
    data = lead_file([
        "Anna Andersson,\"Storgatan 1, Stockholm\",070-174 06 05,Partner A",
        "Bertil Berg,Kungsgatan 2,0701740606,Partner A",
        "Cecilia Ek,,+46 70 174 06 07,Partner A",
        "David Dahl,Vasagatan 4,070-174 06 11,Partner A",
        "Eva Ek,Sveavägen 5,+46 8 465 004 02,",
        "Fredrik Falk,Gatan 6,070-174,Partner A",
        ",Gatan 7,0701740613,Partner A",
        "Gun Gran,Gatan 8,,Partner A",
        "Anna igen,Storgatan 1,+46701740605,Partner A",
        "",
    ])
    result = registers.import_leads(session, data, partner="Leads AB", now=T0)
    session.commit()
    found = result.lead_import
    assert (found.callable, found.blocked_nix, found.blocked_dnc, found.customers, found.invalid) == (2, 1, 1, 1, 4)
    assert result.problems.lines == [(7, "invalid_phone"), (8, "no_name"), (9, "no_phone"), (10, "repeats:2")]
    leads = stored_leads(session)
    assert [(lead.name, lead.address, lead.phone, lead.source_partner) for lead in leads] == [
        ("Anna Andersson", "Storgatan 1, Stockholm", ANNA, "Partner A"),
        ("Eva Ek", "Sveavägen 5", STOCKHOLM, "Leads AB"),  # no source in the row: the file's partner
    ]
    assert {lead.import_id for lead in leads} == {found.id} and leads[0].created_at == T0
    assert found.partner == "Leads AB"


@pytest.mark.parametrize("variant", ["semicolons", "bom", "crlf", "no header", "swedish header", "windows-1252"])
def test_lead_files_are_read_however_the_partner_saved_them(session, variant):
    rows = {"semicolons": (["Åsa Öberg;Storgatan 1, Malmö;070-174 06 05;P"], "namn;adress;telefon;partner"),
            "no header": (["Åsa Öberg,Storgatan 1,070-174 06 05,P"], None),
            "swedish header": (["070-174 06 05,Åsa Öberg,P,Storgatan 1"], "Telefonnummer,Namn,Källa,Adress")}
    lines, header = rows.get(variant, (["Åsa Öberg,Storgatan 1,070-174 06 05,P"], "name,address,phone,source partner"))
    data = lead_file(lines, header=header, bom=variant == "bom", newline="\r\n" if variant == "crlf" else "\n")
    if variant == "windows-1252":
        data = data.decode().encode("cp1252")
    result = registers.import_leads(session, data, partner="X")
    [lead] = stored_leads(session)
    assert (lead.name, lead.phone, lead.source_partner) == ("Åsa Öberg", ANNA, "P")
    assert lead.address.startswith("Storgatan 1")
    assert result.lead_import.invalid == 0
    assert result.encoding == ("windows-1252" if variant == "windows-1252" else "utf-8")


@pytest.mark.parametrize(("data", "partner", "reason"), [
    (b"", "P", "no_rows"), (b"name,address,phone,source partner\n", "P", "no_rows"), (b"\n\n", "P", "no_rows"),
    (b"PK\x03\x04\x00\x00binary", "P", "not_text"), (b"Anna,Gatan,0701740605,P\n", "  ", "no_partner"),
])
def test_a_file_with_nothing_to_import_is_refused(session, data, partner, reason):
    with pytest.raises(RegisterError, match=reason):
        registers.import_leads(session, data, partner=partner)
    assert session.exec(select(LeadImport)).all() == []


def test_control_characters_and_overlong_cells_never_reach_a_lead(session):
    data = lead_file(["Anna\x1b An\u2028dersson,Gatan\t1,0701740605,P", "B" * 101 + ",Gatan,0701740606,P"])
    result = registers.import_leads(session, data, partner="P")
    [lead] = stored_leads(session)
    assert lead.name == "Anna An dersson" and result.problems.lines == [(3, "too_long")]


# --- the export -------------------------------------------------------------------------


def test_numbers_that_joined_nix_or_the_dnc_register_or_became_customers_after_the_import_are_not_exported(
        session, agent, user_factory):
    data = lead_file([f"Lead {n},Gatan {n},{phone},P" for n, phone in enumerate((ANNA, BERTIL, CECILIA, DAVID, EVA))])
    imported = registers.import_leads(session, data, partner="P", now=T0).lead_import
    session.commit()
    assert imported.callable == 5 and registers.callable_counts(session, [imported]) == {imported.id: 5}
    registers.import_nix(session, b"0701740606\n")
    registers.add_dnc(session, phone=CECILIA, source="email", actor=agent)
    customer = user_factory(email="david@example.se")
    customer.phone = DAVID
    session.add(customer)
    session.commit()
    exported = [row[2] for row in csv.reader(io.StringIO(registers.leads_csv(registers.callable_leads(session))),
                                             delimiter=";")][1:]
    assert exported == ["'" + ANNA, "'" + EVA]
    assert [lead.phone for lead in registers.callable_leads(session, imported)] == [ANNA, EVA]
    assert registers.callable_count(session) == 2 and registers.callable_counts(session, [imported]) == {imported.id: 2}
    assert len(stored_leads(session)) == 5  # kept (until retention), just not exported


def test_the_export_has_each_number_once(session):
    registers.import_leads(session, lead_file(["Anna,Gatan 1,0701740605,P"]), partner="Early", now=T0)
    registers.import_leads(session, lead_file(["Anna A,Gatan 2,+46701740605,Q"]), partner="Late", now=T0)
    session.commit()
    [lead] = registers.callable_leads(session)
    assert lead.name == "Anna A" and registers.callable_count(session) == 1


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://evil.example\")", "+SUM(A1)", "-2+3", "@cmd", "\tTAB",
                                   "\r=1+1"])
def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(session, value):
    registers.import_leads(session, lead_file(["x,Gatan 1,0701740605,P"]), partner="P")
    [lead] = stored_leads(session)
    lead.name = lead.address = lead.source_partner = value  # as if a partner's file had carried them
    text = registers.leads_csv([lead])
    assert text.startswith("\ufeffname;address;phone;source_partner;imported_at\r\n")
    [row] = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))[1:]
    assert row[:4] == ["'" + value, "'" + value, "'+46701740605", "'" + value]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_harmless_cells_are_exported_as_they_are():
    assert [registers.csv_cell(v) for v in ("Anna", "Storgatan 1", "", None, "070", " =x")] == [
        "Anna", "Storgatan 1", "", "", "070", " =x"]


# --- retention --------------------------------------------------------------------------


def test_retention_deletes_the_leads_older_than_the_period_and_only_those(session):
    old = registers.import_leads(session, lead_file(["Old,Gatan 1,0701740605,P"]), partner="P", now=T0)
    new = registers.import_leads(session, lead_file(["New,Gatan 2,0701740606,P"]), partner="P",
                                 now=T0 + timedelta(days=60))
    session.commit()
    assert registers.delete_expired_leads(session, T0 + timedelta(days=90), days=90) == 0  # exactly 90 days: kept
    assert registers.delete_expired_leads(session, T0 + timedelta(days=91), days=90) == 1
    session.commit()
    assert [lead.name for lead in stored_leads(session)] == ["New"]
    assert {found.id for found in registers.lead_imports(session)} == {old.lead_import.id, new.lead_import.id}


def test_retention_reads_the_period_from_the_settings_when_not_given(session, monkeypatch):
    registers.import_leads(session, lead_file(["Old,Gatan 1,0701740605,P"]), partner="P", now=T0)
    session.commit()
    monkeypatch.setenv("LEAD_RETENTION_DAYS", "10")
    assert registers.delete_expired_leads(session, T0 + timedelta(days=9)) == 0
    assert registers.delete_expired_leads(session, T0 + timedelta(days=11)) == 1
