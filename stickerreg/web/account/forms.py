"""Forms of the account area: claiming a set, a sticker's sections, replies to finders,
the profile and email change. The profile's phone and postal-code checks are the
accounts service's own normalisers, so the form and the service agree."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Optional, StopValidation, ValidationError

from stickerreg.models import CardType, LostItems, ProfileUpdate, Verdict
from stickerreg.services import accounts
from stickerreg.services.linked import cards, devices
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
    public_note = TextAreaField(
        _l("Note to the finder (optional)"), filters=CLEAN, validators=[Optional(), at_most(500)]
    )
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
            display_name=user.display_name,
            phone=accounts.display_phone(user.phone),
            street=user.street,
            postal_code=accounts.display_postal_code(user.postal_code),
            city=user.city,
            locale=user.locale,
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


# --- linked services ---

LINE = [*CLEAN, single_line]
CARD_TYPE_LABELS = {
    CardType.DEBIT: _l("Debit card"),
    CardType.CREDIT: _l("Credit card"),
    CardType.CHARGE: _l("Charge card"),
    CardType.OTHER: _l("Other card"),
}
LOST_LABELS = {
    LostItems.WALLET: _l("My wallet, with my cards"),
    LostItems.PHONE: _l("My phone"),
    LostItems.BOTH: _l("Both my wallet and my phone"),
}


def _no_card_number(form, field) -> None:
    """A whole card number is refused, and forgotten: it is not shown back in the form."""
    if cards.looks_like_card_number(field.data):
        field.data, field.raw_data = "", [""]
        raise StopValidation(
            _l("Only the last four digits are needed: never type the whole card number. What you typed was not saved.")
        )


def _four_digits(form, field) -> None:
    if not (len(field.data or "") == 4 and field.data.isascii() and field.data.isdigit()):
        raise ValidationError(_l("Type the last four digits of the card, e.g. 1234."))


def _without_spaces(value: str | None) -> str | None:
    return "".join((value or "").split()) if value is not None else None


class CardForm(FlaskForm):
    """A payment card to block if the wallet is lost: never its number, only the last four."""

    holder_name = StringField(
        _l("Name on the card"),
        filters=LINE,
        validators=[_no_card_number, DataRequired(_l("Write the name on the card.")), at_most(100)],
    )
    issuer = SelectField(_l("Issued by"), validate_choice=True, validators=[DataRequired(_l("Choose the card's issuer."))])
    card_type = SelectField(
        _l("Type of card"), choices=[SelectChoice(t.value, label) for t, label in CARD_TYPE_LABELS.items()]
    )
    last_four = StringField(
        _l("Last four digits"),
        filters=[*CLEAN, _without_spaces],
        validators=[_no_card_number, DataRequired(_l("Type the last four digits of the card.")), _four_digits],
    )

    def __init__(self, *args, issuers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.issuer.choices = _directory_choices(issuers, _l("Choose the issuer"))


def _directory_choices(entries, prompt) -> list[SelectChoice]:
    """The directory's entries, after an empty first choice: nobody saves the first bank in the
    list by not looking."""
    return [SelectChoice("", prompt), *(SelectChoice(entry.key, entry.name) for entry in entries)]


def _valid_imei(form, field) -> None:
    if field.data and devices.normalize_imei(field.data) is None:
        raise ValidationError(_l("That is not a valid IMEI: 15 digits, shown when you dial *#06#."))


class MobileDeviceForm(FlaskForm):
    """A phone to block if lost."""

    owner_name = StringField(
        _l("Whose phone is it?"),
        filters=LINE,
        validators=[DataRequired(_l("Write the name of the phone's owner.")), at_most(100)],
    )
    owner_personnummer = _line(_l("The owner's personnummer (optional)"), 20, _valid_personnummer)
    phone = StringField(
        _l("Phone number"),
        filters=LINE,
        validators=[DataRequired(_l("Write the phone's number.")), at_most(30), _valid_phone],
    )
    operator = SelectField(_l("Operator"), validate_choice=True, validators=[DataRequired(_l("Choose the operator."))])
    imei = _line(_l("IMEI (optional)"), 30, _valid_imei)

    def __init__(self, *args, operators=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.operator.choices = _directory_choices(operators, _l("Choose the operator"))


class BlockingStartForm(FlaskForm):
    """What was lost: the case lists every card and phone to block for it."""

    lost = RadioField(
        _l("What have you lost?"),
        choices=[SelectChoice(item.value, label) for item, label in LOST_LABELS.items()],
        validators=[DataRequired(_l("Choose what you have lost."))],
    )
    sticker = HiddenField()


class ItemBlockedForm(FlaskForm):
    """Tick an item off as blocked, or undo the tick."""

    blocked = HiddenField(validators=[AnyOf(("yes", "no"))])


class VerdictForm(FlaskForm):
    """Was that credit inquiry the customer's own doing?"""

    verdict = HiddenField(validators=[AnyOf([verdict.value for verdict in Verdict])])
    ask_for_help = BooleanField(_l("Ask customer service to help me"))


class FireContactForm(FlaskForm):
    """Someone the alarm-receiving centre calls when the fire alarm goes off."""

    name = StringField(
        _l("Name"), filters=LINE, validators=[DataRequired(_l("Write the contact's name.")), at_most(100)]
    )
    phone = StringField(
        _l("Phone number"),
        filters=LINE,
        validators=[DataRequired(_l("Write the contact's phone number.")), at_most(30), _valid_phone],
    )
    relation = _line(_l("Relation, e.g. neighbour (optional)"), 60)
    note = _line(_l("Note for the alarm centre, e.g. has a key (optional)"), 200)


class MoveForm(FlaskForm):
    direction = HiddenField(validators=[AnyOf(("up", "down"))])
