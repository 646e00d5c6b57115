"""The sales area (/sales): partners' lead files, imported and filtered against the NIX
register, our do-not-call register and our customers, and exported for calling.

Sales and admins only; to everyone else, signed in or not, every URL here answers 404.
Sales see leads and import reports, never a customer's record.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired

from stickerreg.models import LeadImport, Role, utcnow
from stickerreg.services import registers
from stickerreg.services.registers import RegisterError
from stickerreg.web.fields import CLEAN, at_most
from stickerreg.web.pages import private_page, render
from stickerreg.web.sessions import allow_upload, staff_area

bp = Blueprint("sales", __name__, url_prefix="/sales")
staff_area(bp, Role.SALES, Role.ADMIN)
bp.after_request(private_page)

LEADS_UPLOAD_MAX = 16 * 1024 * 1024  # about 150 000 rows
allow_upload("sales.leads", LEADS_UPLOAD_MAX)
PROBLEMS_SHOWN = 50


class LeadFileForm(FlaskForm):
    """A partner's lead file and who sent it."""

    file = FileField(_l("Lead file (CSV)"), validators=[FileRequired(_l("Choose the partner's file."))])
    partner = StringField(_l("Partner"), filters=CLEAN,
                          validators=[DataRequired(_l("Name the partner the file came from.")),
                                      at_most(registers.PARTNER_MAX)])


def import_error(reason: str) -> str:
    """Why a whole file was refused, told to the person who chose it."""
    reasons = {
        "not_text": _("That is not a text file. Save the list as CSV (UTF-8) and choose that file."),
        "no_rows": _("The file has no rows to import."),
        "no_partner": _("Name the partner the file came from."),
    }
    return reasons.get(reason, reason)


def problem_label(reason: str) -> str:
    """Why one row of a lead file was not kept."""
    if reason.startswith("repeats:"):
        return _("the same number as line %(line)s", line=reason.split(":", 1)[1])
    reasons = {
        "no_name": _("no name"),
        "no_phone": _("no phone number"),
        "invalid_phone": _("not a valid phone number"),
        "too_long": _("the name or address is too long"),
    }
    return reasons.get(reason, reason)


@bp.context_processor
def sales_helpers() -> dict:
    return {"problem_label": problem_label}


@bp.get("/")
def index():
    """The sales start page."""
    return redirect(url_for(".leads"))


@bp.route("/leads", methods=["GET", "POST"])
def leads():
    """Imported lead files with their reports, the upload form and the export; a posted
    file is imported and its report shown at the top."""
    form = LeadFileForm()
    if not form.is_submitted():
        return _leads_page(form)
    if not form.validate_on_submit():
        return _leads_page(form), 422
    try:
        result = registers.import_leads(g.db, form.file.data.read(), partner=form.partner.data, actor=g.user)
    except RegisterError as error:
        form.file.errors.append(import_error(str(error)))
        return _leads_page(form), 422
    g.db.commit()
    return _leads_page(LeadFileForm(formdata=None), result=result)


def _leads_page(form: LeadFileForm, *, result: registers.LeadImportResult | None = None):
    imports = registers.lead_imports(g.db)
    return render("sales/leads.html", form=form, result=result, imports=imports,
                  still_callable=registers.callable_counts(g.db, imports),
                  callable_total=registers.callable_count(g.db), nix=registers.nix_status(g.db),
                  problems_shown=PROBLEMS_SHOWN)


@bp.get("/leads.csv")
def export_all():
    """Every lead that may be called today, one row per number, as a CSV download."""
    return _csv(registers.export_leads(g.db, actor=g.user), f"leads-{utcnow():%Y-%m-%d}.csv")


@bp.get("/imports/<import_id>/leads.csv")
def export_import(import_id: str):
    """One import's leads that may still be called, as a CSV download."""
    found: LeadImport = registers.find_lead_import(g.db, import_id) or abort(404)
    return _csv(registers.export_leads(g.db, actor=g.user, lead_import=found),
                f"leads-{found.created_at:%Y-%m-%d}-{found.public_id[:8]}.csv")


def _csv(text: str, filename: str) -> Response:
    """A CSV download of leads checked against NIX and the do-not-call register just now (a
    number that joined either since its import is not in the file); the export is audited."""
    g.db.commit()
    response = Response(text, mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return response
