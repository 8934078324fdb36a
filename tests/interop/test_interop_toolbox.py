"""The operator's toolbox against the real Better Auth server (issue 14): `idp check-user`'s verdict is
what the server does (a banned user and a user with no password and no link cannot sign in; after the
fix it names, they can), `idp doctor` passes on the healthy deployment the server runs on (also asking
the server itself) and fails on the other flavor's database, and idp's audit table is left untouched by
Better Auth's own migration, which still finds nothing to do, and holds no secret."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from interop_support import (
    PASSWORD,
    SECRET,
    Stack,
    idp_settings_env,
    run_idp,
    server_migrate,
    server_schema_sql,
)

pytestmark = pytest.mark.interop


def _check(stack: Stack, email: str) -> tuple[int, dict[str, Any]]:
    r = stack.idp("check-user", email, "--json")
    assert r.exit_code in (0, 9), r
    data: dict[str, Any] = r.json()
    assert data["can_sign_in"] is (r.exit_code == 0)
    return r.exit_code, data


def _fix(stack: Stack, data: dict[str, Any], code: str) -> Any:
    """Run the command check-user names for `code`, verbatim."""
    fix = next(r["fix"] for r in data["reasons"] if r["code"] == code)
    args = fix.split()
    assert args[0] == "idp", fix
    r = stack.idp(*args[1:], "--json")
    assert r.exit_code == 0, r
    return r.json()


def _private_db(stack: Stack) -> None:
    if stack.dialect == "sqlite":  # the file and the WAL the running server keeps beside it
        path = stack.db.url.removeprefix("sqlite:///")
        for name in (path, f"{path}-wal", f"{path}-shm"):
            if os.path.exists(name):
                os.chmod(name, 0o600)


def test_check_user_banned_then_the_fix(stack: Stack) -> None:
    stack.add_user("admin", role="admin")  # so that banning the user below is not the last admin's
    user = stack.add_user("banned", role="editor", password=PASSWORD)
    assert stack.idp("ban", user["email"], "--reason", "interop", "--yes").exit_code == 0
    code, data = _check(stack, user["email"])
    assert code == 9 and [r["code"] for r in data["reasons"]] == ["banned"]
    r, _ = stack.sign_in(user["email"], PASSWORD)
    assert r.status != 200, r  # the server agrees: no way in
    _fix(stack, data, "banned")
    code, data = _check(stack, user["email"])
    assert code == 0 and "password" in data["ways"], data
    r, b = stack.sign_in(user["email"], PASSWORD)
    assert r.status == 200, r
    assert stack.session_user(b)["email"] == user["email"]


def test_check_user_without_password_or_link_then_the_fix(stack: Stack) -> None:
    user = stack.add_user("nolink", role="viewer")
    stack.link_works(user["magic_link"])  # the one link is used: now no password and no link
    stack.idp("revoke-sessions", user["email"], "--yes")
    code, data = _check(stack, user["email"])
    assert code == 9 and [r["code"] for r in data["reasons"]] == ["no-way-in"], data
    stack.link_fails(user["magic_link"])  # the server agrees: the old link is dead
    result = _fix(stack, data, "no-way-in")
    code, data = _check(stack, user["email"])
    assert code == 0 and data["ways"] == ["pending-link"], data
    b = stack.link_works(result["magic_link"])
    assert stack.session_user(b)["email"] == user["email"]


def test_doctor_passes_on_the_servers_deployment_and_asks_the_server(stack: Stack) -> None:
    stack.add_user("doctor-admin", role="admin")
    _private_db(stack)
    r = stack.idp("doctor", "--server", "--json")
    data = r.json()
    assert r.exit_code == 0, json.dumps(data, indent=1)
    checks = {c["name"]: c for c in data["checks"]}
    assert checks["server"]["status"] == "ok" and stack.base_path + "/ok" in checks["server"]["message"]
    assert checks["flavor"]["status"] == "ok" and checks["schema"]["status"] == "ok"


def test_doctor_fails_on_the_other_flavors_database(stack: Stack) -> None:
    stack.add_user("wrong-flavor", role="editor")  # owox: a member row of OWOX's organization
    other = "better-auth" if stack.owox else "owox"
    env = idp_settings_env(other, stack.db, stack.base_url)
    r = run_idp(env, "doctor", "--json")
    assert r.exit_code == 9, r
    flavor = next(c for c in r.json()["checks"] if c["name"] == "flavor")
    assert flavor["status"] == "fail" and f"--flavor {stack.profile}" in flavor["hint"]
    assert "migrate" not in r.stdout


def test_audit_table_survives_the_servers_migration_and_holds_no_secret(stack: Stack) -> None:
    user = stack.add_user("audited", role="admin", password=PASSWORD)
    r = stack.idp("reset-password", user["email"], "--yes", "--json", "--reason", "interop audit")
    assert r.exit_code == 0, r
    link = r.json()["magic_link"]
    before = stack.rows(f"SELECT * FROM {stack.q('idp_audit')} ORDER BY id")
    assert any(row["reason"] == "interop audit" for row in before)

    statements, stderr = server_schema_sql(stack.profile, stack.db)
    assert statements == [], stderr  # Better Auth's migration has nothing to do, idp_audit or not
    server_migrate(stack.profile, stack.db)
    after = stack.rows(f"SELECT * FROM {stack.q('idp_audit')} ORDER BY id")
    assert after == before  # untouched

    dump = repr(after)
    token = link.split("token=")[1].split("&")[0]
    for secret in (PASSWORD, SECRET, link, token, user["magic_link"]):
        assert secret not in dump
    entries = stack.idp_json("audit", "--user", user["email"])
    assert [e["command"] for e in entries] == ["reset-password", "add-user"]
