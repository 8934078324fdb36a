"""Sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, literal, select
from sqlalchemy.engine import RowMapping

from owox_idp.models import Session
from owox_idp.repository.base import Part


class SessionRepository(Part):
    def _select(self) -> Any:
        s = self.t["session"]
        u = self.t["user"]
        cols: list[Any] = [
            s.c.id,
            s.c.userId,
            u.c.email,
            s.c.token,
            s.c.createdAt,
            s.c.expiresAt,
            s.c.ipAddress,
            s.c.userAgent,
        ]
        cols.append(s.c.impersonatedBy if "impersonatedBy" in s.c else literal(None).label("impersonatedBy"))
        cols.append(s.c.active if "active" in s.c else literal(True).label("active"))
        return select(*cols).select_from(s.outerjoin(u, u.c.id == s.c.userId))

    def _live(self, active_after: datetime) -> list[ColumnElement[bool]]:
        """Sessions the server still accepts: unexpired, and `active` where the model has it (the Rust
        port looks sessions up `WHERE token = $1 AND active = true`, database.rs:567, and drops
        `!active` ones, session.rs:59)."""
        s = self.t["session"]
        conds: list[ColumnElement[bool]] = [s.c.expiresAt > active_after]
        if "active" in s.c:
            conds.append(s.c.active == True)  # noqa: E712 - SQL comparison
        return conds

    @staticmethod
    def _to_session(row: RowMapping) -> Session:
        return Session(
            id=str(row["id"]),
            user_id=str(row["userId"]),
            email=row["email"],
            token=row["token"],
            created_at=row["createdAt"],
            expires_at=row["expiresAt"],
            ip_address=row["ipAddress"],
            user_agent=row["userAgent"],
            impersonated_by=row["impersonatedBy"],
            active=row["active"] is not False,
        )

    def query(
        self,
        *,
        user_id: str | None,
        active_after: datetime | None,
        limit: int | None,
        offset: int = 0,
        after: tuple[datetime, str] | None = None,
    ) -> list[Session]:
        s = self.t["session"]
        stmt = self._select()
        if after is not None:
            stmt = stmt.where(*self.after(s, after))
        if user_id is not None:
            stmt = stmt.where(s.c.userId == user_id)
        if active_after is not None:
            stmt = stmt.where(*self._live(active_after))
        stmt = stmt.order_by(s.c.createdAt.desc(), s.c.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        if offset:
            stmt = stmt.offset(offset)
        return [self._to_session(r) for r in self.conn.execute(stmt).mappings()]

    def find(self, session_id: str) -> Session | None:
        s = self.t["session"]
        row = self.conn.execute(self._select().where(s.c.id == session_id)).mappings().first()
        return self._to_session(row) if row else None

    def count(self, *, user_id: str | None = None, active_after: datetime | None = None) -> int:
        s = self.t["session"]
        stmt = select(func.count()).select_from(s)
        if user_id is not None:
            stmt = stmt.where(s.c.userId == user_id)
        if active_after is not None:
            stmt = stmt.where(*self._live(active_after))
        return int(self.conn.execute(stmt).scalar_one())

    def delete_for_user(self, user_id: str) -> int:
        s = self.t["session"]
        return self.conn.execute(delete(s).where(s.c.userId == user_id)).rowcount

    def delete_impersonations(self, user_id: str) -> int:
        """Sessions in which `user_id` (an admin) acts as someone else (the admin plugin's
        `impersonatedBy`): they end with the admin's own access."""
        s = self.t["session"]
        if "impersonatedBy" not in s.c:
            return 0
        return self.conn.execute(delete(s).where(s.c.impersonatedBy == user_id)).rowcount

    def delete_one(self, user_id: str, session_id: str) -> int:
        s = self.t["session"]
        return self.conn.execute(delete(s).where(s.c.userId == user_id, s.c.id == session_id)).rowcount

    def count_expired(self, before: datetime) -> int:
        s = self.t["session"]
        stmt = select(func.count()).select_from(s).where(s.c.expiresAt < before)
        return int(self.conn.execute(stmt).scalar_one())

    def expired_ids(self, before: datetime, *, limit: int) -> list[str]:
        s = self.t["session"]
        return [r[0] for r in self.conn.execute(select(s.c.id).where(s.c.expiresAt < before).limit(limit))]
