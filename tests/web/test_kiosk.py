"""The kiosk at a lost-and-found desk: pairing, what a paired device may reach, scanning,
hand-in with receipt, the owner's notice, pickup with a code, and the desk's list."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from helpers import SECRET_KEY, body_text, browser, csrf_token, drain_outbox, everything_in, phone_client, visible
from PIL import Image
from sqlmodel import select

from stickerreg import codes, tokens
from stickerreg.models import (
    DeskCreate,
    HandedInItem,
    HandedInItemCreate,
    HandedInStatus,
    KioskDevice,
    LoginSession,
    OutboxMessage,
    StickerStatus,
    utcnow,
)
from stickerreg.services import claims, desks, handed_in, stickers

SECRET = SECRET_KEY


@pytest.fixture
def desk(session):
    desk = desks.create_desk(session, DeskCreate(name="Hittegods Centralen", address="Centralplan 15, Stockholm",
                                     opening_hours="Mon-Fri 8-20"))
    session.commit()
    return desk


def pair(app, session, desk, *, name: str = "Counter 1"):
    """A browser paired with `desk` the way a desk does it: open the link, press the button."""
    _, token = desks.start_pairing(session, desk=desk, name=name)
    session.commit()
    client = phone_client(app)
    client.set_cookie("lang", "en")
    response = client.post(f"/kiosk/pair/{token}", data={"csrf_token": csrf_token(client, f"/kiosk/pair/{token}")})
    assert response.status_code == 303 and response.headers["Location"] == "/kiosk/"
    return client


@pytest.fixture
def kiosk_client(app, session, desk):
    return pair(app, session, desk)


def hand_in(client, sticker: str = "", **fields):
    data = {"sticker": sticker, "category": "keys", "description": "Blue key ring", "storage_place": "Shelf B3",
            **fields}
    data["csrf_token"] = csrf_token(client, "/kiosk/hand-in")
    return client.post("/kiosk/hand-in", data=data)


def only_item(session) -> HandedInItem:
    session.expire_all()
    [item] = session.exec(select(HandedInItem)).all()
    return item


# --- pairing ---------------------------------------------------------------------------


def test_the_cli_prints_a_pairing_link_that_turns_a_browser_into_the_desks_kiosk(app, session, desk):
    result = app.test_cli_runner().invoke(args=["kiosk", "pair", "--desk", "hittegods centralen", "--name", "Tablet"])
    assert result.exit_code == 0, result.output
    link = re.search(r"http://localhost(/kiosk/pair/\S+)", result.output).group(1)
    token = link.rsplit("/", 1)[1]
    client = phone_client(app)

    assert client.get("/kiosk/").status_code == 403  # not paired yet
    page = client.get(link)
    assert page.status_code == 200 and "Hittegods Centralen" in visible(page)
    assert client.get_cookie("kiosk_device") is None  # opening the link alone pairs nothing
    response = client.post(link, data={"csrf_token": csrf_token(client, link)})

    assert response.status_code == 303
    cookie = client.get_cookie("kiosk_device")
    assert cookie.http_only and cookie.max_age > 300 * 24 * 3600
    assert client.get("/kiosk/").status_code == 200
    session.expire_all()
    [device] = session.exec(select(KioskDevice)).all()
    assert device.name == "Tablet" and device.paired_at and device.pairing_hash is None
    # Only hashes are kept: neither the pairing token nor the device token is in the row.
    assert device.token_hash == tokens.hash_token(cookie.value)
    assert token not in str(device.model_dump()) and cookie.value not in str(device.model_dump())


def test_a_pairing_link_works_once(app, session, desk):
    _, token = desks.start_pairing(session, desk=desk, name="Counter")
    session.commit()
    first, second = browser(app), browser(app)
    form = {"csrf_token": csrf_token(first, f"/kiosk/pair/{token}")}
    other_form = {"csrf_token": csrf_token(second, f"/kiosk/pair/{token}")}
    assert first.post(f"/kiosk/pair/{token}", data=form).status_code == 303
    refused = second.post(f"/kiosk/pair/{token}", data=other_form)
    assert refused.status_code == 404 and "does not work" in visible(refused)
    assert second.get_cookie("kiosk_device") is None


def test_a_pairing_link_expires_after_15_minutes(app, session, desk):
    device, token = desks.start_pairing(session, desk=desk, name="Counter",
                                        now=utcnow() - timedelta(minutes=15, seconds=1))
    session.commit()
    client = app.test_client()
    assert client.get(f"/kiosk/pair/{token}").status_code == 404
    assert desks.complete_pairing(session, token) is None
    fresh, fresh_token = desks.start_pairing(session, desk=desk, name="Counter",
                                             now=utcnow() - timedelta(minutes=14))
    assert desks.complete_pairing(session, fresh_token) is not None


def test_unknown_pairing_links_get_a_clear_page(client):
    for token in ("x" * 32, "", "%00", "a" * 500):
        response = client.get(f"/kiosk/pair/{token}")
        assert response.status_code in (404, 308), token
        assert response.status_code != 500


def test_a_revoked_device_is_logged_out_on_its_next_request(app, session, desk, kiosk_client):
    assert kiosk_client.get("/kiosk/").status_code == 200
    [device] = session.exec(select(KioskDevice)).all()
    desks.revoke_device(session, device)
    session.commit()

    response = kiosk_client.get("/kiosk/")
    assert response.status_code == 403 and "not a paired kiosk" in visible(response)
    assert kiosk_client.get_cookie("kiosk_device") is None  # the dead cookie is deleted
    htmx = pair(app, session, desk)
    desks.revoke_device(session, session.exec(select(KioskDevice).where(KioskDevice.revoked_at.is_(None))).one())
    session.commit()
    assert htmx.get("/kiosk/hand-in", headers={"HX-Request": "true"}).headers.get("HX-Refresh") == "true"


def test_every_kiosk_page_but_pairing_needs_a_paired_device(app, client, sticker_factory):
    code = sticker_factory().code
    for url in ("/kiosk/", f"/kiosk/hand-in?sticker={code}", "/kiosk/hand-in", "/kiosk/pickup", "/kiosk/items",
                "/kiosk/receipt/whatever"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert code not in response.get_data(as_text=True)
    client.set_cookie("kiosk_device", "forged-token")
    assert client.get("/kiosk/").status_code == 403


@pytest.mark.parametrize("path", ["/", "/account/", "/account/profile", "/admin/desks", "/printshop/",
                                  "/auth/login", "/s/0123456789AB"])
def test_a_kiosk_device_only_reaches_kiosk_pages(kiosk_client, path):
    response = kiosk_client.get(path)
    assert response.status_code == 303 and response.headers["Location"] == "/kiosk/"


def test_pairing_signs_out_whoever_was_signed_in(app, session, desk, user_factory):
    admin = user_factory(email="admin@example.se", password="ett-långt-lösenord-för-test", role="admin")
    client = browser(app, email=admin.email)
    assert client.get("/admin/desks").status_code == 200
    _, token = desks.start_pairing(session, desk=desk, name="Counter")
    session.commit()
    client.post(f"/kiosk/pair/{token}", data={"csrf_token": csrf_token(client, f"/kiosk/pair/{token}")})
    client.delete_cookie("kiosk_device")  # even without the device cookie, nobody is signed in any more
    assert client.get("/admin/desks").status_code == 404
    session.expire_all()
    assert session.exec(select(LoginSession).where(LoginSession.user_id == admin.id)).all() == []  # ended on the server


def test_a_desk_never_sees_another_desks_items(app, session, desk, kiosk_client, sticker_factory):
    other = desks.create_desk(session, DeskCreate(name="Other desk", address="Elsewhere 1", opening_hours="9-17"))
    session.commit()
    other_client = pair(app, session, other)
    hand_in(other_client, sticker_factory().code, description="Red umbrella", storage_place="Bin 9")
    item = only_item(session)

    assert kiosk_client.get(f"/kiosk/receipt/{item.public_id}").status_code == 404
    assert "Red umbrella" not in visible(kiosk_client.get("/kiosk/items"))
    code = handed_in.pickup_code(item.public_id, key=SECRET)
    refused = kiosk_client.post("/kiosk/pickup", data={"code": code, "staff": "AB",
                                                       "csrf_token": csrf_token(kiosk_client, "/kiosk/pickup")})
    assert refused.status_code == 422
    assert only_item(session).status == HandedInStatus.WAITING


# --- scanning --------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["https://stickerreg.se/s/{code}", "HTTPS://STICKERREG.SE/S/{code}",
                                   "{display}", "{lower}", " {code} "])
def test_a_scanned_url_or_a_typed_code_opens_the_hand_in_form(kiosk_client, sticker_factory, typed):
    code = sticker_factory().code
    raw = typed.format(code=code, display=codes.display(code), lower=codes.display(code).lower())
    response = kiosk_client.get("/kiosk/hand-in", query_string={"sticker": raw})
    assert response.status_code == 200
    assert f"Handing in an item with sticker {codes.display(code)}" in visible(response)
    assert f'name="sticker" type="hidden" value="{code}"' in response.get_data(as_text=True)


def test_the_hand_in_form_never_tells_whether_a_sticker_is_registered(session, kiosk_client, sticker_factory):
    active = sticker_factory().code
    deactivated = sticker_factory(status=StickerStatus.DEACTIVATED).code
    unclaimed = sticker_factory(activated=False).code
    voided = sticker_factory(activated=False, status=StickerStatus.VOIDED).code
    unknown = codes.generate()

    def page(code: str) -> str:
        response = kiosk_client.get("/kiosk/hand-in", query_string={"sticker": code})
        assert response.status_code == 200
        text = visible(response).replace(codes.display(code), "CODE")
        return re.sub(r'name="csrf_token"[^>]*>', "", text)

    assert len({page(code) for code in (active, deactivated, unclaimed, voided, unknown)}) == 1


@pytest.mark.parametrize(("typed", "message"), [
    ("", "Scan the sticker, or type the 12 characters of its ID."),
    ("ABCD", "That ID is too short"),
    ("0123456789AA", "That ID has a typo"),
    ("<script>alert(1)</script>", "That ID"),
])
def test_a_bad_id_gets_a_clear_message_on_the_scan_screen(kiosk_client, typed, message):
    response = kiosk_client.get("/kiosk/hand-in", query_string={"sticker": typed})
    assert response.status_code == 422
    assert message in visible(response)
    assert "<script>alert" not in response.get_data(as_text=True)
    assert 'id="scan-input"' in response.get_data(as_text=True)


def test_htmx_gets_just_the_screen(kiosk_client, sticker_factory):
    code = sticker_factory().code
    response = kiosk_client.get("/kiosk/hand-in", query_string={"sticker": code}, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="screen"') and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


# --- hand-in, notice and receipt ---------------------------------------------------------


def test_a_hand_in_notifies_the_owner_and_gives_the_finder_a_receipt(app, session, kiosk_client, sticker_factory, owner):
    sticker = sticker_factory(owner=owner, label="House keys")
    response = hand_in(kiosk_client, sticker.code)

    assert response.status_code == 303
    receipt = kiosk_client.get(response.headers["Location"])
    item = only_item(session)
    reference = handed_in.display_reference(item.reference)
    assert receipt.status_code == 200 and f"Reference {reference}" in visible(receipt)
    assert "<svg" in receipt.get_data(as_text=True) and "Print the receipt" in visible(receipt)
    assert "House keys" not in visible(receipt) and owner.email not in receipt.get_data(as_text=True)
    assert (item.desk_id, item.sticker_id, item.storage_place) == (item.desk_id, sticker.id, "Shelf B3")

    [email] = drain_outbox(app)
    text = body_text(email)
    assert email["To"] == owner.email and "House keys" in email["Subject"]
    for expected in ("Hittegods Centralen", "Centralplan 15, Stockholm", "Mon-Fri 8-20", reference, "photo ID",
                     f"/account/handed-in/{item.public_id}"):
        assert expected in text
    assert handed_in.pickup_code(item.public_id, key=SECRET) not in everything_in(email)


def test_the_owner_sees_the_item_with_a_pickup_code(app, session, kiosk_client, sticker_factory, owner, owner_client):
    hand_in(kiosk_client, sticker_factory(owner=owner, label="House keys").code)
    item = only_item(session)
    inbox = owner_client.get("/account/handed-in")
    assert "Hittegods Centralen" in visible(inbox) and "(1)" in visible(inbox)  # one new, in the navigation

    page = owner_client.get(f"/account/handed-in/{item.public_id}")
    code = handed_in.pickup_code(item.public_id, key=SECRET)
    assert page.status_code == 200
    assert handed_in.display_pickup_code(code) in visible(page) and "Mon-Fri 8-20" in visible(page)
    assert "Shelf B3" not in visible(page)  # where the desk keeps it is the desk's business
    assert only_item(session).owner_seen_at is not None
    assert "(1)" not in visible(owner_client.get("/account/handed-in"))


def test_an_item_without_a_sticker_is_recorded_for_later_matching(session, kiosk_client):
    form = kiosk_client.get("/kiosk/hand-in")
    assert "Handing in an item without a sticker" in visible(form)
    response = hand_in(kiosk_client, "", description="Black glove, left hand")
    assert response.status_code == 303
    item = only_item(session)
    assert item.sticker_id is None and item.description == "Black glove, left hand"
    assert session.exec(select(OutboxMessage)).all() == []
    assert "Black glove, left hand" in visible(kiosk_client.get("/kiosk/items"))


def test_an_unclaimed_sticker_tells_its_owner_once_the_set_is_claimed(app, session, kiosk_client, owner):
    minted = stickers.mint_set(session, size=2)
    session.commit()
    hand_in(kiosk_client, minted.stickers[1].code)
    assert drain_outbox(app) == []  # nobody to tell yet, and the desk was not told so
    claims.claim_set(session, owner=owner, sticker_code=minted.stickers[0].code,
                       activation_code=minted.activation_code)
    session.commit()
    [email] = drain_outbox(app)
    assert email["To"] == owner.email and "Hittegods Centralen" in body_text(email)


def test_the_owner_can_turn_the_email_off_and_still_sees_the_case(app, session, kiosk_client, sticker_factory, owner,
                                                                  owner_client):
    owner.notify_by_email = False
    session.add(owner)
    session.commit()
    hand_in(kiosk_client, sticker_factory(owner=owner).code)
    assert drain_outbox(app) == []
    assert "Hittegods Centralen" in visible(owner_client.get("/account/handed-in"))


def test_a_hand_in_needs_a_description_and_a_storage_place(session, kiosk_client, sticker_factory):
    response = hand_in(kiosk_client, sticker_factory().code, description="", storage_place=" ")
    assert response.status_code == 422
    assert "Describe the item" in visible(response) and "Write where the item is kept" in visible(response)
    assert session.exec(select(HandedInItem)).all() == []


def test_the_hand_in_form_starts_with_no_category_chosen(kiosk_client, sticker_factory):
    html = kiosk_client.get(f"/kiosk/hand-in?sticker={sticker_factory().code}").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*name="category".*?</select>', html, re.S).group(0)
    options = re.findall(r"<option[^>]*>[^<]*</option>", select_html)
    assert options[0] == '<option value="">Choose…</option>'  # a placeholder, the one shown
    assert "selected" not in select_html


@pytest.mark.parametrize("category", ["", "spaceship"])
def test_a_hand_in_without_a_chosen_category_keeps_what_was_typed_and_stores_nothing(session, kiosk_client,
                                                                                     sticker_factory, category):
    response = hand_in(kiosk_client, sticker_factory().code, category=category, description="Blue key ring",
                       storage_place="Shelf B3", finder_name="Finn", finder_contact="070-123 45 67",
                       finder_consent="y")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'<select[^>]*aria-invalid="true"[^>]*name="category"|<select[^>]*name="category"[^>]*'
                     r'aria-invalid="true"', html)
    if not category:
        assert "Choose what kind of item it is." in visible(response)
    for kept in ('value="Blue key ring"', 'value="Shelf B3"', 'value="Finn"', 'value="070-123 45 67"'):
        assert kept in html
    assert re.search(r'<input[^>]*checked[^>]*name="finder_consent"|<input[^>]*name="finder_consent"[^>]*checked', html)
    assert session.exec(select(HandedInItem)).all() == []


def test_a_tampered_sticker_field_is_refused(session, kiosk_client):
    assert hand_in(kiosk_client, "not-a-code").status_code == 400
    assert session.exec(select(HandedInItem)).all() == []


def test_finder_details_need_consent_and_reach_the_owner_only_if_shared(session, kiosk_client, sticker_factory,
                                                                        owner, owner_client):
    sticker = sticker_factory(owner=owner)
    refused = hand_in(kiosk_client, sticker.code, finder_name="Fia Finder", finder_contact="070-123 45 67")
    assert refused.status_code == 422 and "Ask the finder and tick this box" in visible(refused)

    hand_in(kiosk_client, sticker.code, finder_name="Fia Finder", finder_contact="070-123 45 67", finder_consent="y")
    kept_private = only_item(session)
    assert kept_private.finder_name == "Fia Finder" and not kept_private.finder_shares_contact
    assert "Fia Finder" not in visible(owner_client.get(f"/account/handed-in/{kept_private.public_id}"))

    hand_in(kiosk_client, sticker.code, finder_name="Fia Finder", finder_contact="070-123 45 67", finder_consent="y",
            finder_shares="y")
    shared = session.exec(select(HandedInItem).where(HandedInItem.finder_shares_contact)).one()
    assert "Fia Finder, 070-123 45 67" in visible(owner_client.get(f"/account/handed-in/{shared.public_id}"))

    device = session.exec(select(KioskDevice)).one()
    handed_in.collect(session, device=device, code=handed_in.pickup_code(shared.public_id, key=SECRET), staff="KL", key=SECRET)
    session.commit()
    session.refresh(shared)
    assert (shared.finder_name, shared.finder_contact) == (None, None)  # kept only until collection


def _photo_with_gps() -> bytes:
    image = Image.new("RGB", (2400, 1600), "red")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (59.0, 19.0, 48.0)}  # GPS position
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_photo_is_reencoded_without_metadata_and_shown_to_the_owner(session, kiosk_client, sticker_factory, owner,
                                                                      owner_client):
    original = _photo_with_gps()
    assert b"PhoneMaker" in original
    response = hand_in(kiosk_client, sticker_factory(owner=owner).code,
                       photo=(io.BytesIO(original), "IMG_0001.jpg", "image/jpeg"))
    assert response.status_code == 303
    item = only_item(session)

    photo = owner_client.get(f"/account/handed-in/{item.public_id}/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert b"PhoneMaker" not in photo.data and b"Exif" not in photo.data
    assert max(Image.open(io.BytesIO(photo.data)).size) == 1280
    assert "no-store" in photo.headers["Cache-Control"]


def test_a_file_that_is_not_a_photo_is_refused_with_the_form_kept(session, kiosk_client, sticker_factory):
    response = hand_in(kiosk_client, sticker_factory().code, description="Grey scarf",
                       photo=(io.BytesIO(b"%PDF-1.4 not an image"), "scan.pdf", "application/pdf"))
    assert response.status_code == 422
    assert "not a photo we can read" in visible(response) and 'value="Grey scarf"' in response.get_data(as_text=True)
    assert session.exec(select(HandedInItem)).all() == []


def test_a_photo_past_the_upload_limit_gets_a_kiosk_page(session, kiosk_client, sticker_factory):
    huge = io.BytesIO(b"\xff" * (13 * 1024 * 1024))
    with hand_in(kiosk_client, sticker_factory().code, photo=(huge, "huge.jpg", "image/jpeg")) as response:
        assert response.status_code == 413 and "Start over" in visible(response)
        response.request.input_stream.close()  # the test client spooled the big body to a file
    assert session.exec(select(HandedInItem)).all() == []


def test_an_unknown_kiosk_address_keeps_the_kiosk_screen(kiosk_client):
    response = kiosk_client.get("/kiosk/no-such-screen")
    assert response.status_code == 404
    assert "Start over" in visible(response) and "Sign in" not in visible(response)


def test_other_forms_keep_the_small_upload_limit(kiosk_client):
    response = kiosk_client.post("/kiosk/pickup", data={"code": "1" * 70_000})
    assert response.status_code == 413


def test_a_receipt_is_shown_again_only_briefly_and_only_on_its_device(app, session, desk, kiosk_client,
                                                                      sticker_factory):
    receipt_url = hand_in(kiosk_client, sticker_factory().code).headers["Location"]
    assert kiosk_client.get(receipt_url).status_code == 200
    second_screen = pair(app, session, desk, name="Counter 2")
    assert second_screen.get(receipt_url).status_code == 404
    item = only_item(session)
    item.created_at = utcnow() - timedelta(minutes=11)
    session.add(item)
    session.commit()
    assert kiosk_client.get(receipt_url).status_code == 404


# --- pickup ------------------------------------------------------------------------------


def test_the_right_pickup_code_closes_the_item_and_records_who_and_when(session, kiosk_client, sticker_factory,
                                                                        owner, owner_client):
    hand_in(kiosk_client, sticker_factory(owner=owner).code)
    item = only_item(session)
    code = handed_in.display_pickup_code(handed_in.pickup_code(item.public_id, key=SECRET))
    response = kiosk_client.post("/kiosk/pickup", data={"code": code, "staff": "KL",
                                                        "csrf_token": csrf_token(kiosk_client, "/kiosk/pickup")})
    assert response.status_code == 200
    assert "Code accepted" in visible(response) and "Fetch it from Shelf B3" in visible(response)
    closed = only_item(session)
    assert closed.status == HandedInStatus.COLLECTED and closed.collected_by == "KL"
    assert closed.collected_at is not None and closed.collected_device_id == closed.handed_in_device_id
    assert "Collected" in visible(owner_client.get(f"/account/handed-in/{item.public_id}"))
    again = kiosk_client.post("/kiosk/pickup", data={"code": code, "staff": "KL",
                                                     "csrf_token": csrf_token(kiosk_client, "/kiosk/pickup")})
    assert again.status_code == 422  # a collected item can't be collected twice


def test_wrong_pickup_codes_are_throttled(session, kiosk_client, sticker_factory):
    hand_in(kiosk_client, sticker_factory().code)
    right = handed_in.pickup_code(only_item(session).public_id, key=SECRET)
    wrong = str((int(right) + 1) % 10**8).zfill(8)
    token = csrf_token(kiosk_client, "/kiosk/pickup")
    statuses = [kiosk_client.post("/kiosk/pickup", data={"code": wrong, "staff": "KL", "csrf_token": token}).status_code
                for _ in range(6)]
    assert statuses == [422] * 5 + [429]
    blocked = kiosk_client.post("/kiosk/pickup", data={"code": right, "staff": "KL", "csrf_token": token})
    assert blocked.status_code == 429 and "Too many attempts" in visible(blocked)
    assert only_item(session).status == HandedInStatus.WAITING


def test_uncollected_items_are_listed_for_the_desk(session, desk, kiosk_client, sticker_factory):
    hand_in(kiosk_client, sticker_factory().code, description="Old umbrella")
    old = only_item(session)
    old.created_at = utcnow() - timedelta(days=desk.hold_days + 1)
    session.add(old)
    session.commit()
    hand_in(kiosk_client, sticker_factory().code, description="New phone")

    text = visible(kiosk_client.get("/kiosk/items"))
    assert "1 item not collected within 30 days" in text
    assert text.index("Old umbrella") < text.index("Waiting to be collected") < text.index("New phone")
    desk.hold_days = 1
    session.add(desk)
    session.commit()
    one_day = visible(kiosk_client.get("/kiosk/items"))
    assert "1 item not collected within 1 day" in one_day and "1 days" not in one_day


def test_a_double_close_closes_once(session, desk, kiosk_client, sticker_factory):
    hand_in(kiosk_client, sticker_factory().code)
    item = only_item(session)
    device = session.exec(select(KioskDevice)).one()
    code = handed_in.pickup_code(item.public_id, key=SECRET)
    assert handed_in.collect(session, device=device, code=code, staff="A", key=SECRET) is not None
    assert handed_in.collect(session, device=device, code=code, staff="B", key=SECRET) is None
    session.commit()
    assert only_item(session).collected_by == "A"


def test_waiting_items_at_one_desk_never_share_a_pickup_code(session, desk, kiosk_client):
    device = session.exec(select(KioskDevice)).one()
    details = HandedInItemCreate(category="other", description="x", storage_place="y")
    made = [handed_in.hand_in(session, device=device, sticker_code=None, details=details, key=SECRET) for _ in range(40)]
    assert len({handed_in.pickup_code(item.public_id, key=SECRET) for item in made}) == 40
    assert all(re.fullmatch(r"\d{8}", handed_in.pickup_code(item.public_id, key=SECRET)) for item in made)


def test_the_desk_finds_a_item_by_its_receipt_reference_or_description(session, kiosk_client, sticker_factory):
    hand_in(kiosk_client, sticker_factory().code, description="Red umbrella")
    hand_in(kiosk_client, "", description="Black glove")
    glove = session.exec(select(HandedInItem).where(HandedInItem.description == "Black glove")).one()
    typed = handed_in.display_reference(glove.reference).lower()

    by_reference = visible(kiosk_client.get("/kiosk/items", query_string={"q": typed}))
    assert "Black glove" in by_reference and "Red umbrella" not in by_reference
    by_words = visible(kiosk_client.get("/kiosk/items", query_string={"q": "UMBRELLA red"}))
    assert "Red umbrella" in by_words and "Black glove" not in by_words
    nothing = kiosk_client.get("/kiosk/items", query_string={"q": "<b>zebra</b>"})
    assert nothing.status_code == 200 and "No waiting item matches" in visible(nothing)
    assert "<b>zebra" not in nothing.get_data(as_text=True)


# --- the desk's staff PIN ---------------------------------------------------------------


@pytest.fixture
def pin_desk(session, desk):
    desks.set_staff_pin(session, desk, "2468")
    session.commit()
    return desk


def unlock(client, pin: str, next_url: str = "/kiosk/items"):
    return client.post("/kiosk/staff", data={"pin": pin, "next": next_url,
                                             "csrf_token": csrf_token(client, "/kiosk/hand-in")})


def test_staff_screens_ask_for_the_desks_pin(session, pin_desk, kiosk_client, sticker_factory):
    hand_in(kiosk_client, sticker_factory().code, description="Red umbrella")
    item = only_item(session)
    locked = kiosk_client.get("/kiosk/items")
    assert locked.status_code == 200 and "Staff PIN" in visible(locked)
    assert "Red umbrella" not in visible(locked) and "Shelf B3" not in visible(locked)
    code = handed_in.pickup_code(item.public_id, key=SECRET)
    refused = kiosk_client.post("/kiosk/pickup", data={"code": code, "staff": "KL",
                                                       "csrf_token": csrf_token(kiosk_client, "/kiosk/hand-in")})
    assert refused.status_code == 403 and only_item(session).status == HandedInStatus.WAITING

    assert unlock(kiosk_client, "2468").headers["Location"] == "/kiosk/items"
    assert "Red umbrella" in visible(kiosk_client.get("/kiosk/items"))
    assert "Pickup code" in visible(kiosk_client.get("/kiosk/pickup"))
    kiosk_client.get("/kiosk/")  # back at the start screen (also where the idle reset lands)
    assert "Red umbrella" not in visible(kiosk_client.get("/kiosk/items"))
    assert only_item(session).finder_name is None


def test_a_wrong_staff_pin_is_refused_and_throttled(pin_desk, kiosk_client):
    wrong = unlock(kiosk_client, "1234")
    assert wrong.status_code == 422 and "That is not this desk" in visible(wrong)
    assert "1234" not in wrong.get_data(as_text=True)
    statuses = [unlock(kiosk_client, "1234").status_code for _ in range(5)]
    assert statuses == [422] * 4 + [429]
    assert unlock(kiosk_client, "2468").status_code == 429


def test_a_refused_pin_or_pickup_code_is_announced_as_an_alert(session, pin_desk, kiosk_client):
    wrong = unlock(kiosk_client, "1111")
    assert ('<p id="pin-error" class="alarm" role="alert">That is not this desk&#39;s staff PIN.</p>'
            in wrong.get_data(as_text=True))
    unlock(kiosk_client, "2468", next_url="/kiosk/pickup")
    refused = kiosk_client.post("/kiosk/pickup", data={"code": "1234 5678", "staff": "KL",
                                                       "csrf_token": csrf_token(kiosk_client, "/kiosk/pickup")})
    assert refused.status_code == 422
    assert ('<p id="code-error" class="alarm" role="alert">No item waiting at this desk has that pickup code.</p>'
            in refused.get_data(as_text=True))
    assert 'aria-describedby="code-error"' in refused.get_data(as_text=True)


def test_a_staff_unlock_is_for_this_kiosk_only_and_never_leads_elsewhere(app, session, pin_desk, kiosk_client):
    response = unlock(kiosk_client, "2468", next_url="https://evil.example/")
    assert response.headers["Location"] == "/kiosk/"
    second_screen = pair(app, session, pin_desk, name="Counter 2")
    assert "Staff PIN" in visible(second_screen.get("/kiosk/items"))


def test_desks_without_a_pin_open_the_staff_screens_directly(kiosk_client):
    assert "Waiting to be collected" in visible(kiosk_client.get("/kiosk/items"))


# --- the photo upload limit belongs to paired kiosks --------------------------------------


def _noisy_photo(size=(800, 600)) -> bytes:
    """A photo that compresses about as badly as a real one: well past the app's 64 KB form limit."""
    out = io.BytesIO()
    Image.effect_noise(size, 64).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def test_a_paired_kiosk_sends_a_photo_past_the_app_wide_form_limit(session, kiosk_client, sticker_factory):
    photo = _noisy_photo()
    assert 64 * 1024 < len(photo) < 1024 * 1024
    response = hand_in(kiosk_client, sticker_factory().code, photo=(io.BytesIO(photo), "IMG_0002.jpg", "image/jpeg"))
    assert response.status_code == 303
    assert handed_in.photo_of(session, only_item(session)) is not None


