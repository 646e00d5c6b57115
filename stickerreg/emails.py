"""Compose outbox emails from templates, in the reader's language, at send time.

Emails are composed in an app context, without a request: links are built by the app's URL
map bound to PUBLIC_BASE_URL (what url_for does with _external inside a request for that
address), so a worker pays for no fake request per email."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from email import headerregistry, policy
from email.message import EmailMessage
from email.utils import formatdate
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, current_app, has_app_context, render_template
from flask_babel import force_locale, format_date, format_datetime
from flask_babel import gettext as _
from sqlmodel import Session, select

from stickerreg import codes
from stickerreg.models import (
    BlockingCase,
    BlockingEvent,
    Conversation,
    ConversationStatus,
    Desk,
    HandedInItem,
    HandedInStatus,
    IdProtectAlert,
    Message,
    OutboxKind,
    OutboxMessage,
    Sticker,
    TokenPurpose,
    User,
)
from stickerreg.services import accounts, handed_in, relay, stickers
from stickerreg.services.linked import blocking
from stickerreg.services.outbox import Composer
from stickerreg.text import defang, single_line


class _HeaderClasses(headerregistry.HeaderRegistry):
    """The standard header classes, each made once: the standard registry builds a new class
    for every header set or read, which was some 40 % of putting an email together. The
    email is byte for byte the same (tests/unit/test_worker.py holds the two equal)."""

    def __init__(self):
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made

    def __call__(self, name: str, value: str):
        # Headers that are the same in every email (From, MIME-Version, a text part's
        # Content-Type) are parsed once; a parsed header is an immutable string.
        if name.lower() in _REPEATED:
            return _parsed(self, name, value)
        return super().__call__(name, value)


_REPEATED = frozenset({"from", "auto-submitted", "mime-version", "content-type", "content-transfer-encoding"})


@lru_cache(maxsize=64)
def _parsed(registry: _HeaderClasses, name: str, value: str):
    return registry[name](name, value)


EMAIL_POLICY = policy.default.clone(header_factory=_HeaderClasses())


def N_(text: str) -> str:  # noqa: N802  (marks text for extraction; translated at send time)
    return text


class UnknownEmailKind(ValueError):
    """An outbox row of a kind nobody knows how to write (a bug: retried, then dead)."""


def composer(app: Flask) -> Composer:
    """A compose function for the outbox worker, bound to this app's templates and settings.
    It uses the caller's context of this app (a worker holds one for its life), else makes one."""

    def compose(session: Session, row: OutboxMessage) -> EmailMessage | None:
        build = BUILDERS.get(row.kind)
        if build is None:
            raise UnknownEmailKind(row.kind)
        if has_app_context() and current_app._get_current_object() is app:
            return build(session, row)
        with app.app_context():
            return build(session, row)

    compose.prepare = prepare
    return compose


# What the builders read, by the payload key or column that names it.
_NAMED_BY = {
    "conversation_id": Conversation, "message_id": Message, "sticker_id": Sticker, "item_id": HandedInItem,
    "desk_id": Desk, "case_id": BlockingCase, "event_id": BlockingEvent, "alert_id": IdProtectAlert,
    "owner_id": User, "user_id": User,
}


def prepare(session: Session, rows: Sequence[OutboxMessage]) -> list:
    """Load what composing these rows reads (their conversations, stickers, owners, ...) in a
    query per table, following the ids from row to row: each builder's session.get then
    finds its row in the session, and a chunk of emails costs a few queries, not a few each.
    Returns what it loaded: the caller keeps it while composing (the session holds its
    objects only as long as someone else does)."""
    wanted: dict[type, set[int]] = defaultdict(set)
    asked: dict[type, set[int]] = defaultdict(set)
    loaded: list = []
    for row in rows:
        _note(wanted, row.payload.items())
    while missing := {model: ids - asked[model] for model, ids in wanted.items() if ids - asked[model]}:
        for model, ids in missing.items():
            asked[model] |= ids
            for found in session.exec(select(model).where(model.id.in_(ids))):
                loaded.append(found)
                _note(wanted, ((key, getattr(found, key, None)) for key in _NAMED_BY))
    return loaded


