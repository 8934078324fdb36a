"""The Python API (`owox_idp.Admin`) on every dialect: hermetic `from_url`, one transaction per call or
per `transaction()`, results whose `to_json()` equals the command's `--json`, and the examples of
docs/python-api.md, run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from owox_idp import Admin
from owox_idp.errors import Refused, UsageError, UserNotFound

DOCS = Path(__file__).parents[1] / "docs" / "python-api.md"
# tests/conftest.py's TEST_SECRET; not imported by name: in one run with tests/interop, `conftest` may be
# that directory's module
TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef0123456789"
IdpRunner = Any


def _admin(idp: IdpRunner, **extra: object) -> Admin:
    return Admin.from_url(
        idp.db.url, flavor="better-auth", secret=TEST_SECRET, base_url="https://idp.example.test", **extra
    )


def test_add_user_through_the_api(idp: IdpRunner) -> None:
    with _admin(idp) as admin:
        admin.migrate()
        result = admin.add_user("Ana@Example.com", role="admin")
        assert result.created and result.email == "ana@example.com"
        assert result.magic_link and result.magic_link.startswith("https://idp.example.test/api/auth/")
        shown = admin.show_user("ana@example.com")
        assert shown.user.role == "admin"
    # what the CLI sees, with the same JSON keys
    idp.flavor("better-auth")
    cli = idp("show-user", "ana@example.com", "--json").json()
    assert cli == shown.to_json() | {"updated_at": cli["updated_at"]}
    assert set(result.to_json()) == set(idp("add-user", "ben@example.com", "--json").json())


def test_from_url_reads_no_environment_and_no_file(
    idp_sqlite: IdpRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("IDP_BETTER_AUTH_BASE_URL=https://attacker.example\nIDP_FLAVOR=owox\n")
    monkeypatch.setenv("IDP_BETTER_AUTH_MAGIC_LINK_TTL", "7")
    monkeypatch.setenv("IDP_ROLES", "admin,user,intruder")
    with _admin(idp_sqlite) as admin:
        assert admin.settings.base_url == "https://idp.example.test"
        assert admin.settings.flavor == "better-auth"
        assert admin.settings.magic_link_ttl == 300
        assert admin.settings.roles == ("admin", "user")
        assert admin.settings.sources["base_url"] == "argument base-url"
    with pytest.raises(TypeError):
        Admin.from_url(idp_sqlite.db.url, flavour="owox")


def test_a_transaction_commits_together_or_not_at_all(idp: IdpRunner) -> None:
    with _admin(idp) as admin:
        admin.migrate()
        with pytest.raises(RuntimeError), admin.transaction():
            admin.add_user("a@example.com", role="admin")
            admin.add_user("b@example.com")
            raise RuntimeError("abort")
        assert admin.list_users() == []
        with admin.transaction():
            admin.add_user("a@example.com", role="admin")
            admin.add_user("b@example.com")
            admin.ban("b@example.com")
            with pytest.raises(UsageError):
                admin.cleanup()
        assert {u.email: u.banned for u in admin.list_users()} == {
            "a@example.com": False,
            "b@example.com": True,
        }
        with pytest.raises(Refused) as refused:
            admin.set_role("a@example.com", "user")
        assert refused.value.exit_code == 8
        with pytest.raises(UserNotFound):
            admin.show_user("nobody@example.com")


def test_owox_flavor_through_the_api(idp: IdpRunner) -> None:
    admin = Admin.from_url(idp.db.url, secret=TEST_SECRET, base_url="https://owox.example.test")
    with admin:
        admin.migrate()
        result = admin.add_user("o@example.com", role="editor")
        assert result.magic_link and result.magic_link.startswith(
            "https://owox.example.test/auth/magic-link?"
        )
        assert admin.show_user("o@example.com").organization == "owox_data_marts_organization"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)


def test_the_docs_examples_run_as_written(tmp_path: Path) -> None:
    blocks = _python_blocks()
    assert len(blocks) >= 4
    script = "\n".join(blocks)
    r = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert r.returncode == 0, r.stderr
    assert "ana@example.com" not in r.stderr
    assert (tmp_path / "auth.db").exists()
