"""Random capability tokens; only their hashes are ever stored."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A URL-safe token with 192 bits of randomness."""
    return secrets.token_urlsafe(24)


def new_public_id() -> str:
    """A short random identifier for URLs that are also protected by an owner check."""
    return secrets.token_urlsafe(12)


def hash_token(token: str) -> str:
    """SHA-256 of the token. The tokens are long and random, so no salt or stretching is needed;
    lookups by hash keep comparisons out of Python (no timing side channel on the token)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
