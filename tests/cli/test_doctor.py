"""idp doctor on every dialect: each check ok / warn / fail with a hint, exit 9 on any fail; the
wrong-flavor and foreign databases said as what was found (never "run migrate"); secrets that do not
decrypt the stored two-factor secrets; no admin; link lifetime; file permissions; a relative SQLite path
from an env file elsewhere; sessions outside the database only when there is a sign of it; --server."""

from __future__ import annotations

import http.server
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from idp_runner import IdpRunner


def _doctor(idp: IdpRunner, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    r = idp("doctor", "--json", *args, env=env)
    assert r.exit_code in (0, 9), r.stderr
    data = r.json()
    assert data["ok"] is (r.exit_code == 0)
    for check in data["checks"]:
        assert check["status"] in ("ok", "warn", "fail") and check["message"], check
        if check["status"] != "ok":
            assert check["hint"], check
    return r.exit_code, data


def _by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for check in data["checks"]:
        out.setdefault(check["name"], check)
    return out


def _private(idp: IdpRunner) -> None:
    if idp.db.dialect == "sqlite":
        os.chmod(idp.db.url.removeprefix("sqlite:///"), 0o600)


def _exec(idp: IdpRunner, *statements: str) -> None:
    engine = sa.create_engine(idp.db.sa_url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def test_a_healthy_deployment_passes(idp: IdpRunner) -> None:
    idp.migrate()
    _private(idp)
    assert idp("add-user", "boss@example.com", "--role", "admin").exit_code == 0
    code, data = _doctor(idp)
    checks = _by_name(data)
    assert code == 0, data
    for name in ("deployment", "secret", "link-lifetime", "database", "flavor", "schema", "audit", "admins"):
        assert checks[name]["status"] == "ok", checks[name]
    parts = {p["part"]: p for p in checks["deployment"]["parts"]}
    assert parts["flavor"] == {"part": "flavor", "value": "owox", "source": "default"}
    assert parts["layout"]["source"] == "default"
    r = idp("doctor")
    assert r.exit_code == 0 and "ok    admins: 1 active admin(s)" in r.stdout


def test_failures_exit_9_and_name_the_checks(idp: IdpRunner) -> None:
    idp.migrate()
    code, data = _doctor(idp, env={"IDP_BETTER_AUTH_MAGIC_LINK_TTL": "86400"})
    checks = _by_name(data)
    assert code == 9
    assert checks["admins"]["status"] == "fail" and "bootstrap-admin" in checks["admins"]["hint"]
    assert checks["link-lifetime"]["status"] == "fail" and "3600" in checks["link-lifetime"]["hint"]
    r = idp("doctor", env={"IDP_BETTER_AUTH_MAGIC_LINK_TTL": "86400"})
    assert r.exit_code == 9 and "FAIL  admins" in r.stdout and "Error:" in r.stderr and "admins" in r.stderr


def test_owox_flavor_on_a_better_auth_database_says_what_it_found(idp: IdpRunner) -> None:
    idp.flavor("better-auth")
    idp.migrate()
    assert idp("add-user", "boss@example.com", "--role", "admin").exit_code == 0
    code, data = _doctor(idp, env={"IDP_FLAVOR": "owox"})
    flavor = _by_name(data)["flavor"]
    assert code == 9 and flavor["status"] == "fail"
    assert "admin plugin" in flavor["message"] and "better-auth" in flavor["hint"]
    assert "migrate" not in json.dumps(data)  # never the wrong advice
    # word for word as before the rule moved into owox_idp/flavors/owox.py
    assert flavor["message"] == (
        "the flavor is owox, but the database has the admin plugin's columns (user.role, user.banned) and "
        "no organization or member table: it is a Better Auth deployment with the admin plugin, not OWOX "
        "Data Marts'"
    )
    assert flavor["hint"] == "use --flavor better-auth (IDP_FLAVOR=better-auth)"


def test_better_auth_flavor_on_owox_database_says_what_it_found(idp: IdpRunner) -> None:
    idp.migrate()  # owox
    assert idp("add-user", "boss@example.com", "--role", "admin").exit_code == 0
    code, data = _doctor(idp, env={"IDP_FLAVOR": "better-auth"})
    flavor = _by_name(data)["flavor"]
    assert code == 9 and flavor["status"] == "fail"
    assert "owox_data_marts_organization" in flavor["message"] and "owox" in flavor["hint"]
    assert "schema" not in _by_name(data)
    assert flavor["message"] == (
        "the flavor is better-auth, but 1 member row(s) of organization owox_data_marts_organization show "
        "OWOX Data Marts' database (OWOX keeps roles there, not in user.role)"
    )
    assert flavor["hint"] == "use --flavor owox (IDP_FLAVOR=owox)"


def test_each_flavor_is_contradicted_only_by_another_flavors_evidence(idp: IdpRunner) -> None:
    """The flavor check's rule lives in owox_idp/flavors/: on OWOX's database, OWOX's member rows
    contradict every other flavor (the Rust port's too) and not owox itself."""
    from owox_idp.db.schema import DEFAULT_LAYOUT
    from owox_idp.flavors import FLAVORS
    from owox_idp.repository.probe import DatabaseProbe

    idp.migrate()  # owox
    assert idp("add-user", "boss@example.com", "--role", "admin").exit_code == 0
    engine = sa.create_engine(idp.db.sa_url)
    try:
        with engine.connect() as conn:
            probe = DatabaseProbe(conn)
            said = {name: f.contradiction(probe, DEFAULT_LAYOUT) for name, f in FLAVORS.items()}
    finally:
        engine.dispose()
    assert said.pop("owox") is None
    assert set(said) == {"better-auth", "better-auth-rs"}
    for name, found in said.items():
        assert found is not None
        assert found[0].startswith(f"the flavor is {name}, but 1 member row(s) of organization ")
        assert found[1] == "use --flavor owox (IDP_FLAVOR=owox)"


def test_another_applications_database(idp: IdpRunner) -> None:
    text = "varchar(64)" if idp.db.dialect == "mariadb" else "text"
    _exec(
        idp,
        f"create table invoices (id {text} primary key)",
        f"create table customers (id {text} primary key)",
    )
    code, data = _doctor(idp)
    flavor = _by_name(data)["flavor"]
    assert code == 9 and flavor["status"] == "fail"
    assert "another application" in flavor["message"] and "customers" in flavor["message"]
    assert "migrate" not in json.dumps(data)


def test_a_secret_that_does_not_decrypt_the_two_factor_secrets(idp: IdpRunner) -> None:
    idp.flavor("better-auth")
    idp.migrate()
    assert idp("add-user", "boss@example.com", "--role", "admin").exit_code == 0
    assert idp("2fa", "enable", "boss@example.com", "--json").exit_code == 0
    code, data = _doctor(idp)
    assert _by_name(data)["two-factor-secrets"]["status"] == "ok"
    other = {"IDP_BETTER_AUTH_SECRET": "another-secret-0123456789abcdef0123456789abcdef"}
    code, data = _doctor(idp, env=other)
    check = _by_name(data)["two-factor-secrets"]
    assert code == 9 and check["status"] == "fail" and "1 of 1" in check["message"]


def test_schema_behind_is_the_one_place_that_says_migrate(idp: IdpRunner) -> None:
    idp.migrate()
    _exec(idp, 'drop table "invitation"' if idp.db.dialect != "mariadb" else "drop table `invitation`")
    code, data = _doctor(idp)
    schema = _by_name(data)["schema"]
    assert code == 9 and schema["status"] == "fail" and "idp migrate" in schema["hint"]
    assert "invitation" in schema["message"]


def test_database_unreachable_or_missing(idp_sqlite: IdpRunner, tmp_path: Path) -> None:
    code, data = _doctor(idp_sqlite, env={"IDP_DATABASE_URL": "mysql://u:topsecret@127.0.0.1:1/x"})
    checks = _by_name(data)
    assert (
        code == 9
        and checks["database"]["status"] == "fail"
        and "cannot reach" in checks["database"]["message"]
    )
    assert "admins" not in checks and "topsecret" not in json.dumps(data)
    code, data = _doctor(idp_sqlite, env={"IDP_DATABASE_URL": f"sqlite:///{tmp_path}/none.db"})
    assert code == 9 and "does not exist" in _by_name(data)["database"]["message"]
    assert not (tmp_path / "none.db").exists()


def test_bad_settings_are_a_failed_check(idp_sqlite: IdpRunner) -> None:
    code, data = _doctor(idp_sqlite, env={"IDP_FLAVOR": "nope"})
    assert (
        code == 9
        and data["checks"][0]["name"] == "settings"
        and "unknown flavor" in data["checks"][0]["message"]
    )


def test_world_readable_database_file(idp_sqlite: IdpRunner) -> None:
    idp_sqlite.migrate()
    path = idp_sqlite.db.url.removeprefix("sqlite:///")
    os.chmod(path, 0o644)
    code, data = _doctor(idp_sqlite)
    perms = [c for c in data["checks"] if c["name"] == "file-permissions"]
    assert code == 9 and perms[0]["status"] == "fail" and "chmod 600" in perms[0]["hint"]
    os.chmod(path, 0o640)
    _, data = _doctor(idp_sqlite)
    assert _by_name(data)["file-permissions"]["status"] == "warn"
    os.chmod(path, 0o600)
    _, data = _doctor(idp_sqlite)
    assert _by_name(data)["file-permissions"]["status"] == "ok"


def test_relative_sqlite_path_from_an_env_file_elsewhere(idp_sqlite: IdpRunner, tmp_path: Path) -> None:
    server_dir = tmp_path / "srv" / "owox"
    server_dir.mkdir(parents=True)
    (server_dir / ".env").write_text(
        "IDP_BETTER_AUTH_DATABASE_TYPE=sqlite\nIDP_BETTER_AUTH_SQLITE_DB_PATH=data/auth.db\n"
    )
    (server_dir / "data").mkdir()
    env = {"IDP_DATABASE_URL": ""}
    r = idp_sqlite("--env-file", str(server_dir / ".env"), "migrate", "--yes", env=env)
    assert r.exit_code == 0, r.stderr
    assert (server_dir / "data" / "auth.db").exists()  # next to the env file, not in the current directory
    assert not (tmp_path / "data").exists()
    info = idp_sqlite("--env-file", str(server_dir / ".env"), "info", "--json", env=env).json()
    assert f"relative to {server_dir}" in info["settings"]["database_url"]["source"]
    r = idp_sqlite("--env-file", str(server_dir / ".env"), "doctor", "--json", env=env)
    check = _by_name(r.json())["settings-files"]
    assert check["status"] == "warn" and str(server_dir / "data" / "auth.db") in check["message"]
    assert "absolute" in check["hint"]


def test_sessions_outside_the_database_only_with_a_sign_of_it(idp: IdpRunner) -> None:
    idp.migrate()
    r = idp("add-user", "pw@example.com", "--role", "admin", "--password-stdin", input="a-long-password-1")
    assert r.exit_code == 0
    assert _by_name(_doctor(idp)[1])["sessions"]["status"] == "ok"  # a brand-new deployment: no sign
    old: Any = datetime.now(UTC) - timedelta(days=30)
    if idp.db.dialect == "sqlite":
        old = old.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    elif idp.db.dialect == "mariadb":
        old = old.replace(tzinfo=None)
    engine = sa.create_engine(idp.db.sa_url)
    try:
        with engine.begin() as conn:
            q = "`" if idp.db.dialect == "mariadb" else '"'
            conn.execute(sa.text(f"update {q}user{q} set {q}createdAt{q} = :old"), {"old": old})
    finally:
        engine.dispose()
    check = _by_name(_doctor(idp)[1])["sessions"]
    assert check["status"] == "warn" and "secondary storage" in check["message"]


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b'{"ok":true}'

    def do_GET(self) -> None:
        if self.path == "/auth/better-auth/ok":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(self.body)
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_server_option(idp_sqlite: IdpRunner, fake_server: str) -> None:
    idp_sqlite.migrate()
    assert "server" not in _by_name(_doctor(idp_sqlite)[1])
    _, data = _doctor(idp_sqlite, "--server", env={"IDP_BETTER_AUTH_BASE_URL": fake_server})
    assert _by_name(data)["server"]["status"] == "ok"
    code, data = _doctor(
        idp_sqlite, "--server", env={"IDP_BETTER_AUTH_BASE_URL": fake_server, "IDP_FLAVOR": "better-auth"}
    )
    server = _by_name(data)["server"]
    assert code == 9 and server["status"] == "fail" and "404" in server["message"]
    code, data = _doctor(idp_sqlite, "--server", env={"IDP_BETTER_AUTH_BASE_URL": "http://127.0.0.1:1"})
    assert code == 9 and "does not answer" in _by_name(data)["server"]["message"]
