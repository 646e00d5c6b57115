"""Accounts as a service: sign-up, sign-in, sessions, mailed tokens, email change, the profile
and the personnummer. Answers never tell whether an email is registered."""

from __future__ import annotations

import hmac
from datetime import date, timedelta

import pytest
from argon2 import PasswordHasher
from pydantic import ValidationError
from sqlmodel import select

from stickerreg import passwords
from stickerreg.models import (
    AuthToken,
    LoginSession,
    OutboxKind,
    OutboxMessage,
    ProfileUpdate,
    Role,
    TokenPurpose,
    User,
    utcnow,
)
from stickerreg.services import accounts
from stickerreg.services.accounts import AccountError
from stickerreg.tokens import hash_token

PASSWORD = "ett-långt-lösenord-för-test"
NEW_PASSWORD = "ett-helt-nytt-lösenord"
KEY = b"test-secret-key"
NUMBER = "198112189876"  # 19811218-9876, a syntactically valid personnummer
OTHER_NUMBER = "191212121212"  # 19121212-1212, Skatteverket's example


def outbox_rows(session) -> list[OutboxMessage]:
    return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


# --- emails and passwords ---------------------------------------------------------------


@pytest.mark.parametrize("typed", [" Anna@Example.SE ", "anna@example.se", "\tANNA@EXAMPLE.SE\n"])
def test_emails_are_compared_trimmed_and_lower_cased(typed):
    assert accounts.normalize_email(typed) == "anna@example.se"


@pytest.mark.parametrize(
    ("password", "problem"),
    [("kort", "too_short"), ("elva-tecken", "too_short"), ("Password1234", "too_common"),
     ("QWERTYUIOP12", "too_common"), ("abababababab", "too_common"), (PASSWORD, None)],
)
def test_a_password_problem_is_named(password, problem):
    assert accounts.password_problem(password) == problem


def test_a_new_user_gets_an_argon2_hash_and_a_lower_case_email(session):
    user = accounts.create_user(session, email="  Anna@Example.SE", password=PASSWORD, role=Role.ADMIN)
    assert user.id is not None and user.email == "anna@example.se" and user.role == "admin"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert accounts.verify_password(user.password_hash, PASSWORD)
    assert not accounts.verify_password(user.password_hash, NEW_PASSWORD)
    assert user.email_verified_at is not None


def test_a_user_created_without_a_password_has_no_hash(session):
    user = accounts.create_user(session, email="bankid@example.se", password=None, verified=False)
    assert user.password_hash is None and user.email_verified_at is None


def test_a_user_is_found_by_email_however_it_is_typed(session, user_factory):
    user = user_factory(email="anna@example.se")
    assert accounts.find_by_email(session, " ANNA@example.SE ").id == user.id
    assert accounts.find_by_email(session, "bertil@example.se") is None


# --- sign-up ----------------------------------------------------------------------------


def test_signing_up_creates_an_unverified_user_and_queues_a_verification_email(session):
    assert accounts.sign_up(session, email="New@Example.se", password=PASSWORD, locale="en") is None
    user = accounts.find_by_email(session, "new@example.se")
    assert user.email_verified_at is None and user.locale == "en"
    assert accounts.verify_password(user.password_hash, PASSWORD)
    [row] = outbox_rows(session)
    assert row.kind == OutboxKind.VERIFY_EMAIL and row.payload == {"user_id": user.id}


def test_signing_up_with_a_registered_email_looks_the_same_and_tells_the_owner(session, user_factory):
    owner = user_factory(email="anna@example.se", password=PASSWORD)
    stored_hash = owner.password_hash
    assert accounts.sign_up(session, email=" ANNA@example.se", password=NEW_PASSWORD, locale="en") is None
    session.commit()
    [row] = outbox_rows(session)
    assert row.kind == OutboxKind.ALREADY_REGISTERED and row.payload == {"user_id": owner.id}
    [user] = session.exec(select(User)).all()
    assert user.password_hash == stored_hash and user.locale == "sv"


