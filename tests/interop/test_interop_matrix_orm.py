"""The interop matrix of the ORM deployments (issue 10): the real Better Auth server (1.4.22 on the
schemas generated from 1.4's plugins, else 1.7.25) on the databases Drizzle and Prisma create, and idp
run on them with no layout setting (discovery); `idp migrate` runs before the server starts.

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

Each cell's server starts once per session (`matrix` pool); every test uses fresh users. What the
server wrote on stderr during a failing test is shown in its "Captured stdout teardown" section.
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
from dbutil import TestDatabase as Database  # (not collected as a test class)
from dbutil import fresh_database, selected_dialects, skip_or_fail
from interop_support import (
    IDP_OWN_TABLES,
    NODE_DIR,
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
    dates: str = "timestamp"  # the date storage idp must discover (owox_idp.db.discover.DateStorage)
    migrate_adds: tuple[str, ...] = ()  # what `idp migrate` adds (the schema is behind the server's version)

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
    _drizzle("sqlite", "sqlite", dates="int-ms"),
    _drizzle("sqlite-plural", "sqlite", plural=True, dates="int-ms"),
    _drizzle("sqlite-plugins17", "sqlite", dates="int-ms"),
    # CLI 1.3.4's schema (seconds) behind the 1.4 server: migrate adds 1.4's invitation.createdAt and the
    # indexes 1.3.4 did not generate, in the deployment's storage
    _drizzle(
        "sqlite-cli134",
        "sqlite",
        dates="int-seconds",
        migrate_adds=('add column "created_at" integer not null', "create index"),
    ),
    Cell("prisma-postgresql", "prisma/postgresql", "postgresql", "kysely"),
    Cell("prisma-postgresql-nomap", "prisma/postgresql-nomap", "postgresql", "kysely", model_names=_PASCAL),
    Cell("prisma-mysql", "prisma/mysql", "mariadb", "kysely", dates="datetime"),
]


@dataclass
class OrmStack(Stack):
    cell: Cell | None = None
    _admin: Browser | None = None

    def admin(self) -> Browser:
        """A browser signed in as an admin made by idp (once per cell), for the admin plugin's API."""
        if self._admin is None:
            self._admin = _signed_in(self, "admin", "admin")[1]
        return self._admin

    def server_user(self, email: str) -> dict[str, Any]:
        """The user as the server reads it (admin plugin's list-users)."""
        r = self.admin().get(f"/admin/list-users?searchValue={email}&searchField=email")
        assert r.status == 200, r
        (user,) = r.json()["users"]
        assert isinstance(user, dict)
        return user

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
            seconds = value if self.c.dates == "int-seconds" else value / 1000
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


def apply_sql(db: Database, folder: str) -> None:
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


def idp_env(cell: Cell, db: Database, base_url: str) -> dict[str, str]:
    """idp's settings for a cell: the URL, secret, base URL, roles and the server's version; the layout
    is discovered."""
    return idp_settings_env("better-auth", db, base_url) | {"IDP_BETTER_AUTH_VERSION": cell.version}


