"""The customer-service area (/crm): find a customer and open their record (with a reason,
kept in the audit log), notes, blocking cases and credit inquiries where the customer asked
for help.

Customer service and admins only; to everyone else, signed in or not, every URL here
answers 404. Every step is recorded on the case and the customer is emailed about it
(see services.linked.blocking).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, g, redirect, request, session, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length

from stickerreg.models import (
    BlockingCase,
    BlockingEvent,
    BlockingItem,
    BlockingStatus,
    LostItems,
    Role,
    Sticker,
    User,
    utcnow,
)
from stickerreg.services import accounts, crm, registers
from stickerreg.services.linked import blocking, idprotect
from stickerreg.services.linked.blocking import BlockingError
from stickerreg.web.fields import CLEAN, OPEN_RECORD_REASONS, ConfirmForm, at_most
from stickerreg.web.pages import private_page, render
from stickerreg.web.sessions import looked_at, staff_area

bp = Blueprint("crm", __name__, url_prefix="/crm")
staff_area(bp, Role.CUSTOMER_SERVICE, Role.ADMIN)
bp.after_request(private_page)

LOST_LABELS = {
    LostItems.WALLET: _l("Wallet"),
    LostItems.PHONE: _l("Phone"),
    LostItems.BOTH: _l("Wallet and phone"),
}
STATUS_LABELS = {
    BlockingStatus.OPEN: _l("Waiting for customer service"),
    BlockingStatus.IN_PROGRESS: _l("In progress"),
    BlockingStatus.DONE: _l("Closed"),
}


def step_label(event: BlockingEvent) -> str:
    """What a step of a case means, told to staff (the customer's emails say "you"); the page
    names who took it beside it."""
    steps = {
        "opened": _("Case opened"),
        "help_requested": _("Asked customer service for help"),
        "in_progress": _("Case taken"),
        "item_blocked": _("Marked blocked: %(item)s", item=event.item_label or ""),
        "item_unblocked": _("No longer marked blocked: %(item)s", item=event.item_label or ""),
        "done": _("Case closed"),
    }
    return steps.get(event.action, event.action)


def blocked_by_label(item: BlockingItem) -> str:
    """Who ticked the item off."""
    if item.blocked_by == blocking.CUSTOMER:
        return _("Blocked by the customer")
    return _("Blocked by customer service")


@bp.context_processor
def crm_helpers() -> dict:
    return {
        "lost_label": lambda lost: str(LOST_LABELS.get(lost, lost)),
        "case_status_label": lambda status: str(STATUS_LABELS.get(status, status)),
        "step_label": step_label,
        "blocked_by_label": blocked_by_label,
        "display_phone": accounts.display_phone,
        "sticker_state": sticker_state,
    }


def sticker_state(sticker: Sticker) -> str:
    if sticker.status != "active":
        return _("Deactivated")
    return _("Lost mode") if sticker.lost_mode else _("Active")


@bp.get("/")
def index():
    """The customer-service start page."""
    return redirect(url_for(".case_list"))


@bp.get("/blocking-cases")
def case_list():
    """Cases to work: help asked for or already taken, not closed; the longest waiting first."""
    cases = [(case, g.db.get(User, case.owner_id)) for case in blocking.waiting_for_service(g.db)]
    looked_at((customer for _case, customer in cases), reason="blocking_case")
    return render("crm/cases.html", cases=cases)


@bp.get("/blocking-cases/<case_id>")
def case(case_id: str):
    """One case: the customer, what to block and where, the history, and the next steps."""
    return _case_page(_case_or_404(case_id))


@bp.post("/blocking-cases/<case_id>/take")
def take(case_id: str):
    """Customer service starts working the case; the customer is told."""
    found = _case_or_404(case_id)
    if found.status == BlockingStatus.IN_PROGRESS:
        flash(_("This case is already taken."), "info")
        return redirect(url_for(".case", case_id=found.public_id), 303)
    return _step(found, lambda: blocking.take(g.db, found, actor=g.user),
                 _("You took the case. The customer is emailed that customer service is blocking for them."))


@bp.post("/blocking-cases/<case_id>/items/<item_id>/block")
def block_item(case_id: str, item_id: str):
    """Tick an item off as blocked (customer service called the line)."""
    return _mark(case_id, item_id, blocked=True)


@bp.post("/blocking-cases/<case_id>/items/<item_id>/unblock")
def unblock_item(case_id: str, item_id: str):
    """Undo a tick made by mistake."""
    return _mark(case_id, item_id, blocked=False)


@bp.post("/blocking-cases/<case_id>/close")
def close(case_id: str):
    """The case is done; the customer is told."""
    found = _case_or_404(case_id)
    return _step(found, lambda: blocking.finish(g.db, found, actor=g.user, role=blocking.CUSTOMER_SERVICE),
                 _("The case is closed. The customer is emailed."))


@bp.get("/id-protection")
def idprotect_help():
    """Credit inquiries the customer said were not theirs and asked for help with."""
    return _idprotect_page()


@bp.post("/id-protection/<alert_id>/done")
def idprotect_helped(alert_id: str):
    """Customer service has helped the customer; the inquiry leaves the list."""
    alert = idprotect.find_alert(g.db, alert_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        return _idprotect_page(), 422
    idprotect.finish_help(g.db, alert, actor=g.user)
    g.db.commit()
    flash(_("Marked as helped: the inquiry from %(requester)s.", requester=alert.requester), "info")
    return redirect(url_for(".idprotect_help"), 303)


def _idprotect_page():
    alerts = [(alert, g.db.get(User, alert.user_id)) for alert in idprotect.help_requests(g.db)]
    looked_at((customer for _alert, customer in alerts), reason="credit_inquiry")
    return render("crm/idprotect.html", alerts=alerts)


def _mark(case_id: str, item_id: str, *, blocked: bool):
    found = _case_or_404(case_id)
    item = blocking.item_of(g.db, found, item_id) or abort(404)

    def mark() -> None:
        blocking.mark_blocked(g.db, found, item, blocked=blocked, actor=g.user, role=blocking.CUSTOMER_SERVICE)

    if blocked:
        return _step(found, mark, _("%(item)s is marked blocked.", item=item.label))
    return _step(found, mark, _("%(item)s is no longer marked blocked.", item=item.label))


def _step(found: BlockingCase, action: Callable[[], None], notice: str):
    """Take one step of the case (a confirmed POST): commit, tell, and show the case again.
    A case closed meanwhile (by the customer, or a colleague) is a 409 with the case."""
    if not ConfirmForm().validate_on_submit():
        return _case_page(found), 422
    try:
        action()
    except BlockingError:  # raised before anything changed
        return _case_page(found, problem=_("This case is closed, so it can't be changed any more.")), 409
    g.db.commit()
    flash(notice, "info")
    return redirect(url_for(".case", case_id=found.public_id), 303)


def _case_or_404(case_id: str) -> BlockingCase:
    return blocking.find_case(g.db, case_id) or abort(404)


def _case_page(found: BlockingCase, *, problem: str | None = None):
    events = blocking.events_of(g.db, found)
    actors = {event.actor_id: g.db.get(User, event.actor_id) for event in events if event.actor_id}
    items = blocking.items_of(g.db, found)
    customer = g.db.get(User, found.owner_id)
    looked_at([customer], reason="blocking_case")
    return render("crm/case.html", case=found, customer=customer, items=items,
                  events=events, actors=actors, problem=problem, is_closed=found.status == BlockingStatus.DONE,
                  unblocked=sum(1 for item in items if item.blocked_at is None))


# --- customers: search, the record (opened with a reason), notes ------------------------

# A record stays open to the member of staff who gave a reason for this long; then they
# give a reason again (each opening is an audit entry).
RECORD_OPEN_MINUTES = 30
OPEN_RECORDS = "crm_open_records"  # session key: customer number → when it was opened


class CustomerSearchForm(FlaskForm):
    """A POST form: what staff type (names, emails, numbers) stays out of URLs and logs."""

    query = StringField(_l("Name, email, phone, customer number or sticker ID"), filters=CLEAN,
                        validators=[DataRequired(_l("Type at least two characters.")),
                                    Length(min=2, max=200, message=_l("Type 2 to 200 characters."))])


class OpenRecordForm(FlaskForm):
    """Why the record is opened: one of a fixed list (the audit log keeps it for good, so it
    must hold no free text)."""

    reason = SelectField(_l("Why are you opening this customer's record?"),
                         choices=[SelectChoice("", _l("Choose…"))]
                         + [SelectChoice(key, label) for key, label in OPEN_RECORD_REASONS.items()],
                         validators=[InputRequired(message=_l("Say why: it is kept in the audit log.")),
                                     AnyOf(crm.REASONS, message=_l("Say why: it is kept in the audit log."))])


class NoteForm(FlaskForm):
    body = TextAreaField(_l("New note"), filters=CLEAN,
                         validators=[DataRequired(message=_l("Write the note first.")), at_most(crm.NOTE_MAX)])


@bp.route("/customers", methods=["GET", "POST"])
def customers():
    """Find a customer by anything they can tell us."""
    form = CustomerSearchForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render("crm/customers.html", form=form, results=None), status
    results = crm.search(g.db, form.query.data)
    looked_at(results, reason="customer_search")
    return render("crm/customers.html", form=form, results=results)


@bp.get("/customers/<customer_number>")
def customer(customer_number: str):
    """The customer's record, once staff have said why they open it."""
    found = accounts.find_by_customer_number(g.db, customer_number) or abort(404)
    if not _is_open(found):
        return render("crm/customer_open.html", customer=found, form=OpenRecordForm(formdata=None))
    return _record_page(found, NoteForm(formdata=None))


@bp.post("/customers/<customer_number>/open")
def open_customer(customer_number: str):
    found = accounts.find_by_customer_number(g.db, customer_number) or abort(404)
    form = OpenRecordForm()
    if not form.validate_on_submit():
        return render("crm/customer_open.html", customer=found, form=form), 422
    crm.open_record(g.db, found, staff=g.user, reason=form.reason.data)
    g.db.commit()
    # Records no longer open leave the cookie: it holds no customer number longer than needed.
    opened = {number: at for number, at in session.get(OPEN_RECORDS, {}).items() if _still_open(at)}
    opened[found.customer_number] = utcnow().isoformat()
    session[OPEN_RECORDS] = opened
    return redirect(url_for(".customer", customer_number=found.customer_number), 303)


@bp.post("/customers/<customer_number>/notes")
def add_note(customer_number: str):
    found = accounts.find_by_customer_number(g.db, customer_number) or abort(404)
    if not _is_open(found):
        return redirect(url_for(".customer", customer_number=found.customer_number), 303)
    form = NoteForm()
    if not form.validate_on_submit():
        return _record_page(found, form), 422
    crm.add_note(g.db, found, author=g.user, body=form.body.data)
    g.db.commit()
    flash(_("Note saved."), "info")
    return redirect(url_for(".customer", customer_number=found.customer_number) + "#notes", 303)


def _is_open(customer: User) -> bool:
    opened_at = session.get(OPEN_RECORDS, {}).get(customer.customer_number)
    return bool(opened_at) and _still_open(opened_at)


def _still_open(opened_at: str) -> bool:
    return utcnow() - datetime.fromisoformat(opened_at) < timedelta(minutes=RECORD_OPEN_MINUTES)


def _record_page(customer: User, note_form: NoteForm):
    return render("crm/customer.html", record=crm.record_of(g.db, customer), note_form=note_form)


# --- the do-not-call register ("ring inte oss") ------------------------------------------

DNC_SOURCES = {
    "phone_call": _l("Phone call"),
    "email": _l("Email message"),
    "letter": _l("Letter"),
    "web_form": _l("Web form"),
    "in_person": _l("In person"),
}


class DncForm(FlaskForm):
    """A number that asked us not to call it, and how it asked."""

    phone = StringField(_l("Phone number"), filters=CLEAN,
                        validators=[DataRequired(_l("Type the number.")), at_most(40)])
    source = SelectField(_l("How they asked"), validate_choice=True,
                         choices=[SelectChoice(key, label) for key, label in DNC_SOURCES.items()])


class DncSearchForm(FlaskForm):
    """A POST form: the number looked for stays out of URLs and logs."""

    number = StringField(_l("Number, or part of one"), filters=CLEAN,
                         validators=[DataRequired(_l("Type a number or part of one.")), at_most(40)])


@bp.route("/do-not-call", methods=["GET", "POST"])
def do_not_call():
    """The do-not-call register: add a number, find one, the newest entries."""
    form = DncForm(prefix="dnc")
    if not form.is_submitted():
        return _dnc_page(form=form)
    if form.validate_on_submit() and _add_dnc(form):
        g.db.commit()
        flash(_("The number is on the do-not-call register. Nobody from us will call it."), "info")
        return redirect(url_for(".do_not_call"), 303)
    return _dnc_page(form=form), 422


def _add_dnc(form: DncForm) -> bool:
    """Add the form's number; a number we can't read or one already listed is a form error."""
    try:
        registers.add_dnc(g.db, phone=form.phone.data, source=form.source.data, actor=g.user)
    except registers.RegisterError as error:
        if str(error) == "already_listed":
            listed = registers.dnc_entry_for(g.db, form.phone.data)
            form.phone.errors.append(_("That number has been on the register since %(date)s.",
                                       date=format_date(listed.created_at, "d MMM yyyy")))
        else:
            form.phone.errors.append(_("That is not a phone number we can read. Write it as 070-123 45 67, or with "
                                       "+ and the country code for other countries (+47 412 34 567)."))
        return False
    return True


@bp.post("/do-not-call/search")
def search_do_not_call():
    """Find a number in any format, or the numbers a fragment of one matches."""
    search = DncSearchForm(prefix="search")
    g.page_url = url_for(".do_not_call")
    if not search.validate_on_submit():
        return _dnc_page(search=search), 422
    return _dnc_page(search=search, results=registers.dnc_entries(g.db, search.number.data))


@bp.route("/do-not-call/<entry_id>/remove", methods=["GET", "POST"])
def remove_do_not_call(entry_id: str):
    """Take a number off the register, after a confirmation: its owner asked to be removed."""
    entry = registers.find_dnc(g.db, entry_id) or abort(404)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        registers.remove_dnc(g.db, entry, actor=g.user)
        g.db.commit()
        flash(_("The number was removed from the do-not-call register."), "info")
        return redirect(url_for(".do_not_call"), 303)
    g.page_url = url_for(".remove_do_not_call", entry_id=entry_id)
    return render("crm/dnc_remove.html", form=form, entry=entry), 200 if request.method == "GET" else 422


def _dnc_page(*, form: DncForm | None = None, search: DncSearchForm | None = None,
              results: list | None = None):
    return render("crm/dnc.html", form=form or DncForm(prefix="dnc", formdata=None),
                  search=search or DncSearchForm(prefix="search", formdata=None), results=results,
                  newest=registers.dnc_entries(g.db), total=registers.dnc_count(g.db),
                  source_label=lambda key: str(DNC_SOURCES.get(key, key)))
