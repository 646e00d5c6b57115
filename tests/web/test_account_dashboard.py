"""The dashboard leads with what needs the owner now; a sticker's page leads with its urgent job."""

from __future__ import annotations

import re

from helpers import SECRET_KEY, browser, visible_text

from stickerreg.models import DeskCreate, HandedInItemCreate
from stickerreg.services import desks, finder, handed_in
from stickerreg.services.relay import FinderDetails


def attention(response) -> str:
    """The text of the dashboard's 'needs your attention' list, or '' when it has none."""
    found = re.search(r'<ul class="attention".*?</ul>', response.get_data(as_text=True), re.S)
    return visible_text(found.group(0)) if found else ""


def hand_in(session, sticker):
    desk = desks.create_desk(session, DeskCreate(name="Hittegods Centralen", address="Centralplan 1", opening_hours="8-18"))
    device, _ = desks.start_pairing(session, desk=desk, name="Disk 1")
    item = handed_in.hand_in(session, device=device, sticker_code=sticker.code, photo=None, key=SECRET_KEY,
                             details=HandedInItemCreate(category="keys", description="Nycklar", storage_place="B3"))
    session.commit()
    return item


def test_an_unread_finder_message_is_the_first_thing_on_the_dashboard(app, session, owner, sticker_factory):
    sticker = sticker_factory(owner=owner, label="Cykelnycklar")
    conversation, _ = finder.report_found(session, code=sticker.code, message="Hittade dem", details=FinderDetails())
    session.commit()
    client = browser(app, owner.email)
    dashboard = client.get("/account/")
    html = dashboard.get_data(as_text=True)
    assert "Someone found “Cykelnycklar” Read the finder's message and answer." in attention(dashboard)
    # At the top: before the sticker list, linking straight to the conversation.
    assert html.index('class="attention"') < html.index('class="sticker-list"')
    assert f'href="/account/conversations/{conversation.public_id}"' in html

    assert client.get(f"/account/conversations/{conversation.public_id}").status_code == 200  # read it
    assert attention(client.get("/account/")) == ""  # read: nothing asks for attention


def test_an_item_handed_in_at_a_desk_is_announced_at_the_top_until_opened(app, session, owner, sticker_factory):
    sticker = sticker_factory(owner=owner, label="Nycklar")
    item = hand_in(session, sticker)
    client = browser(app, owner.email)
    assert "“Nycklar” was handed in at Hittegods Centralen" in attention(client.get("/account/"))
    assert client.get(f"/account/handed-in/{item.public_id}").status_code == 200
    assert attention(client.get("/account/")) == ""


def test_the_dashboard_banner_speaks_swedish_by_default(app, session, owner, sticker_factory):
    sticker = sticker_factory(owner=owner, label="Plånbok")
    finder.report_found(session, code=sticker.code, message="Hittade den", details=FinderDetails())
    session.commit()
    client = browser(app, owner.email)
    client.set_cookie("lang", "sv")
    assert "Någon har hittat ”Plånbok”" in attention(client.get("/account/"))


def test_an_unnamed_sticker_offers_naming_it_first(app, session, owner, sticker_factory):
    unnamed = sticker_factory(owner=owner, label="")
    named = sticker_factory(owner=owner, label="Väska")
    client = browser(app, owner.email)
    html = client.get("/account/").get_data(as_text=True)
    row = re.search(rf'<li id="sticker-{unnamed.code}".*?</li>', html, re.S).group(0)
    assert row.index("Name this sticker") < row.index("Turn on lost mode")
    assert f'href="/account/stickers/{unnamed.code}#sticker-details"' in row
    named_row = re.search(rf'<li id="sticker-{named.code}".*?</li>', html, re.S).group(0)
    assert "Name this sticker" not in named_row


def test_a_named_stickers_page_leads_with_lost_mode_and_an_unnamed_ones_with_its_name(app, owner, sticker_factory):
    client = browser(app, owner.email)
    named = client.get(f"/account/stickers/{sticker_factory(owner=owner, label='Väska').code}").get_data(as_text=True)
    assert named.index('id="sticker-lost-mode"') < named.index('id="sticker-details"')
    unnamed = client.get(f"/account/stickers/{sticker_factory(owner=owner, label='').code}").get_data(as_text=True)
    assert unnamed.index('id="sticker-details"') < unnamed.index('id="sticker-lost-mode"')


def test_preview_is_a_secondary_button_beside_save(app, owner, sticker_factory):
    page = browser(app, owner.email).get(f"/account/stickers/{sticker_factory(owner=owner).code}").get_data(as_text=True)
    preview = re.search(r'<button type="submit" name="preview"[^>]*>', page).group(0)
    assert 'class="secondary outline"' in preview
