"""Flask-WTF forms. Text from strangers is cleaned before validation (control characters,
NUL and lone surrogates removed) so what is stored is what was checked."""

from __future__ import annotations

import re

import phonenumbers
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Email, EqualTo, Length, Optional, ValidationError

from stickerreg.models import ItemCategory
from stickerreg.services import accounts
from stickerreg.text import clean_text

MESSAGE_MAX = 2000
CLEAN = [clean_text]


def _message_field(label) -> TextAreaField:
    return TextAreaField(
        label,
        filters=CLEAN,
        validators=[
            DataRequired(_l("Write a short message.")),
            Length(max=MESSAGE_MAX, message=_l("The message can be at most %(max)d characters.", max=MESSAGE_MAX)),
        ],
    )


class LookupForm(FlaskForm):
    """The 'enter an ID' box. A GET form: looking up changes nothing, so it needs no token."""

    class Meta:
        csrf = False

    code = StringField(_l("Sticker ID"), filters=CLEAN, validators=[DataRequired(), Length(max=200)])


class FinderMessageForm(FlaskForm):
    """What a finder sends to a sticker's owner."""

    message = _message_field(_l("Your message to the owner"))
    found_where = StringField(
        _l("Where did you find it? (optional)"),
        filters=CLEAN,
        validators=[Optional(), Length(max=200, message=_l("Use at most %(max)d characters.", max=200))],
    )
    email = EmailField(
        _l("Your email, to hear back (optional)"),
        filters=CLEAN,
        validators=[
            Optional(),
            Length(max=254),
            Email(message=_l("That email address doesn't look right."), check_deliverability=False),
        ],
    )
    share_location = BooleanField(_l("Share my approximate location (about 100 m)"))
    latitude = HiddenField(validators=[Optional()])
    longitude = HiddenField(validators=[Optional()])

    def validate_latitude(self, field) -> None:
        _coordinate(field, -90.0, 90.0)

    def validate_longitude(self, field) -> None:
        _coordinate(field, -180.0, 180.0)

    def location(self) -> tuple[float | None, float | None]:
        """Coordinates only when the finder explicitly agreed to share them."""
        if not self.share_location.data or not self.latitude.data or not self.longitude.data:
            return None, None
        return float(self.latitude.data), float(self.longitude.data)


class FinderReplyForm(FlaskForm):
    """The finder writes again on their private conversation page."""

    message = _message_field(_l("Your reply"))


def _coordinate(field, low: float, high: float) -> None:
    try:
        value = float(field.data)
    except (TypeError, ValueError):
        raise ValidationError(_l("Your location could not be read. Turn off location sharing and try again.")) from None
    if not (low <= value <= high) or value != value:  # value != value catches NaN
        raise ValidationError(_l("Your location could not be read. Turn off location sharing and try again."))


def _email_field(label=None) -> EmailField:
    return EmailField(
        label or _l("Email"),
        filters=CLEAN,
        validators=[
            DataRequired(_l("Enter your email address.")),
            Length(max=254),
            Email(message=_l("That email address doesn't look right."), check_deliverability=False),
        ],
    )


def password_error_message(problem: str) -> str:
    """A person-readable reason for accounts.password_problem()."""
    messages = {
        "too_short": _l("Use at least %(min)d characters.", min=accounts.PASSWORD_MIN_LENGTH),
        "too_common": _l("That password is too common. Choose one that is harder to guess."),
    }
    return str(messages.get(problem, problem))


class StrongPassword:
    """The same rule for sign-up and reset: long enough and not a common password."""

    def __call__(self, form, field) -> None:
        problem = accounts.password_problem(field.data or "")
        if problem:
            raise ValidationError(password_error_message(problem))


def _new_password_fields():
    password = PasswordField(
        _l("Password (at least %(min)d characters)", min=accounts.PASSWORD_MIN_LENGTH),
        validators=[DataRequired(_l("Choose a password.")), Length(max=200), StrongPassword()],
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(_l("Repeat the password.")), EqualTo("password", _l("The passwords don't match."))],
    )
    return password, confirm


class SignUpForm(FlaskForm):
    email = _email_field()
    password, password_confirm = _new_password_fields()


class LoginForm(FlaskForm):
    email = _email_field()
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)])


class ResetRequestForm(FlaskForm):
    email = _email_field()


class PasswordResetForm(FlaskForm):
    password, password_confirm = _new_password_fields()


class ConfirmForm(FlaskForm):
    """Just the CSRF token: a button that confirms a mailed link."""


# --- stickers and sets (account area) ---

CATEGORY_LABELS = {
    ItemCategory.KEYS: _l("Keys"),
    ItemCategory.PHONE: _l("Phone"),
    ItemCategory.WALLET: _l("Wallet"),
    ItemCategory.BAG: _l("Bag"),
    ItemCategory.LAPTOP: _l("Laptop"),
    ItemCategory.PET: _l("Pet"),
    ItemCategory.OTHER: _l("Other"),
}


def _at_most(max_length: int) -> Length:
    return Length(max=max_length, message=_l("Use at most %(max)d characters.", max=max_length))


