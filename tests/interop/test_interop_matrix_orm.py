"""The interop matrix of the ORM deployments (issue 10): the real Better Auth server (1.7.25) on the
databases Drizzle and Prisma create, and idp run on them with no setting but the URL (discovery).

- Drizzle: Better Auth's Drizzle adapter (`better-auth/adapters/drizzle`, drizzle-orm 0.45.4) with the
  committed `schema.ts` Better Auth's CLI generated, on the database created from the committed
  `0000_init.sql` drizzle-kit generated (tests/interop/data/drizzle/<variant>). drizzle-kit is not run.
- Prisma: Prisma's engines cannot be downloaded here, so the server runs the built-in Kysely adapter over
  the SQL Prisma's migration creates (tests/interop/data/prisma/<provider>/migration.sql), configured as
  a Prisma user's Better Auth is: nothing for the `@@map`ped schema (tables and camelCase columns are
  Better Auth's names), every model's `modelName` for the schema without `@@map` (`User`, `Session`).
  The Node process runs in UTC, so that Kysely + pg read and write `timestamp(3)` (no time zone) as
  UTC wall-clock times, as Prisma does.

Every PostgreSQL database of the matrix has `ALTER DATABASE ... SET timezone = 'America/New_York'`: the
server's and idp's sessions start in New York time, and their `timestamp` (no time zone) columns must
still hold UTC instants (a session idp lists has the expiry the server wrote; a link idp issues is
neither dead on arrival nor 5 hours too long; a ban's end is what the server reads).

Each cell's server starts once per session (`matrix` pool); every test uses fresh users.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dbutil import TestDatabase, fresh_database, selected_dialects
from interop_support import (
    IDP_OWN_TABLES,
    PASSWORD,
    AuthServer,
    Browser,
    CliResult,
    ServerError,
    Stack,
    better_auths,
    describe_schema,
    idp_settings_env,
    node_problem,
    parse_time,
    run_idp,
    sa_engine,
    split_statements,
    unique_email,
)

pytestmark = pytest.mark.interop

DATA = Path(__file__).parent / "data"
NEW_PASSWORD = "a-brand-new-password-7"
NON_UTC = "America/New_York"
CORE = ("user", "session", "account", "verification")
ORG = ("organization", "member", "invitation")


@dataclass(frozen=True)
class Cell:
    """One deployment: a committed schema, the dialect it is for, and the server's configuration."""

    name: str  # the test id
    data: str  # folder under tests/interop/data
    dialect: str  # sqlite | postgresql | mariadb
    adapter: str  # drizzle | kysely (the Prisma deployments)
    organization: bool = True
    plural: bool = False
    model_names: str = ""  # IDP_INTEROP_MODEL_NAMES (orm.mjs)
    snake: bool = False  # Drizzle's generated snake_case columns
    version: str = "1.7"  # the server's better-auth: 1.4.22 for the schemas generated from 1.4's plugins

    def table(self, model: str) -> str:
        """The physical table of a Better Auth model in this deployment."""
        if self.model_names:
            names = dict(pair.split("=") for pair in self.model_names.split(","))
            return names[model]
        name = model + "s" if self.plural else model
        return _snake(name) if self.snake else name

    def column(self, field: str) -> str:
        return _snake(field) if self.snake else field

    def server_env(self) -> dict[str, str]:
        env = {
            "IDP_INTEROP_ADAPTER": self.adapter,
            "IDP_INTEROP_ORGANIZATION": "1" if self.organization else "0",
            "IDP_INTEROP_VERSION": self.version,
            "TZ": "UTC",
        }
        if self.adapter == "drizzle":
            env["IDP_INTEROP_DRIZZLE_SCHEMA"] = str(DATA / self.data / "schema.ts")
        if self.plural:
            env["IDP_INTEROP_USE_PLURAL"] = "1"
        if self.model_names:
            env["IDP_INTEROP_MODEL_NAMES"] = self.model_names
        return env


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def _drizzle(variant: str, dialect: str, **kw: Any) -> Cell:
    version = "1.7" if variant.endswith("plugins17") else "1.4"
    return Cell(
        f"drizzle-{variant}", f"drizzle/{variant}", dialect, "drizzle", snake=True, version=version, **kw
    )


