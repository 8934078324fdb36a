"""Verification rows: magic links, reset tokens, trusted devices, two-factor challenges."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, insert, select

from owox_idp.models import Verification
from owox_idp.repository.base import Part, escape_like


class VerificationRepository(Part):
    def _rows(self, stmt: Select[Any]) -> Iterator[Verification]:
        for r in self.conn.execute(stmt):
            yield Verification(r.id, r.identifier, r.value, r.expiresAt, r.createdAt)

    def _select(self) -> Select[Any]:
        v = self.t["verification"]
        return select(v.c.id, v.c.identifier, v.c.value, v.c.expiresAt, v.c.createdAt)

    def insert(self, *, id: str, identifier: str, value: str, expires_at: datetime, now: datetime) -> None:
        self.conn.execute(
            insert(self.t["verification"]).values(
                id=id, identifier=identifier, value=value, expiresAt=expires_at, createdAt=now, updatedAt=now
            )
        )

    def mentioning(self, needle: str) -> list[Verification]:
        """Rows whose value contains `needle` (case-insensitive); callers parse and filter exactly."""
        v = self.t["verification"]
        pattern = f"%{escape_like(needle.lower())}%"
        return list(self._rows(self._select().where(func.lower(v.c.value).like(pattern, escape="\\"))))

    def for_user_id(self, user_id: str) -> list[Verification]:
        """Rows whose value is the user's id: reset-password tokens, trusted devices, 2FA challenges."""
        v = self.t["verification"]
        return list(self._rows(self._select().where(v.c.value == user_id)))

    def delete(self, ids: Sequence[str]) -> int:
        return self.delete_by_ids("verification", ids)

    def delete_by_identifier(self, identifiers: Sequence[str]) -> int:
        if not identifiers:
            return 0
        v = self.t["verification"]
        return self.conn.execute(delete(v).where(v.c.identifier.in_(list(identifiers)))).rowcount

    def delete_by_identifier_prefix(self, prefix: str) -> int:
        v = self.t["verification"]
        pattern = escape_like(prefix) + "%"
        return self.conn.execute(delete(v).where(v.c.identifier.like(pattern, escape="\\"))).rowcount

    def count(self, *, expired_before: datetime | None = None, live_after: datetime | None = None) -> int:
        v = self.t["verification"]
        stmt = select(func.count()).select_from(v)
        if expired_before is not None:
            stmt = stmt.where(v.c.expiresAt <= expired_before)
        if live_after is not None:
            stmt = stmt.where(v.c.expiresAt > live_after)
        return int(self.conn.execute(stmt).scalar_one())

    def iterate(self, *, live_after: datetime | None) -> Iterator[Verification]:
        v = self.t["verification"]
        stmt = self._select()
        if live_after is not None:
            stmt = stmt.where(v.c.expiresAt > live_after)
        yield from self._rows(stmt)

    def json_values(self) -> list[tuple[str, str]]:
        """(id, value) of every row whose value is a JSON object (magic links)."""
        v = self.t["verification"]
        stmt = select(v.c.id, v.c.value).where(v.c.value.like("{%"))
        return [(r[0], r[1]) for r in self.conn.execute(stmt)]

    def count_expired(self, before: datetime) -> int:
        v = self.t["verification"]
        stmt = select(func.count()).select_from(v).where(v.c.expiresAt < before)
        return int(self.conn.execute(stmt).scalar_one())

    def expired_ids(self, before: datetime, *, limit: int) -> list[str]:
        v = self.t["verification"]
        return [r[0] for r in self.conn.execute(select(v.c.id).where(v.c.expiresAt < before).limit(limit))]
