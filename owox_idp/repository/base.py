"""What every repository part shares: the connection, the tables, and small SQL helpers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from operator import itemgetter
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


_NULL = "\\N"


def copy_text(columns: Sequence[Sequence[Any]]) -> str | None:
    """Rows, given column by column, in PostgreSQL's COPY text format (tab-separated, `\\N` for NULL,
    backslash escapes), or None when a column holds a type this does not format (the caller then uses
    psycopg's per-row formatter). Each column is formatted by its kind in one pass (an import's columns
    are all text, all dates or all booleans), and a text column is escaped only when some value needs it."""
    special, escape = _COPY_SPECIAL.search, _COPY_ESCAPE
    fields: list[Sequence[str]] = []
    for column in columns:
        kinds = set(map(type, column))
        nullable = type(None) in kinds
        kinds.discard(type(None))
        if not kinds:
            fields.append([_NULL] * len(column))
        elif kinds == {str}:
            present = [v for v in column if v is not None] if nullable else column
            if special("\x00".join(present)):
                column = [_NULL if v is None else v.translate(escape) for v in column]
            elif nullable:
                column = [_NULL if v is None else v for v in column]
            fields.append(column)
        elif kinds <= {bool, int, datetime, date}:
            text = {v: _copy_scalar(v) for v in set(column)}
            fields.append(list(map(text.__getitem__, column)))
        else:
            return None
    lines = list(map("\t".join, zip(*fields, strict=True)))
    lines.append("")
    return "\n".join(lines)


def _copy_scalar(value: Any) -> str:
    if value is None:
        return _NULL
    if type(value) is bool:
        return "t" if value else "f"
    if type(value) is int:
        return str(value)
    return str(value.isoformat())


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
        data: list[list[Any]] = [list(map(itemgetter(k), rows)) for k in keys]  # column by column
        for i, column in enumerate(columns):
            processor = _memo(column.type._cached_bind_processor(dialect))
            if processor is not None:
                data[i] = list(map(processor, data[i]))
        quote = dialect.identifier_preparer
        target = quote.format_table(table)
        names = ", ".join(quote.quote(c.name) for c in columns)
        if dialect.name == "postgresql":
            raw: Any = self.conn.connection.driver_connection
            text = copy_text(data)
            with raw.cursor() as cursor, cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
                if text is not None:
                    copy.write(text)
                else:
                    for value in zip(*data, strict=True):
                        copy.write_row(value)
            return
        values = list(zip(*data, strict=True))
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
