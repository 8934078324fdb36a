"""Column types that write exactly what Better Auth writes on each dialect and read what it wrote.

SQLite: dates are `toISOString()` text (`2026-11-25T19:26:41.738Z`), booleans 0/1.
PostgreSQL: timestamptz and boolean. MySQL/MariaDB: timestamp(3) in UTC (the session time zone is
set to +00:00 on connect), booleans 0/1.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.types import Boolean, DateTime, Integer, String, TypeDecorator, TypeEngine, Uuid

from owox_idp.clock import iso

_SPACE_FORM = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$")


def parse_date(value: Any) -> datetime | None:
    """Read any date form a Better Auth database may hold (ISO text, space-separated, epoch ms)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class BADate(TypeDecorator[datetime]):
    """A date as the deployment stores it (`storage`, from owox_idp.db.discover): None is Better Auth's
    own migration (SQLite ISO text, PostgreSQL timestamptz, MySQL timestamp(3)). Every value is written
    and compared as a UTC instant: naive UTC for columns without a time zone (Prisma's and Drizzle's
    PostgreSQL `timestamp`, MySQL), integers in the adapter's unit (Drizzle's SQLite integer dates)."""

    impl = DateTime
    cache_ok = True

    def __init__(self, storage: str | None = None) -> None:
        super().__init__()
        self.storage = storage

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if self.storage in ("int-seconds", "int-ms"):
            return dialect.type_descriptor(Integer())
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=self.storage != "timestamp"))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        value = value.replace(microsecond=value.microsecond // 1000 * 1000)
        if self.storage == "int-ms":
            return int(value.timestamp() * 1000)
        if self.storage == "int-seconds":
            return int(value.timestamp())
        if dialect.name == "sqlite":
            return iso(value)
        if dialect.name == "mysql" or self.storage == "timestamp":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if self.storage == "int-seconds" and isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        return parse_date(value)


class SerialId(TypeDecorator[str]):
    """A database-generated integer id (Better Auth's `generateId: "serial"`: PostgreSQL identity, MySQL
    auto_increment, SQLite integer primary key) and every column that references one. idp handles ids
    as text everywhere; they are bound as integers (PostgreSQL compares `integer = character varying`
    as an error) and read back as text. A value that is no integer matches no row (ids given by
    users are only ever compared, never written)."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip()
        if text.isascii() and text.removeprefix("-").isdigit() and len(text) <= 19:
            return int(text)
        return None  # `id = NULL` matches nothing: such an id (a --session-id typed by hand) is not found

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)


class UuidId(TypeDecorator[str]):
    """A PostgreSQL `uuid` id (generateId: "uuid") and the columns that reference one, handled as text;
    a value that is no UUID matches no row (PostgreSQL would refuse the whole statement)."""

    impl = Uuid
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(as_uuid=False)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        import uuid

        try:
            return str(uuid.UUID(str(value)))
        except ValueError:
            return None

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)


class BABool(TypeDecorator[bool]):
    impl = Boolean
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Boolean())
        return dialect.type_descriptor(Integer())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return bool(value)
        return 1 if value else 0

    def process_result_value(self, value: Any, dialect: Dialect) -> bool | None:
        if value is None:
            return None
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "t")
        return bool(value)
