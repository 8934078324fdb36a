"""Engines per dialect, with the quirks Better Auth's own drivers have.

SQLite: foreign keys on (better-sqlite3 is compiled with them on; Python's sqlite3 is not), a busy
timeout because the server keeps the file open, and explicit BEGIN (IMMEDIATE for writes) so that a
command is one transaction. MySQL/MariaDB: the session time zone is UTC, as mysql2 with `timezone: "Z"`.
PostgreSQL: `?schema=NAME` in the URL (Prisma's form; Better Auth's `database.schemaName`) is not a libpq
option: it is taken out of the URL and becomes `SET LOCAL search_path` at the start of every
transaction, which also holds behind a transaction-mode pooler (PgBouncer does not forward the
`options=-csearch_path=...` startup parameter).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from owox_idp.errors import ConfigError, DatabaseUnreachable, SchemaError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

BUSY_TIMEOUT_MS = 10_000  # the default lock timeout (IDP_LOCK_TIMEOUT)
CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_S = 300.0  # the default statement timeout on PostgreSQL (IDP_STATEMENT_TIMEOUT)


def dialect_of(url: str) -> str:
    if url.startswith("sqlite"):
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    return "mysql"


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def create_engine(
    url: str,
    *,
    create_file: bool = False,
    lock_timeout: float = BUSY_TIMEOUT_MS / 1000,
    statement_timeout: float = STATEMENT_TIMEOUT_S,
) -> Engine:
    """An engine for `url`. A missing SQLite file is created only when `create_file` (idp migrate).

    Every statement waits at most `lock_timeout` seconds for a lock another connection holds (then
    fails: "database busy", see `owox_idp.context.translate_db_error`): SQLite's busy timeout,
    PostgreSQL's lock_timeout (and statement_timeout, `statement_timeout`), MySQL's
    innodb_lock_wait_timeout and lock_wait_timeout (whole seconds, at least 1)."""
    import sqlalchemy
    from sqlalchemy import event
    from sqlalchemy.pool import NullPool

    dialect = dialect_of(url)
    connect_args: dict[str, Any] = {}
    wait_s = max(1, round(lock_timeout))  # MySQL takes whole seconds
    if dialect == "sqlite":
        path = sqlite_path(url)
        if not path.exists():
            if not create_file:
                raise SchemaError(
                    f"database file {path} does not exist",
                    hint="run `idp migrate` to create the schema (or check IDP_DATABASE_URL)",
                )
            try:
                # the directory's mode is the umask's (the server may run as another user); the file is
                # created 0600 before SQLite opens it: session tokens are inside (give the server's user
                # access with chown; `idp info` warns when others can read it)
                path.parent.mkdir(parents=True, exist_ok=True)
                from owox_idp.safefile import create_private_file

                create_private_file(path)
            except OSError as exc:
                raise DatabaseUnreachable(f"cannot create {path}: {exc.strerror}") from None
        connect_args = {"timeout": lock_timeout}
    elif dialect == "postgresql":
        # no server-side prepared statements: behind a transaction-mode pooler (PgBouncer, as Neon,
        # Supabase and RDS Proxy use) the next transaction may run on another server connection, which
        # does not know them. idp's few statements per command lose nothing by it
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_S, "prepare_threshold": None}
    else:
        connect_args = {
            "connect_timeout": CONNECT_TIMEOUT_S,
            # one statement (no multi-statements needed): UTC, and a bounded wait for row and metadata locks
            "init_command": f"SET time_zone = '+00:00', innodb_lock_wait_timeout = {wait_s}, "
            f"lock_wait_timeout = {wait_s}",
            "charset": "utf8mb4",
        }
    sa_url, schema = split_schema(url, dialect)
    engine = sqlalchemy.create_engine(sa_url, poolclass=NullPool, connect_args=connect_args)

    if dialect == "postgresql":
        search_path = None if schema is None else f"SET LOCAL search_path TO {quote_pg_identifier(schema)}"
        pg_timeouts = (
            f"SELECT set_config('lock_timeout', '{round(lock_timeout * 1000)}ms', true), "
            f"set_config('statement_timeout', '{round(statement_timeout * 1000)}ms', true)"
        )

        @event.listens_for(engine, "begin")
        def _utc(conn: Connection) -> None:
            # every date is a UTC instant: a `timestamp` (no time zone) column or a comparison with one
            # must never depend on the server's or the role's TimeZone. SET LOCAL lasts one transaction,
            # so it also holds behind a transaction-mode pooler (PgBouncer)
            conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
            if search_path is not None:
                conn.exec_driver_sql(search_path)
            # a bounded wait behind another connection's lock, and a bounded statement: set per
            # transaction (set_config(..., true) is SET LOCAL), never as a startup option, so that a
            # transaction-mode pooler passes them on
            conn.exec_driver_sql(pg_timeouts)

    if dialect == "sqlite":

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA busy_timeout = {round(lock_timeout * 1000)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get("idp_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
            if immediate:
                # a bigger page cache for writes (SQLite's default is 2 MiB): a batch of a bulk import
                # touches more index pages than that, which were spilled to the journal and read back.
                # Set once the write lock is held: at connect time this pragma reads the schema, and a
                # lock held by another connection made it fail as "cannot connect" instead of "busy"
                conn.exec_driver_sql("PRAGMA cache_size = -32768")

    return engine


def split_schema(url: str, dialect: str) -> tuple[Any, str | None]:
    """The URL without its `schema` query parameter, and that schema (PostgreSQL only)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if "schema" not in parsed.query:
        return parsed, None
    value = parsed.query["schema"]
    names = [value] if isinstance(value, str) else list(value)
    if dialect != "postgresql":
        raise ConfigError(
            "?schema= in the database URL is for PostgreSQL only",
            hint="on MySQL/MariaDB the database name is the schema: put it in the URL's path",
        )
    if len(names) != 1 or not names[0] or "\x00" in names[0] or len(names[0]) > 63:
        raise ConfigError("?schema= in the database URL must name one PostgreSQL schema (1 to 63 characters)")
    return parsed.difference_update_query(["schema"]), names[0]


def quote_pg_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def connect(engine: Engine, *, write: bool) -> Connection:
    """Open a connection, translating 'cannot connect' into a one-line error (exit 1)."""
    from sqlalchemy.exc import DBAPIError

    try:
        conn = engine.connect()
    except DBAPIError as exc:
        from owox_idp.urls import scrub

        url = engine.url.render_as_string(hide_password=False)
        raise DatabaseUnreachable(
            f"cannot connect to {shown_url(engine)}: {scrub(short_reason(exc), url)}"
        ) from None
    return conn.execution_options(idp_write=write)


def shown_url(engine: Engine) -> str:
    """The engine's URL as a user wrote it: passwords hidden (also in the query), no driver suffix."""
    from owox_idp.urls import display_url

    return display_url(engine.url.render_as_string(hide_password=False))


def short_reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return text[:300]
