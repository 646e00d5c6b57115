"""The scale-out rig (its fixtures are in conftest.py): on loopback, nginx (with
deploy/nginx/stickerreg-proxy.conf) in front of two gunicorn instances (deploy/gunicorn.conf.py,
two workers each), two `flask worker` processes, PostgreSQL (a database of its own), Redis (a
database number of its own) and an SMTP sink in this process. Every process runs in a process group of its own, so one instance can be killed
whole (master and workers) and everything is stopped at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import SmtpInbox
from sqlmodel import Session

from stickerreg import codes
from stickerreg.db import make_engine
from stickerreg.services import accounts, stickers

ROOT = Path(__file__).resolve().parents[2]
# bench/bench_web.py's visitor (keep-alive connection, cookies, real forms) drives the load here too.
sys.path.insert(0, str(ROOT / "bench"))

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# A Redis database of the rig's own, emptied before and after (the web tests use 0).
REDIS_DB = 12
BIN = Path(sys.executable).parent
SECRET = "scale-test-secret-key-shared-by-every-process"
# The limits the rig proves across instances. Counted per day: a fixed window that ends
# mid-test would start the count again and let more through.
MESSAGE_LIMIT, LOOKUP_LIMIT = 5, 30
LIMITS = {
    "RATELIMIT_ENABLED": "true",
    "RATELIMIT_FINDER_MESSAGE": f"{MESSAGE_LIMIT} per day",
    "RATELIMIT_FINDER_LOOKUP": f"{LOOKUP_LIMIT} per day",
    # The load sends many messages to each of a few stickers; the per-client limits hold it
    # (each request of the load names a client address of its own).
    "RATELIMIT_FINDER_MESSAGE_PER_STICKER": "1000000 per day",
}
# A worker's claim on a batch of emails (two minutes in production): short here, so the
# emails of the worker the test kills are taken up by the survivor within the test.
OUTBOX_LEASE_SECONDS = 10
WORKER_ID = re.compile(r"^worker (\S+) running", re.MULTILINE)


@dataclass
class Process:
    """A child in a process group of its own, its output in a log file."""

    name: str
    popen: subprocess.Popen
    log: Path
    port: int | None = None

    def kill(self) -> None:
        """kill -9 the whole group (a gunicorn master and its workers) and reap the leader."""
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
            except ProcessLookupError:
                pass
        try:  # whatever of the group is left (workers of a master that went first)
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    database_url: str
    front: int  # nginx's port
    apps: list[Process]
    workers: list[Process]
    worker_ids: list[str]
    active_codes: list[str]
    unknown_codes: list[str]
    sink: SmtpInbox
    processes: list[Process] = field(default_factory=list)


def spawn(name: str, command: list[str], *, env: dict, folder: Path, port: int | None = None) -> Process:
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
    return Process(name, popen, log, port)


def wait_for(condition, what: str, processes: list[Process], timeout: float = 120.0) -> None:
    """Poll `condition` until it holds; fail naming `what`, with the logs, when a process died
    or the time is up (a wait for a condition, not a measurement)."""
    deadline = time.monotonic() + timeout
    while not condition():
        dead = [process for process in processes if not process.alive()]
        if dead or time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name} ---\n{p.output()[-2000:]}" for p in processes)
            pytest.fail(f"{what}: {'exited: ' + dead[0].name if dead else 'timed out'}\n{logs}")
        time.sleep(0.1)


def answers(port: int, path: str = "/healthz") -> bool:
    """Whether a server on the port answers `path` with 200."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def refuses(port: int) -> bool:
    """Whether nothing listens on the port any more."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if not found:
        pytest.fail("nginx is not installed: `make test-scale` installs Debian's nginx")
    return found


# --- the cluster: seed data and the front proxy ---------------------------------------------


def seed(database_url: str) -> tuple[list[str], list[str]]:
    """An owner with claimed stickers (each message to them is emailed to the owner), and valid
    codes nobody has (their page looks the same)."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        owner = accounts.create_user(session, email="scale.owner@example.se", password=None)
        minted = stickers.mint(session, count=8)
        for number, sticker in enumerate(minted):
            stickers.activate_for(session, sticker, owner, label=f"Nycklar {number}")
        session.commit()
        active = [sticker.code for sticker in minted]
    engine.dispose()
    return active, [codes.generate() for _ in range(8)]


def nginx_config(folder: Path, port: int, upstreams: list[int]) -> Path:
    """nginx for a non-root-friendly run: its own pid, logs and temp folders, in the foreground.
    The proxying itself is the deploy snippet's, included as it is."""
    servers = "\n".join(f"        server 127.0.0.1:{up} max_fails=1 fail_timeout=10s;" for up in upstreams)
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # As root, the workers would switch to nobody, who cannot enter pytest's private temp folders.
    user = "user root;" if os.geteuid() == 0 else ""
    config = folder / "nginx.conf"
    config.write_text(f"""
daemon off;
{user}
worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'nginx-error.log'} warn;
events {{ worker_connections 512; }}
http {{
{temp}
    log_format front '$request_method $status $upstream_addr $upstream_status';
    access_log {folder / 'nginx-access.log'} front;
    upstream stickerreg {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        server_tokens off;
        # Every client of the test connects from 127.0.0.1 and names its own address in
        # X-Forwarded-For: nginx takes it as the peer address, standing in for clients
        # spread over the internet (production nginx trusts no such header).
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Forwarded-For;
        # Which instance answered (the last one tried): the test tells errors apart by it.
        add_header X-Upstream $upstream_addr always;
        location / {{
            include {ROOT / 'deploy/nginx/stickerreg-proxy.conf'};
        }}
    }}
}}
""")
    return config
