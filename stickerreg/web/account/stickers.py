"""Account routes for stickers and sets: claim a set, a sticker's page (name, lost mode with
a preview of what finders see, scan alerts, deactivation) and its QR code for printing.

Each section of the sticker page is its own small form: htmx swaps just that section,
and without JavaScript the same form posts, redirects and shows the whole page again.
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, make_response, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from stickerreg import codes, qr
from stickerreg.extensions import configured, limiter
from stickerreg.models import ItemCategory, Sticker, StickerPublic, StickerUpdate
from stickerreg.printing import images
from stickerreg.services import claims, stickers
from stickerreg.services.claims import ClaimError
from stickerreg.services.stickers import StickerInactive
from stickerreg.web.account import JUST_CLAIMED, bp
from stickerreg.web.account.forms import (
    ClaimForm,
    DeactivateForm,
    LostModeForm,
    QuickLostModeForm,
    ScanAlertsForm,
    StickerDetailsForm,
)
from stickerreg.web.fields import CATEGORY_LABELS
from stickerreg.web.pages import get_owned_or_404, go_to, is_htmx, render

QR_PNG_SCALE = 16  # pixels per module: about 530 px square, plenty for a printed sticker


def _claim_failed(response) -> bool:
    """Only rejected claims count toward the limits (a customer with many sets is not slowed)."""
    return response.status_code == 422


def _claim_account_key() -> str:
    # Limits run before the blueprint's login check, so anonymous requests get a key too;
    # they are redirected to sign in and never answer 422, so they never count.
    user = getattr(current_user, "user", None)
    return f"claim:{user.id}" if user is not None else "claim:anonymous"


@bp.context_processor
def sticker_helpers() -> dict:
    """Template helpers for the account pages."""
    return {"category_label": category_label}


def category_label(category: str) -> str:
    """The translated name of an item category (unknown values read as 'Other')."""
    return str(CATEGORY_LABELS.get(category, CATEGORY_LABELS[ItemCategory.OTHER]))


@bp.route("/claim", methods=["GET", "POST"])
@limiter.limit(configured("RATELIMIT_CLAIM"), methods=["POST"], deduct_when=_claim_failed)
@limiter.limit(configured("RATELIMIT_CLAIM_PER_ACCOUNT"), methods=["POST"], key_func=_claim_account_key, deduct_when=_claim_failed)
def claim():
    """Claim a set with any sticker ID from it and the activation code on its backing card."""
    form = ClaimForm()
    if request.method == "GET":
        return render("account/claim.html", "account/_claim_form.html", form=form)
    if not form.validate_on_submit():
        return render("account/claim.html", "account/_claim_form.html", form=form), 422
    try:
        claimed = claims.claim_set(
            g.db, owner=g.user, sticker_code=form.sticker_code.data, activation_code=form.activation_code.data
        )
    except ClaimError:
        form.form_errors.append(_("The sticker ID and activation code don't match an unclaimed set."))
        return render("account/claim.html", "account/_claim_form.html", form=form), 422
    g.db.commit()
    session[JUST_CLAIMED] = [sticker.code for sticker in claimed]
    flash(ngettext("You claimed %(num)d sticker. It is active now.",
                   "You claimed %(num)d stickers. They are active now.", len(claimed)), "info")
    return go_to(url_for(".dashboard"))


@bp.get("/stickers/<code>")
def sticker(code: str):
    """One sticker: name and item, lost mode and what finders see, alerts, QR, deactivation."""
    return _section(_owned(code), None)


@bp.post("/stickers/<code>")
def update_details(code: str):
    """Rename the sticker or change what kind of item it is on."""
    sticker = _owned(code)
    form = StickerDetailsForm()
    if not form.validate_on_submit():
        return _section(sticker, "details", details_form=form), 422
    changes = StickerUpdate(label=form.label.data or "", category=form.category.data)
    return _save(sticker, changes, "details", _("Saved."))


@bp.post("/stickers/<code>/lost-mode")
def lost_mode(code: str):
    """Turn lost mode on or off and choose what finders see; Preview saves nothing."""
    sticker = _owned(code)
    form = LostModeForm()
    if not form.validate_on_submit():
        return _section(sticker, "lost_mode", lost_form=form), 422
    if form.preview.data:
        preview = _finder_view(form.reward_text.data, form.public_note.data)
        return _section(sticker, "lost_mode", lost_form=form, preview=preview)
    changes = StickerUpdate(
        lost_mode=form.lost_mode.data,
        reward_text=form.reward_text.data or None,
        public_note=form.public_note.data or None,
    )
    notice = _("Lost mode is on. Finders now see your note.") if form.lost_mode.data else _("Lost mode is off.")
    return _save(sticker, changes, "lost_mode", notice)


@bp.post("/stickers/<code>/alerts")
def scan_alerts(code: str):
    """Turn email alerts for scans in lost mode on or off."""
    sticker = _owned(code)
    form = ScanAlertsForm()
    if not form.validate_on_submit():
        return _section(sticker, "alerts", alerts_form=form), 422
    notice = _("Scan alerts are on.") if form.scan_alerts.data else _("Scan alerts are off.")
    return _save(sticker, StickerUpdate(scan_alerts=form.scan_alerts.data), "alerts", notice)


@bp.post("/stickers/<code>/lost-mode/quick")
def quick_lost_mode(code: str):
    """The dashboard's lost-mode switch: keeps the note and reward already written."""
    sticker = _owned(code)
    form = QuickLostModeForm()
    if not form.validate_on_submit():
        return _dashboard_row(sticker, error=_("That didn't work. Reload the page and try again.")), 422
    try:
        stickers.update_sticker(g.db, sticker, StickerUpdate(lost_mode=form.lost_mode.data == "on"))
    except StickerInactive:
        return _dashboard_row(sticker, error=_("This sticker is deactivated.")), 409
    g.db.commit()
    if is_htmx():
        return _dashboard_row(sticker)
    flash(_("Lost mode is on.") if sticker.lost_mode else _("Lost mode is off."), "info")
    return redirect(url_for(".dashboard"), 303)


