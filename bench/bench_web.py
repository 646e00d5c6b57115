"""The finder's web path under load, against bare Flask endpoints measured in the same run.

Run: ``python bench/bench_web.py`` (``make bench-web`` does). For each database (a fresh
SQLite file; PostgreSQL in a schema of its own, dropped after) it starts, on loopback:

- **the app**: ``gunicorn 'stickerreg:create_app()'``, 2 sync workers, configured only through
  the environment as an operator would: rate limits ON, the finder's limits raised so eight
  clients on one address are not refused (``RATELIMIT_FINDER_*``);
- **the baseline**: a bare Flask app in gunicorn with the same settings: ``GET /page`` answers
  the bytes of a real sticker page, ``POST /insert`` inserts one row and redirects (303).

Then 8 closed-loop clients (threads, ``http.client``) drive each side in turn for
``--seconds`` a round, alternating, ``--rounds`` times (a busy machine slows both alike):

- ``GET /s/<code>`` for a mix of active, lost-mode, unclaimed and unknown codes, each request as
  a new visitor (no cookies), against ``GET /page``;
- finder messages: each client opens a sticker page once (cookies, CSRF token), then POSTs the
  real form with a unique message and that page's cookie, as a browser does (Origin,
  Sec-Fetch-Site; it follows each 303, which clears the "sent" notice again), against
  ``POST /insert``. Afterwards the database is read back: every message answered 303 is stored
  exactly once, with its owner notification for active stickers (0 lost, 0 duplicated), and no
  request got a 5xx.

Printed: req/s, p50/p99 latency and the CPU the server's workers spent per request, and the
ratios app / baseline. Targets: sticker page ≥ 0.6 × bare page with p99 < 50 ms; messages ≥
0.3 × bare insert; 0 lost, 0 duplicated, 0 5xx. Exits 1 with ``MISSED: ...`` for each one
missed. ``--before DIR`` also serves the app of another checkout (the code before a change) in
the same rounds, so both are measured under the same load (its own limits must allow the load;
its messages are read back too); ``--root DIR`` measures another checkout instead of this one;
``--floor`` adds the app's ``/healthz``, what its hooks and extensions cost before any view;
``--json FILE`` keeps the figures.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from targets import verdict

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-web-secret-key-not-for-production"
BROWSER_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
TARGET_PAGE = 0.6
TARGET_PAGE_P99_MS = 50.0
TARGET_MESSAGE = 0.3
RAISED = "1000000 per minute"
# Rate limits stay on; only the finder's are raised, so 8 clients on 127.0.0.1 are not refused.
LIMITS = {
    "RATELIMIT_ENABLED": "true",
    "RATELIMIT_FINDER_LOOKUP": RAISED,
    "RATELIMIT_FINDER_MESSAGE": RAISED,
    "RATELIMIT_FINDER_MESSAGE_PER_STICKER": RAISED,
}
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# --- the baseline: bare Flask in the same gunicorn ---------------------------------------


def bare_app():
    """GET /page: the bytes of a real sticker page; POST /insert: one row, then 303."""
    import sqlalchemy as sa
    from flask import Flask, Response, redirect, request

    page = Path(os.environ["BENCH_PAGE_FILE"]).read_bytes()
    engine = _bare_engine(os.environ["BENCH_DATABASE_URL"])
    rows = sa.table("bench_rows", sa.column("body"))
    app = Flask(__name__)

    @app.get("/page")
    def page_view():
        return Response(page, mimetype="text/html")

    @app.post("/insert")
    def insert():
        with engine.begin() as connection:
            connection.execute(sa.insert(rows).values(body=request.form["message"]))
        return redirect("/page", 303)

    return app


def _bare_engine(url: str):
    """The engine as the app makes it (WAL and a busy timeout on SQLite), nothing more."""
    import sqlalchemy as sa

    if not url.startswith("sqlite"):
        return sa.create_engine(url)
    engine = sa.create_engine(url, connect_args={"timeout": 15})

    @sa.event.listens_for(engine, "connect")
    def pragmas(connection, _record):
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA busy_timeout=15000")

    return engine


# --- the database: schema and stickers, by the checkout under test -----------------------


def prepare(root: str, url: str) -> dict:
    """Build the schema and seed stickers with the code of `root` (run in a child process)."""
    sys.path.insert(0, root)
    import sqlalchemy as sa
    from sqlmodel import Session, SQLModel

    import stickerreg.models  # noqa: F401  (registers the tables)
    from stickerreg import codes, passwords
    from stickerreg.db import make_engine
    from stickerreg.services import accounts, stickers

    passwords.configure(passwords.TESTING)  # one seeded owner; nobody signs in
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE bench_rows (id SERIAL PRIMARY KEY, body TEXT NOT NULL)"
                                   if engine.dialect.name == "postgresql" else
                                   "CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    with Session(engine) as session:
        owner = accounts.create_user(session, email="bench.owner@example.se", password=None)
        minted = stickers.mint(session, count=40)
        for number, sticker in enumerate(minted[:30]):
            stickers.activate_for(session, sticker, owner, label=f"Sak {number}")
            if number < 10:  # lost mode, scan alerts on: its page shows a note and may queue an alert
                sticker.lost_mode, sticker.reward_text, sticker.public_note = True, "200 kr", "Ring gärna!"
            session.add(sticker)
        session.commit()
        found = {"active": [s.code for s in minted[10:30]], "lost": [s.code for s in minted[:10]],
                 "unclaimed": [s.code for s in minted[30:]], "unknown": [codes.generate() for _ in range(10)]}
    engine.dispose()
    return found


def _prepare_in(root: Path, url: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--prepare", url, "--root", str(root)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- servers ------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int

    def worker_cpu(self) -> float:
        """CPU seconds (user + system) the master's worker processes have used so far."""
        total = 0.0
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        for pid in children.read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(name: str, spec: str, *, chdir: Path, env: dict, log: Path, ready_path: str) -> Server:
    """gunicorn with 2 sync workers on a free loopback port, once it answers `ready_path`."""
    port = _free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "sync",
               "--chdir", str(chdir), "--pythonpath", str(chdir), "--error-logfile", str(log), spec]
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    server = Server(name, process, port)
    deadline = time.monotonic() + 60
    while True:
        try:
            status, _, _ = Browser(port).request("GET", ready_path)
            if status < 500:
                return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise SystemExit(f"{name} did not start; see {log}:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


# --- clients ------------------------------------------------------------------------------


class Browser:
    """One visitor: a keep-alive connection (reopened when the server closes it) and cookies.
    tests/scale uses it too, with `headers` added to each request (an X-Forwarded-For)."""

    def __init__(self, port: int, *, keep_cookies: bool = True):
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.keep_cookies = keep_cookies

    def request(self, method: str, path: str, form: dict | None = None, *,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        headers = {"User-Agent": BROWSER_UA, "Accept-Language": "sv-SE,sv;q=0.9", **(headers or {})}
        body = None
        if form is not None:
            body = urlencode(form)
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin,
                            "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        if self.keep_cookies:
            for line in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(line).items():
                    self.cookies[name] = morsel.value
        if response.headers.get("Connection", "").lower() == "close":
            self.connection.close()
        return response.status, dict(response.headers), data


@dataclass
class Run:
    """What one side did in one round: per request (finished at, seconds taken, status)."""

    name: str
    samples: list[tuple[float, float, int]] = field(default_factory=list)
    errors: int = 0
    cpu_seconds: float = 0.0
    seconds: float = 0.0


def drive(server: Server, name: str, scenario, *, clients: int, seconds: float, warmup: float) -> Run:
    """`clients` closed-loop threads, each calling scenario(index) for a client and then its
    step() until the time is up; only requests finishing after the warm-up are counted."""
    run = Run(name)
    lock = threading.Lock()
    begin = time.monotonic() + 0.2
    counted_from, stop_at = begin + warmup, begin + warmup + seconds

    def client(index: int) -> None:
        step = scenario(index)
        mine: list[tuple[float, float, int]] = []
        errors = 0
        time.sleep(max(0.0, begin - time.monotonic()))
        while (now := time.monotonic()) < stop_at:
            try:
                status = step()
            except (OSError, http.client.HTTPException):
                status, errors = 0, errors + (now >= counted_from)
            finished = time.monotonic()
            if finished >= counted_from and finished <= stop_at:
                mine.append((finished, finished - now, status))
        with lock:
            run.samples += mine
            run.errors += errors

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, counted_from - time.monotonic()))
    cpu_before = server.worker_cpu()
    for thread in threads:
        thread.join()
    run.cpu_seconds = server.worker_cpu() - cpu_before
    run.seconds = seconds
    return run


