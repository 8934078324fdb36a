"""idp's own `idp_audit` table: one row per change idp made (or refused to make). Created by
`idp migrate`; until then nothing is recorded (`exists()` says so, and `idp doctor` warns).

Rows never hold a secret: the service layer (services/audit.py) decides what goes in; this part only
writes and reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select

from owox_idp.repository.base import Part
from owox_idp.repository.tables import AUDIT_TABLE


@dataclass(frozen=True)
class AuditRow:
    id: int | None
    at: datetime | None
    actor: str
    command: str
    target: str | None
    user_id: str | None
    outcome: str
    exit_code: int
    reason: str | None
    detail: str | None


def create_statements(tables: Any, dialect: str) -> list[str]:
    """The table's DDL for `dialect` as plain strings, for `idp migrate` (and `--sql`) to print and run."""
    from sqlalchemy.dialects import mysql, postgresql, sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    compiled_for = {"sqlite": sqlite.dialect, "postgresql": postgresql.dialect, "mysql": mysql.dialect}
    target = compiled_for[dialect]()
    table = tables.audit
    out = [" ".join(str(CreateTable(table).compile(dialect=target)).split())]
    out += [" ".join(str(CreateIndex(ix).compile(dialect=target)).split()) for ix in table.indexes]
    return out


class AuditLog(Part):
    def exists(self) -> bool:
        """Whether the table is there; asked once per run (the answer is kept with the tables)."""
        if self.t.audit_exists is None:
            from sqlalchemy import inspect

            self.t.audit_exists = inspect(self.conn).has_table(AUDIT_TABLE)
        return self.t.audit_exists

    def insert(self, row: AuditRow) -> None:
        self.conn.execute(
            insert(self.t.audit).values(
                at=row.at,
                actor=row.actor,
                command=row.command,
                target=row.target,
                userId=row.user_id,
                outcome=row.outcome,
                exitCode=row.exit_code,
                reason=row.reason,
                detail=row.detail,
            )
        )

    def list(
        self,
        *,
        targets: Sequence[str] = (),
        user_ids: Sequence[str] = (),
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditRow]:
        """Newest first. `targets`/`user_ids`: rows about any of them (empty: every row)."""
        a = self.t.audit
        stmt = select(a)
        if targets or user_ids:
            stmt = stmt.where(or_(a.c.target.in_(list(targets)), a.c.userId.in_(list(user_ids))))
        if since is not None:
            stmt = stmt.where(a.c.at >= since)
        stmt = stmt.order_by(a.c.at.desc(), a.c.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        return [
            AuditRow(
                id=r["id"],
                at=r["at"],
                actor=r["actor"],
                command=r["command"],
                target=r["target"],
                user_id=r["userId"],
                outcome=r["outcome"],
                exit_code=r["exitCode"],
                reason=r["reason"],
                detail=r["detail"],
            )
            for r in self.conn.execute(stmt).mappings()
        ]

    def count(self, *, before: datetime | None = None) -> int:
        a = self.t.audit
        stmt = select(func.count()).select_from(a)
        if before is not None:
            stmt = stmt.where(a.c.at < before)
        return int(self.conn.execute(stmt).scalar_one())

    def delete_before(self, before: datetime) -> int:
        a = self.t.audit
        return int(self.conn.execute(delete(a).where(a.c.at < before)).rowcount)