@bp.route("/stickers/<code>/deactivate", methods=["GET", "POST"])
def deactivate(code: str):
    """Deactivate a lost or destroyed sticker for good, after a confirmation step."""
    sticker = _owned(code)
    form = DeactivateForm()
    page = ("account/sticker_deactivate.html", "account/_sticker_deactivate.html")
    if request.method == "GET":
        return render(*page, sticker=sticker, form=form)
    if not form.validate_on_submit():
        return render(*page, sticker=sticker, form=form), 422
    try:
        stickers.deactivate(g.db, sticker)
    except StickerInactive:
        return render(*page, sticker=sticker, form=form), 409
    g.db.commit()
    flash(_("The sticker %(code)s is deactivated.", code=codes.display(sticker.code)), "info")
    return go_to(url_for(".sticker", code=sticker.code))


@bp.get("/stickers/<code>/qr.svg")
def qr_svg(code: str):
    """The sticker's QR code as SVG, to print a replacement at any size."""
    sticker = _printable(code)
    return _download(sticker, images.qr_svg(_qr_payload(sticker)), "image/svg+xml", "svg")


@bp.get("/stickers/<code>/qr.png")
def qr_png(code: str):
    """The sticker's QR code as PNG."""
    sticker = _printable(code)
    return _download(sticker, images.qr_png(_qr_payload(sticker), scale=QR_PNG_SCALE), "image/png", "png")


def _owned(code: str) -> Sticker:
    """The signed-in customer's sticker, or 404 (another customer's looks missing)."""
    return get_owned_or_404(g.db, Sticker, code, g.user)


def _printable(code: str) -> Sticker:
    """An owned, active sticker: a deactivated one's page goes quiet, so printing it
    again would make a sticker that silently reaches nobody."""
    sticker = _owned(code)
    if not stickers.is_active(sticker):
        abort(404)
    return sticker


def _save(sticker: Sticker, changes: StickerUpdate, section: str, notice: str):
    """Apply the changes and answer: the saved section for htmx, else back to the page."""
    try:
        stickers.update_sticker(g.db, sticker, changes)
    except StickerInactive:
        return _section(sticker, None), 409, {"HX-Refresh": "true"}
    g.db.commit()
    if is_htmx():
        return _section(sticker, section, notice=notice)
    flash(notice, "info")
    return redirect(url_for(".sticker", code=sticker.code), 303)


def _section(sticker: Sticker, section: str | None, *, preview: StickerPublic | None = None, **context):
    """The sticker page, or one section of it for htmx; forms not given show saved values."""
    context.setdefault("details_form", StickerDetailsForm(formdata=None, obj=sticker))
    context.setdefault("lost_form", LostModeForm(formdata=None, obj=sticker))
    context.setdefault("alerts_form", ScanAlertsForm(formdata=None, obj=sticker))
    fragment = f"account/_sticker_{section}.html" if section else None
    return render(
        "account/sticker.html",
        fragment,
        sticker=sticker,
        is_active=stickers.is_active(sticker),
        finder_view=preview or _finder_view(sticker.reward_text, sticker.public_note),
        is_preview=preview is not None,
        oob=is_htmx() and section is not None,
        **context,
    )


def _finder_view(reward_text: str | None, public_note: str | None) -> StickerPublic:
    # Built as services.finder.public_view builds it for a sticker in lost mode, and shown
    # through the same template partial, so the preview is exactly what finders get.
    return StickerPublic(reward_text=reward_text or None, public_note=public_note or None)


def _dashboard_row(sticker: Sticker, *, error: str | None = None):
    """One dashboard row for htmx, else the whole dashboard (an error shown as a notice)."""
    if is_htmx():
        return render("account/_sticker_row.html", sticker=sticker, row_error=error, is_new=False)
    if error:
        flash(error, "error")
    return render("account/dashboard.html", stickers=stickers.owned_by(g.db, g.user), just_claimed=set())


def _qr_payload(sticker: Sticker) -> str:
    """The URL the printed sticker carries (the same payload as on the sticker itself)."""
    return qr.sticker_url(current_app.config["PUBLIC_BASE_URL"], sticker.code)


def _download(sticker: Sticker, body: str | bytes, mimetype: str, extension: str):
    """An attachment named after the sticker's display code."""
    response = make_response(body)
    response.mimetype = mimetype
    filename = f"stickerreg-{codes.display(sticker.code)}.{extension}"
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return response
