"""Sticker ID codec: 11 random Crockford base32 symbols plus one Damm check symbol.

A code is 12 symbols from ``ALPHABET``, e.g. ``0123456789AB`` shown as
``0123-4567-89AB``. Every symbol is inside the QR alphanumeric set, so a
sticker URL stays compact in a QR code.

The check symbol is a Damm check over the quasigroup ``x∘y = a·x + y`` in
GF(2^5) (``a`` = the field element ``x``, modulus ``x^5 + x^2 + 1``). Folding
all 12 symbols through that table from state 0 ends in 0 for a valid code.
Because the table is a Latin square and totally anti-symmetric, the check
catches every single-symbol substitution and every swap of two adjacent,
different symbols, including the swap of the last body symbol with the check
symbol (see ``tests/unit/test_codes.py`` for the exhaustive proofs).
"""

from __future__ import annotations

import re
import secrets
import unicodedata

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
BODY_LENGTH = LENGTH - 1
# People paste whole URLs, but nothing legitimate is longer than a URL limit;
# capping keeps cleanup linear and cheap on hostile or accidental huge input.
MAX_INPUT = 2048

_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
# Primitive polynomial x^5 + x^2 + 1 defining GF(32).
_MODULUS = 0b100101


def _times_x(element: int) -> int:
    """Multiply a GF(32) element by the field element ``x`` (0b00010)."""
    element <<= 1
    return element ^ _MODULUS if element & 0b100000 else element


# QUASIGROUP[r][y] = x·r + y (xor is addition in GF(2^5)). Since the
# multiplier x is neither 0 nor 1: rows and columns are permutations, and
# (c∘p)∘q = (c∘q)∘p reduces to (x+1)(p+q) = 0, which forces p = q.
QUASIGROUP: tuple[tuple[int, ...], ...] = tuple(
    tuple(_times_x(row) ^ column for column in range(32)) for row in range(32)
)

_LOOKALIKES = str.maketrans("OIL", "011")
# Query and fragment can hold their own "/s/", so they are cut off first.
_QUERY_OR_FRAGMENT = re.compile(r"[?#]")
# Greedy ".*" anchored by match() finds the LAST "/s/" in one linear pass.
_STICKER_PATH = re.compile(r".*/[sS]/([^/]*)", re.DOTALL)


def _state(text: str) -> int:
    """Fold alphabet symbols through the quasigroup, starting from state 0."""
    state = 0
    for symbol in text:
        state = QUASIGROUP[state][_VALUE[symbol]]
    return state


def _in_alphabet(text: str) -> bool:
    """Tell whether every character of ``text`` is a canonical symbol."""
    return all(symbol in _VALUE for symbol in text)


def check_symbol(body: str) -> str:
    """Return the check symbol for an 11-symbol canonical ``body``.

    Raises ValueError if ``body`` is not exactly 11 ``ALPHABET`` symbols.
    """
    if len(body) != BODY_LENGTH or not _in_alphabet(body):
        raise ValueError(f"a code body is {BODY_LENGTH} symbols of {ALPHABET}")
    # The symbol whose column holds 0 in this row brings the fold back to 0.
    return ALPHABET[QUASIGROUP[_state(body)].index(0)]


def random_symbols(length: int) -> str:
    """Return ``length`` random ``ALPHABET`` symbols (5 random bits each).

    Everything people type from paper uses these symbols (activation codes,
    batch ids, receipt references), so ``symbols`` cleans all of them alike.
    """
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def generate() -> str:
    """Return a new random canonical code (55 random bits + check symbol)."""
    body = random_symbols(BODY_LENGTH)
    return body + check_symbol(body)


def is_valid(code: str) -> bool:
    """Tell whether ``code`` is a canonical 12-symbol code with a right check."""
    return (
        isinstance(code, str)
        and len(code) == LENGTH
        and _in_alphabet(code)
        and _state(code) == 0
    )


def _is_separator(char: str) -> bool:
    """Tell whether ``char`` is spacing or dash-like decoration to drop."""
    # Pd: every Unicode dash; Cf: soft hyphen, zero-width and bidi marks;
    # U+2212 MINUS SIGN is a math symbol that people still type as a dash.
    return (
        char.isspace() or char == "\u2212" or unicodedata.category(char) in ("Pd", "Cf")
    )


def _sticker_path_segment(text: str) -> str:
    """Return the path segment after the last ``/s/`` of a URL, else ``text``."""
    path = _QUERY_OR_FRAGMENT.split(text, maxsplit=1)[0]
    match = _STICKER_PATH.match(path)
    return match.group(1) if match else text


def symbols(raw: str) -> str:
    """Clean up what a person typed or scanned, without validating it.

    Accepts a bare code or a full sticker URL in any case (the segment after
    the last ``/s/`` is kept; query, fragment and trailing slash are ignored).
    Drops whitespace and dashes, uppercases, and maps O to 0 and I, L to 1.
    Never raises on a ``str``; input past ``MAX_INPUT`` characters is ignored.
    """
    # NFKC folds full-width letters and digits (e.g. from CJK keyboards).
    text = unicodedata.normalize("NFKC", raw[:MAX_INPUT])
    text = _sticker_path_segment(text)
    kept = "".join(char for char in text if not _is_separator(char))
    return kept.upper().translate(_LOOKALIKES)


def normalize(raw: str) -> str | None:
    """Return the canonical code that ``raw`` spells, or None if it is invalid."""
    candidate = symbols(raw)
    return candidate if is_valid(candidate) else None


def display(code: str) -> str:
    """Format a valid code for people as ``0123-4567-89AB``.

    Raises ValueError if ``code`` is not a valid canonical code.
    """
    if not is_valid(code):
        raise ValueError("not a valid canonical sticker code")
    return group(code)


def group(text: str, size: int = 4, separator: str = "-") -> str:
    """Split ``text`` into groups of ``size`` for people to read and type.

    ``group("ABCDEFGH")`` is ``"ABCD-EFGH"``; the last group may be shorter.
    """
    return separator.join(text[start : start + size] for start in range(0, len(text), size))
