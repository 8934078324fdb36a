"""Discovery of a deployment's layout (owox_idp.db.discover) on the schemas real tools create.

Every SQL file of tests/interop/data (Drizzle via Better Auth's CLI + drizzle-kit, Better Auth's own
migration for uuid/serial/plural/renamed/additional fields/another schema, Prisma) is applied to a fresh
database of its dialect; then read_catalog + discover must say exactly what the deployment is. The
unit tests below work on catalogs built in memory.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from dbutil import TestDatabase, fresh_database, selected_dialects

from owox_idp.db.discover import (
    Catalog,
    CatalogColumn,
    CatalogTable,
    Declared,
    Discovery,
    discover,
    read_catalog,
    read_date_samples,
    snake,
)
from owox_idp.db.schema import DEFAULT_LAYOUT, PluginSet, models_for
from owox_idp.errors import ConfigError

DATA = Path(__file__).parent / "interop" / "data"
ALL = PluginSet(admin=True, two_factor=True, organization=True)
ALL_V14 = replace(ALL, two_factor_v14=True)
NO_ORG_V14 = PluginSet(admin=True, two_factor=True, two_factor_v14=True)
CORE = ("user", "session", "account", "verification")
ORG = ("organization", "member", "invitation")
DEFAULT_TABLES = {m: m for m in (*CORE, "twoFactor", *ORG)}
SNAKE_TABLES = {**DEFAULT_TABLES, "twoFactor": "two_factor"}
PLURAL_SNAKE = {m: snake(m + "s") for m in DEFAULT_TABLES}
PLURAL_CAMEL = {m: m + "s" for m in DEFAULT_TABLES}
PASCAL = {m: m[0].upper() + m[1:] for m in DEFAULT_TABLES}


def _dialect_of(path: str) -> str:
    if "mysql" in path:
        return "mariadb"
    if "sqlite" in path:
        return "sqlite"
    return "postgresql"


@dataclass(frozen=True)
class Variant:
    path: str  # folder under tests/interop/data
    origin: str
    tables: dict[str, str]
    casing: str | None
    use_plural: bool
    id_format: str
    dates: str  # the storage of every date column
    boolean: str | None
    plugins: PluginSet
    extra: dict[str, tuple[bool, bool]] = field(default_factory=dict)  # user column -> (required, default)
    declared: Declared | None = None
    notes: tuple[str, ...] = ()  # substrings expected among the notes
    missing: tuple[str, ...] = ()

    @property
    def dialect(self) -> str:
        return _dialect_of(self.path)


_BOOL = {"postgresql": "boolean", "mariadb": "boolean", "sqlite": "integer"}
_KYSELY_DATES = {"postgresql": "timestamptz", "mariadb": "timestamp", "sqlite": "text"}
_V14_MISSING = ("twoFactor.verified", "twoFactor.failedVerificationCount", "twoFactor.lockedUntil")
RENAMED = Declared(
    model_names={"user": "app_users", "session": "app_sessions"},
    fields={
        "user": {"email": "email_address", "emailVerified": "email_verified"},
        "session": {"userId": "user_id"},
    },
)
FIELDS_CREATE = {
    "tier": (True, False),
    "plan": (True, False),
    "nickname": (False, False),
    "credits": (False, False),
}
FIELDS_ADDED = {
    "tier": (True, False),
    "plan": (True, True),
    "nickname": (False, False),
    "credits": (False, True),
}


def _drizzle(name: str, **kw: Any) -> Variant:
    dialect = _dialect_of(name)
    dates = {"postgresql": "timestamp", "mariadb": "timestamp", "sqlite": "int-ms"}[dialect]
    base: dict[str, Any] = dict(
        origin="drizzle",
        tables=SNAKE_TABLES,
        casing="snake",
        use_plural=False,
        id_format="text",
        dates=dates,
        boolean=_BOOL[dialect],
        plugins=ALL_V14,
        missing=_V14_MISSING,
    )
    base.update(kw)
    return Variant(f"drizzle/{name}", **base)


def _kysely(name: str, **kw: Any) -> Variant:
    dialect = _dialect_of(name)
    base: dict[str, Any] = dict(
        origin="better-auth",
        tables=DEFAULT_TABLES,
        casing="camel",
        use_plural=False,
        id_format="text",
        dates=_KYSELY_DATES[dialect],
        boolean=_BOOL[dialect],
        plugins=ALL,
    )
    base.update(kw)
    return Variant(f"kysely/{name}", **base)


VARIANTS = [
    _drizzle("pg"),
    _drizzle("mysql"),
    _drizzle("sqlite"),
    _drizzle(
        "pg-no-org",
        tables={m: SNAKE_TABLES[m] for m in (*CORE, "twoFactor")},
        plugins=NO_ORG_V14,
    ),
    _drizzle("pg-plural", tables=PLURAL_SNAKE, use_plural=True),
    _drizzle("sqlite-plural", tables=PLURAL_SNAKE, use_plural=True),
    _drizzle("pg-plugins17", plugins=ALL, missing=()),
    _drizzle("mysql-plugins17", plugins=ALL, missing=()),
    _drizzle("sqlite-plugins17", plugins=ALL, missing=()),
    _drizzle(
        "sqlite-cli134",
        dates="int-seconds",
        notes=("assumed seconds",),
        missing=(*_V14_MISSING, "invitation.createdAt"),
    ),
    _kysely("default-pg"),
    _kysely("default-mysql"),
    _kysely("default-sqlite"),
    _kysely("uuid-pg", id_format="uuid"),
    _kysely("uuid-mysql"),  # varchar(36): a uuid id looks like a text id on MySQL
    _kysely("serial-pg", id_format="serial"),
    _kysely("serial-mysql", id_format="serial"),
    _kysely("serial-sqlite", id_format="serial"),
    _kysely("plural-pg", tables=PLURAL_CAMEL, use_plural=True),
    _kysely("plural-sqlite", tables=PLURAL_CAMEL, use_plural=True),
    *(
        _kysely(
            f"renamed-{d}",
            origin="custom",
            tables={**DEFAULT_TABLES, "user": "app_users", "session": "app_sessions"},
            declared=RENAMED,
        )
        for d in ("pg", "mysql", "sqlite")
    ),
    *(_kysely(f"fields-{d}", extra=FIELDS_CREATE) for d in ("pg", "mysql", "sqlite")),
    *(_kysely(f"fields-added-{d}", extra=FIELDS_ADDED) for d in ("pg", "mysql", "sqlite")),
    Variant(
        "prisma/postgresql",
        origin="prisma",
        tables=DEFAULT_TABLES,
        casing="camel",
        use_plural=False,
        id_format="text",
        dates="timestamp",
        boolean="boolean",
        plugins=ALL,
    ),
    Variant(
        "prisma/mysql",
        origin="prisma",
        tables=DEFAULT_TABLES,
        casing="camel",
        use_plural=False,
        id_format="text",
        dates="datetime",
        boolean="boolean",
        plugins=ALL,
    ),
    Variant(
        "prisma/postgresql-nomap",
        origin="prisma",
        tables=PASCAL,
        casing="camel",
        use_plural=False,
        id_format="text",
        dates="timestamp",
        boolean="boolean",
        plugins=ALL,
    ),
]


def statements(sql: str) -> list[str]:
    """The statements of a migration file (Kysely's `;`, drizzle-kit's breakpoints, Prisma's comments)."""
    sql = sql.replace("--> statement-breakpoint", "\n")
    sql = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in re.split(r";\s*(?:\n|$)", sql) if s.strip()]


