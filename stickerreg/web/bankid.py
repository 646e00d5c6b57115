"""Sign in with BankID, or link BankID to a signed-in account.

Hidden (404, no buttons) unless BANKID_URL is set. The order in progress lives in the
signed session cookie, never in a URL, with its qrStartSecret concealed. The status page
polls with htmx once a second and refreshes the animated QR code; without JavaScript a
"Check status" link shows the same state.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from stickerreg import bankid
from stickerreg.bankid import FAILED, PENDING, BankIdClient, BankIdError, Collect
from stickerreg.extensions import configured, limiter, login_manager
from stickerreg.printing import images
from stickerreg.services import accounts
from stickerreg.services.accounts import AccountError
from stickerreg.web.pages import is_htmx, private_page, render
from stickerreg.web.sessions import home_url, sign_in

log = logging.getLogger(__name__)
bp = Blueprint("bankid", __name__, url_prefix="/auth/bankid")

LOGIN, LINK = "login", "link"
PURPOSES = (LOGIN, LINK)
ORDER_KEY = "bankid_order"  # the one session key this module uses
ORDER_FIELDS = frozenset({"ref", "auto", "qr", "secret", "started", "purpose", "user_id"})
# The wall clock, not a monotonic one: polls of one order may reach different workers.
# A name of its own so tests can step through the animated QR code.
clock = time.time


@bp.record_once
def create_client(state) -> None:
    """One client per app, built at start-up so a wrong certificate path fails at once."""
    config = state.app.config
    if config.get("BANKID_URL"):
        state.app.extensions["bankid"] = BankIdClient(
            config["BANKID_URL"], cert=config.get("BANKID_CERT"), key=config.get("BANKID_KEY"),
            ca=config.get("BANKID_CA"),
        )


def enabled() -> bool:
    """True when BankID is configured for this app."""
    return "bankid" in current_app.extensions


@bp.app_context_processor
def template_globals() -> dict:
    return {"bankid_enabled": enabled()}


@bp.before_request
def require_enabled() -> None:
    """Without configuration BankID does not exist here."""
    if not enabled():
        abort(404)


# Orders and their QR codes are personal and short-lived: never cached.
bp.after_request(private_page)


@bp.post("/start")
@limiter.limit(configured("RATELIMIT_BANKID_START"))
def start():
    """Start an order: to sign in (anonymous) or to link BankID to the signed-in account."""
    purpose = request.form.get("purpose", "")
    if purpose not in PURPOSES:
        abort(400)
    if purpose == LINK and not current_user.is_authenticated:
        return login_manager.unauthorized()
    if purpose == LOGIN and current_user.is_authenticated:
        return redirect(home_url(current_user.user), 303)
    g.page_url = url_for(".status")  # the language link must lead to a GET page
    cancel_abandoned_order()
    try:
        order = client().auth(request.remote_addr)
    except BankIdError as error:
        log.warning("BankID auth failed: %s", error.error_code)
        return ended(purpose, error_message(error)), 409 if error.error_code == "alreadyInProgress" else 503
    remember(order, purpose)
    return pending(current_order(), hint="outstandingTransaction")  # what a new order is


@bp.get("/status")
@limiter.limit(configured("RATELIMIT_BANKID_STATUS"), key_func=lambda: _status_key())
def status():
    """Poll the order: a fresh QR code while it is pending, the outcome once it ends."""
    g.page_url = url_for(".status")
    order = current_order()
    if order is None:
        return ended(None, _("There is no BankID identification in progress."))
    try:
        result = client().collect(order["ref"])
    except BankIdError as error:
        log.warning("BankID collect failed: %s", error.error_code)
        forget()
        return ended(order["purpose"], error_message(error))
    if result.status == PENDING:
        return pending(order, hint=result.hint_code)
    forget()
    if result.status == FAILED:
        return ended(order["purpose"], failure_message(result.hint_code))
    return completed(order, result)


@bp.post("/cancel")
def cancel():
    """Stop waiting: cancel the order at BankID and go back where the user came from."""
    order = current_order()
    cancel_abandoned_order()
    linking = order is not None and order["purpose"] == LINK
    return leave(url_for("account.profile") if linking else url_for("auth.login"))


def completed(order: dict, result: Collect) -> Response | str:
    """Sign in to the account linked to this personnummer, or link it to the account.
    (A complete collect always carries the user: the client checks that.)"""
    personnummer = twelve_digits(result.user.personal_number)
    if order["purpose"] == LINK:
        return link(order, personnummer)
    user = (
        accounts.find_by_personnummer(g.db, personnummer, key=app_key())
        if personnummer
        else None
    )
    if user is None:
        return ended(None, _(
            "No account is linked to this BankID yet. Sign in with your email address first, "
            "then link BankID on your profile page."
        ))
    sign_in(user, method="bankid")
    return leave(home_url(user))


def link(order: dict, personnummer: str | None) -> Response | str:
    """Store the identified personnummer (digest and masked form) on the account that
    started the order; a different signed-in account must not receive it."""
    if not current_user.is_authenticated or current_user.user.id != order["user_id"]:
        return ended(None, _("Sign in again to link BankID to your account."))
    if personnummer is None:
        flash(_("BankID gave a personal identity number we can't use."), "error")
        return leave(url_for("account.profile"))
    try:
        accounts.link_personnummer(g.db, current_user.user, personnummer, key=app_key(), verified=True)
        g.db.commit()
    except AccountError as error:
        g.db.rollback()
        flash(link_problem(str(error)), "error")
        return leave(url_for("account.profile"))
    flash(_("BankID is now linked to your account. Next time you can sign in with BankID."), "info")
    return leave(url_for("account.profile"))


def twelve_digits(personal_number: str) -> str | None:
    """BankID's personalNumber, checked, as the 12 digits accounts store; None if it
    is not a valid personnummer (BankID vouches for the person, we still check the form)."""
    try:
        return accounts.normalize_personnummer(personal_number)
    except AccountError:
        return None


def pending(order: dict, *, hint: str | None) -> str:
    """The page (or, for htmx, the fragment) with the QR code for this second."""
    seconds = max(0, int(clock() - order["started"]))
    secret = bankid.reveal(order["secret"], key=app_key(), order_ref=order["ref"])
    code = images.text_qr_svg(bankid.qr_data(order["qr"], secret, seconds))
    return render(
        "auth/bankid.html", "auth/_bankid_status.html", state=PENDING, purpose=order["purpose"],
        message=pending_message(hint), qr_svg=Markup(code), autostart=bankid.autostart_url(order["auto"]),
        htmx=is_htmx(),
    )


def ended(purpose: str | None, message: str) -> str:
    """The order is over without success; ``purpose`` set = offer to try again."""
    return render(
        "auth/bankid.html", "auth/_bankid_status.html", state=FAILED, purpose=purpose, message=message,
        htmx=is_htmx(), profile_url=url_for("account.profile"),
    )


def leave(target: str) -> Response:
    """Go to another page: htmx follows HX-Redirect, a plain request a 303."""
    if is_htmx():
        return Response(status=200, headers={"HX-Redirect": target})
    return redirect(target, 303)


def client() -> BankIdClient:
    return current_app.extensions["bankid"]


def app_key() -> bytes:
    """SECRET_KEY as bytes: it keys the personnummer digests and conceals the QR secret."""
    key = current_app.config["SECRET_KEY"]
    return key if isinstance(key, bytes) else key.encode()


def remember(order: bankid.Order, purpose: str) -> None:
    """Keep the order in the signed session cookie (the secret concealed)."""
    session[ORDER_KEY] = {
        "ref": order.order_ref,
        "auto": order.auto_start_token,
        "qr": order.qr_start_token,
        "secret": bankid.conceal(order.qr_start_secret, key=app_key(), order_ref=order.order_ref),
        "started": clock(),
        "purpose": purpose,
        "user_id": current_user.user.id if current_user.is_authenticated else None,
    }


def _status_key() -> str:
    """Polling is limited per order, not per address: people behind one office NAT each
    poll their own order. Without an order, the address is the key."""
    order = current_order()
    return f"bankid-order:{order['ref']}" if order else f"bankid-ip:{request.remote_addr}"


def current_order() -> dict | None:
    """The order this browser started, or None."""
    order = session.get(ORDER_KEY)
    if not isinstance(order, dict) or not ORDER_FIELDS <= order.keys() or order["purpose"] not in PURPOSES:
        return None
    return order


def forget() -> None:
    session.pop(ORDER_KEY, None)


def cancel_abandoned_order() -> None:
    """Forget this browser's order and cancel it at BankID if it may still be pending."""
    order = current_order()
    forget()
    if order is None:
        return
    try:
        client().cancel(order["ref"])
    except BankIdError as error:  # it expires at BankID by itself within minutes
        log.info("BankID cancel failed: %s", error.error_code)


