"""Who we are, how we handle personal data, which cookies we set, how to reach us: the pages
every footer links to, so a finder who scanned a stranger's sticker can check whom they are
dealing with."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from stickerreg import i18n
from stickerreg.web import sessions
from stickerreg.web.pages import render

bp = Blueprint("about", __name__)
DAY = 24 * 3600


@bp.get("/about")
def about():
    """What Stickerreg is, and what it never asks of a finder."""
    return render("about/about.html", support_email=current_app.config["SUPPORT_EMAIL"])


@bp.get("/privacy")
def privacy():
    """What we process about finders, customers, staff and leads, why, for how long, and the
    rights people have (with the account's own export and erasure)."""
    config = current_app.config
    return render("about/privacy.html", support_email=config["SUPPORT_EMAIL"], days=_retention_days(),
                  session_idle_days=round(config["SESSION_IDLE_HOURS"] / 24),
                  session_longest_days=round(config["SESSION_LONGEST_HOURS"] / 24))


def _retention_days() -> dict[str, int]:
    return {name: value for name, value in current_app.config.items()
            if name.startswith("RETENTION_") or name == "LEAD_RETENTION_DAYS"}


@dataclass(frozen=True)
class Cookie:
    name: str
    purpose: str
    lifetime: str


@bp.get("/cookies")
def cookies():
    """Every cookie the site sets, by name, purpose and lifetime, from the app's own settings."""
    return render("about/cookies.html", cookies=cookie_list())


def cookie_list() -> list[Cookie]:
    """The cookies the app sets: names and lifetimes as its settings and modules define them."""
    config = current_app.config
    return [
        Cookie(config["SESSION_COOKIE_NAME"],
               _("Keeps you signed in and protects forms against forgery (a random token; your sign-in ends "
                 "after %(idle)d days without use and after %(longest)d days in any case).",
                 idle=round(config["SESSION_IDLE_HOURS"] / 24), longest=round(config["SESSION_LONGEST_HOURS"] / 24)),
               _("Until you close the browser")),
        Cookie(i18n.LANG_COOKIE, _("Remembers the language you chose (sv or en)."), _days(i18n.ONE_YEAR)),
        Cookie(sessions.KNOWN_BROWSER_COOKIE,
               _("Marks this browser as one you have signed in with, so strangers' failed sign-ins can't lock "
                 "you out. It holds a keyed digest, never your address."), _days(sessions.KNOWN_BROWSER_AGE)),
        Cookie(config["KIOSK_DEVICE_COOKIE"],
               _("Only on a lost-and-found desk's kiosk screen: tells us which desk the screen belongs to."),
               _days(config["KIOSK_DEVICE_COOKIE_AGE"])),
    ]


def _days(seconds: int) -> str:
    days = round(seconds / DAY)
    return ngettext("%(num)d day", "%(num)d days", days)


@bp.get("/contact")
def contact():
    """How to reach customer service (a finder needs no one: the sticker's page reaches the owner)."""
    return render("about/contact.html", support_email=current_app.config["SUPPORT_EMAIL"])
