"""Account routes: items handed in at a lost-and-found desk with the owner's stickers.

The owner sees where and until when to collect, and the pickup code the desk checks; the
finder's name and contact only when the finder agreed to share them.
"""

from __future__ import annotations

from flask import Response, abort, current_app, g

from stickerreg.models import Desk, HandedInItem, Sticker
from stickerreg.printing import images
from stickerreg.services import handed_in
from stickerreg.web.account import bp, count_once
from stickerreg.web.pages import get_owned_or_404, render

unseen_handed_in = count_once("unseen_handed_in", handed_in.unseen_count)


@bp.context_processor
def handed_in_helpers() -> dict:
    """`unseen_handed_in()` for the account navigation (queried only when a page asks) and
    `new_handed_in()` for the dashboard's banner."""
    return {"unseen_handed_in": unseen_handed_in, "new_handed_in": new_handed_in}


def new_handed_in() -> list[handed_in.OwnerItem]:
    """Items waiting at a desk that the owner has not opened yet, newest first."""
    if not unseen_handed_in():
        return []
    return handed_in.items_for_owner(g.db, g.user, unseen_only=True)


@bp.get("/handed-in")
def handed_in_items():
    """Every item handed in at a desk with one of the owner's stickers, newest first."""
    return render("account/handed_in_items.html", entries=handed_in.items_for_owner(g.db, g.user))


@bp.get("/handed-in/<item_id>")
def handed_in_item(item_id: str):
    """One handed-in item: the desk, its opening hours, the pickup code and its QR."""
    item = get_owned_or_404(g.db, HandedInItem, item_id, g.user)
    desk = g.db.get(Desk, item.desk_id)
    sticker = g.db.get(Sticker, item.sticker_id)
    handed_in.mark_seen(g.db, item)
    g.db.commit()
    code = handed_in.pickup_code(item.public_id, key=current_app.config["SECRET_KEY"].encode())
    return render(
        "account/handed_in_item.html", item=item, desk=desk, sticker=sticker,
        pickup_code=handed_in.display_pickup_code(code), pickup_qr=images.qr_svg(code),
        reference=handed_in.display_reference(item.reference), collect_by=handed_in.collect_by(item, desk),
        has_photo=handed_in.photo_of(g.db, item) is not None,
    )


@bp.get("/handed-in/<item_id>/photo")
def handed_in_photo(item_id: str):
    """The desk's photo of the item (re-encoded, no metadata)."""
    item = get_owned_or_404(g.db, HandedInItem, item_id, g.user)
    photo = handed_in.photo_of(g.db, item)
    if photo is None:
        abort(404)
    return Response(photo.data, mimetype=photo.content_type)
