"""Direct access to a test database, for fixtures and for checking what idp wrote: one class for the CLI,
race and edit tests (SQL written with double quotes, turned into MariaDB's backticks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:  # (not imported at run time: tests/interop has a conftest of the same name)
    from idp_runner import IdpRunner


def iso(dt: datetime) -> str:
    """A date as Better Auth's Kysely adapter stores it on SQLite."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class Db:
    def __init__(self, idp: IdpRunner) -> None:
        self.idp = idp
        self.dialect = idp.db.dialect
        self.engine = sa.create_engine(idp.db.sa_url)
        self.q = "`" if self.dialect == "mariadb" else '"'

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text(sql.replace('"', self.q)), params).mappings()]

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(sql.replace('"', self.q)), params)

    def count(self, table: str, where: str = "1=1", **params: Any) -> int:
        return int(self.rows(f'select count(*) as n from "{table}" where {where}', **params)[0]["n"])

    def has(self, table: str) -> bool:
        return sa.inspect(self.engine).has_table(table)

    def date(self, dt: datetime) -> Any:
        if self.dialect == "sqlite":
            return iso(dt)
        if self.dialect == "mariadb":
            return dt.replace(tzinfo=None)
        return dt

    def add_session(self, user_id: str, token: str, *, expires_in: int = 3600) -> None:
        now = datetime.now(UTC)
        self.execute(
            'insert into "session" ("id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", '
            '"userAgent", "userId") values (:id, :exp, :token, :now, :now, :ip, :ua, :uid)',
            id="s" + token,
            exp=self.date(now + timedelta(seconds=expires_in)),
            token=token,
            now=self.date(now),
            ip="",
            ua="pytest",
            uid=user_id,
        )
