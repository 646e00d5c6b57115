"""Erasure, proved against the live schema: an account is filled through the services with
distinctive marker values, then every text, JSON and binary column of every row the account
brought into the database that can hold personal data (services.privacy.TABLES says which
columns hold nothing personal) is given a marker too. The export must hold every marker it
is meant to; after the erasure no marker, and none of the addresses, numbers or personnummer
typed in, remains anywhere: not in any table, the outbox or the mail spool (MAIL_DIR).

Nothing here is a hand-made list of tables: a new table with a foreign key to users, or a text
column nobody placed in privacy.TABLES, fails these tests until it is handled.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import zipfile
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import PASSWORD, SECRET_KEY, everything_in
from sqlmodel import SQLModel, select

from stickerreg.emails import composer
from stickerreg.mail import FileTransport
from stickerreg.models import (
    AuditEntry,
    CardCreate,
    CardType,
    Desk,
    DeskCreate,
    FireContactCreate,
    HandedInItemCreate,
    IdProtectEventIn,
    LostItems,
    MobileDeviceCreate,
    ProfileUpdate,
    Role,
    Sticker,
    StickerStatus,
    StickerUpdate,
    User,
    Verdict,
    utcnow,
)
from stickerreg.services import accounts, claims, crm, desks, finder, handed_in, outbox, privacy, relay, stickers
from stickerreg.services.linked import blocking, cards, devices, directory, fire, idprotect
from stickerreg.services.relay import FinderDetails

MARKER = re.compile(r"mk\d{5}zq|Ω\d{3}")
PERSONNUMMER = "19811218-9876"  # the customer's, proved with BankID
PHONE_OWNERS_PERSONNUMMER = "199001012385"


class Markers:
    """Distinctive values: `mk00001zq` (9 characters), or `Ω001` where a column is shorter."""

    def __init__(self):
        self.counter = itertools.count(1)
        self.needles: set[str] = set()  # everything that must be gone after the erasure

    def __call__(self, length: int | None = None) -> str:
        number = next(self.counter)
        value = f"Ω{number % 1000:03d}" if length is not None and length < 9 else f"mk{number:05d}zq"
        self.needles.add(value)
        return value

    def email(self, domain: str = "example.se") -> str:
        return f"{self()}@{domain}"

    def phone(self, e164: str) -> str:
        """A real number (the services check them): found later in both ways it is written."""
        self.needles |= {e164, accounts.display_phone(e164)}
        return e164


def text_columns(table: sa.Table) -> list[sa.Column]:
    return [column for column in table.columns
            if issubclass(column.type._type_affinity, (sa.String, sa.JSON)) or isinstance(column.type, sa.LargeBinary)]


def personal_columns(table: sa.Table) -> list[sa.Column]:
    return [column for column in text_columns(table) if column.name not in privacy.TABLES[table.name].kept]


def every_row(connection) -> dict[str, list[dict]]:
    return {table.name: [dict(row._mapping) for row in connection.execute(sa.select(table))]
            for table in SQLModel.metadata.sorted_tables}


def primary_keys(rows: dict[str, list[dict]]) -> set[tuple]:
    keys = set()
    for table in SQLModel.metadata.sorted_tables:
        names = [column.name for column in table.primary_key.columns]
        keys |= {(table.name, *(row[name] for name in names)) for row in rows[table.name]}
    return keys


def as_text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


# --- the schema is fully placed -------------------------------------------------------------


def test_every_table_and_every_foreign_key_to_users_is_placed():
    tables = SQLModel.metadata.tables
    assert set(privacy.TABLES) == set(tables), "place each table in services.privacy.TABLES"
    for name, policy_ in privacy.TABLES.items():
        columns = {column.name for column in text_columns(tables[name])}
        assert policy_.kept <= columns, f"{name}: {policy_.kept - columns} are not text columns of it"
    to_users = {(foreign_key.parent.table.name, foreign_key.parent.name)
                for table in tables.values() for foreign_key in table.foreign_keys
                if foreign_key.column.table.name == "users"}
    assert not privacy.ABOUT_THE_USER & privacy.DONE_BY_STAFF
    assert to_users == privacy.ABOUT_THE_USER | privacy.DONE_BY_STAFF, (
        "place each foreign key to users in services.privacy.ABOUT_THE_USER or DONE_BY_STAFF")
    for table_name, column_name in privacy.DONE_BY_STAFF:  # the row stays; the link goes
        [foreign_key] = tables[table_name].columns[column_name].foreign_keys
        assert foreign_key.ondelete == "SET NULL", (table_name, column_name)


# --- the account, filled through the services ----------------------------------------------


@pytest.fixture
def bystander(session, app):
    """Someone else's data, made first: it must come through the erasure untouched."""
    directory.load_file(session)
    other = accounts.create_user(session, email="bystander@example.se", password=PASSWORD, display_name="Bea")
    [sticker] = stickers.mint(session, count=1)
    stickers.activate_for(session, sticker, other, label="Bea's keys")
    finder.report_found(session, code=sticker.code, message="Found Bea's keys",
                        details=FinderDetails(email="finder.of.bea@example.org"))
    cards.add_card(session, other, CardCreate(holder_name="Bea", issuer="nordea", card_type=CardType.CREDIT,
                                              last_four="1111"), actor=other)
    accounts.send_verification(session, other)
    session.commit()
    return other


