"""The interop matrix of issue 10 on Better Auth's built-in Kysely adapter: the real server (better-auth
1.7.25, and 1.5.6 from tests/interop/node_v15) configured as real applications configure it — uuid and
serial ids, plural and renamed tables, required additional user fields, another PostgreSQL schema,
without the admin or two-factor plugin, hashed magic-link tokens, secondary storage, bcrypt password
hooks — on each dialect where the configuration applies.

Each cell's database is created by the server's own migration (`getMigrations`, schema.mjs) with the
cell's options, the server is started once for the cell (a module-scoped fixture), and idp is pointed at
it with only what a user would declare for that deployment (what the database cannot show). For each
cell: a user with a password and one with a link sign in with their roles; set-role, ban, reset-password,
delete-user, list-users, list-sessions and revoke-sessions work, or are refused with a one-line error,
the contract's exit code and nothing written; `idp migrate` has nothing to do; the server's own migration
still has nothing to do after idp ran (the last test of each cell).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import require_node
from dbutil import fresh_database, selected_dialects
from interop_support import (
    PASSWORD,
    AuthServer,
    CliResult,
    ServerError,
    Stack,
    idp_commands,
    idp_settings_env,
    node_env,
    run_idp,
    run_node,
    split_statements,
    unique_email,
)

NEW_PASSWORD = "another-horse-battery-43"

RENAMED_TOML = """\
[schema.models]
user = "app_users"
session = "app_sessions"

[schema.fields.user]
email = "email_address"
emailVerified = "email_verified"

[schema.fields.session]
userId = "user_id"
"""
# the server's defaultValues are options idp cannot see (not in the database on CREATE TABLE): declared
FIELDS_TOML = '[user.fields]\ntier = "gold"\nplan = "free"\ncredits = 0\n'


@dataclass(frozen=True)
class Cell:
    """One server configuration on one dialect, and what idp is told about it."""

    name: str  # the variant(s), as auth.mjs's IDP_INTEROP_VARIANT
    dialect: str
    variant: tuple[str, ...] = ()
    version: str = "1.7"
    idp_env: tuple[tuple[str, str], ...] = ()
    toml: str = ""  # the idp config file (what only a file can declare)
    url_query: str = ""  # appended to idp's database URL
    schema: str | None = None  # PostgreSQL schema the tables are in

    @property
    def admin(self) -> bool:
        return "no-admin" not in self.variant

    @property
    def two_factor(self) -> bool:
        return "no-2fa" not in self.variant

    @property
    def sessions(self) -> str:
        return dict(self.idp_env).get("IDP_SESSION_STORAGE", "database")

    @property
    def id(self) -> str:
        return f"{self.name}-{self.dialect}"


ALL = ("sqlite", "postgresql", "mariadb")
CELLS = [
    *(Cell("uuid", d, ("uuid",)) for d in ALL),
    *(Cell("serial", d, ("serial",)) for d in ALL),
    *(Cell("plural", d, ("plural",)) for d in ALL),
    *(Cell("renamed", d, ("renamed",), toml=RENAMED_TOML) for d in ALL),
    *(Cell("fields", d, ("fields",), toml=FIELDS_TOML) for d in ALL),
    Cell("schema", "postgresql", ("schema",), url_query="?schema=auth", schema="auth"),
    *(Cell("no-admin", d, ("no-admin",)) for d in ("sqlite", "postgresql")),
    Cell("no-2fa", "sqlite", ("no-2fa",)),
    *(
        Cell("hashed-link", d, ("hashed-link",), idp_env=(("IDP_MAGIC_LINK_STORE_TOKEN", "hashed"),))
        for d in ("sqlite", "postgresql")
    ),
    Cell("secondary", "sqlite", ("secondary",), idp_env=(("IDP_SESSION_STORAGE", "secondary"),)),
    Cell("both", "sqlite", ("both",), idp_env=(("IDP_SESSION_STORAGE", "both"),)),
    *(
        Cell("bcrypt", d, ("bcrypt",), idp_env=(("IDP_PASSWORD_HASH", "bcrypt"),))
        for d in ("sqlite", "mariadb")
    ),
    *(Cell("v15", d, (), version="1.5") for d in ALL),
]
SELECTED = [c for c in CELLS if c.dialect in selected_dialects()]


@dataclass
class CellStack(Stack):
    """A Stack whose idp is told what this cell's deployment declares."""

    cell: Cell = field(default_factory=lambda: Cell("?", "sqlite"))
    config_path: Path | None = None

    @property
    def idp_env(self) -> dict[str, str]:
        env = idp_settings_env("better-auth", self.db, self.base_url)
        env["IDP_DATABASE_URL"] = self.db.url + self.cell.url_query
        env["IDP_BETTER_AUTH_VERSION"] = self.cell.version
        env |= dict(self.cell.idp_env)
        if self.config_path is not None:
            env["IDP_CONFIG"] = str(self.config_path)
        return env

    @property
    def sessions(self) -> str:
        return self.cell.sessions

    def idp_without_config(self, *args: str, input: str | None = None) -> CliResult:
        env = {k: v for k, v in self.idp_env.items() if k != "IDP_CONFIG"}
        return run_idp(env, *args, input=input)

    def new_user(
        self, prefix: str, *, role: str | None = None, password: str | None = None, link: bool = True
    ) -> dict[str, Any]:
        args = ["add-user", unique_email(prefix)]
        if role and self.cell.admin:
            args += ["--role", role]
        if password is not None:
            args.append("--password-stdin")
            if not link:
                args.append("--no-link")
        data: dict[str, Any] = self.idp_json(*args, input=None if password is None else password + "\n")
        assert data["created"] is True, data
        data["password"] = password
        return data

    def state(self) -> dict[str, list[str]]:
        """Every row of every table (idp's audit trail aside: refusals are recorded there on purpose)."""
        import sqlalchemy

        out: dict[str, list[str]] = {}
        with self.engine.connect() as conn:
            names = sqlalchemy.inspect(conn).get_table_names(schema=self.cell.schema)
            for name in sorted(names):
                if name.startswith("idp_"):
                    continue
                table = (
                    self.q(name) if self.cell.schema is None else f"{self.q(self.cell.schema)}.{self.q(name)}"
                )
                out[name] = sorted(repr(tuple(r)) for r in conn.exec_driver_sql(f"SELECT * FROM {table}"))
        return out

    def refused(self, *args: str, input: str | None = None, codes: tuple[int, ...] = (6, 7, 8)) -> CliResult:
        """The command is refused with a one-line error and one of the contract's codes; nothing written."""
        before = self.state()
        r = self.idp(*args, input=input)
        assert r.exit_code in codes, f"idp {' '.join(args)} was not refused as expected: {r}"
        assert "Traceback" not in r.stderr, r
        first = [line for line in r.stderr.splitlines() if line.strip()]
        assert first and first[0].startswith("Error:") and len(first) <= 2, r
        assert self.state() == before, f"idp {' '.join(args)} was refused but wrote: {r}"
        return r


