"""Who we are, how we handle personal data, how to reach us: the pages every footer links
to, so a finder who scanned a stranger's sticker can check whom they are dealing with."""

from __future__ import annotations

from flask import Blueprint, current_app

from stickerreg.web.pages import render

bp = Blueprint("about", __name__)


@bp.get("/about")
def about():
    """What Stickerreg is, and what it never asks of a finder."""
    return render("about/about.html", support_email=current_app.config["SUPPORT_EMAIL"])


@bp.get("/privacy")
def privacy():
    """What we store about finders and customers, and which cookies we set."""
    return render("about/privacy.html", support_email=current_app.config["SUPPORT_EMAIL"])


@bp.get("/contact")
def contact():
    """How to reach customer service (a finder needs no one: the sticker's page reaches the owner)."""
    return render("about/contact.html", support_email=current_app.config["SUPPORT_EMAIL"])
