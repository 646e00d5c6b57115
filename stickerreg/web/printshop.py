"""The print shop's portal (/printshop): batches, their state, misprints and exports.

Only print-shop staff and admins get here. To everyone else, signed in or not, every URL
of this blueprint answers 404, like an unknown address: no sign-in redirect reveals it.

An export is only queued here: the worker (`flask worker`, or the thread `flask serve`
runs) claims the job, writes the file and commits its progress as it goes, while the page
polls a progress fragment. A job cut off by a restart is taken up again once its claim runs
out. `flask batch export` writes the same kind of job in the foreground.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, request, send_file, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from stickerreg.models import Batch, BatchStatus, JobStatus, Role
from stickerreg.services.printshop import (
    CardsPurged,
    ExportRefused,
    IllegalTransition,
    PrintshopError,
    UnknownLanguage,
    UnknownLayout,
    VoidRefused,
    batches,
    exports,
    misprints,
)
from stickerreg.text import clean_text
from stickerreg.web.pages import go_to, is_htmx, private_page, render
from stickerreg.web.sessions import staff_area

bp = Blueprint("printshop", __name__, url_prefix="/printshop")
MIMETYPES = {"pdf": "application/pdf", "cards": "application/pdf", "csv": "text/csv", "svg": "application/zip"}

STATUS_LABELS = {
    BatchStatus.DRAFT: _l("Draft"),
    BatchStatus.MINTED: _l("Minted"),
    BatchStatus.EXPORTED: _l("Exported"),
    BatchStatus.PRINTED: _l("Printed"),
    BatchStatus.SHIPPED: _l("Shipped"),
    BatchStatus.VOIDED: _l("Void"),
}
ACTION_LABELS = {
    BatchStatus.MINTED: _l("Mint the stickers"),
    BatchStatus.EXPORTED: _l("Mark as exported"),
    BatchStatus.PRINTED: _l("Mark as printed"),
    BatchStatus.SHIPPED: _l("Mark as shipped"),
    BatchStatus.VOIDED: _l("Void the whole batch"),
}
ACTION_HELP = {
    BatchStatus.MINTED: _l("New sticker IDs and activation codes are created for the whole batch."),
    BatchStatus.EXPORTED: _l("The print files have been sent to the printer."),
    BatchStatus.PRINTED: _l("The stickers and backing cards are printed. The activation codes are deleted now: "
                            "the backing cards can never be exported again."),
    BatchStatus.SHIPPED: _l("The batch has left the print shop. It can't be voided after this."),
    BatchStatus.VOIDED: _l("The whole print run is scrapped: none of its stickers can ever be claimed. "
                           "This can't be undone."),
}
FORMAT_LABELS = {
    "pdf": _l("Sticker sheets (PDF)"),
    "cards": _l("Backing cards (PDF)"),
    "csv": _l("Manifest (CSV)"),
    "svg": _l("QR codes (SVG, zip)"),
}
# The languages a batch prints in, as the reader's language names them.
LANGUAGE_LABELS = {"sv": _l("Swedish"), "en": _l("English")}
JOB_LABELS = {
    JobStatus.QUEUED: _l("Waiting to start"),
    JobStatus.RUNNING: _l("Exporting"),
    JobStatus.DONE: _l("Ready"),
    JobStatus.FAILED: _l("Failed"),
}


staff_area(bp, Role.PRINTSHOP, Role.ADMIN)


bp.after_request(private_page)


@bp.context_processor
def printshop_helpers() -> dict:
    """Labels the print-shop templates share."""
    return {
        "status_label": lambda status: str(STATUS_LABELS.get(status, status)),
        "stock_name": lambda layout: batches.stock_name(layout, _reader_language()),
        "language_label": lambda language: str(LANGUAGE_LABELS.get(language, language)),
        "format_labels": FORMAT_LABELS,
        "action_labels": ACTION_LABELS,
        "action_help": ACTION_HELP,
        "job_label": lambda status: str(JOB_LABELS.get(status, status)),
        "job_percent": exports.progress_percent,
    }


# --- forms ------------------------------------------------------------------------------


class NewBatchForm(FlaskForm):
    """How many stickers, in sets of how many, on which label stock, for which product, and
    the language printed on the stickers and backing cards."""

    count = IntegerField(
        _l("Number of stickers"),
        validators=[InputRequired(_l("Enter how many stickers to make.")),
                    NumberRange(1, batches.MAX_COUNT, _l("Choose %(min)d to %(max)d stickers."))],
    )
    set_size = IntegerField(
        _l("Stickers per set"),
        validators=[InputRequired(_l("Enter how many stickers make a set.")),
                    NumberRange(1, batches.MAX_SET_SIZE, _l("A set holds %(min)d to %(max)d stickers."))],
    )
    layout = SelectField(_l("Label stock"), validate_choice=True)
    language = SelectField(_l("Language on stickers and cards"), validate_choice=True, default=batches.DEFAULT_LANGUAGE,
                           choices=[SelectChoice(code, LANGUAGE_LABELS[code]) for code in batches.LANGUAGES])
    product = StringField(
        _l("Product"), filters=[clean_text],
        validators=[DataRequired(_l("Name the product.")),
                    Length(max=batches.PRODUCT_MAX, message=_l("Use at most %(max)d characters."))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.layout.choices = [SelectChoice(name, label) for name, label in batches.layout_choices(_reader_language())]


class MarkForm(FlaskForm):
    """One step of the batch's life, confirmed with a tick."""

    to = HiddenField(validators=[AnyOf([status.value for status in ACTION_LABELS])])
    confirm = BooleanField(_l("Yes, I have checked the batch"), validators=[DataRequired(_l("Tick the box to confirm."))])


