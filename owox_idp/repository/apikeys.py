"""The api-key plugin's `apikey` rows, and idp's own `idp_apikey_ban`: which keys a ban disabled, so
that unban enables exactly those again (see owox_idp.services.apikeys).

The owner column is `referenceId` from Better Auth 1.5 on and `userId` in 1.4
(owox_idp.db.apikey_schema); the `key` column (the hash) is written here but never read back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, delete, insert, or_, select, true, update
from sqlalchemy.engine import Connection, RowMapping

from owox_idp.db.types import BADate
from owox_idp.models import ApiKeyRow
from owox_idp.repository.base import Part
from owox_idp.repository.tables import Tables

APIKEY_MODEL = "apikey"
APIKEY_BAN_TABLE = "idp_apikey_ban"

# idp's own, created by the first ban that disables a key (like idp_owox_ban); fixed names, no layout
_metadata = MetaData()
APIKEY_BAN = Table(
    APIKEY_BAN_TABLE,
    _metadata,
    Column("apiKeyId", String(191), primary_key=True, key="apiKeyId"),
    Column("userId", String(191), nullable=False, key="userId"),
    Column("createdAt", BADate(), key="createdAt"),
)


class ApiKeyRepository(Part):
    def __init__(self, conn: Connection, tables: Tables) -> None:
        super().__init__(conn, tables)
        self._ban_table_known: bool | None = None

    @property
    def present(self) -> bool:
        """The deployment's models have the table (the api-key plugin is declared)."""
        return self.t.has(APIKEY_MODEL)

    @property
    def table(self) -> Table:
        return self.t[APIKEY_MODEL]

    @property
    def owner_field(self) -> str:
        return "referenceId" if "referenceId" in self.table.c else "userId"

    def has_column(self, field: str) -> bool:
        return self.present and field in self.table.c

    # ------------------------------------------------------------------ rows
    def insert(self, values: dict[str, Any]) -> None:
        """One row; `values` are logical field names (the owner under `owner_field`)."""
        self.conn.execute(insert(self.table).values(**values))

    def _select(self) -> Any:
        k = self.table
        u = self.t["user"]
        owner = k.c[self.owner_field]
        cols: list[Any] = [
            k.c.id,
            owner.label("owner"),
            u.c.email,
            k.c.name,
            k.c.start,
            k.c.prefix,
            k.c.enabled,
            k.c.expiresAt,
            k.c.createdAt,
            k.c.updatedAt,
            k.c.permissions,
            k.c.metadata,
            k.c.requestCount,
            k.c.remaining,
            k.c.lastRequest,
        ]
        if "configId" in k.c:
            cols.append(k.c.configId)
        return select(*cols).select_from(k.outerjoin(u, u.c.id == owner))

    @staticmethod
    def _row(row: RowMapping) -> ApiKeyRow:
        return ApiKeyRow(
            id=row["id"],
            user_id=row["owner"],
            email=row["email"],
            name=row["name"],
            start=row["start"],
            prefix=row["prefix"],
            enabled=row["enabled"],
            expires_at=row["expiresAt"],
            created_at=row["createdAt"],
            updated_at=row["updatedAt"],
            permissions=row["permissions"],
            metadata=row["metadata"],
            config_id=row.get("configId"),
            request_count=row["requestCount"],
            remaining=row["remaining"],
            last_request=row["lastRequest"],
        )

    def query(self, *, user_id: str | None = None, live_at: datetime | None = None) -> list[ApiKeyRow]:
        """Newest first; with `live_at`, only keys that have not expired by then (NULL: never expires)."""
        k = self.table
        stmt = self._select()
        if user_id is not None:
            stmt = stmt.where(k.c[self.owner_field] == user_id)
        if live_at is not None:
            stmt = stmt.where(or_(k.c.expiresAt.is_(None), k.c.expiresAt >= self.keyset_date(live_at)))
        stmt = stmt.order_by(k.c.createdAt.desc(), k.c.id.desc())
        return [self._row(r) for r in self.conn.execute(stmt).mappings()]

    def find(self, key_id: str) -> ApiKeyRow | None:
        row = self.conn.execute(self._select().where(self.table.c.id == key_id)).mappings().first()
        return self._row(row) if row else None

    def ids_for_user(self, user_id: str, *, enabled_only: bool = False) -> list[str]:
        k = self.table
        stmt = select(k.c.id).where(k.c[self.owner_field] == user_id)
        if enabled_only:  # the server refuses only `enabled === false`: NULL counts as enabled
            stmt = stmt.where(or_(k.c.enabled.is_(None), k.c.enabled == true()))
        return [r[0] for r in self.conn.execute(stmt.order_by(k.c.id))]

    def set_enabled(self, ids: Sequence[str], enabled: bool, now: datetime) -> int:
        """What the plugin's update route writes for `enabled` (it bumps `updatedAt` too)."""
        if not ids:
            return 0
        k = self.table
        stmt = update(k).where(k.c.id.in_(list(ids))).values(enabled=enabled, updatedAt=now)
        return int(self.conn.execute(stmt).rowcount)

    def delete(self, ids: Sequence[str]) -> int:
        return self.delete_by_ids(APIKEY_MODEL, ids)

    def delete_for_user(self, user_id: str) -> int:
        k = self.table
        return int(self.conn.execute(delete(k).where(k.c[self.owner_field] == user_id)).rowcount)

    # ------------------------------------------------------------------ idp_apikey_ban
    def ban_table_exists(self) -> bool:
        if self._ban_table_known is None:
            from sqlalchemy import inspect

            self._ban_table_known = inspect(self.conn).has_table(APIKEY_BAN_TABLE)
        return self._ban_table_known

    def ensure_ban_table(self) -> None:
        """DDL: call it before the transaction's first write (MySQL commits implicitly around it)."""
        if not self.ban_table_exists():
            APIKEY_BAN.create(self.conn, checkfirst=True)
            self._ban_table_known = True

    def banned_ids(self, user_id: str) -> list[str]:
        """The keys of the user that a ban disabled and no unban has enabled yet."""
        if not self.ban_table_exists():
            return []
        b = APIKEY_BAN
        stmt = select(b.c.apiKeyId).where(b.c.userId == user_id).order_by(b.c.apiKeyId)
        return [r[0] for r in self.conn.execute(stmt)]

    def record_ban(self, user_id: str, ids: Sequence[str], now: datetime) -> None:
        if ids:
            rows = [{"apiKeyId": i, "userId": user_id, "createdAt": now} for i in ids]
            self.conn.execute(insert(APIKEY_BAN), rows)

    def forget_ban(self, user_id: str | None = None, ids: Sequence[str] = ()) -> int:
        """Drop ban records: all of a user's, or those of the given keys."""
        if not self.ban_table_exists() or (user_id is None and not ids):
            return 0
        b = APIKEY_BAN
        stmt = delete(b).where(b.c.userId == user_id) if user_id is not None else delete(b)
        if ids:
            stmt = stmt.where(b.c.apiKeyId.in_(list(ids)))
        return int(self.conn.execute(stmt).rowcount)