# --- signing in -------------------------------------------------------------------------


def test_the_right_password_signs_in_whatever_the_case_of_the_email(session, user_factory):
    user = user_factory(email="anna@example.se", password=PASSWORD)
    assert accounts.authenticate(session, email=" Anna@Example.se", password=PASSWORD).id == user.id


@pytest.mark.parametrize("case", ["wrong_password", "unknown_email", "no_password"])
def test_wrong_unknown_or_passwordless_credentials_sign_nobody_in(session, user_factory, case):
    user_factory(email="anna@example.se", password=PASSWORD)
    user_factory(email="bankid@example.se", password=None)
    email, password = {
        "wrong_password": ("anna@example.se", NEW_PASSWORD),
        "unknown_email": ("nobody@example.se", PASSWORD),
        "no_password": ("bankid@example.se", PASSWORD),
    }[case]
    assert accounts.authenticate(session, email=email, password=password) is None


def test_an_unknown_email_costs_the_same_verification_work(session, user_factory, monkeypatch):
    user_factory(email="anna@example.se", password=PASSWORD)
    checked: list[str] = []
    real_verify = passwords.verify
    monkeypatch.setattr(passwords, "verify", lambda digest, secret: checked.append(digest) or real_verify(digest, secret))
    for email in ("anna@example.se", "nobody@example.se"):
        assert accounts.authenticate(session, email=email, password=NEW_PASSWORD) is None
    assert len(checked) == 2 and all(digest.startswith("$argon2id$") for digest in checked)


def test_a_hash_made_with_other_costs_is_renewed_at_sign_in(session, user_factory):
    user = user_factory(email="anna@example.se", password=None)
    user.password_hash = old_hash = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    assert accounts.authenticate(session, email="anna@example.se", password=PASSWORD).id == user.id
    assert user.password_hash != old_hash and not passwords.needs_rehash(user.password_hash)
    assert accounts.verify_password(user.password_hash, PASSWORD)


# --- sessions ---------------------------------------------------------------------------


def test_a_session_token_finds_its_user_and_only_its_hash_is_stored(session, user_factory):
    user = user_factory()
    token = accounts.start_session(session, user, method="bankid")
    session.commit()
    assert accounts.user_for_session(session, token).id == user.id
    [row] = session.exec(select(LoginSession)).all()
    assert row.token_hash == hash_token(token) and token not in row.token_hash and row.method == "bankid"


@pytest.mark.parametrize("token", ["", "x" * 65, "not-a-session-token"])
def test_an_empty_overlong_or_unknown_session_token_finds_nobody(session, user_factory, token):
    accounts.start_session(session, user_factory())
    assert accounts.user_for_session(session, token) is None


def test_ending_a_session_signs_out_only_that_browser(session, user_factory):
    user = user_factory()
    phone, laptop = accounts.start_session(session, user), accounts.start_session(session, user)
    accounts.end_session(session, phone)
    assert accounts.user_for_session(session, phone) is None
    assert accounts.user_for_session(session, laptop).id == user.id


def test_ending_all_sessions_signs_out_every_browser_of_that_user_only(session, user_factory):
    user, other = user_factory(), user_factory()
    mine = [accounts.start_session(session, user) for _ in range(2)]
    theirs = accounts.start_session(session, other)
    accounts.end_all_sessions(session, user)
    assert [accounts.user_for_session(session, token) for token in mine] == [None, None]
    assert accounts.user_for_session(session, theirs).id == other.id


# --- mailed tokens ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "lifetime"),
    [(TokenPurpose.VERIFY_EMAIL, timedelta(hours=48)), (TokenPurpose.RESET_PASSWORD, timedelta(hours=1)),
     (TokenPurpose.CHANGE_EMAIL, timedelta(hours=48))],
)
def test_a_mailed_token_lives_as_long_as_its_purpose_allows(session, user_factory, purpose, lifetime):
    user = user_factory()
    token = accounts.issue_token(session, user, purpose)
    issued = utcnow()
    row = accounts.peek_token(session, token, purpose, now=issued + lifetime - timedelta(minutes=1))
    assert row.user_id == user.id and row.token_hash == hash_token(token)
    assert accounts.peek_token(session, token, purpose, now=issued + lifetime) is None