def _note(wanted: dict[type, set[int]], pairs: Iterable[tuple[str, object]]) -> None:
    for key, value in pairs:
        if key in _NAMED_BY and type(value) is int:
            wanted[_NAMED_BY[key]].add(value)


def _link(endpoint: str, **values) -> str:
    """An absolute link to `endpoint` on PUBLIC_BASE_URL, as url_for(..., _external=True)
    gives it inside a request to that address."""
    return _links(current_app).build(endpoint, values, force_external=True)


def _links(app: Flask):
    """The app's URL map bound to PUBLIC_BASE_URL, made once per app and address."""
    base_url = app.config["PUBLIC_BASE_URL"]
    cache = app.extensions.setdefault("email_links", {})
    if base_url not in cache:
        parts = urlsplit(base_url)
        host = parts.netloc
        default_port = {"http": ":80", "https": ":443"}.get(parts.scheme)
        if default_port and host.endswith(default_port):
            host = host[: -len(default_port)]  # as a request's Host: no default port
        cache[base_url] = app.url_map.bind(host, script_name=parts.path.rstrip("/") or "/", url_scheme=parts.scheme)
    return cache[base_url]


def _finder_message(session: Session, row: OutboxMessage) -> EmailMessage | None:
    conversation, message = _load(session, row)
    sticker = session.get(Sticker, conversation.sticker_id) if conversation else None
    owner = _owner_of(session, sticker)
    if owner is None or conversation.status != ConversationStatus.OPEN:
        return None  # sticker gone or conversation closed since: nothing to tell
    if not owner.notify_by_email:
        return None  # the owner chose to read messages in their account only
    with force_locale(owner.locale):
        context = dict(
            label=sticker.label,
            body=defang(message.body),
            found_where=defang(conversation.found_where or ""),
            conversation=conversation,
            conversation_url=_link("account.conversation", public_id=conversation.public_id),
        )
        subject = _("Someone found your item: %(label)s", label=sticker.label) if sticker.label else _("Someone found your item")
        return _email(row, owner.email, subject, "emails/finder_message", context, customer=owner)


def _owner_reply(session: Session, row: OutboxMessage) -> EmailMessage | None:
    conversation, message = _load(session, row)
    if conversation is None or not conversation.finder_email or conversation.status != ConversationStatus.OPEN:
        return None
    # A fresh private link for this email: the plain token is never stored anywhere.
    token = relay.issue_link(session, conversation)
    with force_locale(conversation.finder_locale):
        context = dict(
            body=defang(message.body),
            conversation_url=_link("finder.conversation", token=token),
        )
        return _email(row, conversation.finder_email, _("The owner replied to your message"), "emails/owner_reply", context)


def _finder_receipt(session: Session, row: OutboxMessage) -> EmailMessage | None:
    conversation = session.get(Conversation, row.payload.get("conversation_id"))
    if conversation is None or not conversation.finder_email:
        return None  # erased since: nobody to write to
    token = relay.issue_link(session, conversation)  # the plain token lives only in the email
    with force_locale(conversation.finder_locale):
        context = dict(conversation_url=_link("finder.conversation", token=token))
        return _email(row, conversation.finder_email, _("Your message was sent: follow the conversation here"),
                      "emails/finder_receipt", context)


def _scan_alert(session: Session, row: OutboxMessage) -> EmailMessage | None:
    # Only the time of the scan: nothing about who scanned, not even a rough place.
    sticker = session.get(Sticker, row.payload.get("sticker_id"))
    owner = _owner_of(session, sticker)
    if owner is None or not (stickers.is_active(sticker) and sticker.lost_mode and sticker.scan_alerts):
        return None  # lost mode or alerts turned off since: nothing to tell
    with force_locale(owner.locale):
        context = dict(
            label=sticker.label,
            display_code=codes.display(sticker.code),
            scanned_at=format_datetime(datetime.fromisoformat(row.payload["scanned_at"]), "short"),
            sticker_url=_link("account.sticker", code=sticker.code),
        )
        subject = _("Your sticker was scanned: %(label)s", label=sticker.label) if sticker.label else _("Your sticker was scanned")
        return _email(row, owner.email, subject, "emails/scan_alert", context, customer=owner)