def page_scenario(port: int, paths: list[str]):
    def make(index: int):
        visitor = Browser(port, keep_cookies=False)  # a new finder every time
        turn = iter(range(index, 10**9, 7))

        def step() -> int:
            status, _, _ = visitor.request("GET", paths[next(turn) % len(paths)])
            return status

        return step

    return make


def message_scenario(port: int, codes: list[str], label: str, accepted: dict, unconfirmed: set, lock):
    """Each client: open a sticker page once, then post messages to rotating codes."""

    numbers: dict[int, itertools.count] = {}

    def make(index: int):
        finder = Browser(port)
        _, _, page = finder.request("GET", f"/s/{codes[index % len(codes)]}")
        found = _TOKEN.search(page.decode())
        token = found.group(1) if found else None  # a --before checkout whose form still takes one
        # Every post carries only the cookie the page set (none since the form takes no token),
        # as a browser does: it follows each 303 to the conversation page, which takes the
        # "sent" notices out of the session again. Keeping the posts' own cookies without that
        # visit would pile up notices the app then signs and reads on every later post.
        finder.keep_cookies = False
        sequence = numbers.setdefault(index, itertools.count())  # one series per client over all rounds

        def step() -> int:
            number = next(sequence)
            code = codes[(index + number * 3) % len(codes)]
            body = f"bench-{label}-{index}-{number} Hittade dina nycklar vid busshållplatsen."
            form = {"message": body, "found_where": "Centralstationen"}
            if number % 2:
                form["email"] = f"finder{index}@example.org"
            if token:
                form["csrf_token"] = token
            try:
                status, _, _ = finder.request("POST", f"/s/{code}/message", form)
            except (OSError, http.client.HTTPException):
                with lock:
                    unconfirmed.add(body)
                raise
            if status == 303:
                with lock:
                    accepted[body] = code
            return status

        return step

    return make


