"""Kiosk forms: the hand-in record and the pickup check. Text is cleaned before validation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional, ValidationError

from stickerreg.models import HandedInItemCreate
from stickerreg.web.fields import CLEAN, at_most, category_choices


class HandInForm(FlaskForm):
    """What the desk writes down about an item; the finder's details are optional."""

    sticker = HiddenField()  # the canonical code, or empty for an item without a sticker
    # No category is preselected: a busy desk would otherwise file everything under the first one.
    category = SelectField(
        _l("What is it?"), choices=[SelectChoice("", _l("Choose…")), *category_choices()],
        validators=[DataRequired(_l("Choose what kind of item it is."))],
    )
    description = StringField(
        _l("Short description"), filters=CLEAN,
        validators=[DataRequired(_l("Describe the item in a few words.")), at_most(200)],
    )
    storage_place = StringField(
        _l("Stored at (shelf or bin)"), filters=CLEAN,
        validators=[DataRequired(_l("Write where the item is kept, e.g. shelf B3.")), at_most(60)],
    )
    finder_name = StringField(_l("Finder's name (optional)"), filters=CLEAN, validators=[Optional(), at_most(100)])
    finder_contact = StringField(
        _l("Finder's phone or email (optional, for a reward)"), filters=CLEAN, validators=[Optional(), at_most(120)]
    )
    finder_consent = BooleanField(_l("The finder agrees that we keep their name and contact until the item is collected"))
    finder_shares = BooleanField(_l("The finder agrees that the owner may see their name and contact"))
    photo = FileField(_l("Photo of the item (optional)"))

    def validate_finder_consent(self, field) -> None:
        if (self.finder_name.data or self.finder_contact.data or self.finder_shares.data) and not field.data:
            raise ValidationError(_l("Ask the finder and tick this box, or leave their details out."))

    def hand_in(self) -> HandedInItemCreate:
        """The validated record (finder details only with consent)."""
        consented = bool(self.finder_consent.data)
        return HandedInItemCreate(
            category=self.category.data,
            description=self.description.data,
            storage_place=self.storage_place.data,
            finder_name=(self.finder_name.data or None) if consented else None,
            finder_contact=(self.finder_contact.data or None) if consented else None,
            finder_shares_contact=consented and bool(self.finder_shares.data),
        )


class PickupForm(FlaskForm):
    """Staff check the owner's pickup code and say who handed the item over."""

    staff = StringField(
        _l("Handed over by (your name or initials)"), filters=CLEAN,
        validators=[DataRequired(_l("Write your name or initials.")), at_most(60)],
    )
    code = StringField(
        _l("Pickup code"), filters=CLEAN,
        validators=[DataRequired(_l("Enter the owner's pickup code.")), at_most(40)],
    )


class StaffPinForm(FlaskForm):
    """The desk's staff PIN, before the staff screens."""

    pin = PasswordField(_l("Staff PIN"), validators=[DataRequired(_l("Enter the desk's staff PIN.")), at_most(8)])
    next = HiddenField()