def _cell_stack(cell: Cell, base: Path, exit: contextlib.ExitStack) -> CellStack:
    db = exit.enter_context(fresh_database(cell.dialect, base))  # skips when the dialect is unreachable
    extra = {"IDP_INTEROP_VARIANT": ",".join(cell.variant), "IDP_INTEROP_VERSION": cell.version}
    env = node_env("better-auth", db) | extra
    proc = run_node("schema.mjs", "migrate", env=env)  # the server's own migration creates the schema
    if proc.returncode != 0:
        raise ServerError(f"the server's migration failed for {cell.id}:\n{proc.stderr[-3000:]}")
    server = AuthServer("better-auth", db, base, extra_env=extra)
    exit.callback(server.stop)
    server.start()
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    args: dict[str, Any] = {"options": f"-csearch_path={cell.schema}"} if cell.schema else {}
    engine = sqlalchemy.create_engine(db.sa_url, poolclass=NullPool, connect_args=args)
    exit.callback(engine.dispose)
    config = None
    if cell.toml:
        config = base / f"idp-{cell.id}.toml"
        config.write_text(cell.toml)
    return CellStack("better-auth", db, server, engine, cell=cell, config_path=config)


@pytest.fixture(scope="module", params=SELECTED, ids=lambda c: c.id)
def cell(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CellStack]:
    require_node()
    with contextlib.ExitStack() as exit:
        try:
            stack = _cell_stack(request.param, tmp_path_factory.mktemp("matrix"), exit)
        except ServerError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield stack
        assert stack.server.alive(), (
            f"the server of {stack.cell.id} died:\n{stack.server.stderr_text()[-3000:]}"
        )


