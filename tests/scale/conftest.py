"""Fixtures of the scale-out rig (rig.py): PostgreSQL, Redis and an SMTP sink of its own, and the
cluster started on them; every process, the database and the Redis keys go away afterwards."""

from __future__ import annotations

import os
import subprocess

import pytest
import redis
import sqlalchemy as sa
from helpers import free_port, running_smtp_inbox
from rig import (
    BIN,
    LIMITS,
    OUTBOX_LEASE_SECONDS,
    POSTGRES_URL,
    REDIS_DB,
    REDIS_HOST,
    REDIS_PORT,
    ROOT,
    SECRET,
    WORKER_ID,
    Cluster,
    Process,
    answers,
    nginx_binary,
    nginx_config,
    seed,
    spawn,
    wait_for,
)


@pytest.fixture(scope="module")
def scale_database():
    """A fresh PostgreSQL database of the rig's own, dropped afterwards; skips without PostgreSQL."""
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"stickerreg_scale_{os.getpid()}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # any failure to reach it: skip and say why
        admin.dispose()
        pytest.skip(f"the scale test needs PostgreSQL at {POSTGRES_URL}: {type(error).__name__}")
    yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def scale_redis():
    """A Redis database number of the rig's own, emptied before and after; skips without Redis."""
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"the scale test needs Redis at {REDIS_HOST}:{REDIS_PORT}: {type(error).__name__}")
    client.flushdb()
    yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def sink():
    """An SMTP server in this process that keeps every email it is given."""
    with running_smtp_inbox() as inbox:
        yield inbox


@pytest.fixture(scope="module")
def cluster(scale_database, scale_redis, sink, tmp_path_factory):
    """Everything started and answering; every process stopped afterwards."""
    folder = tmp_path_factory.mktemp("scale")
    front, app_ports = free_port(), [free_port(), free_port()]
    env = {**os.environ, **LIMITS, "SECRET_KEY": SECRET, "DATABASE_URL": scale_database,
           "RATELIMIT_STORAGE_URI": scale_redis, "SMTP_URL": sink.url, "TRUSTED_PROXIES": "1",
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{front}", "STICKERREG_INSTANCE": str(folder / "instance"),
           "LOG_FORMAT": "text", "PYTHONUNBUFFERED": "1", "GUNICORN_WORKERS": "2", "DB_POOL_SIZE": "2",
           "OUTBOX_LEASE_SECONDS": str(OUTBOX_LEASE_SECONDS)}
    for name in ("FLASK_APP", "FLASK_DEBUG", "PROMETHEUS_MULTIPROC_DIR", "GUNICORN_CMD_ARGS"):
        env.pop(name, None)
    migrated = subprocess.run([str(BIN / "flask"), "--app", "stickerreg", "init-db"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    active, unknown = seed(scale_database)

    processes: list[Process] = []
    try:
        front_command = [nginx_binary(), "-c", str(nginx_config(folder, front, app_ports)), "-p", str(folder),
                         "-e", str(folder / "nginx-error.log")]
        for letter, port in zip("ab", app_ports, strict=True):
            processes.append(spawn(f"web-{letter}", [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py"],
                                   port=port, env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}, folder=folder))
        for number in (1, 2):
            processes.append(spawn(f"worker-{number}", [str(BIN / "flask"), "--app", "stickerreg", "worker"],
                                   env=env, folder=folder))
        processes.append(spawn("nginx", front_command, env=env, folder=folder, port=front))
        apps, workers = processes[:2], processes[2:4]
        for app in apps:
            wait_for(lambda app=app: answers(app.port), f"{app.name} answering /healthz", processes)
        wait_for(lambda: answers(front), "nginx answering /healthz", processes)
        for worker in workers:
            wait_for(lambda worker=worker: WORKER_ID.search(worker.output()), f"{worker.name} running", processes)
        yield Cluster(database_url=scale_database, front=front, apps=apps, workers=workers,
                      worker_ids=[WORKER_ID.search(worker.output()).group(1) for worker in workers],
                      active_codes=active, unknown_codes=unknown, sink=sink, processes=processes)
    finally:
        for process in reversed(processes):
            process.stop()