class ClaimForm(FlaskForm):
    """Any sticker ID from a set plus the code on its backing card (typed however)."""

    sticker_code = StringField(
        _l("Sticker ID"),
        filters=CLEAN,
        validators=[DataRequired(_l("Enter the ID printed on one of the stickers.")), Length(max=200)],
    )
    activation_code = StringField(
        _l("Activation code"),
        filters=CLEAN,
        validators=[DataRequired(_l("Enter the activation code from the backing card.")), Length(max=200)],
    )


class StickerDetailsForm(FlaskForm):
    """The owner's private name for a sticker and what kind of item it is on."""

    label = StringField(_l("Name"), filters=CLEAN, validators=[_at_most(80)])
    category = SelectField(_l("Item"), choices=[SelectChoice(value.value, label) for value, label in CATEGORY_LABELS.items()])


class LostModeForm(FlaskForm):
    """Lost mode and what finders see; `preview` shows the result without saving."""

    lost_mode = BooleanField(_l("Lost mode: show this to anyone who scans the sticker"))
    reward_text = StringField(_l("Reward (optional)"), filters=CLEAN, validators=[Optional(), _at_most(200)])
    public_note = TextAreaField(_l("Note to the finder (optional)"), filters=CLEAN, validators=[Optional(), _at_most(500)])
    preview = SubmitField(_l("Preview"))


class ScanAlertsForm(FlaskForm):
    scan_alerts = BooleanField(_l("Email me when someone opens the sticker's page while it is in lost mode"))


class QuickLostModeForm(FlaskForm):
    """The dashboard's one-button switch; it names the wanted state, so a double click is harmless."""

    lost_mode = HiddenField(validators=[AnyOf(("on", "off"))])


class DeactivateForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand that this sticker stops working for good"),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class OwnerReplyForm(FlaskForm):
    """The owner answers a finder in their account."""

    message = _message_field(_l("Your reply to the finder"))


class AbuseReportForm(FlaskForm):
    """The second step of reporting a conversation: an explicit yes."""

    confirm = BooleanField(
        _l("Yes, block this conversation: the finder can't send any more messages."),
        validators=[DataRequired(_l("Tick the box to confirm the report."))],
    )


# Profile: phone numbers are dialled from Sweden by default; stored as E.164.
PHONE_REGION = "SE"
_POSTAL_CODE = re.compile(r"^\d{3} ?\d{2}$")


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


def _single_line(form, field) -> None:
    if field.data and any(c in field.data for c in "\n\t"):
        raise ValidationError(_l("Use a single line, without tabs or line breaks."))


def _valid_phone(form, field) -> None:
    if normalize_phone(field.data) is None:
        raise ValidationError(_l("That phone number doesn't look right. Example: 070-123 45 67."))


def _valid_postal_code(form, field) -> None:
    if normalize_postal_code(field.data) is None:
        raise ValidationError(_l("Enter a Swedish postal code: five digits, like 123 45."))


def _valid_personnummer(form, field) -> None:
    try:
        accounts.normalize_personnummer(field.data)
    except accounts.AccountError:
        # Never repeat the number back: the message names the format, not the input.
        raise ValidationError(_l("That is not a valid personnummer. Example: 19811218-9876.")) from None


def _line(label, max_length: int, *checks) -> StringField:
    return StringField(
        label,
        filters=CLEAN,
        validators=[
            Optional(),
            Length(max=max_length, message=_l("Use at most %(max)d characters.", max=max_length)),
            _single_line,
            *checks,
        ],
    )


class ProfileForm(FlaskForm):
    """The customer's own details, mapped onto accounts.ProfileUpdate (the allowlist)."""

    display_name = _line(_l("Name"), 100)
    phone = _line(_l("Phone (optional)"), 30, _valid_phone)
    street = _line(_l("Street address (optional)"), 120)
    postal_code = _line(_l("Postal code (optional)"), 10, _valid_postal_code)
    city = _line(_l("City (optional)"), 60)
    locale = SelectField(
        _l("Language, also for our emails"), choices=[SelectChoice("sv", "Svenska"), SelectChoice("en", "English")]
    )
    notify_by_email = BooleanField(_l("Email me when a finder writes"))
    personnummer = _line(_l("Personnummer (optional)"), 20, _valid_personnummer)

    @classmethod
    def initial(cls, user) -> dict:
        """The form's starting values for this user, formatted for people."""
        return dict(
            display_name=user.display_name, phone=display_phone(user.phone), street=user.street,
            postal_code=display_postal_code(user.postal_code), city=user.city, locale=user.locale,
            notify_by_email=user.notify_by_email,
        )

    def to_update(self) -> accounts.ProfileUpdate:
        """The validated values, normalised for storage."""
        return accounts.ProfileUpdate(
            display_name=self.display_name.data or "",
            phone=normalize_phone(self.phone.data) if self.phone.data else None,
            street=self.street.data or None,
            postal_code=normalize_postal_code(self.postal_code.data) if self.postal_code.data else None,
            city=self.city.data or None,
            locale=self.locale.data,
            notify_by_email=bool(self.notify_by_email.data),
        )


class EmailChangeForm(FlaskForm):
    """A new address for the account, confirmed with the current password."""

    new_email = _email_field(_l("New email address"))
    password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)]
    )