def _handed_in(session: Session, row: OutboxMessage) -> EmailMessage | None:
    # Where and when to collect; the pickup code stays behind the account's sign-in.
    item = session.get(HandedInItem, row.payload.get("item_id"))
    sticker = session.get(Sticker, item.sticker_id) if item and item.sticker_id else None
    owner = _owner_of(session, sticker)
    if owner is None or item.status != HandedInStatus.WAITING or not owner.notify_by_email:
        return None  # collected since, or the owner reads notices in their account only
    desk = session.get(Desk, item.desk_id)
    with force_locale(owner.locale):
        context = dict(
            label=sticker.label,
            desk=desk,
            reference=handed_in.display_reference(item.reference),
            collect_by=format_date(handed_in.collect_by(item, desk), "long"),
            item_url=_link("account.handed_in_item", item_id=item.public_id),
        )
        subject = (_("Your item was handed in: %(label)s", label=sticker.label) if sticker.label
                   else _("Your item was handed in at a lost-and-found desk"))
        return _email(row, owner.email, subject, "emails/handed_in", context, customer=owner)


def _blocking_case(session: Session, row: OutboxMessage) -> EmailMessage | None:
    # Every change to a blocking case, and on opening the list of lines to call, so the
    # customer has the numbers in their inbox even away from their account.
    case = session.get(BlockingCase, row.payload.get("case_id"))
    event = session.get(BlockingEvent, row.payload.get("event_id"))
    owner = session.get(User, case.owner_id) if case else None
    if owner is None or event is None or event.case_id != case.id:
        return None
    with force_locale(owner.locale):
        context = dict(case=case, event=event, items=blocking.items_of(session, case), step=blocking_step(event),
                       case_url=_link("account.blocking_case", case_id=case.public_id))
        return _email(row, owner.email, _("Your blocking case: %(step)s", step=context["step"]),
                      "emails/blocking_case", context, customer=owner)


def blocking_step(event: BlockingEvent) -> str:
    """What a blocking-case event means, in the reader's language (emails and pages)."""
    steps = {
        "opened": _("the case is open"),
        "help_requested": _("you asked customer service to block for you"),
        "in_progress": _("customer service is blocking for you"),
        "item_blocked": _("blocked: %(item)s", item=event.item_label or ""),
        "item_unblocked": _("no longer marked blocked: %(item)s", item=event.item_label or ""),
        "done": _("everything is blocked; the case is closed"),
    }
    return steps.get(event.action, event.action)


def _idprotect_alert(session: Session, row: OutboxMessage) -> EmailMessage | None:
    # Who asked and when; never the report, never the personnummer.
    alert = session.get(IdProtectAlert, row.payload.get("alert_id"))
    owner = session.get(User, alert.user_id) if alert and alert.user_id else None
    if owner is None:
        return None
    with force_locale(owner.locale):
        context = dict(alert=alert, requested_at=format_datetime(alert.requested_at, "short"),
                       alerts_url=_link("account.idprotect_alerts"))
        return _email(row, owner.email, _("Someone asked for a credit report on you"), "emails/idprotect_alert",
                      context, customer=owner)


def _item_returned(session: Session, row: OutboxMessage) -> EmailMessage | None:
    conversation = session.get(Conversation, row.payload.get("conversation_id"))
    if conversation is None or not conversation.finder_email or conversation.status != ConversationStatus.CLOSED:
        return None
    with force_locale(conversation.finder_locale):
        return _email(row, conversation.finder_email, _("The owner has the item back"), "emails/item_returned", {})


def _owner_of(session: Session, sticker: Sticker | None) -> User | None:
    return session.get(User, sticker.owner_id) if sticker and sticker.owner_id else None


def _load(session: Session, row: OutboxMessage) -> tuple[Conversation | None, Message | None]:
    conversation = session.get(Conversation, row.payload.get("conversation_id"))
    message = session.get(Message, row.payload.get("message_id"))
    if conversation is None or message is None or message.conversation_id != conversation.id:
        return None, None
    return conversation, message