def _browser_without_a_live_device(app, session, desk, cookie: str | None):
    """A browser and a valid CSRF token for it (so that only the body's size can refuse it)."""
    if cookie == "revoked":
        client = pair(app, session, desk)
        token = csrf_token(client, "/kiosk/hand-in")
        desks.revoke_device(session, session.exec(select(KioskDevice)).one())
        session.commit()
        return client, token
    client = browser(app)
    if cookie:
        client.set_cookie("kiosk_device", cookie)
    return client, csrf_token(client, "/auth/login")


@pytest.mark.parametrize("cookie", [None, "forged-token", "revoked"])
def test_a_big_hand_in_without_a_live_device_is_refused_before_its_body_is_read(app, session, desk, cookie):
    client, token = _browser_without_a_live_device(app, session, desk, cookie)
    data = {"category": "keys", "description": "Blue key ring", "storage_place": "Shelf B3", "csrf_token": token,
            "photo": (io.BytesIO(b"\xff" * 1024 * 1024), "big.jpg", "image/jpeg")}
    with client.post("/kiosk/hand-in", data=data) as response:
        read = response.request.input_stream.tell()
        response.request.input_stream.close()  # the test client spooled the big body to a file
    # Refused like any other form past the app's 64 KB, without reading a byte of it.
    assert (response.status_code, read) == (413, 0)
    assert session.exec(select(HandedInItem)).all() == []
