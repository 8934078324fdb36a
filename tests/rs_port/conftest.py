"""A fresh PostgreSQL database with the Rust port's own schema, built from its committed migrations.

`port_db` applies `tests/data/better_auth_rs/migrations/*.sql` in name order, as the port's docs tell a
user to (`psql -f`), after checking that they are still the verbatim files of the README there.
`conn` is an autocommit psycopg connection to it, as the simulation in `port.py` expects.
`ban_guard` also installs `tests/data/better_auth_rs/ban_guard.sql`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# the simulation (port.py) is imported by name from this directory; this package's conftest is
# `rs_port.conftest`, so that it never shadows tests/conftest.py
sys.path.insert(0, str(Path(__file__).parent))

import psycopg
import pytest
from dbutil import TestDatabase, fresh_database, selected_dialects
from port import DATA, apply_sql, migration_files


@pytest.fixture
def port_db(tmp_path: Path) -> Iterator[TestDatabase]:
    if "postgresql" not in selected_dialects():
        pytest.skip("the Rust port is PostgreSQL only and IDP_TEST_DATABASES leaves PostgreSQL out")
    with fresh_database("postgresql", tmp_path) as db:
        for f in migration_files():
            apply_sql(db.url, f)
        yield db


@pytest.fixture
def conn(port_db: TestDatabase) -> Iterator[psycopg.Connection[Any]]:
    import port

    c = port.connect(port_db.url)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def ban_guard(port_db: TestDatabase) -> None:
    apply_sql(port_db.url, DATA / "ban_guard.sql")