def _denied(stack: CellStack, email: str, password: str) -> None:
    r, b = stack.sign_in(email, password)
    assert r.status in (401, 403), f"the server let {email} sign in: {r}"
    assert not b.cookies.get(stack.session_cookie)


def _has_field_option() -> bool:
    from typer.main import get_command

    from owox_idp.cli import app

    add_user = get_command(app).commands["add-user"]  # type: ignore[attr-defined]
    return any("--field" in p.opts for p in add_user.params)


# ----------------------------------------------------------------------------- the cells


def test_password_and_link_users_sign_in_with_their_roles(cell: CellStack) -> None:
    pw = cell.new_user("matrix-pw", role="admin", password=PASSWORD, link=cell.sessions != "secondary")
    browser = cell.signed_in(pw["email"], PASSWORD)
    if cell.cell.admin:
        assert cell.server_role(browser) == "admin"
    if cell.sessions == "secondary":
        # the server keeps magic-link tokens in secondary storage too: a link in the database is never found
        cell.refused("add-user", unique_email("matrix-link"), "--role", "editor", codes=(6,))
        return
    link = cell.new_user("matrix-link", role="editor")
    assert link["magic_link"]
    browser = cell.link_works(link["magic_link"])
    user = cell.session_user(browser)
    assert user is not None and user["email"] == link["email"]
    if cell.cell.admin:
        assert user["role"] == "editor"


def test_set_role_is_what_the_server_sees(cell: CellStack) -> None:
    pw = cell.new_user("matrix-role", role="editor", password=PASSWORD, link=cell.sessions != "secondary")
    if not cell.cell.admin:
        cell.refused("set-role", pw["email"], "viewer", codes=(6, 7))
        return
    browser = cell.signed_in(pw["email"], PASSWORD)
    r = cell.idp("set-role", pw["email"], "viewer", "--json")
    assert r.exit_code == 0 and r.json()["role"] == "viewer", r
    assert cell.server_role(cell.signed_in(pw["email"], PASSWORD)) == "viewer"
    if cell.sessions == "database":
        assert cell.server_role(browser) == "viewer"
    else:  # the server's cached copy of the session holds the user (and role) until it expires: said
        assert "keep the old role" in r.stderr, r


def test_ban_stops_sign_in(cell: CellStack) -> None:
    pw = cell.new_user("matrix-ban", password=PASSWORD, link=cell.sessions != "secondary")
    browser = cell.signed_in(pw["email"], PASSWORD)
    if not cell.cell.admin:
        cell.refused("ban", pw["email"], "--yes", codes=(6, 7))
        cell.signed_in(pw["email"], PASSWORD)
        return
    if cell.sessions == "secondary":
        # a ban must end the user's sessions, which idp cannot reach there
        cell.refused("ban", pw["email"], "--yes", codes=(6,))
        return
    r = cell.idp("ban", pw["email"], "--yes", "--reason", "matrix", "--json")
    assert r.exit_code == 0, r
    _denied(cell, pw["email"], PASSWORD)
    if cell.sessions == "both":
        assert "secondary storage" in r.stderr, r  # cached copies live until they expire: said
    else:
        assert cell.session(browser) is None, "a banned user's session still works"
    assert cell.idp("unban", pw["email"]).exit_code == 0
    cell.signed_in(pw["email"], PASSWORD)


def test_reset_password(cell: CellStack) -> None:
    pw = cell.new_user("matrix-reset", password=PASSWORD, link=cell.sessions != "secondary")
    cell.signed_in(pw["email"], PASSWORD)
    args = ["reset-password", pw["email"], "--password-stdin", "--yes"]
    if cell.sessions == "secondary":
        cell.refused(*args, input=NEW_PASSWORD + "\n", codes=(6,))  # it would sign the user out
        args.append("--keep-sessions")
    r = cell.idp(*args, "--json", input=NEW_PASSWORD + "\n")
    assert r.exit_code == 0, r
    _denied(cell, pw["email"], PASSWORD)
    cell.signed_in(pw["email"], NEW_PASSWORD)


