"""Does a password-reset request take longer for a registered email than for an unknown one?

Run: ``python bench/bench_reset_timing.py --requests 1000``. Sends interleaved
``POST /auth/reset`` requests (known, unknown, known, ...) through the app in this process
(test client, SQLite file, rate limits off, CSRF on as in production) and prints the
median time of each kind and their difference. An attacker who can tell the two apart
learns who has an account; the target is a difference within the noise (|Δ median| ≤
0.25 ms, and ≤ 5 % of the median). The regression test compares the work done instead
(tests/web/test_auth.py), which a busy machine cannot blur.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import sqlalchemy as sa  # noqa: E402
from helpers import BROWSER_UA, make_test_app  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402
from targets import verdict  # noqa: E402

import stickerreg.models  # noqa: E402,F401
from stickerreg.services import accounts  # noqa: E402

KNOWN = "registered.owner@example.se"
UNKNOWN = "nobody.here@example.se"
TARGET_MS = 0.25
TARGET_SHARE = 0.05


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests of each kind (default 1000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        engine = sa.create_engine(url)
        SQLModel.metadata.create_all(engine)
        with Session(engine) as session:
            accounts.create_user(session, email=KNOWN, password="a long enough password")
            session.commit()
        engine.dispose()
        app = make_test_app(url, Path(folder), RATELIMIT_ENABLED=False)
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/auth/reset").get_data(as_text=True))[1]
        times: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
        for _ in range(20):  # warm up both paths
            for email in (KNOWN, UNKNOWN):
                client.post("/auth/reset", data={"email": email, "csrf_token": token})
        for _ in range(args.requests):
            for email in (KNOWN, UNKNOWN):
                started = time.perf_counter()
                response = client.post("/auth/reset", data={"email": email, "csrf_token": token})
                times[email].append(time.perf_counter() - started)
                assert response.status_code == 200, response.status_code
        app.extensions["db_engine"].dispose()
    known, unknown = (statistics.median(times[email]) * 1000 for email in (KNOWN, UNKNOWN))
    difference = known - unknown
    print(f"POST /auth/reset, {args.requests} interleaved requests of each kind")
    print(f"  known email    median {known:7.3f} ms")
    print(f"  unknown email  median {unknown:7.3f} ms")
    print(f"  difference            {difference:+7.3f} ms ({difference / unknown:+.1%})")
    slower = abs(difference) > max(TARGET_MS, TARGET_SHARE * unknown)
    return verdict([f"the medians differ by {difference:+.3f} ms"] if slower else [])


if __name__ == "__main__":
    sys.exit(main())
