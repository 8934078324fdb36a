"""What every repository part shares: the connection, the tables, and small SQL helpers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, insert, literal, or_
from sqlalchemy.engine import Connection

from owox_idp.db.types import BADate
from owox_idp.repository.tables import Tables


def escape_like(value: str) -> str:
    """`value` as a literal inside a LIKE pattern (with ESCAPE '\\')."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def placeholder(dialect: Any) -> str:
    """The driver's positional parameter mark, for statements sent as the driver's own SQL."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _text_id() -> str | None:
    from owox_idp.crypto.random import generate_id

    return generate_id()


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(values: Iterable[tuple[Any, ...]]) -> str | None:
    """Rows in PostgreSQL's COPY text format (tab-separated, `\\N` for NULL, backslash escapes), written
    here in one pass instead of psycopg's per-row formatter, or None when a value is of a type this does
    not format (the caller then uses psycopg's). Dates are formatted once per distinct value."""
    dates: dict[Any, str] = {}
    lines: list[str] = []
    special, escape = _COPY_SPECIAL.search, _COPY_ESCAPE
    for row in values:
        fields: list[str] = []
        for v in row:
            t = type(v)
            if t is str:
                fields.append(v.translate(escape) if special(v) else v)
            elif v is None:
                fields.append("\\N")
            elif t is bool:
                fields.append("t" if v else "f")
            elif t is int:
                fields.append(str(v))
            elif t is datetime or t is date:
                text = dates.get(v)
                if text is None:
                    text = dates[v] = v.isoformat()
                fields.append(text)
            else:
                return None
        lines.append("\t".join(fields))
    lines.append("")
    return "\n".join(lines)


def _memo(processor: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """A bind processor that converts each distinct value once (a batch shares its dates)."""
    if processor is None:
        return None
    seen: dict[Any, Any] = {}

    def process(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = converted = processor(value)
            return converted
        except TypeError:  # unhashable (a JSON value)
            return processor(value)

    return process


class Part:
    # how new row ids are made: the deployment's id format (Store sets it); None means the database
    # generates the id (serial)
    new_id: Callable[[], str | None] = staticmethod(_text_id)

    def __init__(self, conn: Connection, tables: Tables) -> None:
        self.conn = conn
        self.t = tables

    def with_id(self, values: dict[str, Any]) -> dict[str, Any]:
        new = self.new_id()
        return values if new is None else {"id": new, **values}

    def insert_rows(self, model: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert many rows of one table with the dialect's fastest bulk path; every row has the same
        keys (logical field names). PostgreSQL: one `COPY ... FROM STDIN` (psycopg's `cursor.copy`);
        MySQL/MariaDB: PyMySQL's executemany, which sends multi-row `INSERT ... VALUES (...), (...)`;
        SQLite: one executemany of a prepared statement. Values go through each column's own bind
        processing (dates, booleans, JSON), as with SQLAlchemy's insert, without its per-row compiling."""
        if not rows:
            return
        table = self.t[model]
        keys = list(rows[0])
        if len(rows) == 1 or any(len(r) != len(keys) for r in rows):
            self.conn.execute(insert(table), list(rows))
            return
        dialect = self.conn.dialect
        columns = [table.c[k] for k in keys]
        processors = [_memo(c.type._cached_bind_processor(dialect)) for c in columns]
        if any(processors):
            values = [
                tuple(r[k] if p is None else p(r[k]) for k, p in zip(keys, processors, strict=True))
                for r in rows
            ]
        else:
            values = [tuple(r[k] for k in keys) for r in rows]
        quote = dialect.identifier_preparer
        target = quote.format_table(table)
        names = ", ".join(quote.quote(c.name) for c in columns)
        if dialect.name == "postgresql":
            raw: Any = self.conn.connection.driver_connection
            text = copy_text(values)
            with raw.cursor() as cursor, cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
                if text is not None:
                    copy.write(text)
                else:
                    for value in values:
                        copy.write_row(value)
            return
        marks = ", ".join([placeholder(dialect)] * len(keys))
        self.conn.exec_driver_sql(f"INSERT INTO {target} ({names}) VALUES ({marks})", values)

    def delete_by_ids(self, model: str, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        t = self.t[model]
        return int(self.conn.execute(delete(t).where(t.c.id.in_(list(ids)))).rowcount)

    def keyset_date(self, value: datetime) -> Any:
        """A bound date for keyset comparisons at the column's full precision (PostgreSQL keeps
        microseconds that BADate would round away)."""
        if self.conn.dialect.name == "postgresql":
            from sqlalchemy import DateTime

            return literal(value, DateTime(timezone=True))
        return literal(value, BADate())

    def after(
        self, table: Table, cursor: tuple[datetime, str], *, ascending: bool = False
    ) -> list[ColumnElement[bool]]:
        """Keyset paging, newest first (oldest first with `ascending`): the rows strictly after
        (createdAt, id) of the last row seen."""
        created = self.keyset_date(cursor[0])
        if ascending:
            return [
                table.c.createdAt >= created,
                or_(table.c.createdAt > created, table.c.id > cursor[1]),
            ]
        return [
            table.c.createdAt <= created,  # the range bound an index on (createdAt, id) can use
            or_(table.c.createdAt < created, table.c.id < cursor[1]),
        ]
