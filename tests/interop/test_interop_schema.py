"""Flow 1: the schema. `idp migrate` builds exactly what the server's own migration builds (issue 2),
statement by statement and as introspected from the database, for both profiles on every dialect;
the server runs on a schema idp made, and idp runs on a schema the server made."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import COMBOS, combo_id
from dbutil import fresh_database
from interop_support import (
    IDP_OWN_TABLES,
    PASSWORD,
    CliResult,
    Stack,
    better_auths,
    describe_schema,
    idp_settings_env,
    run_idp,
    server_migrate,
    server_schema_sql,
    split_statements,
    unique_email,
)

if TYPE_CHECKING:
    from dbutil import TestDatabase

pytestmark = pytest.mark.interop


@pytest.fixture(params=COMBOS, ids=combo_id)
def combo(request: pytest.FixtureRequest, node_ready: None) -> tuple[str, str]:
    """(profile, dialect)"""
    return request.param


@pytest.fixture
def new_db(tmp_path: Path) -> Iterator[Callable[[str], TestDatabase]]:
    """Makes fresh empty databases of a dialect, all dropped after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda dialect: stack.enter_context(fresh_database(dialect, tmp_path))


def _idp(profile: str, db: TestDatabase, *args: str, input: str | None = None) -> CliResult:
    return run_idp(idp_settings_env(profile, db, "http://127.0.0.1:3000"), *args, input=input)


def test_migrate_sql_equals_the_servers_statements(combo: tuple[str, str], new_db) -> None:
    profile, dialect = combo
    db = new_db(dialect)
    r = _idp(profile, db, "migrate", "--sql")  # first: on SQLite the file does not exist yet
    assert r.exit_code == 0, r
    printed = split_statements(r.stdout)
    ours = better_auths(printed)
    theirs, stderr = server_schema_sql(profile, db)  # better-sqlite3 creates the (empty) file
    assert theirs, f"the server's migration printed nothing on an empty database: {stderr}"
    assert ours == theirs
    assert printed[len(ours) :] and all("idp_audit" in s for s in printed[len(ours) :])  # idp's own, last
    r = _idp(profile, db, "migrate", "--sql", "--json")
    assert r.exit_code == 0, r
    assert r.json()["applied"] is False
    assert better_auths([s.rstrip(";").strip() for s in r.json()["statements"]]) == theirs


def test_migrate_builds_the_servers_schema(combo: tuple[str, str], new_db) -> None:
    profile, dialect = combo
    ours, theirs = new_db(dialect), new_db(dialect)
    r = _idp(profile, ours, "migrate", "--yes")
    assert r.exit_code == 0, r
    server_migrate(profile, theirs)
    expected = describe_schema(theirs)
    assert len([t for t in expected if not t.startswith("(")]) >= 5, expected
    assert describe_schema(ours, ignore=IDP_OWN_TABLES) == expected


def test_server_finds_nothing_to_migrate_after_idp(stack: Stack) -> None:
    """The shared database was made by `idp migrate`: the server's migrator sees nothing missing and
    warns about no column type."""
    statements, stderr = server_schema_sql(stack.profile, stack.db)
    assert statements == []
    assert "different type" not in stderr and "error" not in stderr.lower(), stderr


def test_server_serves_sign_up_and_sign_in_on_idp_schema(stack: Stack) -> None:
    email = unique_email("signup")
    before = stack.server.stderr_size()
    b = stack.browser()
    r = b.post("/sign-up/email", {"email": email, "password": PASSWORD, "name": "Sign Up"})
    assert r.status == 200, r
    assert r.json()["user"]["email"] == email
    assert b.cookies.get(stack.session_cookie)
    assert stack.session_user(b)["email"] == email

    r, b2 = stack.sign_in(email, PASSWORD)
    assert r.status == 200, r
    assert r.json()["user"]["email"] == email
    assert stack.session_user(b2)["email"] == email
    log = stack.server.stderr_text(before)
    assert "schema" not in log.lower() and "error" not in log.lower(), log


def test_idp_works_on_the_servers_schema(combo: tuple[str, str], new_db) -> None:
    """The reverse: the server's own migration, then idp finds nothing to do and its commands work."""
    profile, dialect = combo
    db = new_db(dialect)
    server_migrate(profile, db)
    r = _idp(profile, db, "migrate", "--sql", "--json")
    assert r.exit_code == 0, r
    assert better_auths(r.json()["statements"]) == []  # only idp's own audit table is missing
    r = _idp(profile, db, "migrate", "--sql")
    assert r.exit_code == 0, r
    assert better_auths(split_statements(r.stdout)) == []

    r = _idp(profile, db, "info", "--json")
    assert r.exit_code == 0, r
    assert r.json()["schema"]["status"] == "up-to-date", r.json()["schema"]

    admin, member = unique_email("admin"), unique_email("member")
    r = _idp(profile, db, "add-user", admin, "--role", "admin", "--password-stdin", "--json", input=PASSWORD)
    assert r.exit_code == 0, r
    r = _idp(profile, db, "add-user", member, "--role", "editor", "--json")
    assert r.exit_code == 0, r
    r = _idp(profile, db, "set-role", member, "viewer", "--json")
    assert r.exit_code == 0, r
    assert r.json()["previous_role"] == "editor"
    r = _idp(profile, db, "list-users", "--json")
    assert r.exit_code == 0, r
    users = {u["email"]: u for u in r.json()}
    assert users[admin]["role"] == "admin" and users[admin]["has_password"] is True
    assert users[member]["role"] == "viewer" and users[member]["has_password"] is False
    r = _idp(profile, db, "show-user", member, "--json")
    assert r.exit_code == 0, r
    assert r.json()["pending_links"] == 1
    r = _idp(profile, db, "delete-user", member, "--yes", "--json")
    assert r.exit_code == 0, r
    r = _idp(profile, db, "info", "--json")
    assert r.exit_code == 0, r
    assert r.json()["counts"]["users"] == 1
