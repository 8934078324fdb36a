"""DDL exactly as Better Auth's Kysely migration (`getMigrations`) writes it, per dialect.

The statements are plain strings so that `idp migrate --sql` can print them and a test can compare
them, byte for byte, with what the real npm package prints.
"""

from __future__ import annotations

from owox_idp.db.schema import ExpectedIndex, Field, Layout, Model

Dialect = str  # "sqlite" | "postgresql" | "mysql"


def quote(dialect: Dialect, name: str) -> str:
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def column_type(dialect: Dialect, f: Field) -> str:
    if f.references:
        return "varchar(36)" if dialect == "mysql" else "text"
    if f.type == "string":
        if dialect != "mysql":
            return "text"
        return "varchar(255)" if (f.unique or f.sortable or f.index) else "text"
    if f.type == "boolean":
        return {"sqlite": "integer", "postgresql": "boolean", "mysql": "boolean"}[dialect]
    if f.type == "number":
        return "integer"
    if f.type == "json":  # the Rust port's metadata (its own migrations create it; see db/schema_rs.py)
        return {"sqlite": "text", "postgresql": "jsonb", "mysql": "json"}[dialect]
    return {"sqlite": "date", "postgresql": "timestamptz", "mysql": "timestamp(3)"}[dialect]


def _id_type(dialect: Dialect) -> str:
    return "varchar(36)" if dialect == "mysql" else "text"


def _column_def(
    dialect: Dialect, layout: Layout, model: Model, f: Field, *, inline_unique: bool, adding: bool = False
) -> str:
    dates = layout.dates if f.type == "date" and not f.references else None
    parts = [
        quote(dialect, layout.column(model.name, f.name)),
        dates.type if dates else column_type(dialect, f),
    ]
    if dates is not None:
        # the deployment's own date storage (Drizzle, Prisma): its type, and "now" as a UTC instant
        if f.date_default and dates.default and (dates.default_on_add or not adding):
            parts.append(dates.default)
    elif f.type == "date" and f.date_default and dialect in ("postgresql", "mysql"):
        parts.append("default CURRENT_TIMESTAMP(3)" if dialect == "mysql" else "default CURRENT_TIMESTAMP")
    if f.required:
        parts.append("not null")
    if f.unique and inline_unique:
        parts.append("unique")
    if f.references:
        ref_table = layout.table(f.references)
        ref_col = layout.column(f.references, "id")
        parts.append(f"references {quote(dialect, ref_table)} ({quote(dialect, ref_col)}) on delete cascade")
    return " ".join(parts)


def create_table(dialect: Dialect, layout: Layout, model: Model) -> str:
    table = layout.table(model.name)
    cols = [f"{quote(dialect, layout.column(model.name, 'id'))} {_id_type(dialect)} not null primary key"]
    cols += [_column_def(dialect, layout, model, f, inline_unique=True) for f in model.fields]
    return f"create table {quote(dialect, table)} ({', '.join(cols)})"


def add_column(dialect: Dialect, layout: Layout, model: Model, f: Field) -> str:
    table = layout.table(model.name)
    return f"alter table {quote(dialect, table)} add column " + _column_def(
        dialect, layout, model, f, inline_unique=False, adding=True
    )


def create_index(dialect: Dialect, index: ExpectedIndex) -> str:
    cols = ", ".join(quote(dialect, c) for c in index.columns)
    kind = "create unique index" if index.unique else "create index"
    return f"{kind} {quote(dialect, index.name)} on {quote(dialect, index.table)} ({cols})"
