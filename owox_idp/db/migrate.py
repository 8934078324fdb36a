"""Introspection and the additive migration plan, as Better Auth's `getMigrations` computes it.

Create missing tables, add missing columns, create missing indexes; never drop, rename or alter. A
required column without a default cannot be added to a table that has rows: that is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from owox_idp.db import ddl
from owox_idp.db.schema import ExpectedIndex, Layout, Model, expected_indexes

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from owox_idp.db.discover import Catalog

# getMigrations' `map`: which database types count as the field's type (a mismatch is only a warning).
_TYPE_MATCH = {
    "postgresql": {
        "string": ("character varying", "varchar", "text", "uuid"),
        "number": ("int4", "int8", "integer", "bigint", "smallint", "numeric", "real", "double precision"),
        "boolean": ("bool", "boolean"),
        "date": (
            "timestamptz",
            "timestamp",
            "date",
            "timestamp with time zone",
            "timestamp without time zone",
        ),
        "json": ("jsonb", "json"),
    },
    "mysql": {
        "string": ("varchar", "text", "uuid", "mediumtext", "longtext", "char"),
        "number": ("integer", "int", "bigint", "smallint", "decimal", "float", "double"),
        "boolean": ("boolean", "tinyint", "bool"),
        "date": ("timestamp", "datetime", "date"),
        "json": ("json", "longtext"),
    },
    "sqlite": {
        "string": ("text",),
        "number": ("integer", "real", "bigint"),
        "boolean": ("integer", "boolean"),
        "date": ("date", "integer", "datetime", "text"),
        "json": ("text", "json"),
    },
}


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    nullable: bool
    has_default: bool


@dataclass(frozen=True)
class IndexInfo:
    name: str
    columns: tuple[str, ...]
    unique: bool


@dataclass
class DbState:
    tables: dict[str, dict[str, ColumnInfo]] = field(default_factory=dict)
    indexes: dict[str, list[IndexInfo]] = field(default_factory=dict)


_PG_COLUMNS = (
    "SELECT c.relname, a.attname, NOT a.attnotnull, format_type(a.atttypid, a.atttypmod), a.atthasdef "
    "FROM pg_catalog.pg_attribute a "
    "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
    "AND NOT a.attisdropped AND c.relname = ANY(:tables)"
)
_MYSQL_COLUMNS = (
    "SELECT table_name, column_name, is_nullable = 'YES', data_type, column_default IS NOT NULL "
    "FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name IN :tables"
)


def _columns_from_catalog(conn: Connection, tables: list[str]) -> DbState:
    """Columns of the named tables in one catalog query (PostgreSQL, MySQL): the schema check of every
    command, where reflection table by table costs more than the command's own query."""
    from sqlalchemy import bindparam, text

    if conn.dialect.name == "postgresql":
        rows = conn.execute(text(_PG_COLUMNS), {"tables": tables}).all()
    else:
        stmt = text(_MYSQL_COLUMNS).bindparams(bindparam("tables", expanding=True))
        rows = conn.execute(stmt, {"tables": tables}).all()
    state = DbState()
    for table, column, nullable, data_type, has_default in rows:
        state.tables.setdefault(str(table), {})[str(column)] = ColumnInfo(
            str(column), str(data_type).lower(), bool(nullable), bool(has_default)
        )
    return state


def state_from_catalog(catalog: Catalog | None, tables: list[str]) -> DbState:
    """The named tables' columns from a catalog `db.discover.read_catalog` has read already."""
    state = DbState()
    if catalog is None:
        return state
    for name in tables:
        table = catalog.tables.get(name)
        if table is None:
            continue
        state.tables[name] = {
            c.name: ColumnInfo(c.name, c.raw_type.lower(), c.nullable, c.default is not None or c.identity)
            for c in table.columns
        }
    return state


def introspect(conn: Connection, tables: list[str], *, with_indexes: bool) -> DbState:
    """The named tables as they exist (missing ones are absent from the result)."""
    from sqlalchemy import inspect

    if not with_indexes and conn.dialect.name in ("postgresql", "mysql"):
        return _columns_from_catalog(conn, tables)

    insp = inspect(conn)
    existing = set(insp.get_table_names())
    state = DbState()
    for table in tables:
        if table not in existing:
            continue
        cols = {}
        for col in insp.get_columns(table):
            type_name = _type_name(col["type"], conn.dialect.name)
            cols[col["name"]] = ColumnInfo(
                col["name"], type_name, bool(col["nullable"]), col.get("default") is not None
            )
        state.tables[table] = cols
        if with_indexes:
            found: list[IndexInfo] = []
            for ix in insp.get_indexes(table):
                names = tuple(c for c in ix["column_names"] if c is not None)
                found.append(IndexInfo(str(ix["name"]), names, bool(ix["unique"])))
            for uc in insp.get_unique_constraints(table):
                found.append(IndexInfo(str(uc["name"]), tuple(uc["column_names"]), True))
            state.indexes[table] = found
    return state


