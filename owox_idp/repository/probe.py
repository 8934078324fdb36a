"""What a database holds beyond the deployment's own models, for `idp doctor`: which tables and
columns exist, and a few counts in tables the deployment may not declare (OWOX's `member`). It reads
physical names as found and never writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import column, func, literal, select, table
from sqlalchemy.engine import Connection


class DatabaseProbe:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._tables: set[str] | None = None

    def table_names(self) -> set[str]:
        if self._tables is None:
            from sqlalchemy import inspect

            self._tables = set(inspect(self.conn).get_table_names())
        return self._tables

    def columns(self, name: str) -> set[str]:
        from sqlalchemy import inspect

        if name not in self.table_names():
            return set()
        return {str(c["name"]) for c in inspect(self.conn).get_columns(name)}

    def count_where(self, name: str, col: str, value: str) -> int:
        """Rows of `name` whose `col` equals `value` (0 when the table is missing)."""
        if name not in self.table_names():
            return 0
        t = table(name, column(col))
        stmt = select(func.count()).select_from(t).where(t.c[col] == literal(value))
        return int(self.conn.execute(stmt).scalar_one())

    def has_rows(self, name: str) -> bool:
        if name not in self.table_names():
            return False
        return self.conn.execute(select(literal(1)).select_from(table(name)).limit(1)).first() is not None

    def earliest(self, col: Any) -> datetime | None:
        """The smallest value of a (date) column of the deployment's tables."""
        value = self.conn.execute(select(func.min(col))).scalar()
        return value if isinstance(value, datetime) else None
