"""Account routes: the payment cards a customer would block if their wallet is lost.

Only the issuer, the type and the last four digits are kept. A whole card number typed in
any field is refused, not stored and not shown back (see forms._no_card_number).
"""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from stickerreg.models import Card, CardCreate, DirectoryEntry, DirectoryKind
from stickerreg.services.linked import cards, directory
from stickerreg.services.linked.cards import CardError
from stickerreg.web.account import bp
from stickerreg.web.account.forms import CARD_TYPE_LABELS, CardForm
from stickerreg.web.fields import ConfirmForm
from stickerreg.web.pages import get_owned_or_404, render


@bp.context_processor
def card_helpers() -> dict:
    return {"card_type_label": lambda value: str(CARD_TYPE_LABELS.get(value, value))}


def _card_form(**kwargs) -> CardForm:
    return CardForm(issuers=directory.entries(g.db, DirectoryKind.CARD_ISSUER), **kwargs)


@bp.route("/cards", methods=["GET", "POST"])
def card_list():
    """The customer's cards, and a form to add one."""
    form = _card_form()
    if request.method == "POST":
        if form.validate_on_submit() and _saved(form, None):
            flash(_("The card was added."), "info")
            return redirect(url_for(".card_list"), 303)
        return _list_page(form), 422
    return _list_page(_card_form(formdata=None))


@bp.route("/cards/<card_id>", methods=["GET", "POST"])
def card(card_id: str):
    """Change a card's details."""
    found = get_owned_or_404(g.db, Card, card_id, g.user)
    issuer = g.db.get(DirectoryEntry, found.issuer_id) if found.issuer_id else None
    form = _card_form(data={"holder_name": found.holder_name, "issuer": issuer.key if issuer else None,
                            "card_type": found.card_type, "last_four": found.last_four})
    if request.method == "POST":
        if form.validate_on_submit() and _saved(form, found):
            flash(_("The card was saved."), "info")
            return redirect(url_for(".card_list"), 303)
        status = 422
    else:
        status = 200
    g.page_url = url_for(".card", card_id=card_id)
    return render("account/card.html", form=form, card=found), status


@bp.route("/cards/<card_id>/delete", methods=["GET", "POST"])
def delete_card(card_id: str):
    """Remove a card, after a confirmation."""
    found = get_owned_or_404(g.db, Card, card_id, g.user)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        cards.delete_card(g.db, found, actor=g.user)
        g.db.commit()
        flash(_("The card was removed."), "info")
        return redirect(url_for(".card_list"), 303)
    g.page_url = url_for(".delete_card", card_id=card_id)
    return render("account/card_delete.html", form=form, card=found), 200 if request.method == "GET" else 422


def _saved(form: CardForm, card: Card | None) -> bool:
    """Add or update from the form; a reason the service gives becomes a field error."""
    details = CardCreate(holder_name=form.holder_name.data, issuer=form.issuer.data, card_type=form.card_type.data,
                         last_four=form.last_four.data)
    try:
        if card is None:
            cards.add_card(g.db, g.user, details, actor=g.user)
        else:
            cards.update_card(g.db, card, details, actor=g.user)
    except CardError as error:
        field = form.issuer if str(error) == "unknown_issuer" else form.holder_name
        field.errors = [*field.errors, _("That didn't work. Check the card's details.")]
        g.db.rollback()
        return False
    g.db.commit()
    return True


def _list_page(form: CardForm):
    g.page_url = url_for(".card_list")
    return render("account/cards.html", form=form, cards=cards.cards_of(g.db, g.user))