def _type_name(type_: object, dialect: str) -> str:
    try:
        from sqlalchemy.types import TypeEngine

        if isinstance(type_, TypeEngine):
            return str(type_.compile(dialect=None)).lower()
    except Exception:  # some reflected types do not compile without a dialect
        pass
    return type(type_).__name__.lower()


@dataclass
class Plan:
    statements: list[str] = field(default_factory=list)
    create_tables: list[str] = field(default_factory=list)
    add_columns: list[str] = field(default_factory=list)  # "table.column"
    add_indexes: list[str] = field(default_factory=list)
    create_idp_tables: list[str] = field(default_factory=list)  # idp's own (idp_audit), not Better Auth's
    unsafe: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def schema_behind(self) -> bool:
        return bool(self.create_tables or self.add_columns)

    @property
    def empty(self) -> bool:
        return not self.statements


def _matches(dialect: str, field_type: str, db_type: str) -> bool:
    base = db_type.lower().split("(")[0].strip()
    return base in _TYPE_MATCH[dialect][field_type]


def plan_migration(
    *,
    state: DbState,
    models: tuple[Model, ...],
    layout: Layout,
    dialect: str,
    populated: Callable[[str], bool] | None,
    extra_indexes: list[ExpectedIndex] | None = None,
    idp_tables: Mapping[str, list[str]] | None = None,
) -> Plan:
    """What Better Auth's migration would do to this database. `populated(table)` answers whether a
    table has rows (only asked when a required column would be added); None skips that check.
    `idp_tables` (table name -> its statements) are idp's own tables, created when missing after
    everything else; Better Auth's migration never looks at them."""
    plan = Plan()
    add_stmts: list[str] = []
    create_stmts: list[str] = []
    for model in models:
        table = layout.table(model.name)
        columns = state.tables.get(table)
        if columns is None:
            plan.create_tables.append(table)
            create_stmts.append(ddl.create_table(dialect, layout, model))
            continue
        expected_names = {layout.column(model.name, "id")}
        for f in model.fields:
            name = layout.column(model.name, f.name)
            expected_names.add(name)
            col = columns.get(name)
            if col is None:
                plan.add_columns.append(f"{table}.{name}")
                add_stmts.append(ddl.add_column(dialect, layout, model, f))
                has_default = f.type == "date" and f.date_default and dialect != "sqlite"
                if f.required and not has_default and populated is not None and populated(table):
                    plan.unsafe.append(
                        f'cannot add required column "{name}" to table "{table}", which has rows: '
                        "there is no value to fill them with. Add it as nullable, backfill every row, "
                        "then make it NOT NULL."
                    )
                continue
            if f.required and col.nullable:
                plan.warnings.append(
                    f"column {table}.{name} is nullable but Better Auth declares it required"
                )
            # a reference has the type of the ids: text, uuid, or integer (generateId: "serial")
            kinds = (f.type, "number") if f.references else (f.type,)
            if not any(_matches(dialect, kind, col.type) for kind in kinds):
                plan.warnings.append(
                    f"column {table}.{name} has type {col.type}; Better Auth expects a {f.type} column"
                )
        for name, col in columns.items():
            if name not in expected_names and not col.nullable and not col.has_default:
                plan.warnings.append(
                    f"column {table}.{name} is NOT NULL without a default and Better Auth does not write it: "
                    "a Better Auth 1.7 server refuses every request until it is dropped or made nullable"
                )

    wanted = expected_indexes(models, layout) + list(extra_indexes or [])
    index_stmts: list[str] = []
    for index in wanted:
        existing = state.indexes.get(index.table)
        if existing is not None:
            if any(ix.name == index.name for ix in existing):
                continue
            if any(ix.columns == index.columns and ix.unique == index.unique for ix in existing):
                continue
        plan.add_indexes.append(index.name)
        index_stmts.append(ddl.create_index(dialect, index))
    idp_stmts: list[str] = []
    for table, statements in (idp_tables or {}).items():
        if table not in state.tables:
            plan.create_idp_tables.append(table)
            idp_stmts += statements
    plan.statements = add_stmts + create_stmts + index_stmts + idp_stmts
    return plan
