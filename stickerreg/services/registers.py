"""The telemarketing registers: our do-not-call register ("ring inte oss": a number stays until
its owner asks to be removed), the NIX register (Sweden's opt-out from telemarketing, replaced
whole by each import) and partners' lead files, filtered against both and against our own
customers when they are imported, and again when they are exported.

Every number is stored in E.164, so one number has one spelling whatever format it came in.
A NIX file holds about a million numbers: they are normalised without `phonenumbers.parse` for
the usual Swedish forms (see `_fast_national`) and inserted in bulk.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import phonenumbers
import sqlalchemy as sa
from sqlalchemy import delete, exists, insert
from sqlmodel import Session, func, select

from stickerreg import config, tokens
from stickerreg.models import DncEntry, Lead, LeadImport, LeadVerdict, NixNumber, User, utcnow
from stickerreg.services import audit
from stickerreg.text import csv_cell, single_line

DEFAULT_REGION = "SE"
DNC_SOURCES = ("phone_call", "email", "letter", "web_form", "in_person")
DNC_LIST_LIMIT = 100
PROBLEM_LINES_KEPT = 1000  # a report names at most this many bad lines (and counts them all)
NAME_MAX, ADDRESS_MAX, PARTNER_MAX = 100, 200, 100
_LOOKUP_CHUNK = 500  # numbers per IN (...) query: well under every database's parameter limit
_INSERT_CHUNK = 10_000

# What people put between the digits of a number; "(0)" is the trunk zero written after +46.
_SEPARATORS = str.maketrans("", "", " \t\u00a0\u202f-\u2010\u2011\u2012\u2013./()")
_COMPACT = re.compile(r"\+?[0-9]{3,20}")


class RegisterError(ValueError):
    """Why a register change or an import was refused; `str(error)` is a reason code."""


# --- phone numbers ------------------------------------------------------------------------


def normalize_number(text: str | None, *, region: str = DEFAULT_REGION) -> str | None:
    """`text` as an E.164 number (+46701234567), or None when it is not a valid number.
    National forms are read as numbers of `region`; +country (or 00country) numbers of any
    country are accepted. Only digits, a leading + and the usual separators are allowed: no
    letters, extensions or words around the number."""
    compact = (text or "").replace("(0)", "").translate(_SEPARATORS)
    if not _COMPACT.fullmatch(compact):
        return None
    usual = _usual_forms(region)
    if usual is not None:
        international, dialled, is_valid = usual
        nsn = _national_part(compact, international, dialled)
        if nsn is not None:
            return international + nsn if is_valid(nsn) else None
    try:
        number = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _national_part(compact: str, international: str, dialled: str) -> str | None:
    """The national significant number of `compact` when it is written the usual way (0NSN,
    +CCNSN or 00CCNSN), else None: `phonenumbers` reads the rest (a missing trunk zero,
    other countries)."""
    if compact.startswith(international):
        nsn = compact[len(international):]
    elif compact.startswith(dialled):
        nsn = compact[len(dialled):]
    elif compact.startswith("0") and not compact.startswith("00"):
        nsn = compact[1:]
    else:
        return None
    return nsn if nsn and nsn[0] != "0" else None


@functools.cache
def _usual_forms(region: str) -> tuple[str, str, Callable[[str], bool]] | None:
    """For a region whose numbers are dialled with a trunk 0 at home and 00 abroad (Sweden
    among them): its "+CC" and "00CC" and a validator of national significant numbers, so
    that the usual forms are read about thirty times faster than `phonenumbers.parse` does
    (a NIX file has a million of them). None for other regions."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.national_prefix_for_parsing != "0" or metadata.international_prefix != "00":
        return None
    if metadata.national_prefix_transform_rule:
        return None
    return f"+{metadata.country_code}", f"00{metadata.country_code}", _national_validator(metadata)


def _national_validator(metadata) -> Callable[[str], bool]:
    """`phonenumbers.is_valid_number` for a national significant number, built from the
    library's own metadata: the general pattern and one of the number types must match,
    each with its possible lengths (tests/unit/test_registers.py holds it to the library's
    answer)."""

    def rule(desc) -> tuple[frozenset[int] | None, Callable] | None:
        if desc is None or not desc.national_number_pattern:
            return None
        return frozenset(desc.possible_length) or None, re.compile(desc.national_number_pattern).fullmatch

    kinds = [metadata.mobile, metadata.fixed_line, metadata.premium_rate, metadata.toll_free, metadata.shared_cost,
             metadata.voip, metadata.personal_number, metadata.pager, metadata.uan, metadata.voicemail]
    general, types = rule(metadata.general_desc), [found for found in map(rule, kinds) if found is not None]

    def is_valid(nsn: str) -> bool:
        length = len(nsn)
        if general is None or (general[0] and length not in general[0]) or general[1](nsn) is None:
            return False
        return any((lengths is None or length in lengths) and match(nsn) is not None for lengths, match in types)

    return is_valid