def test_only_the_hash_of_a_mailed_token_is_stored(session, user_factory):
    token = accounts.issue_token(session, user_factory(), TokenPurpose.CHANGE_EMAIL, new_email="new@example.se")
    [row] = session.exec(select(AuthToken)).all()
    assert row.token_hash == hash_token(token) and token not in row.token_hash and row.new_email == "new@example.se"


def test_a_token_is_refused_for_another_purpose_and_once_used(session):
    user = accounts.create_user(session, email="anna@example.se", password=PASSWORD, verified=False)
    token = accounts.issue_token(session, user, TokenPurpose.VERIFY_EMAIL)
    assert accounts.peek_token(session, token, TokenPurpose.RESET_PASSWORD) is None
    accounts.verify_email(session, token)
    assert accounts.peek_token(session, token, TokenPurpose.VERIFY_EMAIL) is None
    with pytest.raises(AccountError, match="invalid_token"):
        accounts.verify_email(session, token)


@pytest.mark.parametrize("token", ["", "x" * 65, "never-issued"])
def test_an_empty_overlong_or_unknown_token_is_not_live(session, token):
    assert accounts.peek_token(session, token, TokenPurpose.VERIFY_EMAIL) is None


# --- verification and password reset ----------------------------------------------------


def test_verifying_the_email_marks_the_user_verified_and_keeps_the_first_time(session):
    user = accounts.create_user(session, email="anna@example.se", password=PASSWORD, verified=False)
    first = accounts.issue_token(session, user, TokenPurpose.VERIFY_EMAIL)
    second = accounts.issue_token(session, user, TokenPurpose.VERIFY_EMAIL)
    verified_at = accounts.verify_email(session, first).email_verified_at
    assert verified_at is not None
    assert accounts.verify_email(session, second).email_verified_at == verified_at


def test_a_reset_request_queues_a_reset_email_for_the_account(session, user_factory):
    user = user_factory(email="anna@example.se")
    accounts.request_password_reset(session, " Anna@example.se")
    [row] = outbox_rows(session)
    assert row.kind == OutboxKind.RESET_PASSWORD and row.payload == {"user_id": user.id}


def test_a_reset_request_queues_the_same_row_for_an_unknown_email_with_no_one_to_mail(session, user_factory):
    # The same work either way, so timing tells nothing; the worker finds no one to mail.
    anna = user_factory(email="anna@example.se")
    accounts.request_password_reset(session, "nobody@example.se")
    accounts.request_password_reset(session, "Anna@Example.se")
    assert [(row.kind, row.payload) for row in outbox_rows(session)] == [
        (OutboxKind.RESET_PASSWORD, {"user_id": None}), (OutboxKind.RESET_PASSWORD, {"user_id": anna.id})]


def test_resetting_the_password_ends_every_session_and_verifies_the_email(session):
    user = accounts.create_user(session, email="anna@example.se", password=PASSWORD, verified=False)
    browsers = [accounts.start_session(session, user) for _ in range(2)]
    token = accounts.issue_token(session, user, TokenPurpose.RESET_PASSWORD)
    assert accounts.reset_password(session, token, NEW_PASSWORD).id == user.id
    assert [accounts.user_for_session(session, browser) for browser in browsers] == [None, None]
    assert accounts.authenticate(session, email="anna@example.se", password=NEW_PASSWORD).id == user.id
    assert accounts.authenticate(session, email="anna@example.se", password=PASSWORD) is None
    assert user.email_verified_at is not None


