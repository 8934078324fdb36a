"""The per-run environment: the deployment, its database, and transactions over it.

`Env` is the only place that opens connections and builds repositories. A command runs one transaction
(`with env.store(write=True) as store: ...`); the bulk commands run several short ones on the same
connections (one per kind, read or write), and the schema is checked once, in the first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from owox_idp.deployment import Deployment
from owox_idp.errors import Conflict, DatabaseBusy, DatabaseUnreachable, IdpError, SchemaError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from owox_idp.config import Settings
    from owox_idp.db.schema import Layout, Model
    from owox_idp.repository import Store, Tables


@dataclass
class Env:
    deployment: Deployment
    _engine: Engine | None = field(default=None, repr=False)
    _connections: dict[bool, Connection] = field(default_factory=dict, repr=False)
    _tables: Tables | None = field(default=None, repr=False)
    _checked: bool = field(default=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Env:
        return cls(Deployment.from_settings(settings))

    @property
    def settings(self) -> Settings:
        return self.deployment.settings

    @property
    def layout(self) -> Layout:
        return self.deployment.layout

    @property
    def models(self) -> tuple[Model, ...]:
        return self.deployment.models

    @property
    def dialect(self) -> str:
        return self.deployment.dialect

    def check_dialect(self) -> None:
        """Exit 6 when the flavor's server cannot run on this database (the Rust port: PostgreSQL only)."""
        from owox_idp.errors import ConfigError

        supported = self.deployment.flavor.supported_dialects
        if supported is not None and self.dialect not in supported:
            raise ConfigError(
                f"the {self.deployment.name} flavor runs on {' or '.join(supported)} only, "
                f"and the database is {self.dialect}",
                hint="point IDP_DATABASE_URL at the server's own database",
            )

    def engine(self, *, create_file: bool = False) -> Engine:
        if self._engine is None:
            self.check_dialect()
            from owox_idp.db.engine import create_engine

            self._engine = create_engine(
                self.settings.database_url,
                create_file=create_file,
                lock_timeout=self.settings.lock_timeout,
                statement_timeout=self.settings.statement_timeout,
            )
        return self._engine

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Env:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def connection(self, *, write: bool, create_file: bool = False) -> Iterator[Connection]:
        """A new connection inside one transaction: committed on success, rolled back on any error,
        closed afterwards (migrate and info, which look at the schema itself)."""
        from sqlalchemy.exc import DBAPIError

        from owox_idp.db.engine import connect

        conn = connect(self.engine(create_file=create_file), write=write)
        try:
            try:
                with conn.begin():
                    yield conn
            except DBAPIError as exc:
                raise translate_db_error(exc) from None
        finally:
            conn.close()

    def tables(self) -> Tables:
        if self._tables is None:
            from owox_idp.repository import Tables

            dep = self.deployment
            self._tables = Tables(
                self.models,
                self.layout,
                id_format=dep.id_format,
                dialect=dep.dialect,
                date_storage=dep.date_storage,
                extra_user_columns=dep.extra_user_columns,
            )
        return self._tables

    def discover(self, conn: Connection) -> Deployment:
        """Refine the deployment with what this database shows of itself (once per run): one catalog
        query, and one more on SQLite when integer dates need a sample to tell seconds from ms."""
        if self.deployment.discovery is None:
            from owox_idp.db.discover import discover, read_catalog, read_date_samples

            catalog = read_catalog(conn)
            models = self.deployment.flavor.discovery_models()
            declared = self.deployment.declared()
            found = discover(catalog, models, declared)
            if any(v.startswith("int-") for v in found.date_storage.values()) and not found.empty:
                found = discover(catalog, models, declared, samples=read_date_samples(conn, found))
            self.deployment = self.deployment.refined(found)
            self._tables = None
        return self.deployment

    def forget_discovery(self) -> None:
        """After `idp migrate` changed the schema: look again on the next connection."""
        self.deployment = Deployment.from_settings(self.settings)
        self._tables = None
        self._checked = False

    def store_on(self, conn: Connection) -> Store:
        """A store on a connection the caller manages (no schema check)."""
        from owox_idp.repository import Store

        return Store(conn, self.deployment, tables=self.tables())

    @contextmanager
    def store(self, *, write: bool) -> Iterator[Store]:
        """The repositories on a schema-checked database, in one transaction. Connections are kept for
        the next transaction of the same kind until `close`."""
        from sqlalchemy.exc import DBAPIError

        from owox_idp.db.engine import connect

        conn = self._connections.get(write)
        if conn is None:
            conn = self._connections[write] = connect(self.engine(), write=write)
        # a read's first store waits for the discovery (its tables as the database has them)
        store = self.store_on(conn) if write or self._checked else None
        try:
            try:
                with conn.begin():
                    if store is not None and write:
                        # idp's writers one at a time (repository/users.py lock_admins): first, before
                        # any read, so that what a command checks still holds when it writes
                        store.users.lock_admins()
                    if not self._checked:
                        self.discover(conn)
                        check_schema(conn, self)
                        self._checked = True
                        store = self.store_on(conn)  # with the tables as the database has them
                    assert store is not None
                    yield store
            finally:
                if store is not None:
                    store.users.release_admin_lock()
        except DBAPIError as exc:
            raise translate_db_error(exc) from None


