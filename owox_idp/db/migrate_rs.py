"""`idp migrate` for the Rust port: its own migration files, never DDL of idp's making.

The port's schema has types `owox_idp.db.ddl` does not write (jsonb metadata, the port's own defaults
and indexes), and the port's docs tell users to apply `migrations/*.sql` by hand (`psql -f`,
`docs/content/docs/concepts/database.mdx` "Schema"); there is no migration table. So the plan is: every
file whose tables are missing, verbatim (each statement is `CREATE … IF NOT EXISTS`, so a file whose
tables partly exist is safe to run again), plus idp's ban guard when the users table is being created,
then idp's own tables (its audit trail, `idp_audit`) when they are missing. On a database the port
created there is nothing of the port's to do: only idp's own table is added, beside the port's, which
never reads it. Columns idp needs that an existing port table lacks are refused, not added: idp does
not alter the port's tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from owox_idp.db.migrate import Plan, _matches, introspect
from owox_idp.db.schema_rs import BAN_GUARD_FILE, RS_LAYOUT, RS_MIGRATIONS, RS_MODELS, migration_sql

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

# Better Auth's (TypeScript) default tables: a database that has them belongs to another server
_TS_TABLES = ("user", "session", "account", "verification")


def plan_rs_migration(
    conn: Connection, dialect: str, idp_tables: Mapping[str, list[str]] | None = None
) -> Plan:
    plan = Plan()
    if dialect != "postgresql":
        plan.unsafe.append("the better-auth-rs flavor is PostgreSQL only (the port has no other SQL adapter)")
        return plan
    port_tables = [t for _, tables in RS_MIGRATIONS for t in tables]
    state = introspect(conn, port_tables + list(_TS_TABLES) + list(idp_tables or {}), with_indexes=False)
    present = set(state.tables)
    ts_found = [t for t in _TS_TABLES if t in present]
    if ts_found and not present & set(port_tables):
        plan.create_tables = port_tables
        plan.unsafe.append(
            f"this database has Better Auth's own tables ({', '.join(ts_found)}), not the Rust port's: "
            "it belongs to a TypeScript Better Auth server (use --flavor better-auth); idp creates no "
            "port tables beside them"
        )
        return plan
    for file_name, tables in RS_MIGRATIONS:
        missing = [t for t in tables if t not in present]
        if missing:
            plan.create_tables += missing
            plan.statements.append(migration_sql(file_name))
    if "users" in plan.create_tables:
        plan.statements.append(migration_sql(BAN_GUARD_FILE))  # idp's own addition (docs/compatibility.md)
    for model in RS_MODELS:
        table = RS_LAYOUT.table(model.name)
        columns = state.tables.get(table)
        if columns is None:
            continue
        for f in model.fields:
            name = RS_LAYOUT.column(model.name, f.name)
            col = columns.get(name)
            if col is None:
                plan.add_columns.append(f"{table}.{name}")
                plan.unsafe.append(
                    f'table "{table}" has no column "{name}", which the port 0.10 creates: this is not a '
                    "0.10 port schema, and idp does not alter the port's tables"
                )
            elif not _matches(dialect, f.type, col.type):
                plan.warnings.append(
                    f"column {table}.{name} has type {col.type}; the port's migrations create a {f.type} column"
                )
    for table, statements in (idp_tables or {}).items():
        if table not in present:
            plan.create_idp_tables.append(table)
            plan.statements += statements
    return plan


def ban_guard_sql() -> str:
    return migration_sql(BAN_GUARD_FILE)