def sql_files(folder: str) -> list[Path]:
    files = sorted((DATA / folder).glob("*.sql"))
    assert files, f"no SQL in {folder}"
    return files


def apply(db: TestDatabase, folder: str) -> None:
    if db.dialect == "sqlite":
        con = sqlite3.connect(db.url.removeprefix("sqlite:///"))
        for f in sql_files(folder):
            for stmt in statements(f.read_text()):
                con.execute(stmt)
        con.commit()
        con.close()
        return
    import sqlalchemy

    engine = sqlalchemy.create_engine(db.sa_url)
    with engine.begin() as conn:
        for f in sql_files(folder):
            for stmt in statements(f.read_text()):
                conn.exec_driver_sql(stmt.replace("%", "%%"))
    engine.dispose()


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], TestDatabase]]:
    """A fresh database of the dialect asked for (skipped when not selected or not reachable)."""
    from contextlib import ExitStack

    with ExitStack() as stack:

        def make(dialect: str) -> TestDatabase:
            if dialect not in selected_dialects():
                pytest.skip(f"{dialect} is not in IDP_TEST_DATABASES")
            return stack.enter_context(fresh_database(dialect, tmp_path))

        yield make


def catalog_of(db: TestDatabase, setup: str | None = None) -> Catalog:
    import sqlalchemy

    engine = sqlalchemy.create_engine(db.sa_url)
    try:
        with engine.connect() as conn:
            if setup:
                conn.exec_driver_sql(setup)
            return read_catalog(conn)
    finally:
        engine.dispose()


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.path for v in VARIANTS])
def test_discovers_the_variant(variant: Variant, database: Callable[[str], TestDatabase]) -> None:
    db = database(variant.dialect)
    apply(db, variant.path)
    d = discover(catalog_of(db), declared=variant.declared)

    assert not d.empty
    assert d.origin == variant.origin
    assert dict(d.tables) == variant.tables
    assert d.casing == variant.casing
    assert d.use_plural is variant.use_plural
    assert d.id_format == variant.id_format
    assert d.boolean_storage == variant.boolean
    assert d.plugins == variant.plugins
    assert d.api_key is False
    assert set(d.date_storage.values()) == {variant.dates}
    # every date column of the tables found is there
    expected_dates = {
        (m.name, f.name)
        for m in models_for(ALL)
        if m.name in variant.tables
        for f in m.fields
        if f.type == "date" and f"{m.name}.{f.name}" not in variant.missing
    }
    assert set(d.date_storage) == expected_dates
    assert {c.name: (c.required, c.has_default) for c in d.extra_user_columns} == variant.extra
    assert set(d.missing_columns) == set(variant.missing)
    assert [u for u in d.unmatched if u.looks_like] == []
    for note in variant.notes:
        assert any(note in n for n in d.notes), d.notes
    # the layout names every found table and column as the database has them
    for model, table in variant.tables.items():
        assert d.layout.table(model) == table
        cols = {c.name for c in catalog_of_table(d, db, table)}
        present = models_for(replace(variant.plugins, two_factor_v14=False))
        for f in next(m for m in present if m.name == model).fields:
            if f"{model}.{f.name}" not in variant.missing:
                assert d.layout.column(model, f.name) in cols, (model, f.name)
    if variant.casing == "snake":
        assert d.layout.column("user", "emailVerified") == "email_verified"
        assert d.layout.column("session", "userId") == "user_id"
    if variant.path.startswith("kysely/default"):
        assert d.layout.tables == DEFAULT_LAYOUT.tables and d.layout.columns == DEFAULT_LAYOUT.columns
    if variant.declared is RENAMED:
        assert d.layout.column("user", "email") == "email_address"
        assert d.layout.column("session", "userId") == "user_id"
        assert d.sources["tables"] == "detected"


