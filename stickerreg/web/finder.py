"""The finder's entrance: enter or scan an ID, write to the owner, follow the conversation."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, EmailField, HiddenField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from stickerreg import bots, codes
from stickerreg.extensions import configured, limiter
from stickerreg.models import ConversationStatus, Sticker, StickerPublic, utcnow
from stickerreg.services import finder, relay, stickers
from stickerreg.services.relay import ConversationClosed, FinderDetails
from stickerreg.web.crossorigin import same_origin_only
from stickerreg.web.fields import CLEAN, message_field
from stickerreg.web.pages import Slot, can_prerender, fill, is_htmx, prerendered, private_page, render

bp = Blueprint("finder", __name__)

# Anything a stranger can call is limited; only accepted messages count toward the
# message limits, so a finder fixing a typo in the form is not penalised. The limits are
# settings (config.RATE_LIMITS), so an operator can tune them from the environment.
lookup_limit = limiter.shared_limit(configured("RATELIMIT_FINDER_LOOKUP"), scope="finder-lookup")
client_message_limit = limiter.limit(configured("RATELIMIT_FINDER_MESSAGE"), deduct_when=lambda r: r.status_code < 400)
reply_limit = limiter.limit(configured("RATELIMIT_FINDER_REPLY"), deduct_when=lambda r: r.status_code < 400)


def _sticker_key() -> str:
    return "sticker:" + (request.view_args or {}).get("code", "")


sticker_message_limit = limiter.limit(
    configured("RATELIMIT_FINDER_MESSAGE_PER_STICKER"), key_func=_sticker_key, deduct_when=lambda r: r.status_code < 400
)


bp.after_request(private_page)


# --- forms ------------------------------------------------------------------------------


class LookupForm(FlaskForm):
    """The 'enter an ID' box. A GET form: looking up changes nothing, so it needs no token."""

    class Meta:
        csrf = False

    code = StringField(_l("Sticker ID"), filters=CLEAN, validators=[DataRequired(), Length(max=200)])


class FinderMessageForm(FlaskForm):
    """What a finder sends to a sticker's owner. No session token: the view takes it only
    from our own pages (crossorigin.same_origin_only), so the sticker page sets no cookie."""

    class Meta:
        csrf = False

    message = message_field(_l("Your message to the owner"))
    found_where = StringField(
        _l("Where did you find it? (optional)"),
        filters=CLEAN,
        validators=[Optional(), Length(max=200, message=_l("Use at most %(max)d characters.", max=200))],
    )
    email = EmailField(
        _l("Your email, to hear back (optional)"),
        filters=CLEAN,
        validators=[
            Optional(),
            Length(max=254),
            Email(message=_l("That email address doesn't look right."), check_deliverability=False),
        ],
    )
    share_location = BooleanField(_l("Share my approximate location (about 100 m)"))
    latitude = HiddenField(validators=[Optional()])
    longitude = HiddenField(validators=[Optional()])

    def validate_latitude(self, field) -> None:
        _coordinate(field, -90.0, 90.0)

    def validate_longitude(self, field) -> None:
        _coordinate(field, -180.0, 180.0)

    def location(self) -> tuple[float | None, float | None]:
        """Coordinates only when the finder explicitly agreed to share them."""
        if not self.share_location.data or not self.latitude.data or not self.longitude.data:
            return None, None
        return float(self.latitude.data), float(self.longitude.data)


class FinderReplyForm(FlaskForm):
    """The finder writes again on their private conversation page."""

    message = message_field(_l("Your reply"))


def _coordinate(field, low: float, high: float) -> None:
    try:
        value = float(field.data)
    except (TypeError, ValueError):
        raise ValidationError(_l("Your location could not be read. Turn off location sharing and try again.")) from None
    if not (low <= value <= high) or value != value:  # value != value catches NaN
        raise ValidationError(_l("Your location could not be read. Turn off location sharing and try again."))


# --- views ------------------------------------------------------------------------------


@bp.get("/")
def index():
    """Front page, with the 'enter an ID' form for finders."""
    return render("finder/index.html", form=LookupForm(formdata=None))


@bp.get("/lookup")
@lookup_limit
def lookup():
    """The ID typed on the front page or the typo page."""
    raw = request.args.get("code", "")
    code = codes.normalize(raw)
    if code is None:
        return _typo(raw)
    return redirect(url_for(".sticker", raw=code), 303)


@bp.get("/S/<raw>")  # the QR payload is uppercase, so it is served without a redirect
@bp.get("/s/<raw>")  # registered first: url_for builds the lower-case canonical form
@lookup_limit
def sticker(raw: str):
    """A sticker's page: the same for every valid ID, registered or not."""
    code = codes.normalize(raw)
    if code is None:
        return _typo(raw)
    if raw != code:
        return redirect(url_for(".sticker", raw=code), 301)
    found = stickers.find_by_code(g.db, code)  # one lookup, whatever the code, for the alert and the page
    _note_scan(found)
    return _sticker_page(code, found)