def _set_numbers(form, field) -> None:
    if any(not part.isdigit() for part in _parts(field.data)):
        raise ValidationError(_l("Write set numbers as whole numbers separated by commas, like 3, 7."))


def _parts(text: str | None) -> list[str]:
    return [part for part in (text or "").replace(",", " ").split() if part]


class VoidForm(FlaskForm):
    """Misprints, by sticker ID or by set number; their reprint is minted at once."""

    codes = TextAreaField(_l("Misprinted sticker IDs (optional)"), filters=[clean_text],
                          validators=[Optional(), Length(max=20_000)])
    sets = StringField(_l("Misprinted sets, by number (optional)"), filters=[clean_text],
                       validators=[Optional(), Length(max=2_000), _set_numbers])

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not _parts(self.codes.data) and not _parts(self.sets.data):
            self.form_errors.append(_("Name the misprinted stickers by ID or by set number."))
            return False
        return True

    def code_list(self) -> list[str]:
        return _parts(self.codes.data)

    def set_list(self) -> list[int]:
        return [int(part) for part in _parts(self.sets.data)]


class ExportForm(FlaskForm):
    """Which file to make: the pressed button's value."""

    format = StringField(validators=[AnyOf(list(exports.FORMATS))])


# --- views ------------------------------------------------------------------------------


@bp.get("/")
def index():
    """Every batch, newest first."""
    return render("printshop/index.html", batches=batches.list_batches(g.db))


@bp.route("/batches/new", methods=["GET", "POST"])
def new_batch():
    """Create a batch and mint its stickers and activation codes in one go."""
    form = NewBatchForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render("printshop/new.html", form=form), 200 if request.method == "GET" else 422
    try:
        batch = batches.create_and_mint(g.db, count=form.count.data, set_size=form.set_size.data,
                                         layout=form.layout.data, product=form.product.data,
                                         language=form.language.data, actor=g.user)
    except PrintshopError as error:
        form.form_errors.append(problem(error))
        return render("printshop/new.html", form=form), 422
    g.db.commit()
    sets = batches.total_sets(batch.count, batch.set_size)
    flash(ngettext("Batch %(id)s is minted: %(count)d stickers in %(num)d set.",
                   "Batch %(id)s is minted: %(count)d stickers in %(num)d sets.",
                   sets, id=batch.public_id, count=batch.count), "info")
    return redirect(url_for(".batch", public_id=batch.public_id), 303)


@bp.get("/batches/<public_id>")
def batch(public_id: str):
    """A batch: its state and history, the next step, exports and misprints."""
    return _batch_page(batches.find_batch(g.db, public_id) or abort(404))


@bp.route("/batches/<public_id>/mark", methods=["GET", "POST"])
def mark(public_id: str):
    """Confirm and take one step (`to` names it): mint, exported, printed, shipped or void."""
    batch = batches.find_batch(g.db, public_id) or abort(404)
    form = MarkForm(to=request.args.get("to"))
    to = form.to.data if form.to.data in ACTION_LABELS else None
    page = ("printshop/mark.html", "printshop/_mark_form.html")
    if request.method == "GET":
        if to is None or not batches.can_move(batch, BatchStatus(to)):
            abort(404)
        return render(*page, batch=batch, form=form, to=BatchStatus(to))
    if to is None or not form.validate_on_submit():
        return render(*page, batch=batch, form=form, to=BatchStatus(to or batch.status)), 422
    try:
        batches.mark(g.db, batch, to, actor=g.user)
    except PrintshopError as error:
        form.form_errors.append(problem(error))
        return render(*page, batch=batch, form=form, to=BatchStatus(to)), 409
    g.db.commit()
    flash(_("Batch %(id)s is now: %(status)s.", id=batch.public_id, status=STATUS_LABELS[BatchStatus(batch.status)]),
          "info")
    return go_to(url_for(".batch", public_id=batch.public_id))


@bp.post("/batches/<public_id>/void")
def void(public_id: str):
    """Void misprinted stickers or sets and mint their reprint; shows the reprint batch."""
    batch = batches.find_batch(g.db, public_id) or abort(404)
    form = VoidForm()
    if not form.validate_on_submit():
        return _batch_page(batch, void_form=form), 422
    try:
        reprint = misprints.void(g.db, batch, sticker_codes=form.code_list(), set_numbers=form.set_list(),
                                actor=g.user)
    except PrintshopError as error:
        form.form_errors.append(problem(error))
        return _batch_page(batch, void_form=form), 422
    g.db.commit()
    flash(ngettext("%(num)d sticker of batch %(old)s is void. This is its reprint.",
                   "%(num)d stickers of batch %(old)s are void. This is their reprint.",
                   reprint.count, old=batch.public_id), "info")
    return redirect(url_for(".batch", public_id=reprint.public_id), 303)


