"""The README's operator commands work as written: pasted in order into bash on an instance
that `make run` prepared (migrated, seeded, with its secret key file and no SECRET_KEY).

The instance is prepared with the real `.venv/bin/flask` (so its finding the key file on its
own is proven too). The README's lines then run in bash exactly as written, but from a folder
whose `.venv/bin/flask` hands its arguments to Flask's own command group inside this test
process: the same commands, options and app, without a second's interpreter start-up for
each of the twenty lines.
"""

from __future__ import annotations

import json
import os
import re
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import cli as flask_command

from stickerreg import config

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FLASK = ".venv/bin/flask --app stickerreg"
SETTINGS = ("SECRET_KEY", "DATABASE_URL", "SMTP_URL", "MAIL_DIR", "PUBLIC_BASE_URL", "FLASK_APP", "FLASK_DEBUG")
# The stand-in for .venv/bin/flask: sends its arguments over a socket, prints the answer.
CLIENT = """import json, os, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(os.environ["FLASK_IN_TEST"])
s.sendall(json.dumps(sys.argv[1:]).encode() + b"\\n")
answer = json.loads(s.makefile().read())
sys.stdout.write(answer["stdout"]); sys.stderr.write(answer["stderr"]); sys.exit(answer["exit_code"])
"""


def bash_blocks(section: str) -> list[str]:
    """The ```bash blocks of a README section, in order."""
    text = README.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", text, re.DOTALL)


def run_bash(script: str, cwd: Path, **env) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env={**environment, **env},
                          capture_output=True, text=True, timeout=240)


class _FlaskInThisProcess(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        args = json.loads(self.rfile.readline())
        result = CliRunner().invoke(flask_command, args, catch_exceptions=True)
        stderr = result.stderr + ("" if result.exception is None or result.exit_code in (0, 1, 2)
                                  else f"{type(result.exception).__name__}: {result.exception}\n")
        self.wfile.write(json.dumps({"exit_code": result.exit_code, "stdout": result.stdout,
                                     "stderr": stderr}).encode())


@pytest.fixture
def instance(tmp_path):
    """What `make run` leaves behind: a secret key file, a migrated and seeded database."""
    (tmp_path / "secret_key").write_text("a-random-key-as-make-run-writes-it\n")
    prepared = run_bash(f"{FLASK} init-db && {FLASK} seed-demo --if-empty", ROOT, STICKERREG_INSTANCE=str(tmp_path))
    assert prepared.returncode == 0, prepared.stderr
    return tmp_path


@pytest.fixture
def checkout(instance, tmp_path_factory, monkeypatch):
    """A folder to paste into, whose .venv/bin/flask runs the commands in this process."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", instance)
    folder = tmp_path_factory.mktemp("checkout")
    shim = folder / ".venv/bin/flask"
    shim.parent.mkdir(parents=True)
    shim.write_text(f"#!{sys.executable} -S\n{CLIENT}")
    shim.chmod(0o755)
    server = socketserver.UnixStreamServer(str(folder / "flask.sock"), _FlaskInThisProcess)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield folder
    server.shutdown()
    server.server_close()


@pytest.mark.skipif(not (ROOT / ".venv/bin/flask").exists(), reason="the README's commands use .venv/bin/flask")
def test_every_operator_command_in_the_readme_works_pasted_in_order(checkout):
    commands, long_running = bash_blocks("Operator commands")
    assert commands.count(FLASK) >= 15  # every command group is shown
    ran = run_bash(commands, checkout, FLASK_IN_TEST=str(checkout / "flask.sock"))
    assert ran.returncode == 0, f"{ran.stdout}\n{ran.stderr}"
    assert "/kiosk/pair/" in ran.stdout and "revoked" in ran.stdout
    for path in ("stickers.pdf", "cards.pdf", "manifest.csv", "qr-codes.zip"):
        assert Path(f"/tmp/stickerreg-{path}").stat().st_size > 0
    # The long-running ones are only asked for their help: they would serve until Ctrl-C.
    helps = "\n".join(line.split("#")[0].strip() + " --help" for line in long_running.splitlines() if line.strip())
    helped = run_bash(helps, checkout, FLASK_IN_TEST=str(checkout / "flask.sock"))
    assert helped.returncode == 0 and helped.stdout.count("Usage:") == 3, helped.stderr


def test_every_make_target_the_readme_names_exists():
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    named = set(re.findall(r"`make ([a-z][\w-]*)`", README))
    assert named and named <= targets
