"""Customer accounts: sign-up, email verification, passwords, sign-in sessions, email
change, and the profile (phone numbers and postal codes are normalised here). Answers
never tell whether an email is registered."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import phonenumbers
from sqlmodel import Session, delete, select, update
from stdnum import luhn
from stdnum.exceptions import ValidationError as InvalidNumber
from stdnum.se import personnummer as se_personnummer

from stickerreg import passwords, tokens
from stickerreg.models import AuthToken, LoginSession, OutboxKind, ProfileUpdate, Role, TokenPurpose, User, utcnow
from stickerreg.services import audit, outbox
from stickerreg.text import clean_text

PASSWORD_MIN_LENGTH = 12
TOKEN_LIFETIME = {
    TokenPurpose.VERIFY_EMAIL: timedelta(hours=48),
    TokenPurpose.RESET_PASSWORD: timedelta(hours=1),
    TokenPurpose.CHANGE_EMAIL: timedelta(hours=48),
}
# Phone numbers are dialled from Sweden by default and stored as E.164.
PHONE_REGION = "SE"
_POSTAL_CODE = re.compile(r"^\d{3} ?\d{2}$")

COMMON_PASSWORDS = frozenset(
    """
    123456789012 1234567890123 password1234 password12345 passwordpassword qwertyuiop12
    qwertyuiopas 111111111111 000000000000 abcdefghijkl abc123abc123 iloveyou1234
    sommar123456 sommaren2024 sommaren2025 sommaren2026 lösenord1234 losenord1234
    welcome12345 letmein12345 changeme1234 administrator stickerreg12 qwerty123456
    123123123123 987654321098 asdfghjkl123 zxcvbnm12345 hejhejhejhej trustno1trustno1
    """.split()
)


class AccountError(ValueError):
    """A request that can't be carried out; the message is safe to show."""


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively; store them trimmed and lower-case."""
    return email.strip().lower()


def sign_in_identity(typed: str | None) -> str:
    """The address a sign-in form's email field stands for, as authentication will look it
    up: cleaned like every form field (control characters dropped), then normalised. Rate
    limits key on this, so `victim@x` typed with stray control characters is one account."""
    return normalize_email(clean_text(typed or "") or "")[:254]


def password_problem(password: str) -> str | None:
    """Why a password is not acceptable, or None."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return "too_short"
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        return "too_common"
    return None


def hash_password(password: str) -> str:
    return passwords.hash_secret(password)


def create_user(
    session: Session, *, email: str, password: str | None, display_name: str = "", locale: str = "sv",
    verified: bool = True, role: Role = Role.CUSTOMER,
) -> User:
    """Create a user directly (seed data, tests, operators); password stored as argon2."""
    user = User(
        customer_number=new_customer_number(session),
        email=normalize_email(email),
        role=Role(role).value,
        password_hash=hash_password(password) if password else None,
        display_name=display_name,
        locale=locale,
        email_verified_at=utcnow() if verified else None,
    )
    session.add(user)
    session.flush()
    return user


def new_customer_number(session: Session) -> str:
    """Eight random digits and a Luhn check digit, not yet anyone's: a typo is caught when
    customer service or a partner types it, and the numbers say nothing about each other."""
    while True:
        body = f"{secrets.randbelow(9 * 10**7) + 10**7}"  # never a leading zero
        number = body + luhn.calc_check_digit(body)
        if session.exec(select(User.id).where(User.customer_number == number)).first() is None:
            return number


def normalize_customer_number(text: str | None) -> str | None:
    """A customer number as typed ("123 456 789", with dashes...) as its nine digits, or None."""
    digits = "".join(char for char in (text or "") if char not in " -")
    return digits if len(digits) == 9 and digits.isascii() and digits.isdigit() and luhn.is_valid(digits) else None


def display_customer_number(number: str) -> str:
    """123 456 789: three groups, read aloud on the phone."""
    return " ".join(number[start:start + 3] for start in range(0, len(number), 3))


def find_by_customer_number(session: Session, text: str | None) -> User | None:
    """The user with this customer number, typed in any format; None for none (or no number)."""
    number = normalize_customer_number(text)
    return session.exec(select(User).where(User.customer_number == number)).first() if number else None


def find_by_email(session: Session, email: str) -> User | None:
    """The user with this email, or None."""
    return session.exec(select(User).where(User.email == normalize_email(email))).first()