@bp.post("/batches/<public_id>/exports")
def start_export(public_id: str):
    """Queue an export for the worker; answers with the progress (fragment or page)."""
    batch = batches.find_batch(g.db, public_id) or abort(404)
    form = ExportForm()
    if not form.validate_on_submit():
        return _export_refused(batch, _("Choose one of the export buttons.")), 422
    try:
        job = exports.start_export(g.db, batch, form.format.data, actor=g.user)
    except PrintshopError as error:
        return _export_refused(batch, problem(error)), 409
    g.db.commit()
    if is_htmx():
        return render("printshop/_export_progress.html", job=job, batch=batch)
    return redirect(url_for(".export", public_id=job.public_id), 303)


@bp.get("/exports/<public_id>")
def export(public_id: str):
    """An export's progress: the page, or for htmx the fragment that polls itself."""
    job = exports.find_job(g.db, public_id) or abort(404)
    return render("printshop/export.html", "printshop/_export_progress.html", job=job, batch=g.db.get(Batch, job.batch_id))


@bp.get("/exports/<public_id>/download")
def download(public_id: str):
    """The finished file, as an attachment."""
    job = exports.find_job(g.db, public_id) or abort(404)
    path = exports.downloadable(job, _export_dir())
    if path is None:
        abort(404)
    name = exports.export_filename(g.db.get(Batch, job.batch_id), job)
    return send_file(path, mimetype=MIMETYPES[job.format], as_attachment=True, download_name=name)


# --- helpers ----------------------------------------------------------------------------


def _batch_page(batch: Batch, *, void_form: VoidForm | None = None, export_error: str | None = None):
    """The batch page: facts, exports, the one next step, misprints, voiding the whole
    batch (small and last: it is rare and final) and the history."""
    return render(
        "printshop/batch.html",
        batch=batch,
        events=batches.events(g.db, batch),
        set_count=batches.set_count(g.db, batch),
        sticker_counts=batches.sticker_counts(g.db, batch),
        next_step=batches.next_status(batch),
        voidable=batches.can_move(batch, BatchStatus.VOIDED),
        jobs=exports.jobs_of(g.db, batch),
        original=g.db.get(Batch, batch.reprint_of_id) if batch.reprint_of_id else None,
        reprints=batches.reprints_of(g.db, batch),
        exportable=batch.status in batches.EXPORTABLE,
        cards_purged=batch.status in batches.PURGED,
        reprintable=batch.status in batches.REPRINTABLE,
        void_form=void_form or VoidForm(formdata=None),
        export_form=ExportForm(formdata=None),
        export_error=export_error,
    )


def _export_refused(batch: Batch, message: str):
    """Why no export started: a fragment for htmx, else the batch page with the reason."""
    if is_htmx():
        return render("printshop/_export_error.html", message=message)
    return _batch_page(batch, export_error=message)


def _reader_language() -> str:
    """The language the page is shown in (sv or en)."""
    return get_locale().language


def _export_dir():
    return exports.export_dir(current_app.config, current_app.instance_path)


def problem(error: PrintshopError) -> str:
    """A print-shop error in the reader's language."""
    details = error.details
    if isinstance(error, CardsPurged):
        return _("The activation codes were deleted when the batch was printed, so the backing cards "
                 "can't be exported again.")
    if isinstance(error, IllegalTransition):
        return _("A batch with status “%(status)s” can't be marked “%(to)s”.",
                 status=STATUS_LABELS[BatchStatus(details["from_status"])], to=STATUS_LABELS[BatchStatus(details["to_status"])])
    if isinstance(error, ExportRefused):
        return _("This batch can't be exported while its status is “%(status)s”.",
                 status=STATUS_LABELS.get(details.get("status"), details.get("status", "")))
    if isinstance(error, UnknownLayout):
        return _("Choose one of the label stocks in the list.")
    if isinstance(error, UnknownLanguage):
        return _("Choose Swedish or English for the stickers and cards.")
    if isinstance(error, VoidRefused):
        return _void_problem(details)
    return _("That didn't work. Check the values and try again.")


def _void_problem(details: dict) -> str:
    reason = details.get("reason")
    listed = ", ".join(str(code)[:20] for code in details.get("codes", [])[:10])
    messages = {
        "state": lambda: _("Nothing in a batch with status “%(status)s” can be voided.",
                           status=STATUS_LABELS.get(details.get("status"), "")),
        "nothing_named": lambda: _("Name the misprinted stickers by ID or by set number."),
        "set_number": lambda: _("This batch has sets 1 to %(max)d.", max=details.get("sets", 0)),
        "unknown_codes": lambda: _("These are not stickers of this batch: %(codes)s", codes=listed),
        "taken": lambda: _("Already void or claimed: %(codes)s. Nothing was voided.", codes=listed) if listed
        else _("Some of these stickers were claimed meanwhile. Nothing was voided."),
    }
    return messages.get(reason, messages["nothing_named"])()
