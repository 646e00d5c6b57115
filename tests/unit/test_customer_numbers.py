"""Customer numbers: nine digits with a Luhn check digit, random and unique, typed any way."""

from __future__ import annotations

import pytest
from stdnum import luhn

from stickerreg.services import accounts

NUMBER = "123456782"  # 12345678 and its Luhn check digit


def test_every_customer_gets_nine_luhn_checked_digits_of_their_own(user_factory):
    numbers = [user_factory().customer_number for _ in range(8)]
    assert len(set(numbers)) == len(numbers)
    for number in numbers:
        assert len(number) == 9 and number.isascii() and number.isdigit() and number[0] != "0"
        assert luhn.is_valid(number)


def test_a_new_number_is_never_one_already_given(session, user_factory, monkeypatch):
    taken = user_factory().customer_number
    draws = iter([int(taken[:8]) - 10**7, int(NUMBER[:8]) - 10**7])
    monkeypatch.setattr(accounts.secrets, "randbelow", lambda _: next(draws))
    assert accounts.new_customer_number(session) == NUMBER


@pytest.mark.parametrize("typed", [NUMBER, "123 456 782", "123-456-782", " 123 456-782 ", "12-34-56-78-2"])
def test_a_customer_number_is_read_however_it_is_typed(typed):
    assert accounts.normalize_customer_number(typed) == NUMBER


@pytest.mark.parametrize("typed", [
    "123456783",  # wrong check digit
    "12345678", "1234567820", "", None, "abc", "123.456.782", "123_456_782", "１２３４５６７８２", "١٢٣٤٥٦٧٨٢",
])
def test_what_is_not_a_customer_number_is_refused(typed):
    assert accounts.normalize_customer_number(typed) is None


def test_a_customer_number_is_shown_in_three_groups():
    assert accounts.display_customer_number(NUMBER) == "123 456 782"
    assert accounts.normalize_customer_number(accounts.display_customer_number(NUMBER)) == NUMBER
