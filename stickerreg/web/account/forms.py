"""Forms of the account area: claiming a set, a sticker's sections, replies to finders,
the profile and email change. The profile's phone and postal-code checks are the
accounts service's own normalisers, so the form and the service agree."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Optional, ValidationError

from stickerreg.models import ProfileUpdate
from stickerreg.services import accounts
from stickerreg.text import single_line
from stickerreg.web.fields import CLEAN, at_most, category_choices, email_field, message_field


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

    # One line: the label goes into email subjects, where a line break has no place.
    label = StringField(_l("Name"), filters=[*CLEAN, single_line], validators=[at_most(80)])
    category = SelectField(_l("Item"), choices=category_choices())


class LostModeForm(FlaskForm):
    """Lost mode and what finders see; `preview` shows the result without saving."""

    lost_mode = BooleanField(_l("Lost mode: show this to anyone who scans the sticker"))
    reward_text = StringField(_l("Reward (optional)"), filters=CLEAN, validators=[Optional(), at_most(200)])
    public_note = TextAreaField(_l("Note to the finder (optional)"), filters=CLEAN, validators=[Optional(), at_most(500)])
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

    message = message_field(_l("Your reply to the finder"))


class AbuseReportForm(FlaskForm):
    """The second step of reporting a conversation: an explicit yes."""

    confirm = BooleanField(
        _l("Yes, block this conversation: the finder can't send any more messages."),
        validators=[DataRequired(_l("Tick the box to confirm the report."))],
    )


def _single_line(form, field) -> None:
    if field.data and any(c in field.data for c in "\n\t"):
        raise ValidationError(_l("Use a single line, without tabs or line breaks."))


def _valid_phone(form, field) -> None:
    if accounts.normalize_phone(field.data) is None:
        raise ValidationError(_l("That phone number doesn't look right. Example: 070-123 45 67."))


def _valid_postal_code(form, field) -> None:
    if accounts.normalize_postal_code(field.data) is None:
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
    """The customer's own details, mapped onto ProfileUpdate (the allowlist)."""

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
            display_name=user.display_name, phone=accounts.display_phone(user.phone), street=user.street,
            postal_code=accounts.display_postal_code(user.postal_code), city=user.city, locale=user.locale,
            notify_by_email=user.notify_by_email,
        )

    def to_update(self) -> ProfileUpdate:
        """The validated values as typed; accounts.update_profile normalises them."""
        return ProfileUpdate(
            display_name=self.display_name.data or "",
            phone=self.phone.data or None,
            street=self.street.data or None,
            postal_code=self.postal_code.data or None,
            city=self.city.data or None,
            locale=self.locale.data,
            notify_by_email=bool(self.notify_by_email.data),
        )


class EmailChangeForm(FlaskForm):
    """A new address for the account, confirmed with the current password."""

    new_email = email_field(_l("New email address"))
    password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)]
    )