def test_delete_user(cell: CellStack) -> None:
    pw = cell.new_user("matrix-delete", password=PASSWORD, link=cell.sessions != "secondary")
    cell.signed_in(pw["email"], PASSWORD)
    r = cell.idp("delete-user", pw["email"], "--yes", "--json")
    assert r.exit_code == 0, r
    if cell.sessions != "database":
        assert "live until they expire" in r.stderr, r
    _denied(cell, pw["email"], PASSWORD)
    assert pw["email"] not in cell.idp("list-users", "--quiet").stdout


def test_list_users_and_sessions(cell: CellStack) -> None:
    pw = cell.new_user("matrix-list", password=PASSWORD, link=cell.sessions != "secondary")
    browser = cell.signed_in(pw["email"], PASSWORD)
    users = cell.idp_json("list-users", "--search", pw["email"])
    assert [u["email"] for u in users] == [pw["email"]], users
    assert str(users[0]["id"]) == str(pw["user_id"])
    if cell.sessions == "secondary":
        cell.refused("list-sessions", pw["email"], "--json", codes=(6,))
        cell.refused("revoke-sessions", pw["email"], "--yes", codes=(6,))
        return
    sessions = cell.idp_json("list-sessions", pw["email"])
    assert len(sessions) == 1, sessions
    r = cell.idp("revoke-sessions", pw["email"], "--yes", "--json")
    assert r.exit_code == 0, r
    assert r.json()["revoked"] == 1, r
    if cell.sessions == "both":
        assert "secondary storage" in r.stderr, r
    else:
        assert cell.session(browser) is None, "a revoked session still works"


def test_two_factor(cell: CellStack) -> None:
    pw = cell.new_user("matrix-2fa", password=PASSWORD, link=cell.sessions != "secondary")
    if not cell.cell.two_factor:
        cell.refused("2fa", "enable", pw["email"], codes=(6, 7))
        cell.signed_in(pw["email"], PASSWORD)
        return
    r = cell.idp("2fa", "enable", pw["email"], "--json")
    assert r.exit_code == 0, r
    answer, _ = cell.sign_in(pw["email"], PASSWORD)
    assert answer.status == 200 and (answer.json() or {}).get("twoFactorRedirect") is True, answer


def test_required_additional_field(cell: CellStack) -> None:
    if "fields" not in cell.cell.variant:
        pytest.skip("only the cells with additional user fields")
    email = unique_email("matrix-field")
    before = cell.state()
    r = cell.idp_without_config("add-user", email, "--json")
    assert r.exit_code == 6, r
    assert "'tier'" in r.stderr and "--field tier=" in r.stderr and "[user.fields]" in r.stderr, r
    assert cell.state() == before
    # with the declared default ([user.fields] tier = "gold") the server reads the user, and the
    # server's own defaultValues are applied to the fields idp was not given
    made = cell.new_user("matrix-field", password=PASSWORD)
    user = cell.session_user(cell.signed_in(made["email"], PASSWORD))
    assert user is not None
    assert (user["tier"], user["plan"], user.get("nickname"), user["credits"]) == ("gold", "free", None, 0), (
        user
    )
    if _has_field_option():
        given = cell.idp_json(
            "add-user",
            unique_email("matrix-field"),
            "--field",
            "tier=platinum",
            "--password-stdin",
            input=PASSWORD + "\n",
        )
        user = cell.session_user(cell.signed_in(given["email"], PASSWORD))
        assert user is not None and user["tier"] == "platinum", user


def test_migrate_has_nothing_to_do_nor_has_the_servers(cell: CellStack) -> None:
    """Last in the module: after everything idp did, neither migration has anything to do."""
    r = cell.idp("migrate", "--sql")
    assert r.exit_code == 0, r
    assert not [s for s in split_statements(r.stdout) if "idp_" not in s], r
    env = node_env("better-auth", cell.db) | {
        "IDP_INTEROP_VARIANT": ",".join(cell.cell.variant),
        "IDP_INTEROP_VERSION": cell.cell.version,
    }
    proc = run_node("schema.mjs", "sql", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"the server's migration has work after idp ran:\n{proc.stdout}"


def test_matrix_covers_the_commands() -> None:
    """The matrix exercises commands that exist (a renamed command would silently skip a check)."""
    missing = {
        "add-user",
        "set-role",
        "ban",
        "unban",
        "reset-password",
        "delete-user",
        "list-users",
        "list-sessions",
        "revoke-sessions",
        "2fa enable",
        "migrate",
    } - idp_commands()
    assert not missing
