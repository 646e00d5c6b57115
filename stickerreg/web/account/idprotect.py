"""Account routes: ID protection. Credit-inquiry alerts (who asked a credit bureau about the
customer, and when; never the report itself); the customer says whether it was them, and
"not me" shows what to do next and can ask customer service for help."""

from __future__ import annotations

from flask import flash, g, redirect, url_for
from flask_babel import gettext as _

from stickerreg.models import IdProtectAlert, Verdict
from stickerreg.services.linked import idprotect
from stickerreg.web.account import bp, count_once
from stickerreg.web.account.forms import VerdictForm
from stickerreg.web.pages import get_owned_or_404, render

# New credit inquiries, for the navigation and the services summary (one query per request).
unseen_alerts = count_once("unseen_alerts", idprotect.unseen_count)


@bp.context_processor
def idprotect_helpers() -> dict:
    return {"unseen_alerts": unseen_alerts}


@bp.get("/id-protection")
def idprotect_alerts():
    """Every credit inquiry about the customer, the latest first; opening the list marks
    them seen."""
    alerts = idprotect.alerts_of(g.db, g.user)
    unseen = {alert.id for alert in alerts if alert.seen_at is None}
    idprotect.mark_all_seen(g.db, g.user)
    g.db.commit()
    g.unseen_alerts = 0
    return render("account/idprotect.html", alerts=alerts, unseen=unseen, form=VerdictForm(formdata=None))


@bp.post("/id-protection/<alert_id>")
def idprotect_verdict(alert_id: str):
    """'This was me' or 'not me' (optionally asking customer service to help)."""
    alert = get_owned_or_404(g.db, IdProtectAlert, alert_id, g.user)
    form = VerdictForm()
    if not form.validate_on_submit():
        flash(_("That didn't work. Reload the page and try again."), "error")
        return redirect(url_for(".idprotect_alerts"), 303)
    verdict = Verdict(form.verdict.data)
    idprotect.set_verdict(g.db, alert, verdict, actor=g.user, ask_for_help=bool(form.ask_for_help.data))
    g.db.commit()
    if verdict == Verdict.ME:
        flash(_("Thank you. Nothing more to do about that inquiry."), "info")
    elif alert.help_requested_at:
        flash(_("Customer service will contact you about this inquiry."), "info")
    return redirect(url_for(".idprotect_alerts", _anchor=f"alert-{alert.public_id}"), 303)