def sign_up(session: Session, *, email: str, password: str, locale: str) -> None:
    """Register, or tell the address's owner that someone tried; the caller can't tell which."""
    existing = find_by_email(session, email)
    if existing is not None:
        hash_password(password)  # the same work as a real sign-up
        outbox.enqueue(session, kind=OutboxKind.ALREADY_REGISTERED, payload={"user_id": existing.id})
        return
    user = create_user(session, email=email, password=password, locale=locale, verified=False)
    send_verification(session, user)


def send_verification(session: Session, user: User) -> None:
    """Queue a verification email; its link is minted when the email is written, so the
    plain token is never stored."""
    outbox.enqueue(session, kind=OutboxKind.VERIFY_EMAIL, payload={"user_id": user.id})


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The user for these credentials, or None; unknown emails cost the same time."""
    user = find_by_email(session, email)
    if user is None or not user.password_hash:
        passwords.spend_verify_time(password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    return user


def verify_password(password_hash: str, password: str) -> bool:
    """Check a password against its argon2 hash."""
    return passwords.verify(password_hash, password)


def start_session(session: Session, user: User, *, method: str = "password") -> str:
    """Record a signed-in browser; returns the token its cookie will carry."""
    token = tokens.new_token()
    session.add(LoginSession(user_id=user.id, token_hash=tokens.hash_token(token), method=method))
    session.flush()
    return token


@dataclass(frozen=True)
class SessionLifetime:
    """How long a signed-in browser stays signed in: `idle` without a request, `longest` in all."""

    idle: timedelta = timedelta(days=7)
    longest: timedelta = timedelta(days=30)


# A live session's last use is written at most this often, not on every request.
SESSION_USE_GRANULARITY = timedelta(minutes=5)


def user_for_session(session: Session, token: str, *, lifetime: SessionLifetime = SessionLifetime(),
                     now: datetime | None = None) -> User | None:
    """The user a session token belongs to while the session lives, or None. A session past
    its idle or longest lifetime is deleted; a live one has its use noted. The caller commits."""
    if not token or len(token) > 64:
        return None
    found = session.exec(
        select(LoginSession, User)
        .join(User, LoginSession.user_id == User.id)
        .where(LoginSession.token_hash == tokens.hash_token(token))
    ).first()
    if found is None:
        return None
    row, user = found
    now = now or utcnow()
    if now - row.last_seen_at > lifetime.idle or now - row.created_at > lifetime.longest:
        session.delete(row)
        return None
    if now - row.last_seen_at > SESSION_USE_GRANULARITY:
        row.last_seen_at = now
        session.add(row)
    return user


def end_session(session: Session, token: str) -> None:
    """Sign one browser out; its cookie is worthless from now on."""
    session.exec(delete(LoginSession).where(LoginSession.token_hash == tokens.hash_token(token)))


def end_all_sessions(session: Session, user: User, *, keep_token: str | None = None) -> None:
    """Sign out everywhere (after a password reset or an email change), except perhaps the
    browser holding `keep_token`."""
    statement = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep_token:
        statement = statement.where(LoginSession.token_hash != tokens.hash_token(keep_token))
    session.exec(statement)


def issue_token(session: Session, user: User, purpose: TokenPurpose, *, new_email: str | None = None,
                flush: bool = True) -> str:
    """A single-use token for a mailed link; only its hash is stored. `flush=False` leaves the
    INSERT to the caller's next flush or commit (the outbox writes a chunk's tokens in one)."""
    token = tokens.new_token()
    session.add(
        AuthToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=tokens.hash_token(token),
            new_email=new_email,
            expires_at=utcnow() + TOKEN_LIFETIME[purpose],
        )
    )
    if flush:
        session.flush()
    return token


def peek_token(session: Session, token: str, purpose: TokenPurpose, *, now: datetime | None = None) -> AuthToken | None:
    """The live token row (unused, unexpired, right purpose), or None."""
    if not token or len(token) > 64:
        return None
    row = session.exec(select(AuthToken).where(AuthToken.token_hash == tokens.hash_token(token))).first()
    if row is None or row.purpose != purpose or row.used_at is not None:
        return None
    if row.expires_at <= (now or utcnow()):
        return None
    return row


def _use_token(session: Session, token: str, purpose: TokenPurpose) -> AuthToken:
    row = peek_token(session, token, purpose)
    if row is None:
        raise AccountError("invalid_token")
    row.used_at = utcnow()
    session.add(row)
    return row


def verify_email(session: Session, token: str) -> User:
    """Confirm the address a verification link was sent to."""
    row = _use_token(session, token, TokenPurpose.VERIFY_EMAIL)
    user = session.get(User, row.user_id)
    user.email_verified_at = user.email_verified_at or utcnow()
    session.add(user)
    return user


def request_password_reset(session: Session, email: str) -> None:
    """Queue a reset email for the address, known or not: both cost the same lookup and
    the same outbox row, so neither the answer nor its timing says whether an account
    exists. The worker mails a link only when there is an account (user_id set)."""
    # The id only: building a User object would be work that only a known email costs.
    user_id = session.exec(select(User.id).where(User.email == normalize_email(email))).first()
    outbox.enqueue(session, kind=OutboxKind.RESET_PASSWORD, payload={"user_id": user_id})


def reset_password(session: Session, token: str, new_password: str) -> User:
    """Set a new password from a reset link; every other sign-in ends."""
    if password_problem(new_password):
        raise AccountError(password_problem(new_password))
    row = _use_token(session, token, TokenPurpose.RESET_PASSWORD)
    user = session.get(User, row.user_id)
    user.password_hash = hash_password(new_password)
    user.email_verified_at = user.email_verified_at or utcnow()  # they read the mail
    session.add(user)
    end_all_sessions(session, user)
    return user


def request_email_change(session: Session, user: User, *, new_email: str, password: str) -> None:
    """Mail a confirmation link to the new address; nothing changes until it is used."""
    if not user.password_hash or not verify_password(user.password_hash, password):
        raise AccountError("wrong_password")
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise AccountError("same_email")
    if find_by_email(session, new_email) is not None:
        return  # silently: telling would reveal that the address has an account
    outbox.enqueue(session, kind=OutboxKind.CHANGE_EMAIL, payload={"user_id": user.id, "new_email": new_email})


def confirm_email_change(session: Session, token: str, *, keep_session: str | None = None) -> User:
    """Switch to the new address; the old one is told, and every signed-in browser but the
    one confirming (`keep_session`, its session token) is signed out: whoever knew the old
    address's password must not stay in."""
    row = _use_token(session, token, TokenPurpose.CHANGE_EMAIL)
    if find_by_email(session, row.new_email) is not None:
        raise AccountError("invalid_token")
    user = session.get(User, row.user_id)
    outbox.enqueue(session, kind=OutboxKind.EMAIL_CHANGED, payload={"user_id": user.id, "old_email": user.email})
    user.email = row.new_email
    user.email_verified_at = utcnow()
    session.add(user)
    end_all_sessions(session, user, keep_token=keep_session)
    return user


