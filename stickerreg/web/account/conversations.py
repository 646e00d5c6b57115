"""Account routes: the owner's side of finder conversations.

The owner reads and answers through the masked relay; the finder's email address is never
put in front of them (only whether one was left, so they know if a reply will reach anyone).
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from stickerreg.models import Conversation, ConversationStatus, Sender, Sticker
from stickerreg.services import crm, relay
from stickerreg.services.relay import ConversationClosed
from stickerreg.web.account import bp, count_once
from stickerreg.web.account.forms import AbuseReportForm, OwnerReplyForm
from stickerreg.web.pages import get_owned_or_404, is_htmx, render

unread_conversations = count_once("unread_total", relay.unread_total)


@bp.context_processor
def conversation_helpers() -> dict:
    """`unread_conversations()` for the account navigation (queried only when a page asks),
    `unread_entries()` for the dashboard's banner, and the status badge text."""
    return {"unread_conversations": unread_conversations, "unread_entries": unread_entries,
            "conversation_status_label": conversation_status_label}


def unread_entries() -> list[relay.InboxEntry]:
    """Conversations with finder messages the owner has not read yet, newest first."""
    if not unread_conversations():
        return []
    return [entry for entry in relay.inbox(g.db, g.user) if entry.unread]


def conversation_status_label(conversation: Conversation) -> str:
    """A short, translated badge text for a conversation's state, as the owner sees it."""
    labels = {
        ConversationStatus.OPEN: _("Open"),
        ConversationStatus.CLOSED: _("Returned"),
        ConversationStatus.BLOCKED: _("Blocked"),
    }
    return labels.get(conversation.status, conversation.status)


@bp.get("/conversations")
def conversations():
    """The owner's inbox: every conversation about their stickers, newest activity first."""
    return render("account/conversations.html", entries=relay.inbox(g.db, g.user))


@bp.get("/conversations/<public_id>")
def conversation(public_id: str):
    """One conversation; opening it marks the finder's messages read."""
    found = _owned_conversation(public_id)
    unread_ids = {m.id for m in relay.messages(g.db, found) if m.sender == Sender.FINDER and not m.read_at}
    relay.mark_read_by_owner(g.db, found)
    g.db.commit()
    return _conversation_page(found, OwnerReplyForm(formdata=None), unread_ids=unread_ids)


@bp.post("/conversations/<public_id>/reply")
def reply(public_id: str):
    """The owner answers; the finder is mailed if they left an address."""
    found = _owned_conversation(public_id)
    form = OwnerReplyForm()
    if not form.validate_on_submit():
        return _conversation_page(found, form), 422
    try:
        relay.add_owner_reply(g.db, found, form.message.data)
    except ConversationClosed:  # refused before anything was written
        return _conversation_page(found, form, refused=True), 409
    g.db.commit()
    if is_htmx():
        return _conversation_page(found, OwnerReplyForm(formdata=None), sent=True)
    flash(_("Your reply has been sent."), "info")
    return redirect(url_for(".conversation", public_id=public_id), 303)


@bp.post("/conversations/<public_id>/returned")
def mark_returned(public_id: str):
    """The item is back: the conversation closes for both sides."""
    found = _owned_conversation(public_id)
    try:
        relay.mark_returned(g.db, found)
    except ConversationClosed:  # blocked or already returned: nothing changes
        return _conversation_page(found, OwnerReplyForm(formdata=None), refused=True), 409
    g.db.commit()
    flash(_("Marked as returned. The conversation is closed; the finder sees that on their page."), "info")
    return redirect(url_for(".conversation", public_id=public_id), 303)


@bp.post("/conversations/<public_id>/help")
def customer_service_help(public_id: str):
    """Let customer service read this conversation (to help with it), or stop letting them."""
    found = _owned_conversation(public_id)
    if request.form.get("share") == "off":
        crm.withdraw_help(g.db, found, customer=g.user)
        notice = _("Customer service can no longer read this conversation.")
    else:
        crm.ask_for_help(g.db, found, customer=g.user)
        notice = _("Customer service can now read this conversation. Call or write to us and give your customer number.")
    g.db.commit()
    flash(notice, "info")
    return redirect(url_for(".conversation", public_id=public_id), 303)


@bp.route("/conversations/<public_id>/abuse", methods=["GET", "POST"])
def report_abuse(public_id: str):
    """Report a conversation as abuse, after an explicit confirmation: it is blocked."""
    found = _owned_conversation(public_id)
    if found.status == ConversationStatus.BLOCKED:
        return redirect(url_for(".conversation", public_id=public_id), 303)
    form = AbuseReportForm()
    if not form.validate_on_submit():
        g.page_url = url_for(".report_abuse", public_id=public_id)
        page = render("account/conversation_abuse.html", conversation=found, label=_sticker_label(found), form=form)
        return page, 422 if form.is_submitted() else 200
    relay.report_abuse(g.db, found)
    g.db.commit()
    flash(_("Thank you for the report. This conversation is blocked: no more messages will arrive from it."), "info")
    return redirect(url_for(".conversation", public_id=public_id), 303)


def _owned_conversation(public_id: str) -> Conversation:
    found = get_owned_or_404(g.db, Conversation, public_id, g.user)
    if not relay.is_visible_to_owner(found):
        abort(404)  # held or undeliverable: not the owner's yet, so it looks missing
    return found


def _conversation_page(found: Conversation, form: OwnerReplyForm, **flags):
    g.page_url = url_for(".conversation", public_id=found.public_id)
    return render(
        "account/conversation.html",
        "account/_conversation_thread.html",
        conversation=found,
        label=_sticker_label(found),
        messages=relay.messages(g.db, found),
        is_open=found.status == ConversationStatus.OPEN,
        finder_reachable=bool(found.finder_email),
        form=form,
        unread_ids=flags.get("unread_ids", set()),
        sent=flags.get("sent", False),
        refused=flags.get("refused", False),
    )


def _sticker_label(found: Conversation) -> str:
    sticker = g.db.get(Sticker, found.sticker_id)
    return sticker.label if sticker else ""
