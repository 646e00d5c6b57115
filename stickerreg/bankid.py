"""A small client for the BankID Relying Party API v6 (auth, collect, cancel) and the
animated QR code's payload.

Plain Python on the standard library: JSON POSTs over http.client, mutual TLS through an
ssl.SSLContext holding our RP certificate and trusting BankID's server CA. Plain http is
accepted only for a server on this machine (the fake server the tests run).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import ssl
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

API_PATH = "/rp/v6.0/"
DEFAULT_TIMEOUT = 10.0  # seconds, for connecting and for each read
MAX_RESPONSE_BYTES = 1024 * 1024  # a completed collect with signature and OCSP is ~20 kB
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

PENDING, FAILED, COMPLETE = "pending", "failed", "complete"


class BankIdError(Exception):
    """BankID answered with an error, or could not be reached.

    ``error_code`` is BankID's errorCode (alreadyInProgress, invalidParameters, internalError,
    maintenance, ...) or one of ours: connectionFailed, invalidResponse, httpError.
    ``details`` is for logs only, never for the page.
    """

    def __init__(self, error_code: str, details: str = "", *, status: int | None = None):
        super().__init__(f"{error_code}: {details}" if details else error_code)
        self.error_code = error_code
        self.details = details
        self.status = status


@dataclass(frozen=True)
class Order:
    """What /auth answers: the order's reference and the tokens that start the app."""

    order_ref: str
    auto_start_token: str
    qr_start_token: str
    qr_start_secret: str


@dataclass(frozen=True)
class User:
    """The person a completed order identified."""

    personal_number: str
    name: str
    given_name: str
    surname: str


@dataclass(frozen=True)
class Collect:
    """One collect answer: pending or failed with a hint, or complete with the user."""

    status: str
    hint_code: str | None = None
    user: User | None = None


def qr_data(qr_start_token: str, qr_start_secret: str, seconds: int) -> str:
    """The animated QR code's text for ``seconds`` since the order started:
    bankid.<qrStartToken>.<time>.<HMAC-SHA256(qrStartSecret, time) in hex>."""
    time = str(int(seconds))
    auth_code = hmac.new(qr_start_secret.encode(), time.encode(), hashlib.sha256).hexdigest()
    return f"bankid.{qr_start_token}.{time}.{auth_code}"


def autostart_url(auto_start_token: str) -> str:
    """The link that opens the BankID app on this device; redirect=null keeps the
    browser where it is, which then sees the result by polling."""
    return f"bankid:///?autostarttoken={quote(auto_start_token, safe='')}&redirect=null"


def tls_context(*, cert: str | None, key: str | None, ca: str | None) -> ssl.SSLContext:
    """Mutual TLS: present our RP certificate, trust only ``ca`` (BankID's server CA)
    when given, else the system's trust store."""
    if not cert:
        raise ValueError("BankID over https needs BANKID_CERT (and BANKID_KEY unless the key is in it)")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca or None)
    context.load_cert_chain(cert, key or None)
    return context


