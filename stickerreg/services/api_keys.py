"""API keys for partners: made by an admin (or the CLI), shown once, stored as a hash, one scope
each, revocable. A request presents the key as `Authorization: Bearer <key>`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from stickerreg import tokens
from stickerreg.models import ApiKey, ApiScope, User, utcnow
from stickerreg.services import ownership

KEY_PREFIX = "sr_"
# A key's last use is written at most this often: partners may call many times a second.
USE_GRANULARITY = timedelta(minutes=1)


def create_key(session: Session, *, name: str, scope: ApiScope, created_by: User | None = None) -> tuple[ApiKey, str]:
    """A new key and its plain text, which exists only now (show it once)."""
    plain = KEY_PREFIX + tokens.new_token()
    key = ApiKey(public_id=tokens.new_public_id(), name=name.strip()[:80] or scope.value, scope=ApiScope(scope).value,
                 prefix=plain[:10], key_hash=tokens.hash_token(plain), created_by_id=created_by.id if created_by else None)
    session.add(key)
    session.flush()
    return key, plain


def plain_key(presented: str | None) -> str:
    """The key in an Authorization header's value: `Bearer <key>` (the scheme is case-insensitive,
    RFC 9110) or the bare key."""
    presented = (presented or "").strip()
    scheme, _, credentials = presented.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else presented


def authenticate(session: Session, presented: str | None, *, now: datetime | None = None) -> ApiKey | None:
    """The live key `presented` is (the Authorization header's value), or None."""
    plain = plain_key(presented)
    if not plain.startswith(KEY_PREFIX) or len(plain) > 100:
        return None
    key = session.exec(select(ApiKey).where(ApiKey.key_hash == tokens.hash_token(plain))).first()
    if key is None or key.revoked_at is not None:
        return None
    now = now or utcnow()
    if key.last_used_at is None or now - key.last_used_at > USE_GRANULARITY:
        key.last_used_at = now
        session.add(key)
    return key


def keys(session: Session) -> list[ApiKey]:
    """Every key, newest first."""
    return list(session.exec(select(ApiKey).order_by(ApiKey.id.desc())))


def find_key(session: Session, public_id: str) -> ApiKey | None:
    return ownership.by_public_id(session, ApiKey, public_id)


def revoke(session: Session, key: ApiKey, *, now: datetime | None = None) -> None:
    """The key stops working at once; revoking twice keeps the first time."""
    key.revoked_at = key.revoked_at or now or utcnow()
    session.add(key)