def insert_scenario(port: int, label: str):
    numbers: dict[int, itertools.count] = {}

    def make(index: int):
        client = Browser(port)
        sequence = numbers.setdefault(index, itertools.count())

        def step() -> int:
            body = f"bench-{label}-{index}-{next(sequence)} Hittade dina nycklar vid busshållplatsen."
            status, _, _ = client.request("POST", "/insert", {"message": body, "found_where": "Centralstationen"})
            return status

        return step

    return make


# --- figures --------------------------------------------------------------------------------


@dataclass
class Figures:
    rate: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    requests: int
    statuses: dict
    errors: int


def summarise(runs: list[Run]) -> Figures:
    samples = [sample for run in runs for sample in run.samples]
    seconds = sum(run.seconds for run in runs)
    latencies = sorted(taken for _, taken, _ in samples) or [0.0]
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    statuses = Counter(status for _, _, status in samples)
    return Figures(rate=len(samples) / seconds, p50_ms=quantiles[49] * 1000, p99_ms=quantiles[98] * 1000,
                   cpu_ms=1000 * sum(run.cpu_seconds for run in runs) / max(1, len(samples)),
                   requests=len(samples), statuses=dict(sorted(statuses.items())),
                   errors=sum(run.errors for run in runs))


def show(name: str, figures: Figures) -> None:
    print(f"  {name:<14} {figures.rate:8.0f} req/s  p50 {figures.p50_ms:6.1f} ms  p99 {figures.p99_ms:6.1f} ms"
          f"  {figures.cpu_ms:5.2f} ms CPU/request  statuses {figures.statuses}"
          + (f"  connection errors {figures.errors}" if figures.errors else ""))


def alternate(rounds: int, sides: list[tuple]) -> dict[str, Figures]:
    """Each side once per round, in turn; their figures over all rounds."""
    runs: dict[str, list[Run]] = {name: [] for name, *_ in sides}
    for _ in range(rounds):
        for name, server, scenario, options in sides:
            runs[name].append(drive(server, name, scenario, **options))
    return {name: summarise(side) for name, side in runs.items()}


# --- one database ---------------------------------------------------------------------------


