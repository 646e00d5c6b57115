"""Handed-in items as a service: hand-in at a desk, the owner's notice and list, pickup
with a code derived from the item, and the photo."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image, ImageFile
from sqlmodel import select

from stickerreg import codes, tokens
from stickerreg.models import (
    DeskCreate,
    HandedInItem,
    HandedInItemCreate,
    HandedInStatus,
    OutboxKind,
    OutboxMessage,
    StickerStatus,
)
from stickerreg.services import desks, handed_in, stickers
from stickerreg.services.handed_in import PhotoError

KEY = b"test-secret-key"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def outbox_rows(session) -> list[OutboxMessage]:
    return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def new_desk(session, name: str = "Hittegods Centralen", hold_days: int = 30):
    desk = desks.create_desk(session, DeskCreate(name=name, address="Centralplan 15, Stockholm",
                                                 opening_hours="Mon-Fri 8-20", hold_days=hold_days))
    _, token = desks.start_pairing(session, desk=desk, name="Counter")
    device, _ = desks.complete_pairing(session, token)
    session.commit()
    return desk, device


@pytest.fixture
def desk_and_device(session):
    return new_desk(session, hold_days=7)


@pytest.fixture
def desk(desk_and_device):
    return desk_and_device[0]


@pytest.fixture
def device(desk_and_device):
    return desk_and_device[1]


def hand_in(session, device, code: str | None = None, *, photo: bytes | None = None, **fields) -> HandedInItem:
    details = HandedInItemCreate(**{"category": "keys", "description": "Blue key ring", "storage_place": "Shelf B3",
                                    **fields})
    item = handed_in.hand_in(session, device=device, sticker_code=code, details=details, photo=photo, key=KEY)
    session.commit()
    return item


def code_of(item: HandedInItem) -> str:
    return handed_in.pickup_code(item.public_id, key=KEY)


def jpeg(size=(40, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, "JPEG", **save)
    return out.getvalue()


# --- hand-in ----------------------------------------------------------------------------


def test_an_item_with_an_active_sticker_is_recorded_and_its_owner_notified(session, device, sticker_factory):
    sticker = sticker_factory()
    item = hand_in(session, device, sticker.code, category="wallet")
    assert (item.sticker_id, item.desk_id, item.handed_in_device_id) == (sticker.id, device.desk_id, device.id)
    assert item.status == HandedInStatus.WAITING and item.category == "wallet" and item.storage_place == "Shelf B3"
    [row] = outbox_rows(session)
    assert row.kind == OutboxKind.HANDED_IN and row.payload == {"item_id": item.id}


def test_the_owner_of_a_deactivated_sticker_is_notified_too(session, device, sticker_factory):
    item = hand_in(session, device, sticker_factory(status=StickerStatus.DEACTIVATED).code)
    [row] = outbox_rows(session)
    assert row.kind == OutboxKind.HANDED_IN and row.payload == {"item_id": item.id}


@pytest.mark.parametrize("case", ["unknown", "unclaimed", "voided", "no_sticker"])
def test_an_item_nobody_can_hear_about_is_recorded_the_same_way_and_notifies_nobody(
        session, device, sticker_factory, case):
    sticker = {"unclaimed": lambda: sticker_factory(activated=False),
               "voided": lambda: sticker_factory(status=StickerStatus.VOIDED)}.get(case, lambda: None)()
    code = sticker.code if sticker else codes.generate() if case == "unknown" else None
    item = hand_in(session, device, code)
    assert item.status == HandedInStatus.WAITING and item.desk_id == device.desk_id
    assert item.sticker_id == (sticker.id if sticker else None)
    assert len(item.reference) == 8 and tokens.is_public_id(item.public_id)
    assert outbox_rows(session) == []


@pytest.mark.parametrize(
    ("name", "contact", "consent", "shares"),
    [(None, None, True, False), ("Eva", None, True, True), (None, "eva@example.se", True, True),
     ("Eva", "eva@example.se", False, False)],
)
def test_the_finder_shares_contact_only_when_they_agreed_and_gave_a_name_or_contact(
        session, device, name, contact, consent, shares):
    item = hand_in(session, device, finder_name=name, finder_contact=contact, finder_shares_contact=consent)
    assert item.finder_shares_contact is shares and (item.finder_name, item.finder_contact) == (name, contact)


def test_a_photo_is_kept_apart_from_its_item(session, device):
    with_photo = hand_in(session, device, photo=jpeg())
    without = hand_in(session, device)
    photo = handed_in.photo_of(session, with_photo)
    assert photo.data == jpeg() and photo.content_type == "image/jpeg"
    assert handed_in.photo_of(session, without) is None


def test_every_item_gets_its_own_reference_and_public_id(session, device):
    items = [hand_in(session, device) for _ in range(3)]
    assert len({item.reference for item in items}) == 3 and len({item.public_id for item in items}) == 3
    assert len({code_of(item) for item in items}) == 3


# --- codes on the receipt ---------------------------------------------------------------


def test_a_pickup_code_is_eight_digits_derived_from_the_item_and_the_key():
    code = handed_in.pickup_code("abcDEF123_-x", key=KEY)
    assert len(code) == 8 and code.isdigit()
    assert handed_in.pickup_code("abcDEF123_-x", key=KEY) == code
    assert handed_in.pickup_code("abcDEF123_-x", key=b"another-key") != code
    assert handed_in.pickup_code("abcDEF123_-y", key=KEY) != code


def test_codes_are_printed_in_groups_of_four():
    assert handed_in.display_pickup_code("12345678") == "1234 5678"
    assert handed_in.display_reference("ABCDEFGH") == "ABCD-EFGH"


# --- pickup -----------------------------------------------------------------------------


def test_the_right_pickup_code_collects_the_item_once_and_erases_the_finder(session, device):
    item = hand_in(session, device, finder_name="Eva", finder_contact="eva@example.se", finder_shares_contact=True)
    typed = handed_in.display_pickup_code(code_of(item))
    collected = handed_in.collect(session, device=device, code=typed, staff=" EK ", key=KEY, now=T0)
    session.commit()
    assert collected.id == item.id and collected.status == HandedInStatus.COLLECTED
    assert (collected.collected_at, collected.collected_by, collected.collected_device_id) == (T0, "EK", device.id)
    assert (collected.finder_name, collected.finder_contact, collected.finder_shares_contact) == (None, None, False)
    assert handed_in.collect(session, device=device, code=typed, staff="EK", key=KEY) is None


@pytest.mark.parametrize("wrong", ["", "1234", "one digit off", "one digit more", "letters"])
def test_a_wrong_or_malformed_pickup_code_collects_nothing(session, device, desk, wrong):
    item = hand_in(session, device)
    right = code_of(item)
    typed = {"one digit off": str((int(right[0]) + 1) % 10) + right[1:], "one digit more": right + "0",
             "letters": "abcdefgh"}.get(wrong, wrong)
    assert handed_in.collect(session, device=device, code=typed, staff="EK", key=KEY) is None
    assert [waiting.id for waiting in handed_in.waiting_at(session, desk)] == [item.id]


def test_another_desks_screen_cannot_collect(session, device, desk):
    item = hand_in(session, device)
    _, elsewhere = new_desk(session, "Biblioteket")
    assert handed_in.collect(session, device=elsewhere, code=code_of(item), staff="EK", key=KEY) is None
    assert [waiting.id for waiting in handed_in.waiting_at(session, desk)] == [item.id]


def test_an_item_is_found_at_its_own_desk_only(session, device, desk):
    item = hand_in(session, device)
    elsewhere, _ = new_desk(session, "Biblioteket")
    assert handed_in.item_at(session, desk, item.public_id).id == item.id
    assert handed_in.item_at(session, elsewhere, item.public_id) is None
    assert handed_in.item_at(session, desk, "a\x00b") is None


# --- the desk's list --------------------------------------------------------------------


@pytest.fixture
def three_items(session, device):
    keys = hand_in(session, device, description="Blue key ring")
    wallet = hand_in(session, device, description="Black leather wallet")
    umbrella = hand_in(session, device, description="Red umbrella")
    return keys, wallet, umbrella


def test_a_waiting_item_is_found_by_its_reference_typed_however(session, desk, three_items):
    wallet = three_items[1]
    for typed in (wallet.reference, handed_in.display_reference(wallet.reference).lower(), f" {wallet.reference[:4]} "):
        assert wallet.id in [item.id for item in handed_in.search_waiting(session, desk, typed)]
    typed = handed_in.display_reference(wallet.reference).lower()
    assert [item.id for item in handed_in.search_waiting(session, desk, typed)] == [wallet.id]


@pytest.mark.parametrize(("query", "found"), [("KEY blue", [0]), ("wallet leather", [1]), ("key wallet", []),
                                               ("  ", [0, 1, 2]), ("", [0, 1, 2])])
def test_waiting_items_are_found_by_every_word_of_their_description(session, desk, three_items, query, found):
    assert [item.id for item in handed_in.search_waiting(session, desk, query)] == [three_items[i].id for i in found]


def test_collected_items_leave_the_desks_list(session, device, desk, three_items):
    keys, wallet, umbrella = three_items
    handed_in.collect(session, device=device, code=code_of(wallet), staff="EK", key=KEY)
    assert [item.id for item in handed_in.waiting_at(session, desk)] == [keys.id, umbrella.id]
    assert handed_in.search_waiting(session, desk, wallet.reference) == []


def test_an_item_is_overdue_after_the_desks_holding_time(session, device, desk):
    item = hand_in(session, device)
    assert desk.hold_days == 7 and handed_in.collect_by(item, desk) == item.created_at + timedelta(days=7)
    assert not handed_in.is_overdue(item, desk, now=item.created_at + timedelta(days=7))
    assert handed_in.is_overdue(item, desk, now=item.created_at + timedelta(days=7, seconds=1))


def test_a_collected_item_is_never_overdue(session, device, desk):
    item = hand_in(session, device)
    handed_in.collect(session, device=device, code=code_of(item), staff="EK", key=KEY)
    assert not handed_in.is_overdue(item, desk, now=item.created_at + timedelta(days=365))


# --- the owner's side -------------------------------------------------------------------


def test_the_owner_lists_items_of_their_stickers_newest_first(session, device, desk, sticker_factory, user_factory):
    owner = user_factory()
    keys = hand_in(session, device, sticker_factory(owner=owner, label="Nycklar").code)
    bag = hand_in(session, device, sticker_factory(owner=owner, label="Väska").code)
    hand_in(session, device, sticker_factory().code)
    hand_in(session, device)
    listed = handed_in.items_for_owner(session, owner)
    assert [(line.item.id, line.desk.id, line.label) for line in listed] == [
        (bag.id, desk.id, "Väska"), (keys.id, desk.id, "Nycklar")]


def test_unseen_waiting_items_are_counted_until_the_owner_opens_them(session, device, sticker_factory, user_factory):
    owner = user_factory()
    sticker = sticker_factory(owner=owner)
    first, second, collected = (hand_in(session, device, sticker.code) for _ in range(3))
    handed_in.collect(session, device=device, code=code_of(collected), staff="EK", key=KEY)
    assert handed_in.unseen_count(session, owner) == 2
    handed_in.mark_seen(session, first)
    seen_at = first.owner_seen_at
    handed_in.mark_seen(session, first)
    assert seen_at is not None and first.owner_seen_at == seen_at
    assert handed_in.unseen_count(session, owner) == 1 and handed_in.unseen_count(session, user_factory()) == 0


def test_a_sticker_claimed_later_announces_the_items_waiting_for_it(session, device, sticker_factory, user_factory):
    sticker = sticker_factory(activated=False)
    waiting = [hand_in(session, device, sticker.code) for _ in range(2)]
    collected = hand_in(session, device, sticker.code)
    handed_in.collect(session, device=device, code=code_of(collected), staff="EK", key=KEY)
    assert outbox_rows(session) == []
    stickers.activate_for(session, sticker, user_factory())
    assert handed_in.announce_waiting(session, sticker) == 2
    rows = outbox_rows(session)
    assert [row.kind for row in rows] == [OutboxKind.HANDED_IN] * 2
    assert sorted(row.payload["item_id"] for row in rows) == sorted(item.id for item in waiting)


# --- the photo --------------------------------------------------------------------------


def test_a_prepared_photo_has_no_exif_and_stands_upright():
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to stand upright
    raw = jpeg((40, 30), exif=exif)
    with Image.open(io.BytesIO(raw)) as original:
        assert original.getexif()[0x010F] == "PhoneMaker"
    with Image.open(io.BytesIO(handed_in.prepare_photo(raw))) as prepared:
        assert prepared.format == "JPEG" and prepared.size == (30, 40)
        assert dict(prepared.getexif()) == {} and "exif" not in prepared.info


def test_a_prepared_photo_keeps_no_comment_either():
    raw = jpeg(comment=b"taken at 59.3293N 18.0686E")
    with Image.open(io.BytesIO(handed_in.prepare_photo(raw))) as prepared:
        assert "comment" not in prepared.info


def test_a_large_photo_is_shrunk_to_1280_pixels_on_its_longest_side():
    out = io.BytesIO()
    Image.new("RGB", (2560, 1600), "blue").save(out, "PNG")
    with Image.open(io.BytesIO(handed_in.prepare_photo(out.getvalue()))) as prepared:
        assert prepared.format == "JPEG" and prepared.size == (1280, 800)


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\xff\xd8\xff\xe0 broken jpeg", b"%PDF-1.7\n"])
def test_what_is_not_an_image_is_refused(data):
    with pytest.raises(PhotoError):
        handed_in.prepare_photo(data)


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    out = io.BytesIO()
    Image.new("1", (7000, 6000)).save(out, "PNG")
    with pytest.raises(PhotoError, match="too large"):
        handed_in.prepare_photo(out.getvalue())


@pytest.fixture
def decoded_sizes(monkeypatch):
    """The size each image has when its pixels are decoded (after any reduced-size draft)."""
    sizes = []
    load = ImageFile.ImageFile.load

    def spy(image):
        if image.tile:  # pixels still to decode: load() is about to run the decoder
            sizes.append(image.size)
        return load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return sizes


def test_a_big_camera_photo_is_decoded_at_a_fraction_of_its_size(decoded_sizes):
    prepared = handed_in.prepare_photo(jpeg((8000, 5000)))  # 40 MP, the most a photo may have
    # The JPEG decoder scaled down while decoding: 40 MP never sat in memory.
    assert decoded_sizes and all(max(size) <= 2 * handed_in.PHOTO_MAX_SIDE for size in decoded_sizes)
    with Image.open(io.BytesIO(prepared)) as image:
        assert image.format == "JPEG" and image.size == (1280, 800)


def test_a_panorama_is_decoded_small_too(decoded_sizes):
    prepared = handed_in.prepare_photo(jpeg((16000, 2000)))  # long and thin: a square target would not shrink it
    assert decoded_sizes and all(max(size) <= 2 * handed_in.PHOTO_MAX_SIDE for size in decoded_sizes)
    with Image.open(io.BytesIO(prepared)) as image:
        assert image.size == (1280, 160)


def test_a_big_image_that_cannot_be_decoded_small_is_refused_before_decoding(decoded_sizes):
    out = io.BytesIO()
    Image.new("1", (5000, 4000)).save(out, "PNG")  # 20 MP: under the 40 MP cap for JPEGs
    with pytest.raises(PhotoError, match="too large"):
        handed_in.prepare_photo(out.getvalue())
    assert decoded_sizes == []


def test_a_big_rotated_photo_stands_upright_after_a_reduced_size_decode(decoded_sizes):
    image = Image.new("RGB", (4000, 3000), "red")
    image.paste("blue", (2000, 0, 4000, 3000))  # left half red, right half blue, as the sensor saw it
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn 90° clockwise to stand upright
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    prepared = handed_in.prepare_photo(out.getvalue())
    assert decoded_sizes and all(max(size) <= 2 * handed_in.PHOTO_MAX_SIDE for size in decoded_sizes)
    with Image.open(io.BytesIO(prepared)) as image:
        assert image.size == (960, 1280) and dict(image.getexif()) == {}
        top, bottom = image.getpixel((480, 100)), image.getpixel((480, 1180))
    assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]  # red on top, blue below
