"""Fixtures for the linked services' tests: a small directory of issuers and operators, cards
and phones made through the services, and a way to read everything the database holds."""

from __future__ import annotations

import copy

import pytest
from helpers import SECRET_KEY
from sqlmodel import SQLModel

from stickerreg.models import Card, CardCreate, CardType, MobileDevice, MobileDeviceCreate, User
from stickerreg.services.linked import cards, devices, directory

# The two issuers and one operator every linked test can use: one issuer with a blocking
# line and a web page, one with neither.
DIRECTORY = {
    "card_issuers": [
        {"key": "bank", "name": "Banken", "blocking_phone": "020-41 12 12", "web": "https://bank.example.se/sparra"},
        {"key": "kortbolaget", "name": "Kortbolaget", "blocking_phone": None, "web": None},
    ],
    "mobile_operators": [
        {"key": "telco", "name": "Teleoperatören", "blocking_phone": "08-411 10 11", "web": "https://telco.example.se/"},
    ],
}


@pytest.fixture
def key() -> bytes:
    """The key the personnummer digests are made with: the test app's SECRET_KEY."""
    return SECRET_KEY


@pytest.fixture
def directory_document() -> dict:
    """The small directory, in the shape of directory.json."""
    return copy.deepcopy(DIRECTORY)


@pytest.fixture
def loaded_directory(session, directory_document) -> None:
    directory.load(session, directory_document)
    session.commit()


@pytest.fixture
def card_factory(session, loaded_directory, user_factory):
    def make(owner: User | None = None, *, holder_name: str = "Anna Andersson", issuer: str = "bank",
             card_type: CardType = CardType.DEBIT, last_four: str = "1234") -> Card:
        owner = owner or user_factory()
        details = CardCreate(holder_name=holder_name, issuer=issuer, card_type=card_type, last_four=last_four)
        card = cards.add_card(session, owner, details, actor=owner)
        session.commit()
        return card

    return make


@pytest.fixture
def device_factory(session, loaded_directory, user_factory, key):
    def make(owner: User | None = None, *, owner_name: str = "Anna Andersson", phone: str = "070-123 45 67",
             operator: str = "telco", imei: str | None = "490154203237518",
             owner_personnummer: str | None = None) -> MobileDevice:
        owner = owner or user_factory()
        details = MobileDeviceCreate(owner_name=owner_name, phone=phone, operator=operator, imei=imei,
                                     owner_personnummer=owner_personnummer)
        device = devices.add_device(session, owner, details, key=key, actor=owner)
        session.commit()
        return device

    return make


@pytest.fixture
def database_values(session):
    """Every value of every row of every table, as text: what a leak check searches."""

    def dump() -> list[str]:
        session.flush()
        return [str(value) for table in SQLModel.metadata.sorted_tables
                for row in session.execute(table.select()) for value in row if value is not None]

    return dump