def bench_database(kind: str, url: str, folder: Path, args) -> tuple[dict, list[str]]:
    root = Path(args.root).resolve()
    found = _prepare_in(root, url)
    env = {"SECRET_KEY": SECRET, "DATABASE_URL": url, "STICKERREG_INSTANCE": str(folder / "instance"),
           "RATELIMIT_STORAGE_URI": args.ratelimit_storage, **LIMITS}
    servers: list[Server] = []
    try:
        app = start("app", "stickerreg:create_app()", chdir=root, env=env, log=folder / f"app-{kind}.log",
                    ready_path="/healthz")
        servers.append(app)
        paths = [f"/s/{code}" for group in ("active", "lost", "unclaimed", "unknown") for code in found[group]]
        status, _, page = Browser(app.port).request("GET", paths[0])
        assert status == 200, status
        (folder / "page.html").write_bytes(page)
        bare = start("bare", "bench_web:bare_app()", chdir=BENCH_DIR, log=folder / f"bare-{kind}.log",
                     env={"BENCH_PAGE_FILE": str(folder / "page.html"), "BENCH_DATABASE_URL": url}, ready_path="/page")
        servers.append(bare)
        earlier = None
        if args.before:  # the same app from another checkout, in the same rounds (its own limits must allow the load)
            earlier = start("app before", "stickerreg:create_app()", chdir=Path(args.before).resolve(), env=env,
                            log=folder / f"before-{kind}.log", ready_path="/healthz")
            servers.append(earlier)
        options = dict(clients=args.clients, seconds=args.seconds, warmup=args.warmup)
        results: dict = {"kind": kind, "page_bytes": len(page)}
        missed: list[str] = []
        if "pages" not in args.skip:
            sides = [("bare page", bare, page_scenario(bare.port, ["/page"]), options),
                     ("/s/<code>", app, page_scenario(app.port, paths), options)]
            if earlier:
                sides.append(("/s/<code> before", earlier, page_scenario(earlier.port, paths), options))
            if args.floor:  # the app's cost per request before any view work: its hooks and extensions
                sides.append(("/healthz", app, page_scenario(app.port, ["/healthz"]), options))
            figures = alternate(args.rounds, sides)
            missed += report_pages(kind, len(page), figures, args)
            results["pages"] = {name: vars(value) for name, value in figures.items()}
        if "messages" not in args.skip:
            figures, checked = messages(kind, url, app, bare, found, options, args, earlier)
            missed += report_messages(kind, figures, checked)
            results["messages"] = {name: vars(value) for name, value in figures.items()} | {"check": checked}
        return results, missed
    finally:
        for server in servers:
            server.stop()


def messages(kind: str, url: str, app: Server, bare: Server, found: dict, options: dict, args,
             earlier: Server | None = None):
    codes = found["active"] + found["unclaimed"] + found["unknown"]
    accepted: dict[str, str] = {}
    unconfirmed: set[str] = set()
    lock = threading.Lock()
    sides = [("bare insert", bare, insert_scenario(bare.port, kind), options),
             ("messages", app, message_scenario(app.port, codes, kind, accepted, unconfirmed, lock), options)]
    if earlier:  # its messages are read back with the others: none lost or doubled either
        sides.append(("messages before", earlier,
                      message_scenario(earlier.port, codes, f"{kind}-before", accepted, unconfirmed, lock), options))
    figures = alternate(args.rounds, sides)
    return figures, read_back(url, accepted, unconfirmed, set(found["active"]))


