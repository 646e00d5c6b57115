"""Form pieces every blueprint uses. Text from strangers is cleaned before validation
(control characters, NUL and lone surrogates removed) so what is stored is what was checked."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from stickerreg.models import ItemCategory
from stickerreg.text import clean_text

MESSAGE_MAX = 2000
CLEAN = [clean_text]

CATEGORY_LABELS = {
    ItemCategory.KEYS: _l("Keys"),
    ItemCategory.PHONE: _l("Phone"),
    ItemCategory.WALLET: _l("Wallet"),
    ItemCategory.BAG: _l("Bag"),
    ItemCategory.LAPTOP: _l("Laptop"),
    ItemCategory.PET: _l("Pet"),
    ItemCategory.OTHER: _l("Other"),
}

# Why staff open a customer's record (services.crm.REASONS), as the audit log shows it.
OPEN_RECORD_REASONS = {
    "customer_called": _l("The customer called us"),
    "customer_wrote": _l("The customer wrote to us"),
    "blocking_case": _l("A blocking case"),
    "credit_inquiry": _l("A credit inquiry the customer asked about"),
    "handed_in_item": _l("An item handed in at a desk"),
    "privacy_request": _l("A request about the customer's personal data"),
    "complaint": _l("A complaint"),
}
# ... and the reasons the audit log gives for pages that show customers without asking why.
VIEW_REASONS = {**OPEN_RECORD_REASONS, "customer_search": _l("Found in a customer search")}


def category_choices() -> list[SelectChoice]:
    """The item categories for a select, in their translated names."""
    return [SelectChoice(value.value, label) for value, label in CATEGORY_LABELS.items()]


def at_most(max_length: int) -> Length:
    """A length limit that says the limit in the reader's language."""
    return Length(max=max_length, message=_l("Use at most %(max)d characters.", max=max_length))


def message_field(label) -> TextAreaField:
    """A message between finder and owner: required, cleaned, at most MESSAGE_MAX characters."""
    return TextAreaField(
        label,
        filters=CLEAN,
        validators=[
            DataRequired(_l("Write a short message.")),
            Length(max=MESSAGE_MAX, message=_l("The message can be at most %(max)d characters.", max=MESSAGE_MAX)),
        ],
    )


def email_field(label=None) -> EmailField:
    """A required email address (syntax only: deliverability is proved by the mailed link)."""
    return EmailField(
        label or _l("Email"),
        filters=CLEAN,
        validators=[
            DataRequired(_l("Enter your email address.")),
            Length(max=254),
            Email(message=_l("That email address doesn't look right."), check_deliverability=False),
        ],
    )


class ConfirmForm(FlaskForm):
    """Just the CSRF token: a button that confirms an action or a mailed link."""