def test_a_weak_new_password_is_refused_and_the_reset_link_still_works(session, user_factory):
    user = user_factory(password=PASSWORD)
    token = accounts.issue_token(session, user, TokenPurpose.RESET_PASSWORD)
    with pytest.raises(AccountError, match="too_short"):
        accounts.reset_password(session, token, "kort")
    assert accounts.peek_token(session, token, TokenPurpose.RESET_PASSWORD) is not None
    assert accounts.verify_password(user.password_hash, PASSWORD)


# --- email change -----------------------------------------------------------------------


def test_an_email_change_queues_a_link_to_the_new_address(session, user_factory):
    user = user_factory(email="anna@example.se", password=PASSWORD)
    accounts.request_email_change(session, user, new_email=" New@Example.se", password=PASSWORD)
    [row] = outbox_rows(session)
    assert row.kind == OutboxKind.CHANGE_EMAIL and row.payload == {"user_id": user.id, "new_email": "new@example.se"}
    assert user.email == "anna@example.se"


@pytest.mark.parametrize("password", [None, PASSWORD])
def test_an_email_change_needs_the_right_password(session, user_factory, password):
    user = user_factory(email="anna@example.se", password=password)
    with pytest.raises(AccountError, match="wrong_password"):
        accounts.request_email_change(session, user, new_email="new@example.se", password=NEW_PASSWORD)
    assert outbox_rows(session) == []


def test_changing_to_the_same_email_is_refused(session, user_factory):
    user = user_factory(email="anna@example.se", password=PASSWORD)
    with pytest.raises(AccountError, match="same_email"):
        accounts.request_email_change(session, user, new_email="ANNA@example.se ", password=PASSWORD)


def test_changing_to_a_taken_email_is_silent_and_sends_nothing(session, user_factory):
    user = user_factory(email="anna@example.se", password=PASSWORD)
    user_factory(email="taken@example.se")
    assert accounts.request_email_change(session, user, new_email="Taken@example.se", password=PASSWORD) is None
    assert outbox_rows(session) == []


def test_confirming_an_email_change_switches_the_address_and_tells_the_old_one(session, user_factory):
    user = user_factory(email="anna@example.se")
    token = accounts.issue_token(session, user, TokenPurpose.CHANGE_EMAIL, new_email="new@example.se")
    changed = accounts.confirm_email_change(session, token)
    assert changed.id == user.id and changed.email == "new@example.se" and changed.email_verified_at is not None
    [row] = outbox_rows(session)
    assert row.kind == OutboxKind.EMAIL_CHANGED and row.payload == {"user_id": user.id, "old_email": "anna@example.se"}
    with pytest.raises(AccountError, match="invalid_token"):
        accounts.confirm_email_change(session, token)


def test_an_email_change_is_refused_when_the_new_address_was_taken_meanwhile(session, user_factory):
    user = user_factory(email="anna@example.se")
    token = accounts.issue_token(session, user, TokenPurpose.CHANGE_EMAIL, new_email="new@example.se")
    user_factory(email="new@example.se")
    with pytest.raises(AccountError, match="invalid_token"):
        accounts.confirm_email_change(session, token)
    assert user.email == "anna@example.se"


# --- profile ----------------------------------------------------------------------------


def test_a_profile_update_stores_the_phone_as_e164_and_the_postal_code_as_five_digits(session, user_factory):
    user = user_factory()
    changes = ProfileUpdate(display_name="Anna", phone="070-123 45 67", street="Storgatan 1", postal_code="123 45",
                            city="Stockholm", locale="en", notify_by_email=False)
    accounts.update_profile(session, user, changes)
    assert (user.display_name, user.phone, user.street, user.postal_code, user.city, user.locale) == (
        "Anna", "+46701234567", "Storgatan 1", "12345", "Stockholm", "en")
    assert user.notify_by_email is False


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [("phone", "12", "invalid_phone"), ("phone", "ring mig", "invalid_phone"),
     ("postal_code", "1234", "invalid_postal_code"), ("postal_code", "123 456", "invalid_postal_code")],
)
def test_an_invalid_phone_or_postal_code_is_refused(session, user_factory, field, value, problem):
    user = user_factory()
    with pytest.raises(AccountError, match=problem):
        accounts.update_profile(session, user, ProfileUpdate(**{field: value}))
    assert getattr(user, field) is None


