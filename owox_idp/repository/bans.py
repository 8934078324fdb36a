"""Where a ban is read from, as SQL: the admin plugin's columns on `user`, or idp's own `idp_owox_ban`
table (OWOX's server has no admin plugin); and that table's rows.

The flavor names the storage (`Flavor.ban_storage`); `BAN_STORAGES` maps it to the class here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, delete, exists, false, insert, literal, or_, select
from sqlalchemy.engine import Connection

from owox_idp.models import OwoxBan
from owox_idp.repository.base import Part
from owox_idp.repository.tables import OWOX_BAN_TABLE, Tables


class AdminPluginBans(Part):
    """The admin plugin's columns; a deployment without the plugin has no bans (and refuses them)."""

    def columns(self, u: Table) -> list[Any]:
        if "banned" not in u.c:
            return [
                literal(False).label("banned"),
                literal(None).label("banReason"),
                literal(None).label("banExpires"),
            ]
        return [u.c.banned, u.c.banReason, u.c.banExpires]

    def banned(self, u: Table) -> ColumnElement[bool]:
        if "banned" not in u.c:
            return false()
        return u.c.banned == True  # noqa: E712 - SQL comparison

    def not_banned(self, u: Table) -> ColumnElement[bool]:
        if "banned" not in u.c:
            return ~false()
        return or_(u.c.banned.is_(None), u.c.banned == False)  # noqa: E712 - SQL comparison


class OwoxBanTable(Part):
    """idp's `idp_owox_ban`: what an OWOX ban took away, so that unban can give it back. Created by the
    first ban, so it may not exist."""

    def __init__(self, conn: Connection, tables: Tables) -> None:
        super().__init__(conn, tables)
        self._known: bool | None = None

    def exists(self) -> bool:
        if self._known is None:
            from sqlalchemy import inspect

            self._known = inspect(self.conn).has_table(OWOX_BAN_TABLE)
        return self._known

    def ensure_table(self) -> None:
        if not self.exists():
            self.t.owox_ban.create(self.conn, checkfirst=True)
            self._known = True

    def guard_installed(self) -> bool:
        from sqlalchemy import text

        from owox_idp.db import owox_ban_guard

        dialect = self.conn.dialect.name
        found = {row[0] for row in self.conn.execute(text(owox_ban_guard.installed_query(dialect)))}
        return set(owox_ban_guard.trigger_names(dialect)) <= found

    def ensure_guard(self) -> bool:
        """Install the ban guard (triggers refusing a session or member row for a banned user id, see
        db/owox_ban_guard.py) unless it is there; True when it was installed now."""
        from owox_idp.db import owox_ban_guard

        if self.guard_installed():
            return False
        tables = {m: self.t.layout.table(m) for m in ("user", "session", "member")}
        for statement in owox_ban_guard.create_statements(
            self.conn.dialect.name,
            tables=tables,
            user_id_column=self.t.layout.column("session", "userId"),
            id_column=self.t.layout.column("user", "id"),
        ):
            self.conn.exec_driver_sql(statement)
        return True

    def lock_user(self, user_id: str) -> None:
        """PostgreSQL: hold the user's row, so that a session insert racing the ban waits for it (the
        guard's trigger takes FOR KEY SHARE on the same row first)."""
        if self.conn.dialect.name == "postgresql":
            u = self.t["user"]
            self.conn.execute(select(u.c.id).where(u.c.id == user_id).with_for_update())

    def get(self, user_id: str) -> OwoxBan | None:
        if not self.exists():
            return None
        b = self.t.owox_ban
        row = self.conn.execute(select(b).where(b.c.userId == user_id)).mappings().first()
        if row is None:
            return None
        return OwoxBan(
            user_id=row["userId"],
            previous_role=row["previousRole"],
            password_hash=row["passwordHash"],
            reason=row["reason"],
            expires_at=row["expiresAt"],
            created_at=row["createdAt"],
        )

    def insert(self, ban: OwoxBan) -> None:
        self.conn.execute(
            insert(self.t.owox_ban).values(
                userId=ban.user_id,
                previousRole=ban.previous_role,
                passwordHash=ban.password_hash,
                reason=ban.reason,
                expiresAt=ban.expires_at,
                createdAt=ban.created_at,
            )
        )

    def delete(self, user_id: str) -> int:
        if not self.exists():
            return 0
        b = self.t.owox_ban
        return self.conn.execute(delete(b).where(b.c.userId == user_id)).rowcount


class OwoxEmulatedBans(OwoxBanTable):
    def columns(self, u: Table) -> list[Any]:
        if not self.exists():
            return [
                literal(False).label("banned"),
                literal(None).label("banReason"),
                literal(None).label("banExpires"),
            ]
        b = self.t.owox_ban
        return [
            exists().where(b.c.userId == u.c.id).label("banned"),
            select(b.c.reason).where(b.c.userId == u.c.id).scalar_subquery().label("banReason"),
            select(b.c.expiresAt).where(b.c.userId == u.c.id).scalar_subquery().label("banExpires"),
        ]

    def banned(self, u: Table) -> ColumnElement[bool]:
        if not self.exists():
            return false()
        b = self.t.owox_ban
        return exists().where(b.c.userId == u.c.id)

    def not_banned(self, u: Table) -> ColumnElement[bool]:
        return ~self.banned(u)


BanStore = AdminPluginBans | OwoxEmulatedBans
BAN_STORAGES: dict[str, type[AdminPluginBans] | type[OwoxEmulatedBans]] = {
    "admin-plugin": AdminPluginBans,
    "owox-emulation": OwoxEmulatedBans,
}
