"""The NIX register for admins: the current NIX file uploaded at /admin/nix (or imported with
`flask nix import`) replaces the whole list, reports its bad lines, and never empties the
register by mistake."""

from __future__ import annotations

import io

import pytest
from helpers import PASSWORD, browser, csrf_token, visible
from sqlmodel import select

from stickerreg.models import AuditEntry, NixNumber, Role
from stickerreg.services import registers

NIX_FILE = b"# NIX\n070-174 06 06\n\n+46 70 174 06 08\n070-174 06 0X\n0701740606\n"


@pytest.fixture
def admin_client(app, user_factory):
    return browser(app, email=user_factory(email="admin@example.se", password=PASSWORD, role=Role.ADMIN).email)


def upload(client, data: bytes | None):
    form = {"csrf_token": csrf_token(client, "/admin/nix")}
    if data is not None:
        form["file"] = (io.BytesIO(data), "nix.txt")
    return client.post("/admin/nix", data=form, content_type="multipart/form-data")


def numbers(session) -> list[str]:
    session.expire_all()
    return sorted(session.exec(select(NixNumber.phone)))


def test_an_admin_replaces_the_register_with_the_current_file(session, admin_client):
    registers.import_nix(session, b"0701740699\n")
    session.commit()
    assert "The register holds 1 number, imported" in visible(admin_client.get("/admin/nix"))
    answer = upload(admin_client, NIX_FILE)
    assert answer.status_code == 200
    page = visible(answer)
    assert "Numbers read 3 Numbers in the register now 2 Invalid lines 1" in page
    assert "Lines that are not a valid phone number: 5" in page
    assert "The register holds 2 numbers, imported" in page
    assert numbers(session) == ["+46701740606", "+46701740608"]
    shell, web = session.exec(select(AuditEntry).where(AuditEntry.action == "nix.imported").order_by(AuditEntry.id))
    assert (shell.actor_role, shell.detail) == ("system", {"numbers": 1, "invalid_lines": 0})
    assert (web.actor_role, web.object_type, web.detail) == ("admin", "nix_register", {"numbers": 2, "invalid_lines": 1})


def test_a_big_nix_file_is_taken_here(session, admin_client):
    data = "\n".join(f"070{n:07d}" for n in range(1_740_000, 1_750_000)).encode()
    assert len(data) > 64 * 1024
    assert upload(admin_client, data).status_code == 200
    assert len(numbers(session)) == 10_000


@pytest.mark.parametrize(("data", "message"), [
    (None, "Choose the NIX file."),
    (b"namn;adress;telefon\nAnna;Gatan 1;x\n", "The file has no valid phone number, so the register was not changed."),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "That is not a text file."),
])
def test_a_wrong_file_leaves_the_register_as_it_was(session, admin_client, data, message):
    registers.import_nix(session, b"0701740699\n")
    session.commit()
    answer = upload(admin_client, data)
    assert answer.status_code == 422 and message in visible(answer)
    assert numbers(session) == ["+46701740699"]


@pytest.mark.parametrize("role", [Role.SALES, Role.CUSTOMER_SERVICE, Role.CUSTOMER])
def test_only_admins_reach_the_nix_page(app, user_factory, role):
    client = browser(app, email=user_factory(password=PASSWORD, role=role).email)
    assert client.get("/admin/nix").status_code == 404
    token = csrf_token(client, "/account/")
    assert client.post("/admin/nix", data={"csrf_token": token, "file": (io.BytesIO(NIX_FILE), "nix.txt")},
                       content_type="multipart/form-data").status_code == 404


def test_nix_import_from_the_shell_names_the_bad_lines(app, session, tmp_path):
    path = tmp_path / "nix.txt"
    path.write_bytes(NIX_FILE)
    result = app.test_cli_runner().invoke(args=["nix", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 numbers read (2 distinct, now the NIX register), 1 invalid lines" in result.stdout
    assert "line 5: not a valid phone number" in result.stderr
    assert numbers(session) == ["+46701740606", "+46701740608"]
    path.write_bytes(b"# nothing\n")
    refused = app.test_cli_runner().invoke(args=["nix", "import", str(path)])
    assert refused.exit_code == 1 and "the register was not changed" in refused.output
    assert len(numbers(session)) == 2
