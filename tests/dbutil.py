"""Real test databases: SQLite files, and fresh PostgreSQL / MariaDB databases created per use.

Which servers are used: IDP_TEST_DATABASES (comma list of sqlite, postgresql, mariadb; default all).
Server addresses: IDP_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres) and
IDP_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/mysql). When a server cannot be reached the
tests that need it are skipped with the reason, unless IDP_TEST_REQUIRE_ALL=1, which makes that a
failure (CI sets it).
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

DIALECTS = ("sqlite", "postgresql", "mariadb")
PG_ADMIN_URL = os.environ.get("IDP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN_URL = os.environ.get("IDP_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql")
_counter = itertools.count()


def require_all() -> bool:
    return os.environ.get("IDP_TEST_REQUIRE_ALL", "") not in ("", "0", "false")


def selected_dialects() -> tuple[str, ...]:
    raw = os.environ.get("IDP_TEST_DATABASES", "")
    if not raw.strip():
        return DIALECTS
    chosen = tuple(d.strip() for d in raw.split(",") if d.strip())
    unknown = [d for d in chosen if d not in DIALECTS]
    if unknown:
        raise ValueError(f"IDP_TEST_DATABASES: unknown {unknown}")
    return chosen


def skip_or_fail(reason: str) -> None:
    if require_all():
        pytest.fail(f"{reason} (IDP_TEST_REQUIRE_ALL is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def _sa_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("mysql://"):
        return "mysql+pymysql://" + url.removeprefix("mysql://")
    return url


@cache
def server_error(dialect: str) -> str | None:
    """None when the server answers, else why not (checked once per run)."""
    if dialect == "sqlite":
        return None
    import sqlalchemy

    url = PG_ADMIN_URL if dialect == "postgresql" else MYSQL_ADMIN_URL
    try:
        engine = sqlalchemy.create_engine(_sa_url(url), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception as exc:  # any failure means "not available"
        return f"{dialect} at {url} is not reachable: {str(exc).splitlines()[0][:200]}"
    return None


@dataclass(frozen=True)
class TestDatabase:
    dialect: str
    url: str  # what a user would give idp (sqlite:///..., postgresql://..., mysql://...)
    name: str
    node_url: str  # what the Node server takes (a file path for SQLite)

    @property
    def sa_url(self) -> str:
        return _sa_url(self.url)


def _admin_exec(dialect: str, sql: str) -> None:
    import sqlalchemy

    url = PG_ADMIN_URL if dialect == "postgresql" else MYSQL_ADMIN_URL
    engine = sqlalchemy.create_engine(_sa_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


@contextmanager
def fresh_database(dialect: str, tmp_dir: Path) -> Iterator[TestDatabase]:
    """A new, empty database of that dialect, dropped afterwards."""
    reason = server_error(dialect)
    if reason:
        skip_or_fail(reason)
    name = f"idp_t_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    if dialect == "sqlite":
        path = tmp_dir / f"{name}.db"
        yield TestDatabase("sqlite", f"sqlite:///{path}", name, str(path))
        return
    if dialect == "postgresql":
        _admin_exec("postgresql", f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        url = f"{base}/{name}"
        try:
            yield TestDatabase("postgresql", url, name, url.replace("postgresql://", "postgres://", 1))
        finally:
            _admin_exec("postgresql", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    _admin_exec("mariadb", f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    base = MYSQL_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    try:
        yield TestDatabase("mariadb", url, name, url)
    finally:
        _admin_exec("mariadb", f"DROP DATABASE IF EXISTS `{name}`")
