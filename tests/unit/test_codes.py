"""Tests for the sticker ID codec (stickerreg.codes)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stickerreg import codes
from stickerreg.codes import ALPHABET, LENGTH, QUASIGROUP

SIZE = len(ALPHABET)
CANONICAL = re.compile(rf"[{ALPHABET}]{{{LENGTH}}}")

bodies = st.text(alphabet=ALPHABET, min_size=LENGTH - 1, max_size=LENGTH - 1)
valid_codes = bodies.map(lambda body: body + codes.check_symbol(body))


# --- the quasigroup itself, exhaustively -------------------------------------


def test_alphabet_is_crockford_base32_inside_qr_alphanumeric_set() -> None:
    assert ALPHABET == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    assert len(set(ALPHABET)) == SIZE == 32
    assert not set("ILOU") & set(ALPHABET)
    assert set(ALPHABET) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def test_quasigroup_is_a_latin_square() -> None:
    # Rows: a substituted symbol changes the state. Columns: a changed state
    # stays changed through every later symbol, so the error reaches the end.
    assert all(sorted(row) == list(range(SIZE)) for row in QUASIGROUP)
    columns = zip(*QUASIGROUP, strict=True)
    assert all(sorted(column) == list(range(SIZE)) for column in columns)


def test_quasigroup_is_totally_anti_symmetric() -> None:
    # (c∘x)∘y == (c∘y)∘x only if x == y, for every state c: any swap of two
    # different adjacent symbols, wherever it happens, changes the state.
    for c in range(SIZE):
        for x in range(SIZE):
            for y in range(SIZE):
                same = (
                    QUASIGROUP[QUASIGROUP[c][x]][y] == QUASIGROUP[QUASIGROUP[c][y]][x]
                )
                assert same == (x == y), (c, x, y)


def test_quasigroup_is_weakly_totally_anti_symmetric() -> None:
    # x∘y == y∘x only if x == y; also covered above since 0∘x == x here.
    for x in range(SIZE):
        assert QUASIGROUP[0][x] == x
        for y in range(SIZE):
            assert (QUASIGROUP[x][y] == QUASIGROUP[y][x]) == (x == y), (x, y)


def test_every_state_has_exactly_one_check_symbol() -> None:
    assert all(row.count(0) == 1 for row in QUASIGROUP)


# --- known answers: the algorithm must never silently change -----------------


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("00000000000", "0"),
        ("0123456789A", "M"),
        ("ZZZZZZZZZZZ", "K"),
        ("STCKERREG00", "6"),
        ("1X2Y3Z4W5V6", "E"),
        ("QRSTVWXYZ00", "A"),
    ],
)
def test_known_check_symbols(body: str, check: str) -> None:
    assert codes.check_symbol(body) == check
    assert codes.is_valid(body + check)


def test_known_quasigroup_rows() -> None:
    assert QUASIGROUP[1][:8] == (2, 3, 0, 1, 6, 7, 4, 5)
    assert QUASIGROUP[31][:8] == (27, 26, 25, 24, 31, 30, 29, 28)


# --- generate / check_symbol / is_valid --------------------------------------


def test_generated_codes_are_valid_and_canonical() -> None:
    generated = {codes.generate() for _ in range(500)}
    assert len(generated) == 500  # 55 random bits: a repeat means broken RNG use
    for code in generated:
        assert CANONICAL.fullmatch(code)
        assert codes.is_valid(code)
        assert codes.normalize(code) == code


@pytest.mark.parametrize(
    "body", ["", "0123456789", "0123456789AB", "0123456789a", "0123456789U"]
)
def test_check_symbol_rejects_bad_bodies(body: str) -> None:
    with pytest.raises(ValueError):
        codes.check_symbol(body)


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        "00000000000",
        "0000000000000",
        "0000-0000-0000",
        "0123456789am",
        "0000000000O0",
    ],
)
def test_is_valid_rejects_non_canonical(candidate: str) -> None:
    assert not codes.is_valid(candidate)


@given(valid_codes)
def test_every_single_substitution_is_rejected(code: str) -> None:
    for position in range(LENGTH):
        for symbol in ALPHABET.replace(code[position], ""):
            typo = code[:position] + symbol + code[position + 1 :]
            assert not codes.is_valid(typo), (code, typo)


@given(valid_codes)
def test_every_adjacent_swap_is_rejected(code: str) -> None:
    # Position LENGTH - 2 swaps the last body symbol with the check symbol.
    for position in range(LENGTH - 1):
        first, second = code[position], code[position + 1]
        if first != second:
            swapped = code[:position] + second + first + code[position + 2 :]
            assert not codes.is_valid(swapped), (code, swapped)


@given(st.data())
def test_body_check_swap_is_rejected_for_every_distinct_pair(
    data: st.DataObject,
) -> None:
    # Force the last body symbol to differ from the check symbol so the swap
    # at the very end is exercised on every example, not only by chance.
    prefix = data.draw(
        st.text(alphabet=ALPHABET, min_size=LENGTH - 2, max_size=LENGTH - 2)
    )
    for last in ALPHABET:
        code = prefix + last + codes.check_symbol(prefix + last)
        if code[-1] != last:
            assert not codes.is_valid(prefix + code[-1] + last)


# --- display / symbols / normalize -------------------------------------------


def test_display_groups_in_fours() -> None:
    assert codes.display("0123456789AM") == "0123-4567-89AM"


@given(valid_codes)
def test_normalize_inverts_display(code: str) -> None:
    assert codes.normalize(codes.display(code)) == code


def test_display_rejects_invalid_codes() -> None:
    with pytest.raises(ValueError):
        codes.display("0123456789AB")


@pytest.mark.parametrize(
    "typed",
    [
        "0123456789AM",
        "0123456789am",
        "0123-4567-89AM",
        "  0123 4567 89am\n",
        "O123-4567-89AM",
        "o123 4567 89am",
        "0123\u20134567\u201489AM",  # en dash, em dash
        "0123\u00a04567\u202f89AM",  # no-break spaces
        "0123\u22124567\u00ad89AM",  # minus sign, soft hyphen
        "".join(chr(ord(char) + 0xFEE0) for char in "0123456789AM"),  # full width
        "https://stickerreg.se/s/0123-4567-89AM",
        "HTTPS://STICKERREG.SE/S/0123456789AM",
        "http://127.0.0.1:5000/S/0123456789AM/",
        "https://stickerreg.se/s/0123456789am?utm_source=x/s/ZZZ#/s/YYY",
        "stickerreg.se/s/0123 4567 89AM",
    ],
)
def test_normalize_accepts_what_people_type(typed: str) -> None:
    assert codes.normalize(typed) == "0123456789AM"


def test_lookalike_letters_map_to_digits() -> None:
    assert codes.symbols("oOiIlL") == "001111"
    check = codes.check_symbol("11100000000")
    assert codes.normalize(f"iLl0-oOoO-oOo{check}") == "11100000000" + check


@pytest.mark.parametrize(
    ("typed", "cleaned"),
    [
        ("0123-4567-89AB", "0123456789AB"),
        ("abc def", "ABCDEF"),
        ("https://stickerreg.se/s/ab-cd/", "ABCD"),
        ("https://stickerreg.se/s/", ""),
        ("what?", "WHAT?"),
        ("", ""),
    ],
)
def test_symbols_cleans_without_validating(typed: str, cleaned: str) -> None:
    assert codes.symbols(typed) == cleaned


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "0123456789AB",
        "0123456789AM0",
        "0123456789A",
        "0123456789AU",
        "https://x/s/",
    ],
)
def test_normalize_rejects_invalid(typed: str) -> None:
    assert codes.normalize(typed) is None


@given(st.text())
def test_normalize_never_raises_and_only_returns_valid_codes(text: str) -> None:
    result = codes.normalize(text)
    assert result is None or codes.is_valid(result)
    assert isinstance(codes.symbols(text), str)


@given(valid_codes, st.text(), st.text())
def test_normalize_finds_codes_inside_urls(
    code: str, query: str, fragment: str
) -> None:
    url = f"https://stickerreg.se/s/{codes.display(code).lower()}?{query}#{fragment}"
    assert codes.normalize(url) == code


@pytest.mark.parametrize(
    "hostile",
    [
        "\ud800\udfff" * 10,  # lone surrogates
        "\x00\x01\x7f" * 10,
        "\ufdfa" * 100_000,  # NFKC expands this to 18 characters each
        "/s/" * 1_000_000,
        "a" * 10_000_000,
    ],
)
def test_symbols_survives_hostile_input(hostile: str) -> None:
    assert len(codes.symbols(hostile)) <= 18 * codes.MAX_INPUT
    assert codes.normalize(hostile) is None