def _digits_query(text: str, region: str) -> str | None:
    """A typed fragment of a number as the start of an E.164 number ("070-12" → "+467012")
    or, with no prefix to anchor it, as digits found anywhere; None when it has no digits."""
    compact = text.replace("(0)", "").translate(_SEPARATORS)
    if not re.fullmatch(r"\+?[0-9]{2,20}", compact):
        return None
    country_code = phonenumbers.country_code_for_region(region)
    if compact.startswith("+"):
        return compact + "%"
    if compact.startswith("00"):
        return "+" + compact[2:] + "%"
    if compact.startswith("0"):
        return f"+{country_code}{compact[1:]}%"
    return f"%{compact}%"


# --- the do-not-call register -------------------------------------------------------------


def dnc_entries(session: Session, query: str | None = None, *, limit: int = DNC_LIST_LIMIT) -> list[DncEntry]:
    """The newest entries, or those matching `query`: a whole number in any format finds that
    number; a fragment ("070-12", "4567") finds the numbers that start with or contain it."""
    statement = select(DncEntry).order_by(DncEntry.created_at.desc(), DncEntry.id.desc()).limit(limit)
    if query and query.strip():
        number = normalize_number(query)
        pattern = None if number else _digits_query(query, DEFAULT_REGION)
        if number:
            statement = statement.where(DncEntry.phone == number)
        elif pattern:
            statement = statement.where(DncEntry.phone.like(pattern))
        else:
            return []
    return list(session.exec(statement))


def dnc_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(DncEntry)).one()


def find_dnc(session: Session, public_id: str) -> DncEntry | None:
    if not tokens.is_public_id(public_id):
        return None
    return session.exec(select(DncEntry).where(DncEntry.public_id == public_id)).first()


def dnc_entry_for(session: Session, phone: str) -> DncEntry | None:
    """The entry for a number typed in any format, or None."""
    number = normalize_number(phone)
    return session.exec(select(DncEntry).where(DncEntry.phone == number)).first() if number else None


def add_dnc(session: Session, *, phone: str, source: str, actor: User | None) -> DncEntry:
    """Put a number on the do-not-call register. Raises RegisterError("invalid_phone"),
    ("unknown_source") or ("already_listed") before anything changes. Audited without the
    number (the entry's public id names it)."""
    number = normalize_number(phone)
    if number is None:
        raise RegisterError("invalid_phone")
    if source not in DNC_SOURCES:
        raise RegisterError("unknown_source")
    if session.exec(select(DncEntry.id).where(DncEntry.phone == number)).first() is not None:
        raise RegisterError("already_listed")
    entry = DncEntry(public_id=tokens.new_public_id(), phone=number, source=source,
                     created_by_id=actor.id if actor else None)
    session.add(entry)
    session.flush()
    audit.record(session, action="dnc.added", target=entry, subject_id=None, actor=actor, detail={"source": source})
    return entry


def remove_dnc(session: Session, entry: DncEntry, *, actor: User | None) -> None:
    """Take a number off the register: its owner asked to be removed."""
    audit.record(session, action="dnc.removed", target=entry, subject_id=None, actor=actor,
                 detail={"source": entry.source})
    session.delete(entry)


# --- the NIX register ---------------------------------------------------------------------


@dataclass
class LineProblems:
    """The bad lines of an uploaded file: all are counted, the first PROBLEM_LINES_KEPT kept
    as (line number, reason code)."""

    count: int = 0
    lines: list[tuple[int, str]] = field(default_factory=list)

    def add(self, line: int, reason: str) -> None:
        self.count += 1
        if len(self.lines) < PROBLEM_LINES_KEPT:
            self.lines.append((line, reason))


@dataclass
class NixImportResult:
    numbers: int  # distinct numbers now in the register
    repeated: int  # lines whose number came earlier in the file
    invalid: LineProblems
    encoding: str


@dataclass(frozen=True)
class NixStatus:
    numbers: int
    imported_at: datetime | None