_PASCAL = ",".join(f"{m}={m[0].upper()}{m[1:]}" for m in (*CORE, "twoFactor", *ORG))

CELLS = [
    _drizzle("pg", "postgresql"),
    _drizzle("pg-no-org", "postgresql", organization=False),
    _drizzle("pg-plural", "postgresql", plural=True),
    _drizzle("pg-plugins17", "postgresql"),
    _drizzle("mysql", "mariadb"),
    _drizzle("mysql-plugins17", "mariadb"),
    _drizzle("sqlite", "sqlite"),
    _drizzle("sqlite-plural", "sqlite", plural=True),
    _drizzle("sqlite-plugins17", "sqlite"),
    _drizzle("sqlite-cli134", "sqlite"),
    Cell("prisma-postgresql", "prisma/postgresql", "postgresql", "kysely"),
    Cell("prisma-postgresql-nomap", "prisma/postgresql-nomap", "postgresql", "kysely", model_names=_PASCAL),
    Cell("prisma-mysql", "prisma/mysql", "mariadb", "kysely"),
]


@dataclass
class OrmStack(Stack):
    cell: Cell | None = None

    @property
    def c(self) -> Cell:
        assert self.cell is not None
        return self.cell

    @property
    def idp_env(self) -> dict[str, str]:
        return idp_env(self.c, self.db, self.base_url)

    def raw_instant(self, value: Any) -> datetime:
        """A date as stored (naive = UTC wall clock, integer = Drizzle's ms or s) as a UTC instant."""
        if isinstance(value, int):
            seconds = value / 1000 if "cli134" not in self.c.name else value
            return datetime.fromtimestamp(seconds, UTC)
        return parse_time(value)

    def stored(self, model: str, field: str, where: str, value: Any) -> list[Any]:
        t, f, w = self.q(self.c.table(model)), self.q(self.c.column(field)), self.q(self.c.column(where))
        return [r["v"] for r in self.rows(f"SELECT {f} AS v FROM {t} WHERE {w} = :x", x=value)]


