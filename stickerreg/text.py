"""Text hygiene for what strangers type: stored clean, mailed defanged."""

from __future__ import annotations

import re

# C0/C1 control characters except tab and newline; NUL in particular breaks PostgreSQL text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_SCHEME = re.compile(r"\b(h)(tt)(ps?)(://)", re.IGNORECASE)
_DOMAIN = re.compile(r"\b(?:[a-z0-9-]+\.)+[a-z]{2,24}\b", re.IGNORECASE)


def clean_text(value: str | None) -> str | None:
    """Normalise newlines, drop control characters and lone surrogates, trim outer space."""
    if value is None:
        return None
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _SURROGATES.sub("", _CONTROL.sub("", value))
    return value.strip()


def defang(text: str) -> str:
    """Make links in a stranger's words unclickable in mail clients: hxxps://example[.]com."""
    text = _SCHEME.sub(lambda m: f"{m[1]}xx{m[3]}{m[4]}", text)
    return _DOMAIN.sub(lambda m: m[0].replace(".", "[.]"), text)
