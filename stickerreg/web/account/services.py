"""Account route: the linked services at a glance (also on the dashboard): cards and phones
to block, blocking cases, ID-protection alerts and fire-alarm contacts."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g

from stickerreg.services.linked import blocking, cards, devices, fire, idprotect
from stickerreg.web.account import bp
from stickerreg.web.account.idprotect import unseen_alerts
from stickerreg.web.pages import render


@dataclass(frozen=True)
class ServicesAtAGlance:
    cards: int
    phones: int
    open_cases: int
    unseen_alerts: int
    alerts: int
    fire_contacts: int


def at_a_glance() -> ServicesAtAGlance:
    """The state of each linked service for the signed-in customer."""
    return ServicesAtAGlance(
        cards=len(cards.cards_of(g.db, g.user)),
        phones=len(devices.devices_of(g.db, g.user)),
        open_cases=blocking.open_count(g.db, g.user),
        unseen_alerts=unseen_alerts(),
        alerts=len(idprotect.alerts_of(g.db, g.user)),
        fire_contacts=len(fire.contacts_of(g.db, g.user)),
    )


@bp.context_processor
def services_helpers() -> dict:
    return {"services_at_a_glance": at_a_glance}


@bp.get("/services")
def services():
    """Every linked service with its state, and what each is for."""
    return render("account/services.html")
