"""idp through PgBouncer in transaction mode (issue 13), beside the whole CLI, race and interop suites
that run on the postgresql-pgbouncer dialect: the two things a transaction-mode pooler breaks, shown
to break with a driver's defaults and shown to hold with idp's engine."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from dbutil import PGBOUNCER, fresh_database, selected_dialects

from owox_idp.db.engine import create_engine

if TYPE_CHECKING:
    from dbutil import TestDatabase


@pytest.fixture
def pooled(tmp_path: Path) -> Iterator[TestDatabase]:
    if PGBOUNCER not in selected_dialects():
        pytest.skip(f"{PGBOUNCER} is not in IDP_TEST_DATABASES")
    with fresh_database(PGBOUNCER, tmp_path) as db:
        yield db


def _interleave(connect: object, rounds: int = 8) -> None:
    """Two clients, one after the other on the pooler's most recently used server connection, each
    running its own statement often enough for psycopg to prepare it (5 times by default)."""
    import sqlalchemy as sa

    assert callable(connect)
    first, second = connect(), connect()
    try:
        for i in range(rounds):
            with first.begin():
                first.execute(sa.text("SELECT :i + 1"), {"i": i}).scalar_one()
            with second.begin():
                second.execute(sa.text("SELECT :i * 2, 'other'"), {"i": i}).first()
    finally:
        first.close()
        second.close()


def test_a_preparing_driver_breaks_behind_the_pooler(pooled: TestDatabase) -> None:
    """The premise: psycopg's defaults (prepared after 5 runs) fail through PgBouncer 1.18 in
    transaction mode, as soon as two clients share a server connection."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(
        pooled.url.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool
    )
    try:
        with pytest.raises(sa.exc.DBAPIError, match="prepared statement"):
            _interleave(engine.connect)
    finally:
        engine.dispose()


def test_idps_engine_prepares_nothing(pooled: TestDatabase) -> None:
    engine = create_engine(pooled.url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        _interleave(engine.connect)
    finally:
        engine.dispose()


def test_the_write_lock_is_released_with_the_transaction(pooled: TestDatabase, tmp_path: Path) -> None:
    """The write lock (pg_advisory_xact_lock) ends with each command's transaction: a lock of the
    session would stay on PgBouncer's server connection after the client left, and the next command
    to get that connection (or any other) would wait behind it."""
    env = {
        **os.environ,
        "IDP_DATABASE_URL": pooled.url,
        "IDP_BETTER_AUTH_SECRET": "test-secret-0123456789abcdef0123456789abcdef0123456789",
        "IDP_BETTER_AUTH_BASE_URL": "https://idp.example.test",
    }
    for args in (
        ["migrate", "--yes"],
        ["add-user", "a@example.com", "--role", "admin"],
        ["add-user", "b@example.com", "--role", "admin"],
        ["set-role", "b@example.com", "viewer"],
        ["ban", "b@example.com", "--yes"],
        ["unban", "b@example.com"],
        ["delete-user", "b@example.com", "--yes"],
    ):
        r = subprocess.run(
            [sys.executable, "-m", "owox_idp", *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 0, (args, r.stderr)
    import sqlalchemy as sa

    engine = sa.create_engine(pooled.sa_url)  # the server itself: which locks are held now
    try:
        with engine.connect() as conn:
            held = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                    " WHERE l.locktype = 'advisory' AND d.datname = current_database()"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert held == 0