@pytest.fixture
def desk_screen(session):
    desk = desks.create_desk(session, DeskCreate(name="Hittegods Odenplan", address="Odenplan 1", opening_hours="9-17"))
    device, _ = desks.start_pairing(session, desk=desk, name="Disk 1")
    session.commit()
    return device


def drain(app) -> None:
    outbox.run_once(app.extensions["db_engine"], compose=composer(app), transport=FileTransport(app.config["MAIL_DIR"]),
                    max_attempts=app.config["OUTBOX_MAX_ATTEMPTS"])


def fill_account(session, marker: Markers, desk_screen, staff: User) -> User:
    """A customer who used every part of the service, every value they or others typed a marker."""
    user = accounts.create_user(session, email=marker.email(), password=PASSWORD, display_name=marker())
    accounts.update_profile(session, user, ProfileUpdate(
        display_name=marker(), phone=marker.phone("+46701234561"), street=marker(), postal_code="12345", city=marker()))
    accounts.start_session(session, user, method="password")
    accounts.request_password_reset(session, user.email)
    accounts.request_email_change(session, user, new_email=marker.email(), password=PASSWORD)
    owned = _stickers(session, marker, user)
    _conversations(session, marker, owned)
    _handed_in(session, marker, desk_screen, owned)
    _linked_services(session, marker, user, staff)
    crm.add_note(session, user, author=staff, body=marker())
    crm.open_record(session, user, staff=staff, reason="customer_called")
    session.commit()
    return user


def _stickers(session, marker, user) -> list[Sticker]:
    minted = stickers.mint_set(session, size=3)
    claims.claim_set(session, owner=user, sticker_code=minted.stickers[0].code, activation_code=minted.activation_code)
    for sticker in minted.stickers:
        stickers.update_sticker(session, sticker, StickerUpdate(label=marker(), lost_mode=True, reward_text=marker(),
                                                                public_note=marker()))
    stickers.record_scan(session, minted.stickers[0], now=utcnow())
    return minted.stickers


def _conversations(session, marker, owned) -> None:
    open_one, _ = finder.report_found(session, code=owned[0].code, message=marker(), details=FinderDetails(
        email=marker.email("example.org"), found_where=marker(), latitude=59.3345, longitude=18.0632))
    relay.add_owner_reply(session, open_one, marker())
    finder.reply_as_finder(session, open_one, marker())
    returned, _ = finder.report_found(session, code=owned[1].code, message=marker(),
                                      details=FinderDetails(email=marker.email("example.org")))
    relay.mark_returned(session, returned)


def _handed_in(session, marker, device, owned) -> None:
    for sticker in owned[:2]:
        handed_in.hand_in(session, device=device, sticker_code=sticker.code, photo=b"\xff\xd8" + marker().encode(),
                          key=SECRET_KEY, details=HandedInItemCreate(
                              category="keys", description=marker(), storage_place="B3", finder_name=marker(),
                              finder_contact=marker.phone("+46739876541"), finder_shares_contact=True))
    collected = handed_in.items_for_owner(session, session.get(User, owned[0].owner_id))[0].item
    code = handed_in.pickup_code(collected.public_id, key=SECRET_KEY)
    assert handed_in.collect(session, device=device, code=code, staff=marker(), key=SECRET_KEY)


