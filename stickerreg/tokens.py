"""Random capability tokens; only their hashes are ever stored."""

from __future__ import annotations

import hashlib
import re
import secrets


def new_token() -> str:
    """A URL-safe token with 192 bits of randomness."""
    return secrets.token_urlsafe(24)


def new_public_id() -> str:
    """A short random identifier for URLs that are also protected by an owner check."""
    return secrets.token_urlsafe(12)


_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_public_id(value: str | None) -> bool:
    """Could `value` be a public id or code from a URL? Checked before any lookup, so
    hostile text (NUL bytes, which PostgreSQL refuses outright) never reaches a query."""
    return isinstance(value, str) and _PUBLIC_ID.fullmatch(value) is not None


def hash_token(token: str) -> str:
    """SHA-256 of the token. The tokens are long and random, so no salt or stretching is needed;
    lookups by hash keep comparisons out of Python (no timing side channel on the token)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
