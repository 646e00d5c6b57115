"""The BankID RP API v6 client (stickerreg.bankid) against the fake server, the animated
QR code's payload, and the byte-mode QR drawing it needs."""

from __future__ import annotations

import io
import json

import pytest
import resvg_py
import zxingcpp
from fake_bankid import FakeBankId, complete, failed, pending
from helpers import free_port
from PIL import Image

from stickerreg import bankid
from stickerreg.bankid import BankIdClient, BankIdError
from stickerreg.printing import images

# BankID's own worked example (developers.bankid.com, "QR code"), also pinned by
# independent client libraries: the same token and secret give these codes at 0 and 1 s.
EXAMPLE_TOKEN = "67df3917-fa0d-44e5-b327-edcc928297f8"
EXAMPLE_SECRET = "d28db9a7-4cde-429e-a983-359be676944c"
EXAMPLE_AT_0 = "dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8"
EXAMPLE_AT_1 = "949d559bf23403952a94d103e67743126381eda00f0b3cbddbf7c96b1adcbce2"


@pytest.fixture
def fake():
    with FakeBankId() as server:
        yield server


def test_qr_data_matches_bankids_published_example():
    assert bankid.qr_data(EXAMPLE_TOKEN, EXAMPLE_SECRET, 0) == f"bankid.{EXAMPLE_TOKEN}.0.{EXAMPLE_AT_0}"
    assert bankid.qr_data(EXAMPLE_TOKEN, EXAMPLE_SECRET, 1) == f"bankid.{EXAMPLE_TOKEN}.1.{EXAMPLE_AT_1}"


def test_svg_text_scans_back_to_the_lowercase_payload():
    payload = bankid.qr_data(EXAMPLE_TOKEN, EXAMPLE_SECRET, 17)
    drawing = images.text_qr_svg(payload)
    assert drawing.count("<path") == 1 and 'viewBox="0 0 49 49"' in drawing  # version 6 + quiet zone 4
    image = Image.open(io.BytesIO(resvg_py.svg_to_bytes(svg_string=drawing, width=490)))
    (barcode,) = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    assert barcode.text == payload and barcode.ec_level == "L"


def test_svg_text_refuses_empty_text():
    with pytest.raises(ValueError):
        images.text_qr_svg("")


def test_auth_collect_and_cancel_speak_json_to_rp_v6(fake):
    client = BankIdClient(fake.url)
    fake.next_order(pending("started"), failed("userCancel"))
    order = client.auth("192.0.2.7")
    assert fake.calls("auth")[0].body == {"endUserIp": "192.0.2.7"}
    assert fake.calls("auth")[0].headers["Content-Type"] == "application/json"
    assert order.qr_start_secret == fake.orders[order.order_ref].qr_start_secret
    assert client.collect(order.order_ref) == bankid.Collect(status="pending", hint_code="started")
    assert client.collect(order.order_ref) == bankid.Collect(status="failed", hint_code="userCancel")
    client.cancel(order.order_ref)
    assert fake.calls("cancel")[0].body == {"orderRef": order.order_ref}


def test_a_complete_collect_carries_the_user(fake):
    client = BankIdClient(fake.url)
    fake.next_order(complete("198112289874", name="Karl Karlsson"))
    result = client.collect(client.auth("127.0.0.1").order_ref)
    assert result.status == "complete"
    assert result.user == bankid.User("198112289874", "Karl Karlsson", "Karl", "Karlsson")


@pytest.mark.parametrize(
    "status, body, code",
    [
        (400, {"errorCode": "alreadyInProgress", "details": "Order already in progress"}, "alreadyInProgress"),
        (503, {"errorCode": "maintenance", "details": "Down for maintenance"}, "maintenance"),
        (500, "<html>Internal Server Error</html>", "internalError"),
        (404, "", "httpError"),
    ],
)
def test_error_answers_become_bankid_errors(fake, status, body, code):
    fake.fail_next("auth", status, body)
    with pytest.raises(BankIdError) as raised:
        BankIdClient(fake.url).auth("127.0.0.1")
    assert raised.value.error_code == code and raised.value.status == status


def test_an_unknown_order_is_an_error(fake):
    with pytest.raises(BankIdError) as raised:
        BankIdClient(fake.url).collect("no-such-order")
    assert raised.value.error_code == "invalidParameters"


@pytest.mark.parametrize(
    "answer",
    [{"status": "weird"}, {"status": "complete"}, {"status": "complete", "completionData": {"user": {"personalNumber": 1}}}],
)
def test_answers_that_make_no_sense_are_errors(fake, answer):
    client = BankIdClient(fake.url)
    fake.next_order(answer)
    order = client.auth("127.0.0.1")
    with pytest.raises(BankIdError) as raised:
        client.collect(order.order_ref)
    assert raised.value.error_code == "invalidResponse"


def test_an_unreachable_server_is_a_connection_error():
    with pytest.raises(BankIdError) as raised:
        BankIdClient(f"http://127.0.0.1:{free_port()}", timeout=2).auth("127.0.0.1")
    assert raised.value.error_code == "connectionFailed"


@pytest.mark.parametrize("url", ["http://appapi2.test.bankid.com", "ftp://localhost", "appapi2.bankid.com"])
def test_plain_http_only_on_this_machine(url):
    with pytest.raises(ValueError):
        BankIdClient(url)


def test_https_needs_our_client_certificate():
    with pytest.raises(ValueError, match="BANKID_CERT"):
        BankIdClient("https://appapi2.test.bankid.com")


def test_the_autostart_link_opens_the_app_and_stays_in_the_browser():
    assert bankid.autostart_url("46f6aa68-d7d8-4d45-9a74-0f8a7bca1ef4") == (
        "bankid:///?autostarttoken=46f6aa68-d7d8-4d45-9a74-0f8a7bca1ef4&redirect=null"
    )


def test_the_concealed_secret_reveals_only_with_the_key_and_order():
    hidden = bankid.conceal(EXAMPLE_SECRET, key=b"k", order_ref="order-1")
    assert EXAMPLE_SECRET not in hidden and EXAMPLE_SECRET.encode().hex() not in hidden
    assert bankid.reveal(hidden, key=b"k", order_ref="order-1") == EXAMPLE_SECRET
    for key, order_ref in ((b"k", "order-2"), (b"other", "order-1")):
        try:
            assert bankid.reveal(hidden, key=key, order_ref=order_ref) != EXAMPLE_SECRET
        except ValueError:
            pass  # not even text: as good
    assert hidden != bankid.conceal(EXAMPLE_SECRET, key=b"k", order_ref="order-2")
    json.dumps(hidden)  # fits in the session cookie