def _linked_services(session, marker, user, staff) -> None:
    idprotect.ingest(session, IdProtectEventIn(id="before-bankid", bureau="UC", requester=marker(),
                                               requested_at=utcnow(), personnummer=PERSONNUMMER), key=SECRET_KEY)
    accounts.link_personnummer(session, user, accounts.normalize_personnummer(PERSONNUMMER), key=SECRET_KEY,
                               verified=True)
    marker.needles |= {"198112189876", "8112189876", "19811218", "19900101"}
    alert, _ = idprotect.ingest(session, IdProtectEventIn(id="after-bankid", bureau="UC", requester=marker(),
                                                          requested_at=utcnow(), personnummer=PERSONNUMMER), key=SECRET_KEY)
    idprotect.set_verdict(session, alert, Verdict.NOT_ME, actor=user, ask_for_help=True)
    cards.add_card(session, user, CardCreate(holder_name=marker(), issuer="handelsbanken", card_type=CardType.DEBIT,
                                             last_four="4242"), actor=user)
    devices.add_device(session, user, MobileDeviceCreate(
        owner_name=marker(), owner_personnummer=PHONE_OWNERS_PERSONNUMMER, phone=marker.phone("+46702223331"),
        operator="telia", imei="490154203237518"), key=SECRET_KEY, actor=user)
    marker.needles.add("490154203237518")
    for last_digit in (0, 1):
        fire.add_contact(session, user, FireContactCreate(name=marker(), relation=marker(), note=marker(),
                                                          phone=marker.phone(f"+4670333444{last_digit}")), actor=user)
    case = blocking.open_case(session, user, lost=LostItems.BOTH)
    blocking.request_help(session, case, actor=user)
    blocking.take(session, case, actor=staff)
    blocking.mark_blocked(session, case, blocking.items_of(session, case)[0], blocked=True, actor=staff,
                          role=blocking.CUSTOMER_SERVICE)


def mark_the_rest(connection, marker: Markers, before: set[tuple]) -> dict[tuple[str, str], set[str]]:
    """Give every personal column of every row the account brought in a marker (a value the
    services stored, such as a digest, maps to the same marker wherever it is, so rows that
    match by it still match). Returns the markers found in each column."""
    mapped: dict[object, str] = {}
    found: dict[tuple[str, str], set[str]] = {}
    for table in SQLModel.metadata.sorted_tables:
        names = [column.name for column in table.primary_key.columns]
        for row in connection.execute(sa.select(table)).mappings():
            if (table.name, *(row[name] for name in names)) in before:
                continue
            changes = {column.name: _marked(column, row[column.name], marker, mapped)
                       for column in personal_columns(table)}
            for name, value in changes.items():
                found.setdefault((table.name, name), set()).update(MARKER.findall(as_text(value)))
            if not changes:
                continue
            connection.execute(sa.update(table).where(*(table.c[name] == row[name] for name in names)).values(**changes))
    return found


def _marked(column: sa.Column, value, marker: Markers, mapped: dict):
    if isinstance(column.type, sa.LargeBinary):
        return value if MARKER.search(as_text(value)) else marker().encode()
    if issubclass(column.type._type_affinity, sa.JSON):
        return {**(value or {}), "marker": marker()}
    if value is not None and MARKER.search(value):
        return value
    if value is None:
        return marker(column.type.length)
    if value not in mapped:
        mapped[value] = marker(column.type.length)
    return mapped[value]


def spool_texts(app) -> dict[str, str]:
    """Every .eml in MAIL_DIR as a leak check reads it: headers and decoded parts, lower-case."""
    return {path.name: everything_in(message_from_bytes(path.read_bytes(), policy=policy.default))
            for path in sorted(Path(app.config["MAIL_DIR"]).glob("*.eml"))}


