"""Account routes: items handed in at a lost-and-found desk with the owner's stickers.

The owner sees where and until when to collect, and the pickup code the desk checks; the
finder's name and contact only when the finder agreed to share them.
"""

from __future__ import annotations

from flask import Response, abort, current_app, g

from stickerreg import qr
from stickerreg.models import FoundCase, KioskLocation, Sticker
from stickerreg.services import kiosk
from stickerreg.web import get_owned_or_404, render
from stickerreg.web.account import bp


@bp.context_processor
def found_item_helpers() -> dict:
    """`unseen_found_items()` for the account navigation (queried only when a page asks)."""

    def count() -> int:
        if "unseen_found" not in g:
            g.unseen_found = kiosk.unseen_count(g.db, g.user) if g.get("user") else 0
        return g.unseen_found

    return {"unseen_found_items": count}


@bp.get("/found")
def found_items():
    """Every item handed in at a desk with one of the owner's stickers, newest first."""
    return render("account/found_items.html", entries=kiosk.cases_for_owner(g.db, g.user))


@bp.get("/found/<case_id>")
def found_case(case_id: str):
    """One handed-in item: the desk, its opening hours, the pickup code and its QR."""
    case = get_owned_or_404(g.db, FoundCase, case_id, g.user)
    location = g.db.get(KioskLocation, case.location_id)
    sticker = g.db.get(Sticker, case.sticker_id)
    kiosk.mark_seen(g.db, case)
    g.db.commit()
    code = kiosk.pickup_code(case.public_id, key=current_app.config["SECRET_KEY"].encode())
    return render(
        "account/found_case.html", case=case, location=location, sticker=sticker,
        pickup_code=kiosk.display_pickup_code(code), pickup_qr=qr.svg(code),
        reference=kiosk.display_reference(case.reference), collect_by=kiosk.collect_by(case, location),
        has_photo=kiosk.photo_of(g.db, case) is not None,
    )


@bp.get("/found/<case_id>/photo")
def found_case_photo(case_id: str):
    """The desk's photo of the item (re-encoded, no metadata)."""
    case = get_owned_or_404(g.db, FoundCase, case_id, g.user)
    photo = kiosk.photo_of(g.db, case)
    if photo is None:
        abort(404)
    return Response(photo.data, mimetype=photo.content_type)