def test_emptied_optional_fields_hold_nothing(session, user_factory):
    user = user_factory()
    accounts.update_profile(session, user, ProfileUpdate(phone="0701234567", street="Storgatan 1",
                                                         postal_code="12345", city="Stockholm"))
    accounts.update_profile(session, user, ProfileUpdate(phone="", street="", postal_code="", city=""))
    assert (user.phone, user.street, user.postal_code, user.city) == (None, None, None, None)


def test_fields_left_out_of_a_profile_update_keep_their_values(session, user_factory):
    user = user_factory(locale="en")
    accounts.update_profile(session, user, ProfileUpdate(phone="0701234567"))
    accounts.update_profile(session, user, ProfileUpdate(city="Malmö"))
    assert (user.phone, user.city, user.locale) == ("+46701234567", "Malmö", "en")


@pytest.mark.parametrize("field", ["email", "role", "password_hash", "email_verified_at", "personnummer_digest"])
def test_fields_outside_the_profile_allowlist_are_refused(field):
    with pytest.raises(ValidationError):
        ProfileUpdate(**{field: "admin"})


# --- phone numbers and postal codes -----------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "e164"),
    [("070-123 45 67", "+46701234567"), ("0701234567", "+46701234567"), ("+46 70 123 45 67", "+46701234567"),
     ("0046701234567", "+46701234567"), ("08-123 456 78", "+46812345678"), ("+44 20 7946 0958", "+442079460958")],
)
def test_phone_numbers_are_stored_as_e164(typed, e164):
    assert accounts.normalize_phone(typed) == e164


@pytest.mark.parametrize("typed", [None, "", "12", "hello", "070-123"])
def test_what_is_not_a_phone_number_normalises_to_none(typed):
    assert accounts.normalize_phone(typed) is None


@pytest.mark.parametrize(
    ("e164", "shown"), [("+46701234567", "070-123 45 67"), ("+442079460958", "+44 20 7946 0958"), (None, ""), ("", "")]
)
def test_swedish_numbers_are_shown_the_swedish_way_and_others_internationally(e164, shown):
    assert accounts.display_phone(e164) == shown


@pytest.mark.parametrize(("typed", "stored"), [("123 45", "12345"), (" 12345 ", "12345"), ("1234", None),
                                               ("123 456", None), ("abcde", None), ("", None), (None, None)])
def test_postal_codes_are_stored_as_five_digits(typed, stored):
    assert accounts.normalize_postal_code(typed) == stored


@pytest.mark.parametrize(("stored", "shown"), [("12345", "123 45"), (None, ""), ("", ""), ("1234", "1234")])
def test_postal_codes_are_shown_as_three_and_two_digits(stored, shown):
    assert accounts.display_postal_code(stored) == shown


# --- personnummer -----------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["19811218-9876", "198112189876", "811218-9876", "8112189876", " 811218 9876 "])
def test_a_personnummer_is_normalised_to_twelve_digits(typed):
    assert accounts.normalize_personnummer(typed) == NUMBER


def test_a_plus_sign_marks_someone_over_a_hundred():
    assert accounts.normalize_personnummer("811218+9876") == "188112189876"


@pytest.mark.parametrize("typed", ["19811218-9875", "19811318-9876", "", "hello", "1981121898761"])
def test_what_is_not_a_personnummer_is_refused(typed):
    with pytest.raises(AccountError, match="invalid_personnummer"):
        accounts.normalize_personnummer(typed)


def test_a_personnummer_born_in_the_future_is_refused():
    assert accounts.normalize_personnummer("19811218-9876", today=date(1981, 12, 18)) == NUMBER
    with pytest.raises(AccountError, match="invalid_personnummer"):
        accounts.normalize_personnummer("19811218-9876", today=date(1981, 12, 17))


def test_a_personnummer_is_shown_with_its_last_four_digits_masked():
    assert accounts.mask_personnummer(NUMBER) == "19811218-****"


