"""Fixtures for the account-area web tests."""

from __future__ import annotations

import pytest
from helpers import PASSWORD, browser


@pytest.fixture
def owner(user_factory):
    """A verified customer who reads English (the tests check English texts)."""
    return user_factory(email="owner@example.se", password=PASSWORD, locale="en")


@pytest.fixture
def owner_client(app, owner):
    """The owner's phone browser, signed in."""
    return browser(app, email=owner.email)
