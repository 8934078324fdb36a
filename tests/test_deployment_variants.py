"""Every command on the schemas Better Auth's own migration creates for uuid and serial ids, required
additional user fields and another PostgreSQL schema (tests/interop/data/kysely, see its README), on
each dialect: regression tests of issue 10 that need no Node (the real server runs the same cells in
tests/interop/test_interop_matrix_kysely.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import dbutil
import pytest
from dbutil import fresh_database, selected_dialects
from idp_runner import TEST_SECRET, IdpRunner
from test_discover import apply

PASSWORD = "correct-horse-battery-42\n"
# idp's uuid ids are version 7 (time-ordered, crypto.random.ordered_uuid); the server's own are version 4
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _dialect(folder: str) -> str:
    return "mariadb" if folder.endswith("mysql") else "sqlite" if folder.endswith("sqlite") else "postgresql"


def _folders(*names: str) -> list[str]:
    return [n for n in names if _dialect(n) in selected_dialects()]


@pytest.fixture
def variant(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, IdpRunner]]:
    folder: str = request.param
    with fresh_database(_dialect(folder), tmp_path) as db:
        apply(db, f"kysely/{folder}")
        yield folder, _runner(db, tmp_path)


def _runner(db: dbutil.TestDatabase, tmp_path: Path, url: str | None = None) -> IdpRunner:
    return IdpRunner(
        db,
        tmp_path,
        {
            "IDP_FLAVOR": "better-auth",
            "IDP_DATABASE_URL": url or db.url,
            "IDP_BETTER_AUTH_SECRET": TEST_SECRET,
            "IDP_BETTER_AUTH_BASE_URL": "https://idp.example.test",
            "IDP_BETTER_AUTH_VERSION": "1.7",
        },
    )


def _ok(idp: IdpRunner, *args: str, input: str | None = None) -> dict:  # type: ignore[type-arg]
    r = idp(*args, "--json", input=input)
    assert r.exit_code == 0, (args, r.stderr)
    out = r.json()
    assert isinstance(out, dict | list)
    return out  # type: ignore[return-value]


def _nothing_to_migrate(idp: IdpRunner) -> None:
    """`idp migrate --sql` has nothing of Better Auth's to do (idp's own audit table aside), no warning."""
    r = idp("migrate", "--sql")
    assert r.exit_code == 0, r
    statements = [s for s in r.stdout.split(";") if s.strip() and "idp_" not in s]
    assert not statements and "Warning" not in r.stderr, r


@pytest.mark.parametrize(
    "variant",
    _folders("serial-pg", "serial-mysql", "serial-sqlite", "uuid-pg", "uuid-mysql"),
    indirect=True,
)
def test_every_command_on_uuid_and_serial_ids(variant: tuple[str, IdpRunner]) -> None:
    """serial-pg failed on the code before: `integer = character varying` on the first query by user id
    (add-user with a password, set-role, ban, ...), reported as exit 7 "run `idp migrate`"."""
    folder, idp = variant
    admin = _ok(idp, "add-user", "root@example.test", "--role", "admin", "--password-stdin", input=PASSWORD)
    user = _ok(idp, "add-user", "ann@example.test", "--password-stdin", input=PASSWORD)
    linked = _ok(idp, "add-user", "bob@example.test")
    for made in (admin, user, linked):
        if folder.startswith("serial"):
            assert made["user_id"].isdigit(), made
        elif folder == "uuid-pg":
            assert UUID.match(made["user_id"]), made
    assert linked["magic_link"]
    assert _ok(idp, "set-role", "ann@example.test", "admin")["role"] == "admin"
    assert _ok(idp, "ban", "ann@example.test", "--yes")["user_id"] == user["user_id"]
    assert _ok(idp, "unban", "ann@example.test")["user_id"] == user["user_id"]
    _ok(idp, "reset-password", "ann@example.test", "--password-stdin", "--yes", input=PASSWORD)
    _ok(idp, "reset-password", "bob@example.test", "--yes")
    assert _ok(idp, "list-sessions", "ann@example.test") == []
    assert _ok(idp, "revoke-sessions", "ann@example.test", "--yes")["revoked"] == 0
    r = idp("revoke-sessions", "ann@example.test", "--session-id", "no-such-id", "--yes")
    assert r.exit_code == 3, r
    assert "Traceback" not in r.stderr
    emails = {u["email"] for u in _ok(idp, "list-users")}  # type: ignore[union-attr]
    assert emails == {"root@example.test", "ann@example.test", "bob@example.test"}
    _ok(idp, "delete-user", "bob@example.test", "--yes")
    assert idp("show-user", "bob@example.test").exit_code == 3
    _nothing_to_migrate(idp)


@pytest.mark.parametrize("variant", _folders("fields-pg", "fields-mysql", "fields-sqlite"), indirect=True)
def test_required_additional_field(variant: tuple[str, IdpRunner]) -> None:
    """`tier` is required and has no default: add-user and bootstrap-admin say which column and which
    setting, and write nothing (before issue 10 they said "already exists", exit 4); with the value
    declared ([user.fields]) the user is created with it and with the declared server defaults."""
    _folder, idp = variant
    for args in (["add-user", "ann@example.test"], ["bootstrap-admin", "root@example.test"]):
        r = idp(*args)
        assert r.exit_code == 6, r
        assert "'tier'" in r.stderr and "[user.fields]" in r.stderr and "--field tier=" in r.stderr, r
        assert "Traceback" not in r.stderr
    assert _ok(idp, "list-users") == []
    config = idp.tmp_path / "idp.toml"
    config.write_text('[user.fields]\ntier = "gold"\nplan = "free"\ncredits = 0\n')
    idp.env["IDP_CONFIG"] = str(config)
    made = _ok(idp, "add-user", "ann@example.test")
    assert made["created"] is True
    import sqlalchemy

    engine = sqlalchemy.create_engine(idp.db.sa_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sqlalchemy.text('SELECT tier, plan, nickname, credits FROM "user" WHERE email = :e')
                if idp.db.dialect != "mariadb"
                else sqlalchemy.text("SELECT tier, plan, nickname, credits FROM `user` WHERE email = :e"),
                {"e": "ann@example.test"},
            ).one()
    finally:
        engine.dispose()
    assert tuple(row) == ("gold", "free", None, 0)


@pytest.mark.skipif("postgresql" not in selected_dialects(), reason="PostgreSQL only")
def test_schema_query_parameter(tmp_path: Path) -> None:
    """`?schema=auth` (Prisma's form; Better Auth's database.schemaName) was "invalid connection option";
    it is now the search_path of every transaction (SET LOCAL, which survives a transaction pooler)."""
    with fresh_database("postgresql", tmp_path) as db:
        apply(db, "kysely/schema-pg")
        plain = _runner(db, tmp_path)
        r = plain("list-users")
        assert r.exit_code in (6, 7) and "auth." in r.stderr and "?schema=" in r.stderr, r
        idp = _runner(db, tmp_path, url=db.url + "?schema=auth")
        made = _ok(idp, "add-user", "ann@example.test", "--password-stdin", input=PASSWORD)
        assert [u["email"] for u in _ok(idp, "list-users")] == ["ann@example.test"]  # type: ignore[index]
        assert _ok(idp, "set-role", "ann@example.test", "admin")["user_id"] == made["user_id"]
        _nothing_to_migrate(idp)
        import sqlalchemy

        engine = sqlalchemy.create_engine(db.sa_url)
        try:
            with engine.connect() as conn:
                found = conn.exec_driver_sql(
                    "SELECT count(*) FROM auth.\"user\" WHERE email = 'ann@example.test'"
                ).scalar()
                public = conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                ).scalar()
        finally:
            engine.dispose()
        assert (found, public) == (1, 0)
        two = _runner(db, tmp_path, url=db.url + "?schema=auth&schema=public")
        r = two("list-users")
        assert r.exit_code == 6 and "?schema=" in r.stderr, r


def test_schema_query_parameter_is_postgresql_only(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as db:
        idp = _runner(db, tmp_path, url=db.url + "?schema=auth")
        r = idp("migrate", "--yes")
        assert r.exit_code == 6 and "PostgreSQL only" in r.stderr, r


def test_secondary_session_storage_has_no_session_tables(tmp_path: Path) -> None:
    """With secondaryStorage only, Better Auth's schema has no session and no verification table:
    idp's migrate creates none either, commands that need them are refused (exit 6, nothing written),
    and the others work (before: exit 7 "run `idp migrate`", then a KeyError)."""
    with fresh_database("sqlite", tmp_path) as db:
        idp = _runner(db, tmp_path)
        idp.env["IDP_SESSION_STORAGE"] = "secondary"
        idp.migrate()
        import sqlite3

        con = sqlite3.connect(db.url.removeprefix("sqlite:///"))
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        con.close()
        assert "user" in tables and not {"session", "verification"} & tables, tables
        _nothing_to_migrate(idp)
        made = _ok(idp, "add-user", "ann@example.test", "--password-stdin", "--no-link", input=PASSWORD)
        assert made["magic_link"] is None
        for args in (
            ["add-user", "bob@example.test"],
            ["list-sessions", "ann@example.test"],
            ["revoke-sessions", "ann@example.test", "--yes"],
            ["ban", "ann@example.test", "--yes"],
            ["reset-password", "ann@example.test", "--password-stdin", "--yes"],
        ):
            r = idp(*args, input=PASSWORD)
            assert r.exit_code == 6 and "secondary" in r.stderr and "Traceback" not in r.stderr, (args, r)
        assert [u["email"] for u in _ok(idp, "list-users")] == ["ann@example.test"]  # type: ignore[index]
        r = idp(
            "reset-password",
            "ann@example.test",
            "--password-stdin",
            "--keep-sessions",
            "--yes",
            input=PASSWORD,
        )
        assert r.exit_code == 0, r
        r = idp("delete-user", "ann@example.test", "--yes")
        assert r.exit_code == 0 and "live until they expire" in r.stderr, r


def test_both_session_storage_warns_about_cached_sessions(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as db:
        idp = _runner(db, tmp_path)
        idp.env["IDP_SESSION_STORAGE"] = "both"
        idp.migrate()
        _ok(idp, "add-user", "root@example.test", "--role", "admin", "--password-stdin", input=PASSWORD)
        _ok(idp, "add-user", "ann@example.test", "--password-stdin", input=PASSWORD)
        for args, words in (
            (["set-role", "ann@example.test", "admin"], "keep the old role"),
            (["revoke-sessions", "ann@example.test", "--yes"], "cached copies live until they expire"),
            (["ban", "ann@example.test", "--yes"], "cached copies live until they expire"),
            (["delete-user", "ann@example.test", "--yes"], "live until they expire"),
        ):
            r = idp(*args)
            assert r.exit_code == 0 and words in r.stderr, (args, r)
