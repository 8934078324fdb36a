"""`cleanup` on a SQLite database whose dates are epoch milliseconds (Drizzle's `timestamp_ms`, the schema
in tests/interop/data/drizzle/sqlite): a live session stays, an expired one goes; seconds likewise."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from idp_runner import IdpRunner

DRIZZLE = Path(__file__).parent.parent / "interop" / "data" / "drizzle" / "sqlite" / "0000_init.sql"


def _drizzle_database(path: Path, *, defaults: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    for statement in DRIZZLE.read_text().split("--> statement-breakpoint"):
        if not defaults:  # a schema whose integer dates have no default: only the rows tell the unit
            statement = statement.replace(" DEFAULT (cast(unixepoch('subsecond') * 1000 as integer))", "")
        if statement.strip():
            conn.execute(statement)
    return conn


@pytest.mark.parametrize("defaults", [True, False], ids=["ms-default", "no-default"])
def test_cleanup_keeps_live_sessions_stored_as_milliseconds(
    idp_sqlite: IdpRunner, tmp_path: Path, defaults: bool
) -> None:
    path = Path(idp_sqlite.db.node_url)
    conn = _drizzle_database(path, defaults=defaults)
    now = int(time.time() * 1000)
    day = 86_400_000
    conn.execute(
        "insert into user (id, name, email, email_verified, created_at, updated_at) "
        "values ('u1', 'A', 'a@example.com', 0, ?, ?)",
        (now, now),
    )
    for sid, expires in (("live", now + day), ("expired", now - day), ("just-live", now + 60_000)):
        conn.execute(
            "insert into session (id, expires_at, token, created_at, updated_at, user_id) "
            "values (?, ?, ?, ?, ?, 'u1')",
            (sid, expires, f"t-{sid}", now - 2 * day, now - 2 * day),
        )
    conn.execute(
        "insert into verification (id, identifier, value, expires_at, created_at, updated_at) "
        "values ('v-live', 'i1', 'x', ?, ?, ?), ('v-old', 'i2', 'x', ?, ?, ?)",
        (now + day, now, now, now - day, now, now),
    )
    conn.commit()
    env = {"IDP_FLAVOR": "better-auth", "IDP_CASING": "snake"}
    r = idp_sqlite("cleanup", "--dry-run", "--json", env=env)
    assert r.exit_code == 0, r.stderr
    assert r.json()["expired_sessions"] == 1 and r.json()["expired_verifications"] == 1
    r = idp_sqlite("cleanup", "--json", env=env)
    assert r.exit_code == 0, r.stderr
    assert r.json()["expired_sessions"] == 1
    assert {row[0] for row in conn.execute("select id from session")} == {"live", "just-live"}
    assert {row[0] for row in conn.execute("select id from verification")} == {"v-live"}
    conn.close()