class Matrix:
    """One running server per cell, created on first use and kept for the session."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.stacks: dict[str, OrmStack] = {}
        self.broken: dict[str, str] = {}
        self.migrations: dict[str, tuple[CliResult, CliResult, bool]] = {}
        self.exit = contextlib.ExitStack()

    def get(self, cell: Cell) -> OrmStack:
        if cell.name in self.broken:
            pytest.fail(self.broken[cell.name], pytrace=False)
        stack = self.stacks.get(cell.name)
        if stack is not None:
            if not stack.server.alive():
                self.broken[cell.name] = (
                    f"the server of {cell.name} died:\n{stack.server.stderr_text()[-4000:]}"
                )
                pytest.fail(self.broken[cell.name], pytrace=False)
            return stack
        db = self.exit.enter_context(fresh_database(cell.dialect, self.base))
        if cell.dialect == "postgresql":
            _set_database_time_zone(db, NON_UTC)
        apply_sql(db, cell.data)
        # idp's migrate runs before the server starts: every test then proves the server works after it
        before = describe_schema(db, ignore=IDP_OWN_TABLES)
        env = idp_env(cell, db, "http://127.0.0.1:3000")
        planned = run_idp(env, "migrate", "--sql")
        migrated = run_idp(env, "migrate", "--yes", "--json")
        self.migrations[cell.name] = (planned, migrated, before == describe_schema(db, ignore=IDP_OWN_TABLES))
        server = AuthServer("better-auth", db, self.base, extra_env=cell.server_env())
        self.exit.callback(server.stop)
        try:
            server.start()
        except ServerError as exc:
            self.broken[cell.name] = f"{cell.name}: {exc}"
            pytest.fail(self.broken[cell.name], pytrace=False)
        engine = sa_engine(db)
        self.exit.callback(engine.dispose)
        stack = self.stacks[cell.name] = OrmStack("better-auth", db, server, engine, cell=cell)
        return stack


def apply_sql(db: TestDatabase, folder: str) -> None:
    """Run the committed migration of a deployment (drizzle-kit's breakpoints, Prisma's comments)."""
    import sqlalchemy

    statements: list[str] = []
    for path in sorted((DATA / folder).glob("*.sql")):
        sql = path.read_text().replace("--> statement-breakpoint", "\n")
        sql = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
        statements += [s.strip() for s in re.split(r";\s*(?:\n|$)", sql) if s.strip()]
    assert statements, folder
    engine = sqlalchemy.create_engine(db.sa_url)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement.replace("%", "%%"))
    engine.dispose()


def idp_env(cell: Cell, db: TestDatabase, base_url: str) -> dict[str, str]:
    """idp's settings for a cell: the URL, secret, base URL, roles and the server's version; the layout
    is discovered."""
    return idp_settings_env("better-auth", db, base_url) | {"IDP_BETTER_AUTH_VERSION": cell.version}


def _set_database_time_zone(db: TestDatabase, zone: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(db.sa_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"ALTER DATABASE \"{db.name}\" SET timezone = '{zone}'")
    engine.dispose()


@pytest.fixture(scope="session")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    pool = Matrix(tmp_path_factory.mktemp("matrix-orm"))
    try:
        yield pool
    finally:
        pool.exit.close()


@pytest.fixture(params=[c for c in CELLS if c.dialect in selected_dialects()], ids=lambda c: c.name)
def cell(request: pytest.FixtureRequest, matrix: Matrix) -> OrmStack:
    problem = node_problem()
    if problem:
        pytest.skip(problem)
    return matrix.get(request.param)


def _signed_in(stack: OrmStack, prefix: str, role: str) -> tuple[dict[str, Any], Browser]:
    user = stack.add_user(prefix, role=role, password=PASSWORD)
    browser = stack.signed_in(user["email"], PASSWORD)
    assert stack.server_role(browser) == role
    return user, browser


# ----------------------------------------------------------------------------- the tests


def test_migrate_has_nothing_to_do_or_refuses(cell: OrmStack, matrix: Matrix) -> None:
    """`idp migrate` (run before the server started) changed none of the deployment's tables: it had
    nothing to do, or refused with one clear line."""
    planned, migrated, unchanged = matrix.migrations[cell.c.name]
    assert unchanged, (planned, migrated)
    if migrated.exit_code == 0:
        assert planned.exit_code == 0, planned
        assert better_auths(split_statements(planned.stdout)) == [], planned
    else:
        assert migrated.exit_code in (6, 7), migrated
        assert migrated.stderr.strip() and "Traceback" not in migrated.stderr, migrated
    info = cell.idp_json("info")
    assert info, info


def test_password_and_link_users_sign_in_with_their_role(cell: OrmStack) -> None:
    with_password, browser = _signed_in(cell, "pw", "admin")
    assert cell.session_user(browser)["id"] == with_password["user_id"]
    link_user = cell.add_user("link", role="editor")
    b = cell.link_works(link_user["magic_link"])
    assert cell.session_user(b)["id"] == link_user["user_id"]
    assert cell.server_role(b) == "editor"
    cell.link_fails(link_user["magic_link"])  # one-time


def test_link_lifetime_is_a_utc_instant(cell: OrmStack) -> None:
    before = datetime.now(UTC)
    user = cell.add_user("ttl", role="viewer", ttl="1h")
    expires = parse_time(user["expires_at"])
    assert abs(expires - (before + timedelta(hours=1))) < timedelta(minutes=1), user
    token = user["magic_link"].split("token=")[1].split("&")[0]
    stored = cell.stored("verification", "expiresAt", "identifier", token)
    assert len(stored) == 1, stored
    assert abs(cell.raw_instant(stored[0]) - expires) < timedelta(seconds=2), (stored, expires)
    cell.link_works(user["magic_link"])


def test_set_role(cell: OrmStack) -> None:
    user, browser = _signed_in(cell, "set-role", "viewer")
    for role in ("editor", "admin", "viewer"):
        assert cell.idp_json("set-role", user["email"], role, "--force")["role"] == role
        assert cell.server_role(browser) == role


def test_ban_refuses_sign_in_and_the_server_reads_its_end(cell: OrmStack) -> None:
    admin, admin_browser = _signed_in(cell, "ban-admin", "admin")
    user, browser = _signed_in(cell, "banned", "editor")
    data = cell.idp_json("ban", user["email"], "--expires", "2h", "--reason", "interop", "--yes")
    assert data["banned"] is True and data["sessions_revoked"] == 1
    assert cell.session(browser) is None
    r, _ = cell.sign_in(user["email"], PASSWORD)
    assert r.status == 403 and r.json()["code"] == "BANNED_USER", r
    r = admin_browser.get(f"/admin/list-users?searchValue={user['email']}&searchField=email")
    assert r.status == 200, r
    (seen,) = r.json()["users"]
    assert seen["banned"] is True and seen["banReason"] == "interop"
    assert abs(parse_time(seen["banExpires"]) - parse_time(data["ban_expires"])) < timedelta(seconds=1)
    assert cell.idp_json("unban", user["email"])["banned"] is False
    assert cell.server_role(cell.signed_in(user["email"], PASSWORD)) == "editor"
    assert admin["user_id"]


def test_reset_password(cell: OrmStack) -> None:
    user, browser = _signed_in(cell, "reset", "viewer")
    data = cell.idp_json("reset-password", user["email"], "--password-stdin", "--yes", input=NEW_PASSWORD)
    assert data["sessions_revoked"] == 1
    assert cell.session(browser) is None
    r, _ = cell.sign_in(user["email"], PASSWORD)
    assert r.status == 401, r
    assert cell.server_role(cell.signed_in(user["email"], NEW_PASSWORD)) == "viewer"


def test_list_users_and_sessions_as_the_server_wrote_them(cell: OrmStack) -> None:
    user = cell.add_user("lists", role="viewer", password=PASSWORD)
    a = cell.signed_in(user["email"], PASSWORD, user_agent="device-a")
    cell.link_works(user["magic_link"])
    server_view = {s["id"]: s for s in a.get("/list-sessions").json()}
    assert len(server_view) == 2
    listed = cell.idp_json("list-sessions", user["email"])
    assert {s["id"] for s in listed} == set(server_view)
    for s in listed:
        theirs = server_view[s["id"]]
        assert parse_time(s["expires_at"]) == parse_time(theirs["expiresAt"]), (s, theirs)
        assert parse_time(s["created_at"]) == parse_time(theirs["createdAt"]), (s, theirs)
    users = {u["email"]: u for u in cell.idp_json("list-users")}
    assert users[user["email"]]["role"] == "viewer"
    assert abs(parse_time(users[user["email"]]["created_at"]) - datetime.now(UTC)) < timedelta(minutes=5)


def test_server_sign_up_is_read_by_idp(cell: OrmStack) -> None:
    email = unique_email("signup")
    r = cell.browser().post("/sign-up/email", {"email": email, "password": PASSWORD, "name": "Signed Up"})
    assert r.status == 200, r
    shown = cell.idp_json("show-user", email)
    assert shown["email"] == email and shown["name"] == "Signed Up"
    assert abs(parse_time(shown["created_at"]) - datetime.now(UTC)) < timedelta(minutes=5), shown


def test_delete_user(cell: OrmStack) -> None:
    user, browser = _signed_in(cell, "deleted", "viewer")
    assert cell.idp_json("delete-user", user["email"], "--yes", "--force")["deleted"] is True
    assert cell.session(browser) is None
    r, _ = cell.sign_in(user["email"], PASSWORD)
    assert r.status == 401, r
    cell.link_fails(user["magic_link"])
    assert cell.stored("user", "id", "id", user["user_id"]) == []
    assert cell.stored("session", "id", "userId", user["user_id"]) == []
    assert cell.idp("show-user", user["email"], "--json").exit_code == 3


def test_declared_contradiction_is_refused_and_writes_nothing(cell: OrmStack) -> None:
    email = unique_email("contradiction")
    env = cell.idp_env | {"IDP_CASING": "camel" if cell.c.snake else "snake"}
    r = run_idp(env, "add-user", email, "--json")
    assert r.exit_code == 6, r
    assert r.stderr.strip() and "Traceback" not in r.stderr, r
    assert cell.stored("user", "id", "email", email) == []