def _email(row: OutboxMessage, to: str, subject: str, template: str, context: dict, *,
           customer: User | None = None) -> EmailMessage:
    """The email of `row`. One to a customer carries their customer number in its footer, so
    customer service finds them when they write back; a finder's carries none."""
    if customer is not None and customer.customer_number:
        context = {**context, "customer_number": accounts.display_customer_number(customer.customer_number)}
    email = EmailMessage(policy=EMAIL_POLICY)
    email["From"] = current_app.config["MAIL_FROM"]
    email["To"] = single_line(to)
    email["Subject"] = _header_text(subject)
    email["Message-ID"] = row.email_message_id
    email["Date"] = formatdate(localtime=False)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(render_template(f"{template}.txt", **context))
    email.add_alternative(render_template(f"{template}.html", **context), subtype="html")
    return email


def _header_text(value: str) -> str:
    """A free-text header value (a subject with the owner's label in it) that can add no header.

    A line break would make EmailMessage refuse the value, failing the email on every retry.
    An encoded word is worse: the header parser decodes =?utf-8?q?Hi=0D=0ABcc:...?= into a line
    break that is written out as-is, a real Bcc header. Splitting "=?" with an invisible
    zero-width space leaves no encoded word to decode, and the reader still sees the same text.
    """
    return single_line(value).replace("=?", "=\u200b?")


def _account_email(purpose: TokenPurpose | None, endpoint: str | None, subject: str, template: str):
    """A builder for account emails: optionally mints a single-use link token now, so the
    plain token exists only inside the email."""

    def build(session: Session, row: OutboxMessage) -> EmailMessage | None:
        user_id = row.payload.get("user_id")  # None: a reset asked for an address with no account
        user = session.get(User, user_id) if user_id is not None else None
        if user is None:
            return None
        new_email = row.payload.get("new_email")
        context = {"user": user, "new_email": new_email, "old_email": row.payload.get("old_email")}
        if purpose is not None:
            # Written with the chunk's commit, before any of its emails goes (outbox._compose_all).
            token = accounts.issue_token(session, user, purpose, new_email=new_email, flush=False)
            context["link"] = _link(endpoint, token=token)
        context["login_url"] = _link("auth.login")
        context["reset_url"] = _link("auth.reset_request")
        to = new_email or row.payload.get("old_email") or user.email
        with force_locale(user.locale):
            return _email(row, to, _(subject), f"emails/{template}", context, customer=user)

    return build


BUILDERS: dict[OutboxKind, Callable[[Session, OutboxMessage], EmailMessage | None]] = {
    OutboxKind.FINDER_MESSAGE: _finder_message,
    OutboxKind.FINDER_RECEIPT: _finder_receipt,
    OutboxKind.OWNER_REPLY: _owner_reply,
    OutboxKind.ITEM_RETURNED: _item_returned,
    OutboxKind.SCAN_ALERT: _scan_alert,
    OutboxKind.HANDED_IN: _handed_in,
    OutboxKind.BLOCKING_CASE: _blocking_case,
    OutboxKind.IDPROTECT_ALERT: _idprotect_alert,
    OutboxKind.VERIFY_EMAIL: _account_email(
        TokenPurpose.VERIFY_EMAIL, "auth.verify", N_("Confirm your email address"), "verify_email"
    ),
    OutboxKind.ALREADY_REGISTERED: _account_email(
        None, None, N_("Someone tried to create an account with your email"), "already_registered"
    ),
    OutboxKind.RESET_PASSWORD: _account_email(
        TokenPurpose.RESET_PASSWORD, "auth.reset", N_("Reset your Stickerreg password"), "reset_password"
    ),
    OutboxKind.CHANGE_EMAIL: _account_email(
        TokenPurpose.CHANGE_EMAIL, "auth.confirm_email_change", N_("Confirm your new email address"), "change_email"
    ),
    OutboxKind.EMAIL_CHANGED: _account_email(
        None, None, N_("Your Stickerreg email address was changed"), "email_changed"
    ),
}