def _set_database_time_zone(db: Database, zone: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(db.sa_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"ALTER DATABASE \"{db.name}\" SET timezone = '{zone}'")
    engine.dispose()
    engine = sqlalchemy.create_engine(db.sa_url)  # a new session starts in that zone (the premise)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW timezone").scalar() == zone
    engine.dispose()


@pytest.fixture(scope="session")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    pool = Matrix(tmp_path_factory.mktemp("matrix-orm"))
    try:
        yield pool
    finally:
        pool.exit.close()


def _get(request: pytest.FixtureRequest, matrix: Matrix) -> Iterator[OrmStack]:
    problem = node_problem()
    if problem:
        skip_or_fail(problem)
    for package in ("drizzle-orm", "better-auth-14"):
        if not (NODE_DIR / "node_modules" / package / "package.json").exists():
            skip_or_fail(
                f"node package {package} is missing from {NODE_DIR / 'node_modules'}: run `npm ci` there"
            )
    stack = matrix.get(request.param)
    offset = stack.server.stderr_size()
    yield stack
    text = stack.server.stderr_text(offset).strip()
    if text:  # shown by pytest only when the test failed
        print(f"Better Auth server stderr ({stack.c.name}, {stack.server.stderr_path}):\n{text[-6000:]}")


_SELECTED = [c for c in CELLS if c.dialect in selected_dialects()]


@pytest.fixture(params=_SELECTED, ids=lambda c: c.name)
def cell(request: pytest.FixtureRequest, matrix: Matrix) -> Iterator[OrmStack]:
    yield from _get(request, matrix)


# one cell per date storage and dialect: the plural, no-org and 1.7-plugin variants store dates as their
# base variant does
@pytest.fixture(
    params=[c for c in _SELECTED if not any(p in c.name for p in ("plural", "no-org", "plugins17"))],
    ids=lambda c: c.name,
)
def storage_cell(request: pytest.FixtureRequest, matrix: Matrix) -> Iterator[OrmStack]:
    yield from _get(request, matrix)


def _signed_in(stack: OrmStack, prefix: str, role: str) -> tuple[dict[str, Any], Browser]:
    user = stack.add_user(prefix, role=role, password=PASSWORD)
    browser = stack.signed_in(user["email"], PASSWORD)
    assert stack.server_role(browser) == role
    return user, browser


def _link_user(stack: OrmStack, prefix: str, role: str) -> tuple[dict[str, Any], Browser]:
    user = stack.add_user(prefix, role=role)
    browser = stack.link_works(user["magic_link"])
    assert stack.session_user(browser)["id"] == user["user_id"]
    assert stack.server_role(browser) == role
    return user, browser


# ----------------------------------------------------------------------------- the tests


def test_migrate_has_nothing_to_do_or_refuses(cell: OrmStack, matrix: Matrix) -> None:
    """`idp migrate` (run before the server started, so that every other test proves the server works
    after it) had nothing to do, or refused with one clear line and changed nothing; on a schema behind
    the server's version, it added exactly what that version has."""
    planned, migrated, unchanged = matrix.migrations[cell.c.name]
    assert planned.exit_code == migrated.exit_code, (planned, migrated)
    if migrated.exit_code != 0:
        assert migrated.exit_code in (6, 7), migrated
        assert migrated.stderr.strip() and "Traceback" not in migrated.stderr, migrated
        assert unchanged, migrated
        return
    statements = better_auths(split_statements(planned.stdout))
    if not cell.c.migrate_adds:
        assert statements == [] and unchanged, planned
        return
    assert not unchanged and statements, planned
    for statement in statements:
        assert any(part in statement for part in cell.c.migrate_adds), statement
    assert cell.idp_json("migrate", "--yes")["statements"] == []  # nothing left to do


def test_the_deployment_is_discovered(cell: OrmStack) -> None:
    """With no layout setting, `idp info` finds what the ORM created."""
    found = cell.idp_json("info")["deployment"]
    assert found["origin"]["value"] == ("drizzle" if cell.c.adapter == "drizzle" else "prisma"), found
    assert found["casing"]["value"] == ("snake" if cell.c.snake else "camel"), found
    assert found["id_format"]["value"] == "text", found
    assert found["date_storage"]["value"] == [cell.c.dates], found
    assert ("organization" in found["plugins"]["value"]) is cell.c.organization, found
    tables = found["tables"]["value"]
    assert {m: tables[m] for m in CORE} == {m: cell.c.table(m) for m in CORE}, found


def test_users_sign_in_with_their_role_and_set_role(cell: OrmStack) -> None:
    """idp's user with a password and its user with a link both sign in, each with its role; set-role is
    seen on the next request of the link's session."""
    cell.admin()  # the password user (role admin)
    user, browser = _link_user(cell, "link", "editor")
    cell.link_fails(user["magic_link"])  # one-time
    for role in ("viewer", "admin", "editor"):
        assert cell.idp_json("set-role", user["email"], role, "--force")["role"] == role
        assert cell.server_role(browser) == role


def test_link_lifetime_is_a_utc_instant(cell: OrmStack) -> None:
    """The link's expiry as stored is the instant idp printed (not shifted by a time zone), and the
    server accepts the link."""
    before = datetime.now(UTC)
    user = cell.add_user("ttl", role="viewer", ttl="1h")
    expires = parse_time(user["expires_at"])
    assert abs(expires - (before + timedelta(hours=1))) < timedelta(minutes=1), user
    token = user["magic_link"].split("token=")[1].split("&")[0]
    stored = cell.stored("verification", "expiresAt", "identifier", token)
    assert len(stored) == 1, stored
    assert abs(cell.raw_instant(stored[0]) - expires) < timedelta(seconds=2), (stored, expires)
    cell.link_works(user["magic_link"])


def test_idp_in_another_local_time_zone(storage_cell: OrmStack) -> None:
    """idp as its own process in Asia/Kolkata (+05:30) writes the same instants."""
    cell = storage_cell
    before = datetime.now(UTC)
    user = cell.add_user("local-tz", role="viewer", ttl="1h", subprocess_tz="Asia/Kolkata")
    expires = parse_time(user["expires_at"])
    assert abs(expires - (before + timedelta(hours=1))) < timedelta(minutes=1), user
    token = user["magic_link"].split("token=")[1].split("&")[0]
    (stored,) = cell.stored("verification", "expiresAt", "identifier", token)
    assert abs(cell.raw_instant(stored) - expires) < timedelta(seconds=2), (stored, expires)
    b = cell.link_works(user["magic_link"])
    (listed,) = cell.idp_json("list-sessions", user["email"])
    assert parse_time(listed["expires_at"]) == parse_time(cell.session(b)["session"]["expiresAt"])


def test_ban_refuses_sign_in_and_the_server_reads_its_end(cell: OrmStack) -> None:
    user, browser = _signed_in(cell, "banned", "editor")
    data = cell.idp_json("ban", user["email"], "--expires", "2h", "--reason", "interop", "--yes")
    assert data["banned"] is True and data["sessions_revoked"] == 1
    assert cell.session(browser) is None
    r, _ = cell.sign_in(user["email"], PASSWORD)
    assert r.status == 403 and r.json()["code"] == "BANNED_USER", r
    cell.link_fails(user["magic_link"])
    seen = cell.server_user(user["email"])
    assert seen["banned"] is True and seen["banReason"] == "interop"
    assert abs(parse_time(seen["banExpires"]) - parse_time(data["ban_expires"])) < timedelta(seconds=1)
    assert cell.idp_json("unban", user["email"])["banned"] is False
    assert cell.server_user(user["email"])["banned"] is False


def test_reset_password(cell: OrmStack) -> None:
    user, browser = _signed_in(cell, "reset", "viewer")
    data = cell.idp_json("reset-password", user["email"], "--password-stdin", "--yes", input=NEW_PASSWORD)
    assert data["sessions_revoked"] == 1
    assert cell.session(browser) is None
    r, _ = cell.sign_in(user["email"], PASSWORD)
    assert r.status == 401, r
    assert cell.server_role(cell.signed_in(user["email"], NEW_PASSWORD)) == "viewer"


def test_list_users_and_sessions_as_the_server_wrote_them(cell: OrmStack) -> None:
    user, browser = _link_user(cell, "lists", "viewer")
    r = browser.get("/list-sessions")
    assert r.status == 200, r
    (theirs,) = r.json()
    (listed,) = cell.idp_json("list-sessions", user["email"])
    assert listed["id"] == theirs["id"]
    assert parse_time(listed["expires_at"]) == parse_time(theirs["expiresAt"]), (listed, theirs)
    assert parse_time(listed["created_at"]) == parse_time(theirs["createdAt"]), (listed, theirs)
    users = {u["email"]: u for u in cell.idp_json("list-users")}
    assert users[user["email"]]["role"] == "viewer"
    assert parse_time(users[user["email"]]["created_at"]) == parse_time(
        cell.server_user(user["email"])["createdAt"]
    )


def test_server_sign_up_is_read_by_idp(cell: OrmStack) -> None:
    email = unique_email("signup")
    r = cell.browser().post("/sign-up/email", {"email": email, "password": PASSWORD, "name": "Signed Up"})
    assert r.status == 200, r
    shown = cell.idp_json("show-user", email)
    assert shown["email"] == email and shown["name"] == "Signed Up"
    assert parse_time(shown["created_at"]) == parse_time(r.json()["user"]["createdAt"]), (shown, r.json())


def test_delete_user(cell: OrmStack) -> None:
    user, browser = _link_user(cell, "deleted", "viewer")
    assert cell.idp_json("delete-user", user["email"], "--yes", "--force")["deleted"] is True
    assert cell.session(browser) is None
    assert cell.stored("user", "id", "id", user["user_id"]) == []
    assert cell.stored("session", "id", "userId", user["user_id"]) == []
    assert cell.idp("show-user", user["email"], "--json").exit_code == 3
    r = cell.admin().get(f"/admin/list-users?searchValue={user['email']}&searchField=email")
    assert r.status == 200 and r.json()["users"] == [], r


@pytest.mark.parametrize("setting", ["IDP_CASING", "IDP_USE_PLURAL"])
def test_declared_contradiction_is_refused_and_writes_nothing(cell: OrmStack, setting: str) -> None:
    email = unique_email("contradiction")
    wrong = {
        "IDP_CASING": "camel" if cell.c.snake else "snake",
        "IDP_USE_PLURAL": "false" if cell.c.plural else "true",
    }
    env = cell.idp_env | {setting: wrong[setting]}
    r = run_idp(env, "add-user", email, "--json")
    assert r.exit_code == 6, r
    assert r.stderr.strip() and "Traceback" not in r.stderr, r
    assert cell.stored("user", "id", "email", email) == []
