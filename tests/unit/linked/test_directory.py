"""The directory of card issuers and mobile operators: loaded from a document (the shipped
directory.json), matched by kind and key, blocking lines in E.164, web pages https only, and
every fact in the shipped file has its source."""

from __future__ import annotations

import json
import re

import phonenumbers
import pytest
from sqlmodel import func, select

from stickerreg.models import DirectoryEntry, DirectoryEntryUpdate, DirectoryKind
from stickerreg.services import accounts
from stickerreg.services.linked import directory
from stickerreg.services.linked.directory import DirectoryError


def issuer(key: str, name: str, **fields) -> dict:
    return {"card_issuers": [{"key": key, "name": name, **fields}]}


def shipped_entries() -> list[dict]:
    data = json.loads(directory.DATA_FILE.read_text(encoding="utf-8"))
    return data["card_issuers"] + data["mobile_operators"]


def test_loading_adds_new_entries_then_updates_them_by_kind_and_key(session, directory_document):
    assert directory.load(session, directory_document) == directory.LoadResult(added=3, updated=0)
    changed = {"card_issuers": [{"key": "bank", "name": "Banken AB", "blocking_phone": None, "web": None}]}
    assert directory.load(session, changed) == directory.LoadResult(added=0, updated=1)
    bank = directory.find(session, DirectoryKind.CARD_ISSUER, "bank")
    assert (bank.name, bank.blocking_phone, bank.web) == ("Banken AB", None, None)
    assert session.exec(select(func.count(DirectoryEntry.id))).one() == 3  # the others are kept


def test_the_same_key_is_a_different_entry_in_each_kind(session):
    directory.load(session, {"card_issuers": [{"key": "telia", "name": "Telia Kort"}],
                             "mobile_operators": [{"key": "telia", "name": "Telia"}]})
    assert directory.find(session, DirectoryKind.CARD_ISSUER, "telia").name == "Telia Kort"
    assert directory.find(session, DirectoryKind.MOBILE_OPERATOR, "telia").name == "Telia"


def test_an_unknown_key_finds_nothing(session, loaded_directory):
    assert directory.find(session, DirectoryKind.CARD_ISSUER, "no-such-bank") is None
    assert directory.find(session, DirectoryKind.CARD_ISSUER, "telco") is None  # an operator, not an issuer
    for hostile in ("bank\x00", "x" * 5000, "", "bank; drop table"):  # never reach the query (PostgreSQL too)
        assert directory.find(session, DirectoryKind.CARD_ISSUER, hostile) is None


@pytest.mark.parametrize("typed", ["020-41 12 12", "020411212", "+46 20 41 12 12", "0046 20 41 12 12"])
def test_a_blocking_line_is_stored_in_e164(session, typed):
    directory.load(session, issuer("bank", "Banken", blocking_phone=typed))
    assert directory.find(session, DirectoryKind.CARD_ISSUER, "bank").blocking_phone == "+4620411212"


@pytest.mark.parametrize("typed", ["12", "ring banken", "070-123", "020-41 12 12 1212"])
def test_a_blocking_line_that_is_no_phone_number_is_refused(session, typed):
    with pytest.raises(DirectoryError, match="^invalid_phone$"):
        directory.load(session, issuer("bank", "Banken", blocking_phone=typed))


@pytest.mark.parametrize("web", ["http://bank.example.se/", "javascript:alert(1)", "bank.example.se", "ftp://bank.se"])
def test_a_web_page_that_is_not_https_is_refused(session, web):
    with pytest.raises(DirectoryError, match="^invalid_web$"):
        directory.load(session, issuer("bank", "Banken", web=web))


def test_an_empty_blocking_line_or_web_page_is_stored_as_unknown(session):
    directory.load(session, issuer("bank", "Banken", blocking_phone="", web=""))
    bank = directory.find(session, DirectoryKind.CARD_ISSUER, "bank")
    assert (bank.blocking_phone, bank.web) == (None, None)


def test_entries_are_listed_by_name(session):
    directory.load(session, {"card_issuers": [{"key": "c", "name": "Gamma"}, {"key": "a", "name": "Alfa"},
                                              {"key": "b", "name": "Beta"}],
                             "mobile_operators": [{"key": "d", "name": "Delta"}]})
    assert [e.name for e in directory.entries(session, DirectoryKind.CARD_ISSUER)] == ["Alfa", "Beta", "Gamma"]
    assert [e.name for e in directory.entries(session, DirectoryKind.MOBILE_OPERATOR)] == ["Delta"]


def test_an_admins_correction_is_checked_like_the_file(session, loaded_directory):
    bank = directory.find(session, DirectoryKind.CARD_ISSUER, "bank")
    directory.update_entry(session, bank, DirectoryEntryUpdate(name="Banken", blocking_phone="08-411 10 11",
                                                               web="https://bank.example.se/"))
    assert bank.blocking_phone == "+4684111011"
    with pytest.raises(DirectoryError, match="^invalid_web$"):
        directory.update_entry(session, bank, DirectoryEntryUpdate(name="Banken", web="http://bank.example.se/"))


def test_the_shipped_directory_loads(session):
    result = directory.load_file(session)
    assert result.added == len(shipped_entries()) > 0 and result.updated == 0
    assert directory.entries(session, DirectoryKind.CARD_ISSUER) and directory.entries(
        session, DirectoryKind.MOBILE_OPERATOR)
    assert directory.load_file(session) == directory.LoadResult(added=0, updated=result.added)


@pytest.mark.parametrize("entry", [e for e in shipped_entries() if e.get("blocking_phone")], ids=lambda e: e["key"])
def test_every_shipped_blocking_line_is_e164_and_quoted_from_its_source(entry):
    phone = entry["blocking_phone"]
    assert accounts.normalize_phone(phone) == phone
    source = entry.get("sources", {}).get("blocking_phone", "")
    assert source.startswith("https://")
    # The quoted passage holds the very number, as the source writes it for callers in Sweden.
    national = phonenumbers.format_number(phonenumbers.parse(phone), phonenumbers.PhoneNumberFormat.NATIONAL)
    assert re.sub(r"\D", "", national) in re.sub(r"\D", "", source)


@pytest.mark.parametrize("entry", shipped_entries(), ids=lambda e: e["key"])
def test_every_shipped_fact_has_a_source(entry):
    facts = {name for name in ("blocking_phone", "web") if entry.get(name)}
    assert facts <= set(entry.get("sources", {}))
    assert all(source.startswith("https://") for source in entry.get("sources", {}).values())


def test_the_shipped_keys_are_unique_within_their_kind():
    data = json.loads(directory.DATA_FILE.read_text(encoding="utf-8"))
    for list_name in ("card_issuers", "mobile_operators"):
        keys = [entry["key"] for entry in data[list_name]]
        assert len(keys) == len(set(keys)), list_name
