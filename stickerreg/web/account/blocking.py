"""Account routes: blocking cases. "I have lost my wallet / phone / both" lists every card and
phone to block with its issuer's or operator's line; the customer ticks off what they blocked,
or asks customer service to do it, and follows the case to the end."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from stickerreg import codes
from stickerreg.emails import blocking_step
from stickerreg.models import BlockingCase, BlockingStatus, LostItems, Sticker
from stickerreg.services import ownership
from stickerreg.services.linked import blocking
from stickerreg.services.linked.blocking import BlockingError
from stickerreg.web.account import bp
from stickerreg.web.account.forms import LOST_LABELS, BlockingStartForm, ItemBlockedForm
from stickerreg.web.fields import ConfirmForm
from stickerreg.web.pages import get_owned_or_404, render


@bp.context_processor
def blocking_helpers() -> dict:
    return {"lost_label": lambda value: str(LOST_LABELS.get(value, value)), "blocking_step": blocking_step,
            "blocking_status_label": blocking_status_label}


def blocking_status_label(status: str) -> str:
    labels = {BlockingStatus.OPEN: _("Open"), BlockingStatus.IN_PROGRESS: _("Customer service is on it"),
              BlockingStatus.DONE: _("Done")}
    return labels.get(status, status)


@bp.route("/blocking", methods=["GET", "POST"])
def blocking_cases():
    """The customer's blocking cases, and starting one: what was lost?"""
    form = BlockingStartForm(lost=request.args.get("lost"), sticker=request.args.get("sticker"))
    if request.method == "POST" and form.validate_on_submit():
        try:
            case = blocking.open_case(g.db, g.user, lost=LostItems(form.lost.data), sticker=_sticker(form.sticker.data))
        except BlockingError:
            form.lost.errors = [*form.lost.errors, _("There is nothing to block yet: add your cards and phones "
                                                     "first, then start the case.")]
        else:
            g.db.commit()
            return redirect(url_for(".blocking_case", case_id=case.public_id), 303)
    g.page_url = url_for(".blocking_cases")
    status = 422 if request.method == "POST" else 200
    return render("account/blocking_cases.html", form=form, cases=blocking.cases_of(g.db, g.user)), status


@bp.get("/blocking/<case_id>")
def blocking_case(case_id: str):
    """One case: what to block and where to call, what is blocked, and what happened when."""
    return _case_page(get_owned_or_404(g.db, BlockingCase, case_id, g.user))


@bp.post("/blocking/<case_id>/items/<blocking_item_id>")
def block_item(case_id: str, blocking_item_id: str):
    """The customer ticks an item off as blocked (or undoes it)."""
    case = get_owned_or_404(g.db, BlockingCase, case_id, g.user)
    item = blocking.item_of(g.db, case, blocking_item_id) or abort(404)
    form = ItemBlockedForm()
    if not form.validate_on_submit():
        return _case_page(case), 422
    try:
        blocking.mark_blocked(g.db, case, item, blocked=form.blocked.data == "yes", actor=g.user,
                              role=blocking.CUSTOMER)
    except BlockingError:
        return _case_page(case, refused=True), 409
    g.db.commit()
    return redirect(url_for(".blocking_case", case_id=case_id), 303)


@bp.post("/blocking/<case_id>/help")
def ask_for_blocking_help(case_id: str):
    """The customer asks customer service to do the blocking."""
    case = get_owned_or_404(g.db, BlockingCase, case_id, g.user)
    if not ConfirmForm().validate_on_submit():
        return _case_page(case), 422
    try:
        blocking.request_help(g.db, case, actor=g.user)
    except BlockingError:
        return _case_page(case, refused=True), 409
    g.db.commit()
    flash(_("Customer service will block everything on the list for you. We email you at each step."), "info")
    return redirect(url_for(".blocking_case", case_id=case_id), 303)


def _case_page(case: BlockingCase, *, refused: bool = False):
    g.page_url = url_for(".blocking_case", case_id=case.public_id)
    return render("account/blocking_case.html", case=case, items=blocking.items_of(g.db, case),
                  events=blocking.events_of(g.db, case), is_open=case.status != BlockingStatus.DONE,
                  refused=refused, item_form=ItemBlockedForm(formdata=None), help_form=ConfirmForm(formdata=None))


def _sticker(code: str | None) -> Sticker | None:
    """The owner's sticker the case was started from, if the form names one of theirs."""
    canonical = codes.normalize(code or "")
    return ownership.owned(g.db, Sticker, canonical, g.user) if canonical else None