def pending_message(hint: str | None) -> str:
    """What to tell the user while the order is pending (BankID's recommended texts)."""
    messages = {
        "outstandingTransaction": _("Start the BankID app and scan the QR code."),
        "noClient": _("Start the BankID app and scan the QR code."),
        "started": _("Searching for BankID, it may take a little while…"),
        "userSign": _("Enter your security code in the BankID app and select Identify."),
    }
    return messages.get(hint or "", _("Identification in progress. Waiting for the BankID app…"))


def failure_message(hint: str | None) -> str:
    """Why the order failed, in words the user can act on."""
    messages = {
        "userCancel": _("You cancelled the identification in the BankID app."),
        "expiredTransaction": _(
            "The BankID app did not answer in time. Check that it is started and that you are "
            "online, then try again. If you don't have a valid BankID, you can get one from your bank."
        ),
        "certificateErr": _(
            "The BankID you tried to use is blocked or too old. Use another BankID or get a new one from your bank."
        ),
        "startFailed": _(
            "The BankID app could not be started or could not read the QR code. Check that the "
            "app is up to date and try again."
        ),
        "cancelled": _("The identification was cancelled because a new one was started. Please try again."),
    }
    return messages.get(hint or "", _("The identification could not be completed. Please try again."))


def error_message(error: BankIdError) -> str:
    """A friendly text for a BankID error answer or an unreachable BankID."""
    if error.error_code == "alreadyInProgress":
        return _("A BankID identification is already in progress. Wait a moment and try again.")
    if error.error_code in ("connectionFailed", "internalError", "maintenance") or (error.status or 0) >= 500:
        return _("BankID can't be reached right now. Please try again in a little while.")
    return _("Something went wrong with BankID. Please try again.")


def link_problem(code: str) -> str:
    """Why a personnummer could not be linked (accounts.AccountError codes)."""
    if code == "personnummer_taken":
        return _("This BankID is already linked to another account.")
    if code == "personnummer_already_set":
        return _("Your account is already linked to another personal identity number.")
    return _("BankID could not be linked. Please try again.")