def catalog_of_table(d: Discovery, db: TestDatabase, table: str) -> tuple[CatalogColumn, ...]:
    return catalog_of(db).tables[table].columns


def test_renamed_tables_without_declaration_are_named_as_look_alikes(
    database: Callable[[str], TestDatabase],
) -> None:
    db = database("sqlite")
    apply(db, "kysely/renamed-sqlite")
    d = discover(catalog_of(db))
    assert "user" not in d.tables and "session" not in d.tables
    looks = {u.table: u.looks_like for u in d.unmatched if u.looks_like}
    assert looks == {"app_users": "user", "app_sessions": "session"}
    assert any("IDP_MODEL_NAMES user=app_users" in u.reason for u in d.unmatched)
    assert not d.empty


def test_declared_names_that_the_database_contradicts_stop(database: Callable[[str], TestDatabase]) -> None:
    db = database("sqlite")
    apply(db, "drizzle/sqlite")
    catalog = catalog_of(db)
    with pytest.raises(ConfigError) as exc:
        discover(catalog, declared=Declared(use_plural=True))
    assert "'users'" in exc.value.message and "'user'" in exc.value.message
    with pytest.raises(ConfigError) as exc:
        discover(catalog, declared=Declared(casing="camel"))
    assert "declared camel" in exc.value.message and "snake" in exc.value.message
    # what matches is accepted
    d = discover(catalog, declared=Declared(use_plural=False, casing="snake", id_format="text"))
    assert d.sources["casing"] == "detected" and d.sources["id_format"] == "declared"