def update_profile(session: Session, user: User, changes: ProfileUpdate) -> User:
    """Apply the allowlisted profile fields, the phone number as E.164 and the postal code
    as five digits; AccountError("invalid_phone" / "invalid_postal_code") otherwise."""
    values = changes.model_dump(exclude_unset=True)
    if values.get("phone"):
        values["phone"] = normalize_phone(values["phone"]) or _invalid("invalid_phone")
    if values.get("postal_code"):
        values["postal_code"] = normalize_postal_code(values["postal_code"]) or _invalid("invalid_postal_code")
    for name, value in values.items():
        if name in _OPTIONAL_PROFILE_FIELDS and not value:
            value = None  # an emptied field holds nothing, not an empty string
        setattr(user, name, value)  # names come from the ProfileUpdate allowlist only
    session.add(user)
    return user


_OPTIONAL_PROFILE_FIELDS = frozenset({"phone", "street", "postal_code", "city"})


def _invalid(reason: str):
    raise AccountError(reason)


def normalize_phone(text: str | None) -> str | None:
    """A typed phone number in E.164 (+46701234567), or None when it is not a valid number."""
    try:
        number = phonenumbers.parse(text or "", PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str | None) -> str:
    """Swedish numbers as Swedes write them (070-123 45 67), others in international form."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164, PHONE_REGION)
    if phonenumbers.region_code_for_number(number) == PHONE_REGION:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalize_postal_code(text: str | None) -> str | None:
    """A Swedish postal code as its five digits, or None when it is not one."""
    text = (text or "").strip()
    return text.replace(" ", "") if _POSTAL_CODE.match(text) else None


def display_postal_code(code: str | None) -> str:
    """12345 is written 123 45."""
    return f"{code[:3]} {code[3:]}" if code and len(code) == 5 else (code or "")


def personnummer_digest(personnummer: str, *, key: bytes) -> str:
    """A keyed digest: finds the account without keeping the number readable."""
    return hmac.new(key, personnummer.encode(), "sha256").hexdigest()


def normalize_personnummer(text: str, *, today: date | None = None) -> str:
    """A personnummer as typed (10 or 12 digits, with or without separator) as the 12 digits
    YYYYMMDDNNNN; AccountError("invalid_personnummer") when it is not a real one."""
    try:
        number = se_personnummer.validate(text)
        born = se_personnummer.get_birth_date(number)
    except InvalidNumber:
        raise AccountError("invalid_personnummer") from None
    if born > (today or utcnow().date()):
        raise AccountError("invalid_personnummer")
    return born.strftime("%Y%m%d") + number[-4:]


def mask_personnummer(personnummer: str) -> str:
    """YYYYMMDDNNNN becomes YYYYMMDD-****."""
    return f"{personnummer[:8]}-****"


def link_personnummer(session: Session, user: User, personnummer: str, *, key: bytes, verified: bool = False) -> None:
    """Store a (validated, 12-digit) personnummer on `user`.

    Typed in the profile, it is only the customer's claim: it never looks at, reveals or
    blocks another account (two accounts may claim one number; a claim signs nobody in).
    Proved by BankID (`verified`), it is exclusive: refused while another account holds it
    proved, and it withdraws the typed claims of other accounts. A proved number is final.
    """
    digest = personnummer_digest(personnummer, key=key)
    if user.personnummer_digest not in (None, digest) and (user.personnummer_verified_at or not verified):
        raise AccountError("personnummer_already_set")
    if verified:
        holder = find_by_personnummer(session, personnummer, key=key)
        if holder is not None and holder.id != user.id:
            raise AccountError("personnummer_taken")
        _withdraw_typed_claims(session, digest, keep=user)
        user.personnummer_verified_at = user.personnummer_verified_at or utcnow()
    user.personnummer_digest = digest
    user.personnummer_masked = mask_personnummer(personnummer)
    session.add(user)
    session.flush()


def _withdraw_typed_claims(session: Session, digest: str, *, keep: User) -> None:
    """Other accounts that typed a number its owner has now proved lose the claim."""
    session.exec(
        update(User)
        .where(User.personnummer_digest == digest, User.personnummer_verified_at.is_(None), User.id != keep.id)
        .values(personnummer_digest=None, personnummer_masked=None)
    )


def find_by_personnummer(session: Session, personnummer: str, *, key: bytes) -> User | None:
    """The account that proved this personnummer with BankID, or None. Typed claims are
    never looked up: they must not sign anyone in or tell anything about other accounts."""
    statement = select(User).where(
        User.personnummer_digest == personnummer_digest(personnummer, key=key),
        User.personnummer_verified_at.is_not(None),
    )
    return session.exec(statement).first()


# --- staff roles ---


def staff_members(session: Session) -> list[User]:
    """Everyone with a role besides customer, by role and email."""
    return list(session.exec(select(User).where(User.role != Role.CUSTOMER.value).order_by(User.role, User.email)))


def users_by_id(session: Session, ids: set[int | None]) -> dict[int, User]:
    """The users with these ids, by id, in one query (None and unknown ids are left out)."""
    wanted = {user_id for user_id in ids if user_id is not None}
    return {user.id: user for user in session.exec(select(User).where(User.id.in_(wanted)))} if wanted else {}


def set_role(session: Session, user: User, role: Role, *, actor: User) -> bool:
    """Give `user` a role (audited). An admin can't take their own admin role away, so there
    is always someone left to give it back. The user's sessions end: the new role holds from
    their next sign-in. Returns whether anything changed."""
    if user.id == actor.id and role != Role.ADMIN:
        raise AccountError("own_admin_role")
    if user.role == role.value:
        return False
    audit.record(session, action="user.role_changed", target=user, subject_id=user.id, actor=actor,
                 detail={"from": user.role, "to": role.value})
    user.role = role.value
    session.add(user)
    end_all_sessions(session, user)
    return True
