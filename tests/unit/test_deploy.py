"""The deployment files in deploy/ say what the app reads and what nginx and gunicorn accept.
(tests/scale runs gunicorn.conf.py and the nginx proxy snippet under load.)"""

from __future__ import annotations

import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stickerreg import config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def variables_config_reads() -> set[str]:
    """Every environment variable stickerreg/config.py reads, by name."""
    source = (ROOT / "stickerreg/config.py").read_text()
    named = set(re.findall(r'_(?:env|flag|whole_number)\("([A-Z0-9_]+)"', source))
    named |= set(re.findall(r'environ\.get\("([A-Z0-9_]+)"', source))
    return named | set(config.RATE_LIMITS) | set(config.RETENTION_DEFAULTS)


def env_example() -> dict[str, str]:
    """The env file's variables, set or commented out, with their values as written."""
    lines = (DEPLOY / "env.example").read_text().splitlines()
    return dict(re.fullmatch(r"#?([A-Z][A-Z0-9_]*)=(.*)", line).groups() for line in lines
                if re.fullmatch(r"#?[A-Z][A-Z0-9_]*=.*", line))


def test_the_env_file_lists_every_variable_the_app_reads():
    assert variables_config_reads() - set(env_example()) == set()


def test_the_env_file_reads_the_same_in_systemd_and_a_shell():
    """A value with spaces is quoted: systemd takes it either way, a shell only quoted."""
    unquoted = {name: value for name, value in env_example().items()
                if " " in value and not (value.startswith('"') and value.endswith('"'))}
    assert unquoted == {}
    assert env_example()["TRUSTED_PROXIES"] == "1"
    assert env_example()["SECRET_KEY"] == ""  # an unedited file refuses to start


def load_gunicorn_config(monkeypatch, **env) -> dict:
    for name in ("GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_TIMEOUT", "GUNICORN_ACCESS_LOG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


def test_gunicorn_defaults_bind_to_loopback_with_capped_sync_workers_and_no_access_log(monkeypatch):
    settings = load_gunicorn_config(monkeypatch)
    assert settings["bind"] == ["127.0.0.1:8000"]
    assert settings["worker_class"] == "sync" and 1 <= settings["workers"] <= 8
    assert settings["accesslog"] is None and "%(U)s" not in settings["access_log_format"]
    assert "%(h)s" not in settings["access_log_format"] and "%(q)s" not in settings["access_log_format"]
    assert settings["max_requests_jitter"] > 0 and settings["preload_app"] is False


def test_gunicorn_takes_bind_workers_and_timeout_from_the_environment(monkeypatch):
    settings = load_gunicorn_config(monkeypatch, GUNICORN_BIND="127.0.0.1:8123", GUNICORN_WORKERS="3",
                                    GUNICORN_TIMEOUT="45")
    assert (settings["bind"], settings["workers"], settings["timeout"]) == (["127.0.0.1:8123"], 3, 45)


class _Worker:
    pid = 4242


def test_the_child_exit_hook_tells_the_metrics_and_does_without_them(monkeypatch):
    hook = load_gunicorn_config(monkeypatch)["child_exit"]
    exited: list[int] = []
    import stickerreg.metrics

    monkeypatch.setattr(stickerreg.metrics, "worker_exited", exited.append)
    hook(None, _Worker())
    assert exited == [4242]
    monkeypatch.setitem(sys.modules, "stickerreg.metrics", None)  # as before the module existed
    hook(None, _Worker())
    assert exited == [4242]


NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.mark.skipif(not (NGINX and shutil.which("openssl")), reason="nginx and openssl check the site (make install-test)")
def test_nginx_accepts_the_site_as_shipped(tmp_path):
    """`nginx -t` on the site and its snippet, with only the paths a sysadmin edits pointed at
    this checkout and a throwaway certificate."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)
    site = (DEPLOY / "nginx/stickerreg.conf").read_text()
    for shipped, here in (("/etc/nginx/snippets/stickerreg-proxy.conf", DEPLOY / "nginx/stickerreg-proxy.conf"),
                          ("/etc/ssl/stickerreg/fullchain.pem", tmp_path / "cert.pem"),
                          ("/etc/ssl/stickerreg/privkey.pem", tmp_path / "key.pem"),
                          ("/var/log/nginx/", f"{tmp_path}/")):
        assert shipped in site
        site = site.replace(shipped, str(here))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n    access_log off;\n    include {tmp_path}/site.conf;\n}}\n")
    checked = subprocess.run([NGINX, "-t", "-q", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