@pytest.mark.parametrize("unit,value", [("int-ms", 1_764_620_000_123), ("int-seconds", 1_764_620_000)])
def test_sqlite_integer_dates_without_default_are_decided_by_a_sample(
    unit: str, value: int, database: Callable[[str], TestDatabase]
) -> None:
    db = database("sqlite")
    apply(db, "drizzle/sqlite-cli134")
    con = sqlite3.connect(db.url.removeprefix("sqlite:///"))
    con.execute(
        "INSERT INTO user (id, name, email, email_verified, created_at, updated_at) VALUES ('u1', 'A', "
        "'a@example.com', 0, ?, ?)",
        (value, value),
    )
    con.commit()
    con.close()
    import sqlalchemy

    engine = sqlalchemy.create_engine(db.sa_url)
    with engine.connect() as conn:
        first = discover(read_catalog(conn))
        samples = read_date_samples(conn, first)
    engine.dispose()
    assert samples[("user", "createdAt")] == value
    d = discover(catalog_of(db), samples=samples)
    assert set(d.date_storage.values()) == {unit}
    assert not any("assumed seconds" in n for n in d.notes)


def test_tables_in_another_postgresql_schema(database: Callable[[str], TestDatabase]) -> None:
    db = database("postgresql")
    apply(db, "kysely/schema-pg")
    d = discover(catalog_of(db))
    assert d.empty and d.schema == "public"
    assert "auth.user" in d.elsewhere and "auth.twoFactor" in d.elsewhere
    d = discover(catalog_of(db, setup="SET search_path TO auth"))
    assert d.schema == "auth" and not d.empty
    assert dict(d.tables) == DEFAULT_TABLES and d.origin == "better-auth"


def test_empty_database(database: Callable[[str], TestDatabase]) -> None:
    for dialect in selected_dialects():
        d = discover(catalog_of(database(dialect)))
        assert d.empty and not d.tables and d.unmatched == ()
        assert d.sources["tables"] == "default"
        assert d.layout.tables.get("user", "user") == "user"


