"""The README's operator commands work as written: pasted in order into bash on an instance
that `make run` prepared (migrated, seeded, with its secret key file and no SECRET_KEY)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FLASK = ".venv/bin/flask --app stickerreg"


def bash_blocks(section: str) -> list[str]:
    """The ```bash blocks of a README section, in order."""
    text = README.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", text, re.DOTALL)


def run_bash(script: str, instance: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if key not in ("SECRET_KEY", "DATABASE_URL", "SMTP_URL", "MAIL_DIR", "FLASK_APP", "FLASK_DEBUG")}
    env.update(STICKERREG_INSTANCE=str(instance), PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=240)


@pytest.fixture
def instance(tmp_path):
    """What `make run` leaves behind: a secret key file, a migrated and seeded database."""
    (tmp_path / "secret_key").write_text("a-random-key-as-make-run-writes-it\n")
    prepared = run_bash(f"{FLASK} init-db && {FLASK} seed-demo --if-empty", tmp_path)
    assert prepared.returncode == 0, prepared.stderr
    return tmp_path


@pytest.mark.skipif(not (ROOT / ".venv/bin/flask").exists(), reason="the README's commands use .venv/bin/flask")
def test_every_operator_command_in_the_readme_works_pasted_in_order(instance):
    commands, long_running = bash_blocks("Operator commands")
    assert commands.count(FLASK) >= 15  # every command group is shown
    ran = run_bash(commands, instance)
    assert ran.returncode == 0, f"{ran.stdout}\n{ran.stderr}"
    assert "/kiosk/pair/" in ran.stdout and "revoked" in ran.stdout
    for path in ("stickers.pdf", "cards.pdf", "manifest.csv", "qr-codes.zip"):
        assert Path(f"/tmp/stickerreg-{path}").stat().st_size > 0
    # The long-running ones are only asked for their help: they would serve until Ctrl-C.
    helped = run_bash("\n".join(line.split("#")[0].strip() + " --help" for line in long_running.splitlines()
                                if line.strip()), instance)
    assert helped.returncode == 0, helped.stderr


def test_every_make_target_the_readme_names_exists():
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    named = set(re.findall(r"`make ([a-z][\w-]*)`", README))
    assert named and named <= targets
