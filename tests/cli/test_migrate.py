"""idp migrate, the schema check of other commands (exit 7), and info, on every dialect."""

from __future__ import annotations

import sqlalchemy as sa
from idp_runner import IdpRunner


def _tables(idp: IdpRunner) -> set[str]:
    engine = sa.create_engine(idp.db.sa_url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _exec(idp: IdpRunner, *statements: str) -> None:
    engine = sa.create_engine(idp.db.sa_url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def test_sql_prints_and_changes_nothing(idp: IdpRunner) -> None:
    r = idp("migrate", "--sql")
    assert r.exit_code == 0, r.stderr
    assert 'create table "user"' in r.stdout or "create table `user`" in r.stdout
    # owox: core + organization, member, invitation; then idp's own audit table
    assert r.stdout.count("create table") == 7
    assert r.stdout.count("CREATE TABLE idp_audit") == 1
    assert not (_tables(idp) & {"user", "session"})


def test_migrate_twice_is_a_no_op(idp: IdpRunner) -> None:
    r = idp("migrate", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    first = r.json()
    assert first["applied"] is True and len(first["statements"]) == 14 + 2  # + idp_audit and its index
    assert {"user", "session", "account", "verification", "organization", "member", "invitation"} <= _tables(
        idp
    )
    r = idp("migrate", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json() == {"statements": [], "applied": False}
    r = idp("migrate")
    assert r.exit_code == 0 and "Nothing to do" in r.stderr
    r = idp("migrate", "--sql")
    assert r.exit_code == 0 and r.stdout == ""


def test_better_auth_flavor_extends_an_owox_schema_additively(idp: IdpRunner) -> None:
    idp.migrate()
    assert idp("add-user", "keep@example.com", "--role", "admin").exit_code == 0
    idp.flavor("better-auth")
    # an OWOX database is not a Better Auth server with the admin plugin: said, and nothing changes ...
    r = idp("migrate", "--sql")
    assert r.exit_code == 8 and "looks like OWOX" in r.stderr, r.stderr
    # ... unless the plugins are declared: then it is extended additively
    idp.env["IDP_PLUGINS"] = "admin,two-factor,organization,magic-link"
    r = idp("migrate", "--sql")
    assert r.exit_code == 0, r.stderr
    statements = [s for s in r.stdout.splitlines() if s]
    assert any("add column" in s and "role" in s for s in statements)
    assert any("twoFactor" in s and "create table" in s for s in statements)
    assert not any("drop" in s.lower() for s in statements)
    idp.migrate()
    assert "twoFactor" in _tables(idp)
    # the existing user survived and is readable
    r = idp("show-user", "keep@example.com", "--json")
    assert r.exit_code == 0, r.stderr


def test_missing_index_is_created(idp: IdpRunner) -> None:
    idp.migrate()
    if idp.db.dialect == "mariadb":
        # MariaDB keeps an index for the foreign key; a replacement must exist before dropping ours
        _exec(
            idp,
            "CREATE INDEX tmp_fk ON `session` (`userId`, `id`)",
            "DROP INDEX `session_userId_idx` ON `session`",
        )
    else:
        _exec(idp, 'DROP INDEX "session_userId_idx"')
    r = idp("migrate", "--sql")
    assert len(r.stdout.strip().splitlines()) == 1
    assert "session_userId_idx" in r.stdout
    idp.migrate()
    assert idp("migrate", "--sql").stdout == ""


def test_unsafe_required_column_on_populated_table_is_refused(idp: IdpRunner) -> None:
    q = "`" if idp.db.dialect == "mariadb" else '"'
    text_type = "varchar(36)" if idp.db.dialect == "mariadb" else "text"
    _exec(
        idp,
        f"create table {q}verification{q} ({q}id{q} {text_type} not null primary key, {q}identifier{q} text not null)",
        f"insert into {q}verification{q} ({q}id{q}, {q}identifier{q}) values ('x', 'y')",
    )
    r = idp("migrate", "--yes")
    assert r.exit_code == 8
    assert 'cannot add required column "value"' in r.stderr
    assert "Traceback" not in r.stderr
    assert _tables(idp) == {"verification"}  # nothing was created either


def test_other_commands_need_the_schema(idp: IdpRunner) -> None:
    for args in (("list-users",), ("add-user", "a@example.com"), ("show-user", "a@example.com")):
        r = idp(*args)
        assert r.exit_code == 7, (args, r.stdout, r.stderr)
        assert "idp migrate" in r.stderr


def test_schema_behind_for_the_flavor_is_exit_7(idp: IdpRunner) -> None:
    idp.migrate()  # owox
    idp.flavor("better-auth")
    r = idp("list-users")
    assert r.exit_code == 7
    # what was found, not "run idp migrate" (wave 2: the hint only where the layout is merely behind)
    assert "looks like OWOX" in r.stderr and "--flavor owox" in r.stderr
    assert "idp migrate" not in r.stderr
    r = idp("list-users", env={"IDP_PLUGINS": "admin,two-factor,organization,magic-link"})
    assert r.exit_code == 7
    assert "out of date" in r.stderr and "user.role" in r.stderr and "idp migrate" in r.stderr


def test_missing_sqlite_file_is_not_created(idp_sqlite: IdpRunner, tmp_path) -> None:
    path = tmp_path / "nowhere" / "auth.db"
    r = idp_sqlite("list-users", env={"IDP_DATABASE_URL": f"sqlite:///{path}"})
    assert r.exit_code == 7 and "does not exist" in r.stderr
    assert not path.exists()
    r = idp_sqlite("migrate", "--sql", env={"IDP_DATABASE_URL": f"sqlite:///{path}"})
    assert r.exit_code == 0 and "create table" in r.stdout
    assert not path.exists()
    r = idp_sqlite("migrate", env={"IDP_DATABASE_URL": f"sqlite:///{path}"})
    assert r.exit_code == 0 and path.exists()


def test_unreachable_database_is_exit_1(idp_sqlite: IdpRunner) -> None:
    r = idp_sqlite("list-users", env={"IDP_DATABASE_URL": "postgresql://nobody:hunter2@127.0.0.1:1/x"})
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: cannot connect to postgresql://nobody:***@127.0.0.1:1/x")
    assert "hunter2" not in r.stderr and "Traceback" not in r.stderr


def test_bad_configuration_is_exit_6(idp_sqlite: IdpRunner) -> None:
    r = idp_sqlite("list-users", env={"IDP_DATABASE_URL": "nonsense"})
    assert r.exit_code == 6 and r.stderr.startswith("Error: invalid database URL")
    r = idp_sqlite("info", env={"IDP_BETTER_AUTH_MAGIC_LINK_TTL": "soon"})
    assert r.exit_code == 6


def test_info_reports_schema_counts_and_redacts(idp: IdpRunner) -> None:
    r = idp("info", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data["schema"]["status"] == "missing"
    assert any("idp migrate" in w for w in data["warnings"])
    idp.migrate()
    assert idp("add-user", "boss@example.com", "--role", "admin").exit_code == 0
    assert idp("add-user", "v@example.com").exit_code == 0
    r = idp("info", "--json")
    data = r.json()
    assert data["database"]["reachable"] is True
    assert data["schema"]["status"] == "up-to-date"
    assert data["settings"]["secret"] == {"value": "[REDACTED]", "source": "env IDP_BETTER_AUTH_SECRET"}
    assert data["counts"]["users"] == 2
    assert data["counts"]["users_by_role"] == {"admin": 1, "viewer": 1}
    assert data["counts"]["admins"] == 1
    assert data["counts"]["pending_links"] == 2
    assert data["counts"]["users_without_password"] == 2
    assert "test-secret" not in r.stdout
    text = idp("info")
    assert text.exit_code == 0 and "[REDACTED]" in text.stdout and "test-secret" not in text.stdout


def test_help_needs_no_configuration(idp_sqlite: IdpRunner) -> None:
    env = {"IDP_DATABASE_URL": "nonsense", "IDP_FLAVOR": "bogus"}
    for args in (["--help"], ["add-user", "--help"], ["migrate", "--help"], ["2fa", "--help"]):
        r = idp_sqlite(*args, env=env)
        assert r.exit_code == 0, (args, r.stderr)
        assert "Usage" in r.stdout