def read_back(url: str, accepted: dict[str, str], unconfirmed: set[str], active: set[str]) -> dict:
    """Every message answered 303 is stored once, with its notification if the sticker is active."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        stored = Counter(dict(connection.execute(sa.text(
            "SELECT body, COUNT(*) FROM messages WHERE body LIKE 'bench-%' GROUP BY body")).all()))
        notified = connection.execute(sa.text("SELECT COUNT(*) FROM outbox WHERE kind = 'finder_message'")).scalar()
        open_messages = connection.execute(sa.text(
            "SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE c.status = 'open' AND m.body LIKE 'bench-%'")).scalar()
    engine.dispose()
    return {
        "accepted": len(accepted),
        "lost": sum(1 for body in accepted if body not in stored),
        "duplicated": sum(1 for count in stored.values() if count > 1),
        "stored_without_303": sum(1 for body in stored if body not in accepted and body not in unconfirmed),
        "to_active_stickers": sum(1 for code in accepted.values() if code in active),
        "open_messages": open_messages,
        "owner_notifications": notified,
    }


def show_against(figures: dict[str, Figures], bare_name: str, name: str, target: str) -> float:
    """Print the bare side, ours and their ratio (and the other checkout's, when measured);
    the ratio."""
    bare, ours = figures[bare_name], figures[name]
    show(bare_name, bare)
    show(name, ours)
    ratio = ours.rate / bare.rate
    print(f"  ratio          {ratio:8.2f}  ({target})")
    if f"{name} before" in figures:
        before = figures[f"{name} before"]
        show("before", before)
        print(f"  ratio before   {before.rate / bare.rate:8.2f}")
    return ratio


def report_pages(kind: str, size: int, figures: dict[str, Figures], args) -> list[str]:
    print(f"\nGET /s/<code> against a bare Flask page of the same {size:,} bytes ({kind}; {args.clients} clients, "
          f"2 sync workers, {args.rounds} × {args.seconds:g} s each)")
    bare, ours = figures["bare page"], figures["/s/<code>"]
    ratio = show_against(figures, "bare page", "/s/<code>",
                         f"target ≥ {TARGET_PAGE}; p99 target < {TARGET_PAGE_P99_MS:g} ms")
    if "/healthz" in figures:
        show("/healthz", figures["/healthz"])
        print(f"  app floor      {figures['/healthz'].rate / bare.rate:8.2f}  (/healthz / bare page: what the app's "
              "hooks and extensions leave of the bare rate before any view work)")
    missed = []
    if ratio < TARGET_PAGE:
        missed.append(f"{kind}: /s/<code> at {ratio:.2f} × the bare page (target {TARGET_PAGE})")
    if ours.p99_ms >= TARGET_PAGE_P99_MS:
        missed.append(f"{kind}: /s/<code> p99 {ours.p99_ms:.1f} ms (target < {TARGET_PAGE_P99_MS:g} ms)")
    missed += _server_errors(kind, "/s/<code>", ours)
    return missed


def report_messages(kind: str, figures: dict[str, Figures], checked: dict) -> list[str]:
    print(f"\nFinder messages (the real form, posted as our page posts it) against a bare Flask insert of one row ({kind})")
    ours = figures["messages"]
    ratio = show_against(figures, "bare insert", "messages", f"target ≥ {TARGET_MESSAGE}")
    print(f"  read back: {checked}")
    missed = []
    if ratio < TARGET_MESSAGE:
        missed.append(f"{kind}: messages at {ratio:.2f} × the bare insert (target {TARGET_MESSAGE})")
    if checked["lost"] or checked["duplicated"] or checked["stored_without_303"]:
        missed.append(f"{kind}: messages lost {checked['lost']}, duplicated {checked['duplicated']}, "
                      f"stored without an answer {checked['stored_without_303']}")
    if checked["open_messages"] != checked["owner_notifications"]:
        missed.append(f"{kind}: {checked['open_messages']} messages to owners but "
                      f"{checked['owner_notifications']} notifications queued")
    if ours.statuses.get(303, 0) != ours.requests:
        missed.append(f"{kind}: not every message was accepted: {ours.statuses}")
    missed += _server_errors(kind, "messages", ours)
    if "messages before" in figures:
        missed += _server_errors(kind, "messages before", figures["messages before"])
    return missed


def _server_errors(kind: str, name: str, figures: Figures) -> list[str]:
    errors = sum(count for status, count in figures.statuses.items() if status >= 500)
    return [f"{kind}: {name} got {errors} 5xx answers"] if errors else []


# --- main -----------------------------------------------------------------------------------


def _postgres_schema(url: str, *, drop: str | None = None) -> str | None:
    """A fresh schema of our own (or drop `drop`); None when PostgreSQL does not answer."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        schema = drop or f"bench_web_{os.getpid()}"
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            if drop is None:
                connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        return schema
    except Exception as error:  # any failure: skip PostgreSQL and say why
        print(f"PostgreSQL at {url} is not usable ({type(error).__name__}); its figures are skipped.")
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per side and round")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, each side once per round, alternating")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--skip", nargs="*", choices=["pages", "messages"], default=[])
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose app is measured")
    parser.add_argument("--before", help="also measure the app of this checkout (the code before a change), "
                                         "in the same rounds")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--floor", action="store_true", help="also measure /healthz, the app's floor")
    parser.add_argument("--ratelimit-storage", default="memory://",
                        help="RATELIMIT_STORAGE_URI for the app (default memory://, as the app's own default)")
    parser.add_argument("--prepare", help=argparse.SUPPRESS)  # internal: seed a database, print JSON
    args = parser.parse_args(argv)
    if args.prepare:
        print(json.dumps(prepare(args.root, args.prepare)))
        return 0
    print(f"Serving {Path(args.root).resolve()}")
    results, missed = [], []
    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
        for kind in args.databases:
            place = Path(folder) / kind
            place.mkdir()
            if kind == "sqlite":
                found, more = bench_database(kind, f"sqlite:///{place / 'bench.sqlite3'}", place, args)
            else:
                schema = _postgres_schema(args.postgres_url)
                if schema is None:
                    continue
                try:
                    url = f"{args.postgres_url}?options=-csearch_path%3D{schema}"
                    found, more = bench_database(kind, url, place, args)
                finally:
                    _postgres_schema(args.postgres_url, drop=schema)
            results.append(found)
            missed += more
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    print()
    shutil.rmtree(Path(folder), ignore_errors=True)
    return verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