def test_a_typed_personnummer_is_kept_as_a_keyed_digest_and_a_masked_form(session, user_factory):
    user = user_factory()
    accounts.link_personnummer(session, user, NUMBER, key=KEY)
    assert user.personnummer_digest == hmac.new(KEY, NUMBER.encode(), "sha256").hexdigest()
    assert NUMBER not in user.personnummer_digest and user.personnummer_masked == "19811218-****"
    assert user.personnummer_verified_at is None
    assert accounts.find_by_personnummer(session, NUMBER, key=KEY) is None  # a claim finds no one


def test_a_typed_personnummer_cannot_be_replaced_by_another_typed_one(session, user_factory):
    user = user_factory()
    accounts.link_personnummer(session, user, NUMBER, key=KEY)
    with pytest.raises(AccountError, match="personnummer_already_set"):
        accounts.link_personnummer(session, user, OTHER_NUMBER, key=KEY)
    assert user.personnummer_masked == "19811218-****"


def test_a_typed_personnummer_neither_reveals_nor_blocks_another_account(session, user_factory):
    # Typing a number another account holds answers exactly as for a fresh number: it is
    # stored as this customer's claim too, typed or proved elsewhere.
    first, second, third = user_factory(), user_factory(), user_factory()
    accounts.link_personnummer(session, first, NUMBER, key=KEY)
    accounts.link_personnummer(session, second, NUMBER, key=KEY)
    accounts.link_personnummer(session, third, OTHER_NUMBER, key=KEY, verified=True)
    accounts.link_personnummer(session, user_factory(), OTHER_NUMBER, key=KEY)  # proved elsewhere
    session.commit()
    assert first.personnummer_digest == second.personnummer_digest is not None
    assert accounts.find_by_personnummer(session, OTHER_NUMBER, key=KEY).id == third.id


def test_a_bankid_proved_personnummer_moves_from_an_account_that_only_typed_it(session, user_factory):
    squatter, person = user_factory(), user_factory()
    accounts.link_personnummer(session, squatter, NUMBER, key=KEY)
    session.flush()
    accounts.link_personnummer(session, person, NUMBER, key=KEY, verified=True)
    session.commit()
    assert (squatter.personnummer_digest, squatter.personnummer_masked) == (None, None)
    assert person.personnummer_verified_at is not None and person.personnummer_masked == "19811218-****"
    assert accounts.find_by_personnummer(session, NUMBER, key=KEY).id == person.id


def test_a_bankid_proved_personnummer_is_never_taken_over(session, user_factory):
    person, other = user_factory(), user_factory()
    accounts.link_personnummer(session, person, NUMBER, key=KEY, verified=True)
    session.flush()
    with pytest.raises(AccountError, match="personnummer_taken"):
        accounts.link_personnummer(session, other, NUMBER, key=KEY, verified=True)
    accounts.link_personnummer(session, other, NUMBER, key=KEY)  # only a claim, and harmless
    assert accounts.find_by_personnummer(session, NUMBER, key=KEY).id == person.id
    assert other.personnummer_verified_at is None


def test_bankid_proves_a_typed_number_or_replaces_it_on_the_same_account(session, user_factory):
    typed_right, typed_wrong = user_factory(), user_factory()
    accounts.link_personnummer(session, typed_right, NUMBER, key=KEY)
    accounts.link_personnummer(session, typed_wrong, "199001010017", key=KEY)
    session.flush()
    accounts.link_personnummer(session, typed_right, NUMBER, key=KEY, verified=True)
    accounts.link_personnummer(session, typed_wrong, OTHER_NUMBER, key=KEY, verified=True)
    session.flush()
    assert accounts.find_by_personnummer(session, NUMBER, key=KEY).id == typed_right.id
    assert accounts.find_by_personnummer(session, OTHER_NUMBER, key=KEY).id == typed_wrong.id
    assert typed_wrong.personnummer_masked == "19121212-****"
