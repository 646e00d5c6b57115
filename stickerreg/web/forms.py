"""Flask-WTF forms. Text from strangers is cleaned before validation (control characters,
NUL and lone surrogates removed) so what is stored is what was checked."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

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