def test_an_erased_account_leaves_no_personal_value_anywhere(app, session, engine, bystander, desk_screen, user_factory):
    staff = user_factory(email="kundservice@example.se", password=PASSWORD, role=Role.CUSTOMER_SERVICE)
    drain(app)
    bystanders_mail = set(spool_texts(app))
    with engine.connect() as connection:
        before = primary_keys(every_row(connection))
    marker = Markers()
    user = fill_account(session, marker, desk_screen, staff)
    drain(app)
    assert len(spool_texts(app)) >= len(bystanders_mail) + 8, "the account's mail went to the spool"

    with engine.begin() as connection:
        found = mark_the_rest(connection, marker, before)
    unreached = sorted(f"{table.name}.{column.name}" for table in SQLModel.metadata.sorted_tables
                       for column in personal_columns(table) if not found.get((table.name, column.name)))
    assert unreached == [], ("no row of the account holds a marker in these columns: fill them in fill_account(), "
                             "or say in services.privacy.TABLES that they hold nothing personal")

    session.expire_all()
    user = session.get(User, user.id)
    exported = json.dumps(privacy.export(session, user), ensure_ascii=False)
    session.commit()
    expected = {value for (table, column), values in found.items() if (table, column) not in privacy.NOT_EXPORTED
                for value in values}
    assert sorted(value for value in expected if value not in exported) == []
    finder_addresses = {value for (table, column), values in found.items() if (table, column) ==
                        ("conversations", "finder_email") for value in values}
    assert finder_addresses and not any(address in exported for address in finder_addresses)

    erasure = privacy.erase(session, user, role="system")
    session.commit()
    assert privacy.purge_mail_spool(app.config["MAIL_DIR"], erasure) >= 8

    with engine.connect() as connection:
        after = every_row(connection)
    needles = {needle.lower() for needle in marker.needles | {value for values in found.values() for value in values}}
    left = sorted({(table, needle) for table, rows in after.items() for row in rows for value in row.values()
                   for needle in needles if needle in as_text(value).lower()})
    assert left == [], "personal values outlived the erasure"
    mail_left = sorted({(name, needle) for name, text in spool_texts(app).items() for needle in needles
                        if needle in text})
    assert mail_left == []
    assert primary_keys(after) >= before, "the erasure removed someone else's rows"
    assert set(spool_texts(app)) >= bystanders_mail, "the erasure removed someone else's mail"


def test_what_stays_after_an_erasure(app, session, bystander, desk_screen, user_factory):
    staff = user_factory(email="kundservice@example.se", password=PASSWORD, role=Role.CUSTOMER_SERVICE)
    marker = Markers()
    user = fill_account(session, marker, desk_screen, staff)
    user_id, codes = user.id, [s.code for s in stickers.owned_by(session, user)]
    privacy.erase(session, user, actor=staff, role="admin")
    session.commit()
    for code in codes:  # a finder's scan sees an unknown code; the set can't be claimed again
        sticker = stickers.find_by_code(session, code)
        assert sticker.owner_id is None and sticker.status == StickerStatus.DEACTIVATED and not sticker.label
        assert finder.public_view(session, code) == finder.public_view(session, "0" * 12)
    waiting = handed_in.waiting_at(session, session.get(Desk, desk_screen.desk_id))
    assert [(item.sticker_id, item.description, item.finder_name, item.storage_place) for item in waiting] == [
        (None, "", None, "B3")]
    [entry] = session.exec(select(AuditEntry).where(AuditEntry.subject_id == user_id,
                                                    AuditEntry.action == "account.erased")).all()
    assert entry.actor_id == staff.id and entry.object_id is None
    assert set(entry.detail["removed"]) >= {"cards", "conversations", "stickers", "emails", "fire_contacts"}


def test_a_typed_personnummer_erases_no_one_elses_inquiries(session, user_factory):
    """Only a number proved with BankID ties unmatched inquiries to the customer."""
    typed = user_factory()
    accounts.link_personnummer(session, typed, accounts.normalize_personnummer(PERSONNUMMER), key=SECRET_KEY)
    alert, _ = idprotect.ingest(session, IdProtectEventIn(id="x", bureau="UC", requester="Bank AB",
                                                          requested_at=utcnow(), personnummer=PERSONNUMMER),
                                key=SECRET_KEY)
    session.commit()
    assert alert.user_id is None
    assert privacy.collect(session, typed)["idprotect_alerts"] == []
    privacy.erase(session, typed)
    session.commit()
    assert session.get(type(alert), alert.id) is not None


def test_a_new_account_on_a_reused_id_does_not_inherit_the_erased_ones_audit_log(session, user_factory):
    directory.load_file(session)
    first = user_factory()
    cards.add_card(session, first, CardCreate(holder_name="A", issuer="nordea", card_type=CardType.DEBIT,
                                              last_four="1234"), actor=first)
    privacy.erase(session, first)
    session.commit()
    later = user_factory()
    entries = privacy.collect(session, later)["audit_log"]
    assert all(entry["action"] != "account.erased" for entry in entries)
    assert all(entry["action"] != "card.created" for entry in entries)


def test_the_zip_holds_data_json_and_summary_html():
    archive = zipfile.ZipFile(io.BytesIO(privacy.zip_export({"format": "x", "profile": {"email": "å@example.se"}},
                                                            "<p>sammanfattning</p>")))
    assert sorted(archive.namelist()) == ["data.json", "summary.html"]
    assert json.loads(archive.read("data.json"))["profile"]["email"] == "å@example.se"
