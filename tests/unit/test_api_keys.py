"""Partner API keys: shown once, stored as a hash and a short prefix, one scope each,
presented as a bearer token, revocable, and their last use noted at most once a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from stickerreg import tokens
from stickerreg.models import ApiKey, ApiScope, Role
from stickerreg.services import api_keys

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def issued(session, user_factory):
    """A fire-scope key made by an admin, and its plain text."""
    admin = user_factory(role=Role.ADMIN)
    key, plain = api_keys.create_key(session, name="  Larmcentralen ", scope=ApiScope.FIRE, created_by=admin)
    session.commit()
    return key, plain


def stored_values(session) -> list[str]:
    return [str(value) for row in session.execute(ApiKey.__table__.select()) for value in row]


def test_a_new_key_is_stored_only_as_its_hash_and_prefix(session, issued):
    key, plain = issued
    assert plain.startswith(api_keys.KEY_PREFIX) and len(plain) > 30
    assert key.key_hash == tokens.hash_token(plain) and plain.startswith(key.prefix) and len(key.prefix) <= 12
    assert (key.name, key.scope) == ("Larmcentralen", "fire")
    assert not [value for value in stored_values(session) if plain in value or plain[len(key.prefix):] in value]


def test_every_key_is_different(session):
    made = [api_keys.create_key(session, name="", scope=ApiScope.IDPROTECT) for _ in range(3)]
    assert len({plain for _, plain in made}) == 3 and len({key.key_hash for key, _ in made}) == 3
    assert made[0][0].name == "idprotect"  # a blank name falls back to the scope


@pytest.mark.parametrize("presented", ["Bearer {plain}", "{plain}", "Bearer   {plain}  "])
def test_a_key_is_accepted_as_a_bearer_token_or_bare(session, issued, presented):
    key, plain = issued
    assert api_keys.authenticate(session, presented.format(plain=plain), now=T0).id == key.id


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_the_bearer_scheme_is_case_insensitive(session, issued, scheme):  # RFC 9110 §11.1
    key, plain = issued
    assert api_keys.authenticate(session, f"{scheme} {plain}", now=T0).id == key.id


@pytest.mark.parametrize("presented", [
    None, "", "Bearer", "Bearer ", "sr_unknown", "Bearer sr_" + "A" * 32, "Basic {plain}", "Token {plain}",
    "{plain}x", "xx_{rest}", "sr_{rest}" + "A" * 100, "{plain}\x00",
])
def test_unknown_malformed_or_foreign_keys_are_refused(session, issued, presented):
    _, plain = issued
    presented = presented.format(plain=plain, rest=plain[3:]) if presented else presented
    assert api_keys.authenticate(session, presented, now=T0) is None


def test_a_revoked_key_stops_working_and_keeps_its_first_revocation(session, issued):
    key, plain = issued
    api_keys.revoke(session, key, now=T0)
    api_keys.revoke(session, key, now=T0 + timedelta(days=1))
    session.commit()
    assert key.revoked_at == T0
    assert api_keys.authenticate(session, f"Bearer {plain}", now=T0 + timedelta(days=2)) is None


def test_the_last_use_is_written_at_most_once_a_minute(session, issued):
    key, plain = issued
    uses = [T0, T0 + timedelta(seconds=59), T0 + timedelta(seconds=61), T0 + timedelta(seconds=90)]
    seen = []
    for now in uses:
        api_keys.authenticate(session, plain, now=now)
        session.commit()
        session.expire_all()
        seen.append(session.get(ApiKey, key.id).last_used_at)
    assert seen == [T0, T0, T0 + timedelta(seconds=61), T0 + timedelta(seconds=61)]


def test_keys_are_listed_newest_first_and_found_by_public_id_only(session, issued):
    key, _ = issued
    newer, _ = api_keys.create_key(session, name="UC", scope=ApiScope.IDPROTECT)
    assert [k.id for k in api_keys.keys(session)] == [newer.id, key.id]
    assert api_keys.find_key(session, key.public_id).id == key.id
    assert api_keys.find_key(session, str(key.id)) is None and api_keys.find_key(session, "x\x00") is None


def test_only_the_hash_identifies_a_key(session, issued):
    key, plain = issued
    assert session.exec(select(ApiKey).where(ApiKey.prefix == plain)).first() is None
    assert api_keys.authenticate(session, key.prefix, now=T0) is None