def test_read_catalog_is_cheap_on_postgresql(database: Callable[[str], TestDatabase]) -> None:
    import sqlalchemy

    db = database("postgresql")
    apply(db, "kysely/default-pg")
    with sqlalchemy.create_engine(db.sa_url).connect() as conn:
        conn.exec_driver_sql("CREATE TABLE other_app_table (id int primary key, payload text)")
        read_catalog(conn)  # warm the connection's catalog cache
        timings = []
        for _ in range(20):
            start = time.perf_counter()
            catalog = read_catalog(conn)
            timings.append(time.perf_counter() - start)
    timings.sort()
    median_ms = timings[len(timings) // 2] * 1000
    print(f"\nread_catalog on PostgreSQL ({len(catalog.tables)} tables): median {median_ms:.2f} ms")
    d = discover(catalog)
    assert d.foreign_tables == ("other_app_table",)
    assert median_ms < 100


# --------------------------------------------------------------------------------------------------
# The matcher alone, on catalogs built in memory


def synthetic(
    dialect: str = "postgresql",
    *,
    table: Callable[[str], str] = lambda m: m,
    column: Callable[[str], str] = lambda f: f,
    plugins: PluginSet = ALL,
    extra_tables: dict[str, tuple[str, ...]] | None = None,
    id_type: str = "text",
) -> Catalog:
    tables: dict[str, CatalogTable] = {}
    types = {"string": "text", "boolean": "boolean", "date": "timestamptz", "number": "integer"}
    for m in models_for(plugins):
        cols = [CatalogColumn("id", id_type, id_type, False, None, id_type == "integer")]
        cols += [
            CatalogColumn(column(f.name), types[f.type], types[f.type], not f.required, None, False)
            for f in m.fields
        ]
        tables[table(m.name)] = CatalogTable(table(m.name), tuple(cols))
    for name, columns in (extra_tables or {}).items():
        tables[name] = CatalogTable(
            name, tuple(CatalogColumn(c, "text", "text", True, None, False) for c in columns)
        )
    return Catalog(dialect, "public", tables)


def test_snake_is_drizzles_conversion() -> None:
    # convertToSnakeCase in the CLI's generators/drizzle.ts
    assert snake("emailVerified") == "email_verified"
    assert snake("twoFactors") == "two_factors"
    assert snake("accessTokenExpiresAt") == "access_token_expires_at"
    assert snake("ipAddress") == "ip_address"
    assert snake("user") == "user"


def test_default_layout_is_the_identity() -> None:
    d = discover(synthetic())
    assert d.origin == "better-auth" and d.layout.tables == {} and d.layout.columns == {}
    assert d.casing == "camel" and d.use_plural is False and d.plugins == ALL


def test_declared_model_name_missing_while_the_default_exists() -> None:
    with pytest.raises(ConfigError) as exc:
        discover(synthetic(), declared=Declared(model_names={"user": "app_users"}))
    assert "'app_users'" in exc.value.message and "'user'" in exc.value.message
    assert exc.value.exit_code == 6


def test_declared_field_missing_while_the_default_exists() -> None:
    with pytest.raises(ConfigError) as exc:
        discover(synthetic(), declared=Declared(fields={"user": {"email": "email_address"}}))
    assert "'email_address'" in exc.value.message and "'email'" in exc.value.message


@pytest.mark.parametrize(
    "dialect,id_type,declared,ok",
    [
        ("postgresql", "text", "serial", False),
        ("postgresql", "uuid", "text", False),
        ("postgresql", "integer", "serial", True),
        ("mysql", "varchar", "uuid", True),  # MySQL keeps uuids in varchar(36): cannot be told apart
        ("sqlite", "text", "uuid", True),
    ],
)
def test_declared_id_format(dialect: str, id_type: str, declared: str, ok: bool) -> None:
    catalog = synthetic(dialect, id_type=id_type)
    if ok:
        assert discover(catalog, declared=Declared(id_format=declared)).id_format == declared  # type: ignore[arg-type]
    else:
        with pytest.raises(ConfigError) as exc:
            discover(catalog, declared=Declared(id_format=declared))  # type: ignore[arg-type]
        assert f"declared {declared}" in exc.value.message and id_type in exc.value.message


def test_another_applications_tables() -> None:
    catalog = Catalog(
        "postgresql",
        "public",
        {
            "account": CatalogTable(
                "account", tuple(CatalogColumn(c, "text", "text", True, None, False) for c in ("id", "iban"))
            ),
            "orders": CatalogTable("orders", (CatalogColumn("id", "integer", "integer", False, None, True),)),
        },
    )
    d = discover(catalog)
    assert d.empty
    assert set(d.foreign_tables) == {"account", "orders"}
    assert "named like Better Auth's account" in next(u.reason for u in d.unmatched if u.table == "account")


def test_both_singular_and_plural_present() -> None:
    catalog = synthetic(extra_tables={"users": ("id", "email")})
    d = discover(catalog)
    assert d.tables["user"] == "user"  # the one with all the columns
    assert any("user, users" in n for n in d.notes)


def test_empty_database_takes_the_declared_layout() -> None:
    d = discover(Catalog("postgresql", "public", {}), declared=Declared(use_plural=True, casing="snake"))
    assert d.empty
    assert d.layout.table("twoFactor") == "two_factors"
    assert d.layout.column("user", "emailVerified") == "email_verified"
    assert d.sources["use_plural"] == "declared"


def test_missing_plugin_tables_follow_the_deployments_convention() -> None:
    catalog = synthetic(table=lambda m: snake(m + "s"), column=snake, plugins=PluginSet(admin=True))
    d = discover(catalog)
    assert d.plugins == PluginSet(admin=True)
    assert d.layout.table("twoFactor") == "two_factors"  # not a default-named twoFactor beside users
    assert d.layout.column("twoFactor", "backupCodes") == "backup_codes"


def test_api_key_plugin() -> None:
    catalog = synthetic(extra_tables={"apikey": ("id", "key", "referenceId", "configId", "createdAt")})
    d = discover(catalog)
    assert d.api_key and d.tables["apikey"] == "apikey"
    assert not any(u.table == "apikey" for u in d.unmatched)


# --------------------------------------------------------------------------------------------------
# idp migrate extends a deployment in its own date storage (found by the interop matrix: on Drizzle's
# SQLite, `migrate` added `invitation.created_at` as Kysely's `date` text among integer dates)


def _migrate_sql(db: TestDatabase, version: str, **env: str) -> list[str]:
    from typer.testing import CliRunner

    from owox_idp.cli import app

    settings = {
        "IDP_FLAVOR": "better-auth",
        "IDP_DATABASE_URL": db.url,
        "IDP_BETTER_AUTH_SECRET": "s" * 32,
        "IDP_BETTER_AUTH_VERSION": version,
    }
    r = CliRunner().invoke(app, ["migrate", "--sql"], env=settings | env)
    assert r.exit_code == 0, r.stderr
    return [s for s in r.stdout.split(";\n") if s.strip() and "idp_audit" not in s]


@pytest.mark.parametrize(
    ("folder", "drop", "expected"),
    [
        # CLI 1.3.4 (seconds): 1.4's invitation.createdAt is added as an integer, without a default
        # (SQLite refuses a non-constant one in ADD COLUMN)
        ("drizzle/sqlite-cli134", None, 'alter table "invitation" add column "created_at" integer not null'),
        # Drizzle's milliseconds: a new table gets integer dates with the CLI's own default
        (
            "drizzle/sqlite",
            "invitation",
            "\"created_at\" integer default (cast(unixepoch('subsecond') * 1000 as integer)) not null",
        ),
        # Drizzle on PG: `timestamp` without time zone, and "now" as the UTC wall clock
        (
            "drizzle/pg",
            "invitation",
            "\"created_at\" timestamp without time zone default (CURRENT_TIMESTAMP AT TIME ZONE 'UTC') not null",
        ),
        # Prisma on PG: its timestamp(3)
        ("prisma/postgresql", "invitation", '"expiresAt" timestamp(3) without time zone not null'),
        # Prisma on MySQL: datetime(3), not Kysely's timestamp(3)
        ("prisma/mysql", "invitation", "`expiresAt` datetime(3) not null"),
    ],
)
def test_migrate_adds_dates_in_the_deployments_storage(
    folder: str, drop: str | None, expected: str, database: Callable[[str], TestDatabase]
) -> None:
    db = database(_dialect_of(folder))
    apply(db, folder)
    if drop:
        import sqlalchemy

        engine = sqlalchemy.create_engine(db.sa_url)
        with engine.begin() as conn:
            quote = "`" if "mysql" in folder else '"'
            conn.exec_driver_sql(f"DROP TABLE {quote}{drop}{quote}")
        engine.dispose()
    version = "1.4" if "plugins17" not in folder and folder.startswith("drizzle") else "1.7"
    plugins = {"IDP_PLUGINS": "admin,two-factor,magic-link,organization"} if drop else {}
    statements = _migrate_sql(db, version, **plugins)
    assert any(expected in s for s in statements), statements
    for s in statements:  # no date column in Kysely's own types among the deployment's
        assert not re.search(r" (date|timestamptz)\b", s), s
        assert "mysql" not in folder or " timestamp(3)" not in s, s


def test_a_declared_server_version_decides_the_two_factor_columns(
    database: Callable[[str], TestDatabase],
) -> None:
    """A 1.4-generated Drizzle schema read by a 1.7 server: the real server refuses every request until
    twoFactor has 1.6+'s columns (found by the interop matrix), so a declared 1.7 makes `migrate` add them;
    a declared 1.4, or no declaration at all, keeps what the table shows."""
    from typer.testing import CliRunner

    from owox_idp.cli import app

    db = database("postgresql")
    apply(db, "drizzle/pg")
    declared = " ".join(_migrate_sql(db, "1.7"))
    assert 'alter table "two_factor" add column "verified"' in declared
    assert "two_factor" not in " ".join(_migrate_sql(db, "1.4"))
    env = {"IDP_FLAVOR": "better-auth", "IDP_DATABASE_URL": db.url, "IDP_BETTER_AUTH_SECRET": "s" * 32}
    r = CliRunner().invoke(app, ["migrate", "--sql"], env=env)
    assert r.exit_code == 0, r.stderr
    assert "two_factor" not in r.stdout
