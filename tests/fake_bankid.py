"""A stand-in for BankID's Relying Party API v6 (/auth, /collect, /cancel) on a free local
port, plain http, with scripted answers. Tests say what the next order's collects answer,
or that the next call to an endpoint fails, and read back what the app sent.

    with FakeBankId() as fake:
        fake.next_order(pending("outstandingTransaction"), complete("198112289874"))
        ...  # the app starts an order and polls
        assert fake.requests[0].body["endUserIp"] == "127.0.0.1"
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from helpers import free_port

API = "/rp/v6.0/"


def pending(hint: str = "outstandingTransaction") -> dict:
    return {"status": "pending", "hintCode": hint}


def failed(hint: str) -> dict:
    return {"status": "failed", "hintCode": hint}


def complete(personal_number: str, name: str = "Karl Karlsson") -> dict:
    given, surname = name.split(" ", 1)
    return {
        "status": "complete",
        "completionData": {
            "user": {"personalNumber": personal_number, "name": name, "givenName": given, "surname": surname},
            "device": {"ipAddress": "127.0.0.1", "uhi": "OZvYM9VvyiAmG7NA5jU5zC"},
            "bankIdIssueDate": "2020-02-01",
            "signature": "PD94bWwgdmVyc2lvbj0iMS4wIj8+",
            "ocspResponse": "MIIHfgoBAKCCB3cwggdzBgkrBgEFBQcwAQEEggdk",
        },
    }


@dataclass
class Recorded:
    """One request the app sent."""

    path: str
    body: dict
    headers: dict


@dataclass
class Order:
    """An order the fake handed out, with the collect answers still to give."""

    order_ref: str
    auto_start_token: str
    qr_start_token: str
    qr_start_secret: str
    collects: deque = field(default_factory=deque)


class FakeBankId:
    """The fake server; use it as a context manager (it runs in a daemon thread)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[Recorded] = []
        self.orders: dict[str, Order] = {}
        self._scripts: deque[list[dict]] = deque()
        self._failures: dict[str, deque[tuple[int, bytes]]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeBankId:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- scripting --------------------------------------------------------------

    def next_order(self, *collects: dict) -> None:
        """The collect answers of the next order, in turn; the last one repeats.
        Unscripted orders stay pending (outstandingTransaction)."""
        self._scripts.append(list(collects))

    def fail_next(self, endpoint: str, status: int, body: dict | str) -> None:
        """The next call to ``endpoint`` ("auth", "collect", "cancel") answers this error;
        a str body is sent as it is (e.g. an HTML error page)."""
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self._failures.setdefault(endpoint, deque()).append((status, raw))

    def calls(self, endpoint: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == API + endpoint]

    # --- answering --------------------------------------------------------------

    def answer(self, path: str, body: dict) -> tuple[int, dict | bytes]:
        """The status and JSON (or raw bytes) for one request."""
        endpoint = path.removeprefix(API)
        with self._lock:
            failures = self._failures.get(endpoint)
            if failures:
                return failures.popleft()
            if endpoint == "auth":
                return self._auth(body)
            if endpoint in ("collect", "cancel"):
                order = self.orders.get(body.get("orderRef"))
                if order is None:
                    return 400, {"errorCode": "invalidParameters", "details": "No such order"}
                return 200, self._collect(order) if endpoint == "collect" else {}
        return 404, {"errorCode": "notFound", "details": "No such endpoint"}

    def _auth(self, body: dict) -> tuple[int, dict]:
        if not body.get("endUserIp"):
            return 400, {"errorCode": "invalidParameters", "details": "endUserIp missing"}
        order = Order(*(str(uuid.uuid4()) for _ in range(4)))
        order.collects.extend(self._scripts.popleft() if self._scripts else [pending()])
        self.orders[order.order_ref] = order
        return 200, {
            "orderRef": order.order_ref,
            "autoStartToken": order.auto_start_token,
            "qrStartToken": order.qr_start_token,
            "qrStartSecret": order.qr_start_secret,
        }

    def _collect(self, order: Order) -> dict:
        answer = order.collects.popleft() if len(order.collects) > 1 else order.collects[0]
        return {"orderRef": order.order_ref, **answer}


def _handler_for(fake: FakeBankId) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = {}
            fake.requests.append(Recorded(self.path, body, dict(self.headers)))
            if self.headers.get("Content-Type") != "application/json":
                status, answer = 415, {"errorCode": "unsupportedMediaType", "details": "JSON only"}
            else:
                status, answer = fake.answer(self.path, body)
            raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args) -> None:  # quiet test output
            pass

    return Handler
