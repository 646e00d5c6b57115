"""Text hygiene for what strangers type: stored clean, mailed defanged."""

from __future__ import annotations

import re

# C0/C1 control characters except tab and newline; NUL in particular breaks PostgreSQL text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
# Everything that could end a header line or hide in one: whitespace of any kind (CR, LF, NEL,
# Unicode line and paragraph separators included), C0/C1 controls and lone surrogates.
_LINE_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+")
_SCHEME = re.compile(r"\b(h)(tt)(ps?)(://)", re.IGNORECASE)
# The full stops IDNA (and so every browser) reads as the dot between two domain labels.
_DOTS = ".\u3002\uff0e\uff61"
_DOT = re.compile(f"[{_DOTS}]")
# A label is any run of characters that doesn't end one: space, a full stop, or punctuation that
# sits around words. Letters and digits of every script, combining marks and lookalike symbols all
# count, so an IDN domain is caught whatever its script; Python's \w would miss combining marks.
_WORD_PUNCTUATION = "!\"#$%&'()*+,/:;<=>?@[\\]^`{|}~«»‘’‚“”„‹›…–—¡¿、，：；！？（）「」『』【】〈〉《》"
_LABEL = rf"[^\s{re.escape(_DOTS + _WORD_PUNCTUATION)}]"
# Labels joined by full stops, ending in a top-level domain that starts with a letter (so prices
# and times like 12.50 stay as they are) and is at least two characters long (so "bl.a." does too).
_DOMAIN = re.compile(rf"(?<!{_LABEL})(?:{_LABEL}++{_DOT.pattern})+(?=[^\W\d_]){_LABEL}{{2,}}")


def clean_text(value: str | None) -> str | None:
    """Normalise newlines, drop control characters and lone surrogates, trim outer space."""
    if value is None:
        return None
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _SURROGATES.sub("", _CONTROL.sub("", value))
    return value.strip()


def defang(text: str) -> str:
    """Make links in a stranger's words unclickable in mail clients: hxxps://example[.]com,
    for IDN domains and the ideographic and full-width full stops too (раураl。com)."""
    text = _SCHEME.sub(lambda m: f"{m[1]}xx{m[3]}{m[4]}", text)
    return _DOMAIN.sub(lambda m: _DOT.sub("[.]", m[0]), text)


def single_line(value: str | None) -> str | None:
    """One line, for a mail header or a one-line field: every line break, control character
    and run of whitespace becomes a single space, and the ends are trimmed."""
    if value is None:
        return None
    return _LINE_BREAKS.sub(" ", value).strip()


# A spreadsheet reads a cell starting with one of these as a formula (CSV injection, OWASP).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: formula starters get a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