def _note_scan(sticker: Sticker | None) -> None:
    """Tell the owner of a sticker in lost mode that a person opened its page.
    Every code costs the same lookup; only lost mode, the owner's explicit choice to be
    findable, leads on to the alert's own writes (see stickers.record_scan)."""
    if request.method != "GET" or bots.is_bot(request.user_agent.string):
        return  # link previews and crawlers are not finders
    if sticker is not None and stickers.record_scan(g.db, sticker, now=utcnow()):
        g.db.commit()


@bp.post("/s/<code>/message")
@same_origin_only
@lookup_limit
@client_message_limit
@sticker_message_limit
def send_message(code: str):
    """The finder leaves a message for the sticker's owner."""
    if codes.normalize(code) != code:
        abort(404)
    if bots.is_bot(request.user_agent.string):
        abort(403)
    form = FinderMessageForm()
    if not form.validate_on_submit():
        return _sticker_page(code, stickers.find_by_code(g.db, code), form), 422
    conversation, token = finder.report_found(
        g.db, code=code, message=form.message.data, details=_finder_details(form)
    )
    g.db.commit()
    emailed_to = form.email.data or None
    if is_htmx():
        # Put the private link in the address bar: a reload or bookmark keeps it.
        sent = make_response(render("finder/_message_sent.html", token=token, emailed_to=emailed_to))
        sent.headers["HX-Push-Url"] = url_for(".conversation", token=token)
        return sent
    flash(_("Your message has been sent."), "sent")
    if emailed_to:
        flash(_("We are also emailing the link to %(email)s.", email=emailed_to), "info")
    return redirect(url_for(".conversation", token=token), 303)


@bp.get("/c/<token>")
@lookup_limit
def conversation(token: str):
    """The finder's private conversation page."""
    conversation = relay.find_by_token(g.db, token) or abort(404)
    return _conversation_page(token, conversation, FinderReplyForm(formdata=None))


@bp.post("/c/<token>/reply")
@lookup_limit
@reply_limit
def reply(token: str):
    """The finder writes again in an existing conversation."""
    conversation = relay.find_by_token(g.db, token) or abort(404)
    form = FinderReplyForm()
    if not form.validate_on_submit():
        return _conversation_page(token, conversation, form), 422
    try:
        finder.reply_as_finder(g.db, conversation, form.message.data)
    except ConversationClosed:
        return _conversation_page(token, conversation, form), 409
    g.db.commit()
    return redirect(url_for(".conversation", token=token), 303)


def _typo(raw: str):
    cleaned = codes.symbols(raw)[:40]
    form = LookupForm(formdata=None, data={"code": cleaned})
    return render("finder/typo.html", form=form, typed=cleaned), 404


def _sticker_page(code: str, sticker: Sticker | None, form: FinderMessageForm | None = None):
    """The sticker's page. With a blank form (nearly every visit) it is joined from a copy
    rendered once per language (pages.prerendered): the form's widgets and every translated
    sentence cost nothing per request. A form to show again (422) renders as usual."""
    g.page_url = url_for(".sticker", raw=code)
    page = {"display_code": codes.display(code), "send_url": url_for(".send_message", code=code),
            "owner_note": _owner_note(finder.public_view_of(sticker))}
    if form is None and can_prerender():
        return fill(prerendered("finder/sticker.html", "blank form", _blank_page), **page)
    form = form or FinderMessageForm(formdata=None)
    return render("finder/sticker.html", "finder/_message_form.html", form=form, **page)


def _blank_page() -> dict:
    """The sticker page's context, with a slot for each value that differs between requests."""
    return {"form": FinderMessageForm(formdata=None),
            **{name: Slot(name) for name in ("display_code", "send_url", "owner_note")}}


def _owner_note(view: StickerPublic) -> Markup:
    """What the owner published in lost mode (finder/_owner_note.html), or nothing."""
    if not (view.reward_text or view.public_note):
        return Markup("")
    return Markup(render_template("finder/_owner_note.html", view=view))


def _conversation_page(token: str, conversation, form: FinderReplyForm):
    g.page_url = url_for(".conversation", token=token)
    return render(
        "finder/conversation.html",
        token=token,
        conversation=conversation,
        messages=relay.messages(g.db, conversation),
        is_closed=conversation.status in (ConversationStatus.CLOSED, ConversationStatus.BLOCKED),
        form=form,
    )


def _finder_details(form: FinderMessageForm) -> FinderDetails:
    latitude, longitude = form.location()
    return FinderDetails(
        email=form.email.data or None,
        found_where=form.found_where.data or None,
        latitude=latitude,
        longitude=longitude,
        locale=str(get_locale() or "sv"),
    )