class BankIdClient:
    """auth, collect and cancel against one BankID server. Thread-safe: it keeps only
    settings and an SSL context, and opens a connection per call."""

    def __init__(
        self, url: str, *, cert: str | None = None, key: str | None = None, ca: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ):
        parts = urlsplit(url)
        if parts.scheme == "https":
            self._context: ssl.SSLContext | None = tls_context(cert=cert, key=key, ca=ca)
        elif parts.scheme == "http" and parts.hostname in LOCAL_HOSTS:
            self._context = None
        else:
            raise ValueError("BANKID_URL must be https (plain http only for a server on localhost)")
        self._host, self._port = parts.hostname, parts.port
        self._base = parts.path.rstrip("/") + API_PATH
        self._timeout = timeout

    def auth(self, end_user_ip: str) -> Order:
        """Start an identification order for the person at ``end_user_ip``."""
        body = self._post("auth", {"endUserIp": end_user_ip})
        try:
            return Order(
                order_ref=_text(body["orderRef"]),
                auto_start_token=_text(body["autoStartToken"]),
                qr_start_token=_text(body["qrStartToken"]),
                qr_start_secret=_text(body["qrStartSecret"]),
            )
        except (KeyError, TypeError) as error:
            raise BankIdError("invalidResponse", "auth answer lacks a field") from error

    def collect(self, order_ref: str) -> Collect:
        """The order's state now."""
        body = self._post("collect", {"orderRef": order_ref})
        status = body.get("status")
        if status not in (PENDING, FAILED, COMPLETE):
            raise BankIdError("invalidResponse", "collect answer has no known status")
        hint = body.get("hintCode")
        hint = hint if isinstance(hint, str) else None
        return Collect(status=status, hint_code=hint, user=_user(body) if status == COMPLETE else None)

    def cancel(self, order_ref: str) -> None:
        """Cancel an order that is still pending."""
        self._post("cancel", {"orderRef": order_ref})

    def _connect(self) -> http.client.HTTPConnection:
        if self._context is None:
            return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout, context=self._context)

    def _post(self, endpoint: str, payload: dict) -> dict:
        """POST JSON, return the JSON object BankID answered, or raise BankIdError."""
        connection = self._connect()
        try:
            connection.request(
                "POST", self._base + endpoint, body=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
            response = connection.getresponse()
            status, raw = response.status, response.read(MAX_RESPONSE_BYTES + 1)
        except (OSError, http.client.HTTPException) as error:  # timeouts and TLS errors are OSErrors
            raise BankIdError("connectionFailed", type(error).__name__) from error
        finally:
            connection.close()
        return _decode(status, raw)


def _decode(status: int, raw: bytes) -> dict:
    """The answer's JSON object; errors (any non-200) become BankIdError."""
    try:
        body = json.loads(raw) if len(raw) <= MAX_RESPONSE_BYTES else None
    except ValueError:
        body = None
    if status == 200 and isinstance(body, dict):
        return body
    if status == 200:
        raise BankIdError("invalidResponse", "not a JSON object", status=status)
    body = body if isinstance(body, dict) else {}
    code = body.get("errorCode")
    code = code if isinstance(code, str) and code else ("internalError" if status >= 500 else "httpError")
    raise BankIdError(code, str(body.get("details") or f"HTTP {status}"), status=status)


def _user(body: dict) -> User:
    """The user of a complete order; without a personal number the answer is useless."""
    completion = body.get("completionData")
    user = completion.get("user") if isinstance(completion, dict) else None
    if not isinstance(user, dict) or not isinstance(user.get("personalNumber"), str):
        raise BankIdError("invalidResponse", "complete answer without a user")
    try:
        return User(
            personal_number=user["personalNumber"],
            name=_text(user.get("name", "")),
            given_name=_text(user.get("givenName", "")),
            surname=_text(user.get("surname", "")),
        )
    except TypeError as error:
        raise BankIdError("invalidResponse", "a user field is not text") from error


def _text(value) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def conceal(secret: str, *, key: bytes, order_ref: str) -> str:
    """qrStartSecret must never reach the browser, yet the order is kept in the session
    cookie, which is signed but readable. So the secret is XORed with a keystream only
    the server can make (HMAC-SHA256 of our key and the order's unique reference); the
    cookie's signature keeps it from being altered."""
    data = secret.encode()
    return bytes(a ^ b for a, b in zip(data, _keystream(key, order_ref, len(data)), strict=True)).hex()


def reveal(concealed: str, *, key: bytes, order_ref: str) -> str:
    """The secret ``conceal`` hid; ValueError if ``concealed`` is not what it made."""
    data = bytes.fromhex(concealed)
    return bytes(a ^ b for a, b in zip(data, _keystream(key, order_ref, len(data)), strict=True)).decode()


def _keystream(key: bytes, order_ref: str, length: int) -> bytes:
    blocks = (
        hmac.new(key, f"bankid-qr-secret\x00{order_ref}\x00{counter}".encode(), hashlib.sha256).digest()
        for counter in range((length + 31) // 32)
    )
    return b"".join(blocks)[:length]
