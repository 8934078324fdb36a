"""idp's ban guard for the Rust port: a PostgreSQL trigger on `sessions` that refuses a new session for a
user whose ban is in force (`owox_idp/db/rs_migrations/ban_guard.sql`).

The port never reads `users.banned` (tests/data/better_auth_rs/PORT.md §6), but every sign-in path ends
in the one INSERT of `SqlxAdapter::create_session` (`crates/core/src/adapters/database.rs:529-563`), so
the trigger makes that INSERT fail and the port issues no session.
"""

from __future__ import annotations

from sqlalchemy import text

from owox_idp.db.schema_rs import BAN_GUARD_TRIGGER
from owox_idp.repository.base import Part


class BanGuard(Part):
    def installed(self) -> bool:
        if self.conn.dialect.name != "postgresql" or not self.t.has("session"):
            return False
        stmt = text(
            "SELECT 1 FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname = :table AND g.tgname = :name "
            "AND NOT g.tgisinternal AND g.tgenabled <> 'D'"
        )
        params = {"table": self.t["session"].name, "name": BAN_GUARD_TRIGGER}
        return self.conn.execute(stmt, params).first() is not None

    def install(self) -> None:
        """Create (or replace) the trigger, inside the caller's transaction (PostgreSQL DDL is
        transactional: a ban that fails later takes the trigger back with it)."""
        from owox_idp.db.migrate_rs import ban_guard_sql

        self.conn.exec_driver_sql(ban_guard_sql())
