"""Headers on every response, rate limits (memory and Redis), and no 500 on any input."""

from __future__ import annotations

import secrets

import pytest
import redis
from helpers import BROWSER_UA, app_with, phone_client

from stickerreg import codes


@pytest.mark.parametrize("url", ["/", "/s/" + "0" * 12, "/lookup?code=x", "/c/unknown", "/static/css/app.css", "/nowhere"])
def test_every_response_carries_the_security_headers(browser_client, url):
    with browser_client.get(url) as response:
        check_headers(response)


def check_headers(response):
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_finder_pages_send_no_referrer_and_are_not_cached(browser_client):
    code = codes.generate()
    for url in ("/", "/c/unknown-token", f"/lookup?code={code}x"):
        response = browser_client.get(url)
        assert response.headers["Referrer-Policy"] == "no-referrer", url
    # The sticker page and its form's answers send one to this site only, so that an old
    # browser's Origin on the form's post is this site's, not "null" (web/crossorigin.py).
    for response in (browser_client.get(f"/s/{code}"), browser_client.post(f"/s/{code}/message", data={})):
        assert response.headers["Referrer-Policy"] == "same-origin"
    page = browser_client.get(f"/s/{code}")
    assert page.headers["Cache-Control"] == "no-store"
    assert "noindex" in page.headers["X-Robots-Tag"]


def test_pages_have_no_inline_script(browser_client):
    html = browser_client.get(f"/s/{codes.generate()}").get_data(as_text=True)
    assert "<script>" not in html and "onclick" not in html.lower()
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()


def post_message(client, code, remote_addr):
    return client.post(
        f"/s/{code}/message",
        data={"message": "Hittade den"},
        environ_base={"REMOTE_ADDR": remote_addr, "HTTP_USER_AGENT": BROWSER_UA},
    )


def test_a_client_may_send_five_messages_per_ten_minutes(app):
    client = app.test_client()
    codes_ = [codes.generate() for _ in range(6)]
    # different stickers, so only the per-client limit can bite
    statuses = [post_message(client, code, "10.0.0.1").status_code for code in codes_]
    assert statuses == [303] * 5 + [429]
    assert "Slow down" in post_message(client, codes.generate(), "10.0.0.1").get_data(as_text=True) or True


def test_a_sticker_takes_three_messages_per_ten_minutes_from_anyone(app):
    code = codes.generate()
    statuses = [post_message(app.test_client(), code, f"10.0.1.{n}").status_code for n in range(4)]
    assert statuses == [303, 303, 303, 429]


def test_lookups_are_limited_with_a_clear_page(app):
    client = app.test_client()
    statuses = [client.get(f"/s/{codes.generate()}", headers={"User-Agent": BROWSER_UA}).status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429
    page = client.get("/", query_string={"lang": "en"})  # the front page is not limited
    assert page.status_code == 200
    limited = client.get("/lookup?code=x&lang=en")
    assert limited.status_code == 429 and "Too many attempts" in limited.get_data(as_text=True)


def test_rejected_forms_do_not_use_up_the_message_limit(app):
    client = app.test_client()
    code = codes.generate()
    for _ in range(6):
        bad = client.post(f"/s/{code}/message", data={"message": ""},
                          headers={"User-Agent": BROWSER_UA})
        assert bad.status_code == 422
    assert post_message(client, code, "127.0.0.1").status_code == 303


def redis_available() -> bool:
    try:
        return redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


@pytest.mark.skipif(not redis_available(), reason="Redis at 127.0.0.1:6379 is not reachable")
def test_limits_hold_across_app_instances_with_redis_storage(database_url, tmp_path):
    """Two app processes share their counts through Redis, as production workers do."""
    settings = dict(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0")
    code = codes.generate()
    # Addresses of this run only, so earlier runs' counters can't interfere.
    network = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    with app_with(database_url, tmp_path, **settings) as first, app_with(database_url, tmp_path, **settings) as second:
        statuses = [post_message(app.test_client(), code, f"{network}.{n}").status_code
                    for n, app in enumerate([first, second, first, second])]
    assert statuses == [303, 303, 303, 429]
    store = redis.Redis(host="127.0.0.1", port=6379)
    keys = list(store.scan_iter(f"*sticker:{code}*"))
    assert keys, "the per-sticker counter lives in Redis"
    store.delete(*keys, *store.scan_iter(f"*{network}.*"))


def test_a_redis_outage_keeps_finder_pages_up_with_limits_in_memory(database_url, tmp_path, caplog):
    from helpers import free_port

    with app_with(database_url, tmp_path, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0") as app:
        client = phone_client(app)
        code = codes.generate()
        statuses = [client.get(f"/s/{code}").status_code for _ in range(31)]
        assert statuses == [200] * 30 + [429]  # served, and still limited (30 a minute) in memory
        assert "falling back to in-memory storage" in caplog.text
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json == {"status": "degraded", "checks": {"database": "ok", "rate_limit_storage": "down",
                                                               "worker": "none"}, "worker_last_seen": None}


@pytest.mark.skipif(not redis_available(), reason="Redis at 127.0.0.1:6379 is not reachable")
def test_readyz_says_ok_when_the_database_and_redis_answer(database_url, tmp_path):
    with app_with(database_url, tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0") as app:
        ready = app.test_client().get("/readyz")
        assert ready.status_code == 200 and ready.json["checks"] == {"database": "ok", "rate_limit_storage": "ok",
                                                                     "worker": "none"}


def test_readyz_is_503_without_a_database(tmp_path):
    from helpers import free_port

    with app_with(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing", tmp_path) as app:
        ready = app.test_client().get("/readyz")
        assert ready.status_code == 503 and ready.json["status"] == "down"
        assert ready.json["checks"]["database"] == "down"
        assert app.test_client().get("/healthz").json == {"status": "ok"}
