"""The per-run environment: settings, the database, and one transaction per command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from owox_idp.config import Settings
from owox_idp.db.schema import DEFAULT_LAYOUT, Layout, Model, models_for, plugins_for
from owox_idp.errors import Conflict, DatabaseUnreachable, IdpError, SchemaError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from owox_idp.repository import Repository


@dataclass
class Env:
    settings: Settings
    layout: Layout = DEFAULT_LAYOUT
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def dialect(self) -> str:
        from owox_idp.db.engine import dialect_of

        return dialect_of(self.settings.database_url)

    @property
    def models(self) -> tuple[Model, ...]:
        s = self.settings
        return models_for(
            plugins_for(flavor=s.flavor, server_version=s.server_version, organization=s.organization)
        )

    def engine(self, *, create_file: bool = False) -> Engine:
        if self._engine is None:
            from owox_idp.db.engine import create_engine

            self._engine = create_engine(self.settings.database_url, create_file=create_file)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def connection(self, *, write: bool, create_file: bool = False) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on any error."""
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

    @contextmanager
    def repository(self, *, write: bool) -> Iterator[Repository]:
        """A repository on a schema-checked database, in one transaction."""
        from owox_idp.repository import Repository, Tables

        with self.connection(write=write) as conn:
            check_schema(conn, self)
            yield Repository(conn, Tables(self.models, self.layout), flavor=self.settings.flavor)


def translate_db_error(exc: Exception) -> IdpError:
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    from owox_idp.db.engine import short_reason

    reason = short_reason(exc)
    if isinstance(exc, IntegrityError):
        return Conflict(f"the database refused the change: {reason}")
    lowered = reason.lower()
    if isinstance(exc, ProgrammingError | OperationalError) and (
        "no such table" in lowered
        or "does not exist" in lowered
        or "doesn't exist" in lowered
        or "no such column" in lowered
        or "unknown column" in lowered
    ):
        return SchemaError(f"the schema is missing or out of date ({reason})", hint="run `idp migrate`")
    if isinstance(exc, OperationalError) and ("locked" in lowered or "busy" in lowered):
        return DatabaseUnreachable(f"the database is busy: {reason}")
    return DatabaseUnreachable(f"database error: {reason}")


def check_schema(conn: Connection, env: Env) -> None:
    """Exit 7 when a table or column the flavor needs is missing."""
    from owox_idp.db.migrate import introspect, plan_migration

    tables = [env.layout.table(m.name) for m in env.models]
    state = introspect(conn, tables, with_indexes=False)
    plan = plan_migration(
        state=state, models=env.models, layout=env.layout, dialect=env.dialect, populated=None
    )
    if plan.create_tables or plan.add_columns:
        missing = plan.create_tables + plan.add_columns
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        what = "missing" if len(plan.create_tables) == len(tables) else "out of date"
        raise SchemaError(
            f"the database schema is {what} for the {env.settings.flavor} flavor (missing: {shown})",
            hint="run `idp migrate`",
        )