def translate_db_error(exc: Exception) -> IdpError:
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    from owox_idp.db.engine import short_reason

    reason = short_reason(exc)
    if isinstance(exc, IntegrityError):
        return Conflict(f"the database refused the change: {reason}")
    lowered = reason.lower()
    # PostgreSQL's "operator does not exist: integer = character varying" is a type mismatch, not a
    # missing table: `idp migrate` would not help
    mismatch = "operator does not exist" in lowered or "function" in lowered
    if (
        isinstance(exc, ProgrammingError | OperationalError)
        and not mismatch
        and (
            "no such table" in lowered
            or "does not exist" in lowered
            or "doesn't exist" in lowered
            or "no such column" in lowered
            or "unknown column" in lowered
        )
    ):
        return SchemaError(f"the schema is missing or out of date ({reason})", hint="run `idp migrate`")
    if isinstance(exc, OperationalError) and _busy(exc, lowered):
        return DatabaseBusy(
            f"database busy: another connection holds a lock this command needs ({reason})",
            hint="nothing was changed by this command; try again once the other transaction ends "
            "(IDP_LOCK_TIMEOUT sets how long idp waits)",
        )
    return DatabaseUnreachable(f"database error: {reason}")


# PostgreSQL: lock_not_available (lock_timeout), query_canceled (statement_timeout); MySQL: 1205 lock wait
# timeout; SQLite: "database is locked" / "database table is locked" (busy timeout)
_PG_BUSY = ("55P03", "57014")
_MYSQL_BUSY = (1205,)


def _busy(exc: Exception, lowered: str) -> bool:
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) in _PG_BUSY:
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in _MYSQL_BUSY:
        return True
    return "database is locked" in lowered or "table is locked" in lowered or "busy" in lowered


def check_schema(conn: Connection, env: Env) -> None:
    """Exit 7 when a table or column the deployment needs is missing and `idp migrate` would add it; a
    database that is another flavor's, another layout's or another application's says what it is."""
    from owox_idp.db.migrate import plan_migration, state_from_catalog

    dep = env.deployment
    found = dep.discovery
    assert found is not None
    problem = dep.flavor.foreign_database(dep)
    if problem is not None:
        raise SchemaError(problem[0], hint=problem[1])
    tables = [env.layout.table(m.name) for m in env.models]
    plan = plan_migration(
        state=state_from_catalog(found.catalog, tables),
        models=env.models,
        layout=env.layout,
        dialect=env.dialect,
        populated=None,
    )
    if plan.create_tables or plan.add_columns:
        missing = plan.create_tables + plan.add_columns
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        what = "missing" if len(plan.create_tables) == len(tables) else "out of date"
        raise SchemaError(
            f"the database schema is {what} for the {env.deployment.name} flavor (missing: {shown})",
            hint="run `idp migrate`",
        )