def decode_upload(data: bytes) -> tuple[str, str]:
    """An uploaded text file as text and the encoding it was read in: UTF-8 (a BOM is
    dropped), else Windows-1252, which Excel in Sweden saves "CSV" in. Raises
    RegisterError("not_text") for anything else (a spreadsheet, an image)."""
    if b"\x00" in data[:4096]:
        raise RegisterError("not_text")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        raise RegisterError("not_text") from None


def read_nix(text: str) -> tuple[set[str], int, LineProblems]:
    """The numbers of a NIX file (one per line; blank lines and lines starting with # are
    skipped), how many lines repeated a number, and the lines that are not a valid number."""
    numbers: set[str] = set()
    repeated, invalid = 0, LineProblems()
    # Line by line from a stream, not a list of a million lines (universal newlines: \r\n, \r).
    for line_number, line in enumerate(io.StringIO(text, newline=None), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        number = normalize_number(line)
        if number is None:
            invalid.add(line_number, "invalid_phone")
        elif number in numbers:
            repeated += 1
        else:
            numbers.add(number)
    return numbers, repeated, invalid


def import_nix(session: Session, data: bytes, *, actor: User | None = None,
               now: datetime | None = None) -> NixImportResult:
    """Replace the whole NIX register with the numbers of `data` (the caller's one
    transaction: the old list stays until it commits), on the audit log by `actor` (None:
    from the shell). A file without a single valid number is refused
    (RegisterError("no_numbers")), so a wrong file can't empty the register."""
    text, encoding = decode_upload(data)
    numbers, repeated, invalid = read_nix(text)
    if not numbers:
        raise RegisterError("no_numbers")
    session.exec(delete(NixNumber))
    _insert_numbers(session, sorted(numbers), now or utcnow())
    audit.record(session, action="nix.imported", target=NixNumber, subject_id=None, actor=actor,
                 detail={"numbers": len(numbers), "invalid_lines": invalid.count})
    return NixImportResult(numbers=len(numbers), repeated=repeated, invalid=invalid, encoding=encoding)


def _insert_numbers(session: Session, numbers: list[str], imported_at: datetime) -> None:
    """Bulk insert into the NIX register: COPY on PostgreSQL (about three times faster than
    batched INSERTs), else executemany in chunks. Either way the one import time is converted
    once, not for each of a million rows (which took most of an import's time)."""
    table = NixNumber.__table__
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        stored_at = table.c.imported_at.type.process_bind_param(imported_at, connection.dialect)
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(
                f"COPY {table.name} (phone, imported_at) FROM STDIN") as copy:
            for phone in numbers:
                copy.write_row((phone, stored_at))
        return
    statement = insert(table).values(imported_at=_sql_constant(session, table.c.imported_at, imported_at))
    for chunk in _chunks(numbers, _INSERT_CHUNK):
        connection.execute(statement, [{"phone": phone} for phone in chunk])


def nix_status(session: Session) -> NixStatus:
    """How many numbers the register holds and when they were imported."""
    count, imported_at = session.exec(select(func.count(), func.max(NixNumber.imported_at))).one()
    return NixStatus(numbers=count, imported_at=imported_at)


def _sql_constant(session: Session, column, value):
    """`value` as an SQL literal of `column`'s type, in the session's database's dialect."""
    literal = sa.literal(value, column.type).compile(dialect=session.get_bind().dialect,
                                                     compile_kwargs={"literal_binds": True})
    return sa.literal_column(str(literal), column.type)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _present(session: Session, column, numbers: Iterable[str]) -> set[str]:
    """Which of `numbers` occur in `column`, asked in chunks."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(numbers)), _LOOKUP_CHUNK):
        found.update(session.exec(select(column).where(column.in_(chunk))))
    return found


# --- leads --------------------------------------------------------------------------------

# Header names a partner's file may use, by column (lower case, without spaces or _).
_HEADERS = {
    "name": {"name", "namn", "fullname", "fulltnamn"},
    "address": {"address", "adress", "postadress", "gatuadress"},
    "phone": {"phone", "telefon", "telefonnummer", "phonenumber", "tel", "mobil", "mobilnummer", "nummer"},
    "partner": {"sourcepartner", "partner", "source", "källa", "kalla", "leverantör", "leverantor"},
}
_POSITIONS = {"name": 0, "address": 1, "phone": 2, "partner": 3}
EXPORT_COLUMNS = ("name", "address", "phone", "source_partner", "imported_at")


@dataclass
class LeadImportResult:
    lead_import: LeadImport
    problems: LineProblems  # invalid rows by line, with why
    encoding: str


def _header_columns(row: list[str]) -> dict[str, int] | None:
    """The columns a header row names, or None when the row is data (no phone header)."""
    keys = [re.sub(r"[\s_\-]", "", cell.strip().lower()) for cell in row]
    found = {column: keys.index(next(k for k in keys if k in names))
             for column, names in _HEADERS.items() if any(k in names for k in keys)}
    return found if "phone" in found else None


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return ";" if first.count(";") > first.count(",") else ","


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """The CSV's rows with the file line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    line = 1
    for row in reader:
        yield line, row
        line = reader.line_num + 1


def import_leads(session: Session, data: bytes, *, partner: str, actor: User | None = None,
                 now: datetime | None = None) -> LeadImportResult:
    """Read a partner's lead file (name, address, phone, source partner; a header row, a BOM,
    ; or , allowed) and keep only the callable rows: a number in the NIX register, on our
    do-not-call register or in a customer's profile is counted and dropped, as is a row
    without a name or a valid number (or repeating an earlier row's number)."""
    text, encoding = decode_upload(data)
    partner = single_line(partner or "")[:PARTNER_MAX]
    if not partner:
        raise RegisterError("no_partner")
    rows = list(_rows(text))
    columns = _header_columns(rows[0][1]) if rows else None
    if columns is not None:
        rows = rows[1:]
    if not any(any(cell.strip() for cell in row) for _, row in rows):
        raise RegisterError("no_rows")
    lead_import = LeadImport(public_id=tokens.new_public_id(), partner=partner,
                             created_by_id=actor.id if actor else None, created_at=now or utcnow())
    session.add(lead_import)
    session.flush()
    problems = _store_callable(session, lead_import, rows, columns or _POSITIONS)
    session.add(lead_import)
    audit.record(session, action="leads.imported", target=lead_import, subject_id=None, actor=actor,
                 detail={kind: getattr(lead_import, kind)
                         for kind in ("callable", "blocked_nix", "blocked_dnc", "customers", "invalid")})
    return LeadImportResult(lead_import=lead_import, problems=problems, encoding=encoding)


def _parse_row(row: list[str], columns: dict[str, int], partner: str) -> dict | str:
    """A row as a lead's columns, or the reason code it is invalid."""
    def cell(name: str) -> str:
        index = columns.get(name)
        return single_line(row[index]) if index is not None and index < len(row) else ""

    name, address, phone = cell("name"), cell("address"), cell("phone")
    if not name:
        return "no_name"
    number = normalize_number(phone)
    if number is None:
        return "invalid_phone" if phone else "no_phone"
    if len(name) > NAME_MAX or len(address) > ADDRESS_MAX:
        return "too_long"
    return {"name": name, "address": address or None, "phone": number,
            "source_partner": (cell("partner") or partner)[:PARTNER_MAX]}


def _store_callable(session: Session, lead_import: LeadImport, rows, columns: dict[str, int]) -> LineProblems:
    problems, parsed, first_line = LineProblems(), [], {}
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue  # a blank line is no row
        lead = _parse_row(row, columns, lead_import.partner)
        if isinstance(lead, str):
            problems.add(line, lead)
        elif lead["phone"] in first_line:
            problems.add(line, f"repeats:{first_line[lead['phone']]}")
        else:
            first_line[lead["phone"]] = line
            parsed.append(lead)
    verdicts = _verdicts(session, [lead["phone"] for lead in parsed])
    callable_rows = [lead for lead in parsed if verdicts[lead["phone"]] == LeadVerdict.CALLABLE]
    counts = {verdict: 0 for verdict in LeadVerdict}
    for lead in parsed:
        counts[verdicts[lead["phone"]]] += 1
    lead_import.callable, lead_import.blocked_nix = counts[LeadVerdict.CALLABLE], counts[LeadVerdict.NIX]
    lead_import.blocked_dnc, lead_import.customers = counts[LeadVerdict.DNC], counts[LeadVerdict.CUSTOMER]
    lead_import.invalid = problems.count
    table = Lead.__table__
    statement = insert(table).values(import_id=lead_import.id,
                                     created_at=_sql_constant(session, table.c.created_at, lead_import.created_at))
    for start in range(0, len(callable_rows), _INSERT_CHUNK):
        session.connection().execute(statement, callable_rows[start:start + _INSERT_CHUNK])
    return problems


def _verdicts(session: Session, numbers: list[str]) -> dict[str, LeadVerdict]:
    """What each number is: in NIX, on our do-not-call register, a customer's, or callable
    (in that order: NIX is the law, the rest our own promise and our own customers)."""
    nix = _present(session, NixNumber.phone, numbers)
    dnc = _present(session, DncEntry.phone, numbers)
    customers = _present(session, User.phone, numbers)

    def verdict(number: str) -> LeadVerdict:
        if number in nix:
            return LeadVerdict.NIX
        if number in dnc:
            return LeadVerdict.DNC
        if number in customers:
            return LeadVerdict.CUSTOMER
        return LeadVerdict.CALLABLE

    return {number: verdict(number) for number in numbers}


def lead_imports(session: Session, *, limit: int = 100) -> list[LeadImport]:
    """The newest imports first."""
    return list(session.exec(select(LeadImport).order_by(LeadImport.created_at.desc(), LeadImport.id.desc())
                             .limit(limit)))


def find_lead_import(session: Session, public_id: str) -> LeadImport | None:
    if not tokens.is_public_id(public_id):
        return None
    return session.exec(select(LeadImport).where(LeadImport.public_id == public_id)).first()


def _still_callable():
    """Leads whose number has not joined NIX or the do-not-call register, or become a
    customer's, since it was imported. (users.phone has no index: NOT IN reads the customers'
    numbers once, where NOT EXISTS would scan the users for every lead on SQLite.)"""
    customers = select(User.phone).where(User.phone.is_not(None))
    return (~exists().where(NixNumber.phone == Lead.phone), ~exists().where(DncEntry.phone == Lead.phone),
            Lead.phone.not_in(customers))


def callable_leads(session: Session, lead_import: LeadImport | None = None) -> list[Lead]:
    """The leads that may be called today: of one import, or every kept lead (one row per
    number, the newest), in the order they were imported."""
    statement = select(Lead).where(*_still_callable())
    if lead_import is not None:
        statement = statement.where(Lead.import_id == lead_import.id)
    else:
        newest = select(func.max(Lead.id)).where(*_still_callable()).group_by(Lead.phone)
        statement = statement.where(Lead.id.in_(newest))
    return list(session.exec(statement.order_by(Lead.id)))


def callable_count(session: Session) -> int:
    """How many numbers `callable_leads` would export."""
    return session.exec(select(func.count(func.distinct(Lead.phone))).where(*_still_callable())).one()


def callable_counts(session: Session, imports: list[LeadImport]) -> dict[int, int]:
    """How many leads of each import may be called today, by import id (one query)."""
    statement = (select(Lead.import_id, func.count()).where(Lead.import_id.in_([found.id for found in imports]),
                                                           *_still_callable()).group_by(Lead.import_id))
    counts = dict(session.exec(statement).all())
    return {found.id: counts.get(found.id, 0) for found in imports}


def export_leads(session: Session, *, actor: User, lead_import: LeadImport | None = None) -> str:
    """The leads that may be called today (of one import, or all) as CSV, checked against NIX
    and the do-not-call register again now; the export, and how many rows it held, goes on the
    audit log (the file is personal data leaving the system)."""
    leads = callable_leads(session, lead_import)
    audit.record(session, action="leads.exported", target=lead_import or LeadImport, subject_id=None, actor=actor,
                 detail={"rows": len(leads)})
    return leads_csv(leads)


def leads_csv(leads: Iterable[Lead]) -> str:
    """Leads as a CSV for a spreadsheet or a dialler: UTF-8 with a BOM and ; between cells,
    as Excel in Sweden opens it, formula injection neutralised in every cell."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for lead in leads:
        writer.writerow([csv_cell(value) for value in (lead.name, lead.address, lead.phone, lead.source_partner,
                                                       lead.created_at.date().isoformat())])
    return "\ufeff" + out.getvalue()


def delete_expired_leads(session: Session, now: datetime, *, days: int | None = None) -> int:
    """Delete the leads imported more than `days` ago (the app's LEAD_RETENTION_DAYS; read from
    the environment when not given); returns how many. The imports' reports (counts only)
    are kept."""
    keep_days = days if days is not None else config.retention_periods()["LEAD_RETENTION_DAYS"]
    cutoff = now - timedelta(days=keep_days)
    result = session.exec(delete(Lead).where(Lead.created_at < cutoff))
    return result.rowcount or 0
