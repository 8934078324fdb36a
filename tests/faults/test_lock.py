"""A lock held by another connection: every write command waits at most IDP_LOCK_TIMEOUT, then fails with
one clear line ("database busy"), exit 1 (the contract's operational failure: it has no code of its own
for busy), and nothing written; once the lock is gone the same command succeeds."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from faultkit import Counters, Db, assert_complete_users, assert_no_process_left, spawn
from idp_runner import IdpRunner
from writes import Holder, seed, writes

LOCK_TIMEOUT = "1"  # seconds
BOUND_S = 60.0  # idp's start-up on a loaded machine plus the timeout; without one it waits forever


def _run_bounded(env: dict[str, str], args: tuple[str, ...], stdin: bytes | None) -> tuple[int, str, float]:
    start = time.monotonic()
    proc = spawn(env, *args, stdin=subprocess.PIPE)
    try:
        _, err = proc.communicate(stdin or b"", timeout=BOUND_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(
            f"{args[0]} still waiting after {BOUND_S}s behind another connection's lock"
        ) from None
    assert_no_process_left(proc.pid)
    return proc.returncode, err.decode(), time.monotonic() - start


def _busy(code: int, err: str, what: str) -> None:
    assert code == 1, (what, err)
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and lines[0].startswith("Error: database busy"), (what, err)


@pytest.mark.parametrize("kind", ["table", "rows"])
def test_every_write_command_gets_a_bounded_wait(
    flavored: IdpRunner, other: Db, tmp_path: Path, kind: str
) -> None:
    flavor = flavored.env["IDP_FLAVOR"]
    if kind == "rows" and flavored.db.dialect == "sqlite":
        pytest.skip("SQLite has no row locks (the table case locks the whole file)")
    seed(flavored, tmp_path)
    env = {**flavored.env, "IDP_LOCK_TIMEOUT": LOCK_TIMEOUT}
    holder = Holder(flavored.db.dialect, flavored.db.sa_url, flavored.db.node_url)
    for write in writes(tmp_path, flavor):
        if kind == "rows" and not write.updates:
            continue  # it only inserts: row locks on other rows do not stop it (PostgreSQL)
        before = other.snapshot()
        with getattr(holder, kind)("user"):
            code, err, _ = _run_bounded(env, write.args, write.stdin)
            Counters.fault(f"lock held ({kind})")
        _busy(code, err, write.name)
        assert other.snapshot() == before, f"{write.name} wrote something"
        code, err, _ = _run_bounded(env, write.args, write.stdin)  # the lock is gone: it works
        assert code == 0, (write.name, err)
    assert_complete_users(other, owox=flavor == "owox")


def test_readers_get_a_bounded_wait(flavored: IdpRunner, tmp_path: Path) -> None:
    seed(flavored, tmp_path)
    env = {**flavored.env, "IDP_LOCK_TIMEOUT": LOCK_TIMEOUT}
    holder = Holder(flavored.db.dialect, flavored.db.sa_url, flavored.db.node_url)
    for args in (
        ("list-users",),
        ("show-user", "role@example.com"),
        ("export",),
        ("check-user", "role@example.com"),
    ):
        with holder.table("user"):
            code, err, _ = _run_bounded(env, args, None)
            Counters.fault("lock held (table)")
        _busy(code, err, args[0])


def test_lock_timeout_setting_is_checked(idp_sqlite: IdpRunner) -> None:
    for bad in ("0", "-1", "abc", "nan", "1e9"):
        r = idp_sqlite("info", env={"IDP_LOCK_TIMEOUT": bad})
        assert r.exit_code == 6 and "invalid lock timeout" in r.stderr, (bad, r.stderr)
    r = idp_sqlite("info", "--json", env={"IDP_LOCK_TIMEOUT": "2.5"})
    assert r.exit_code == 0, r.stderr
    assert r.json()["settings"]["lock_timeout"]["value"] == 2.5


def test_a_write_waits_a_bounded_time_for_another_idps_write_lock(
    flavored: IdpRunner, tmp_path: Path
) -> None:
    """Another idp holds the write lock every write transaction takes first (MySQL's named lock waited
    a fixed 30 s and said "unreachable"; it now waits IDP_LOCK_TIMEOUT and says "busy", as the others)."""
    import sqlalchemy

    from owox_idp.repository.users import ADMIN_LOCK_KEY, MYSQL_LOCK_NAME

    env = {**flavored.env, "IDP_LOCK_TIMEOUT": LOCK_TIMEOUT}
    engine = sqlalchemy.create_engine(flavored.db.sa_url)
    dialect = flavored.db.dialect
    try:
        with engine.connect() as conn:
            if dialect == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif dialect == "postgresql":
                conn.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADMIN_LOCK_KEY})
            else:
                assert conn.execute(sqlalchemy.text(f"SELECT GET_LOCK({MYSQL_LOCK_NAME}, 0)")).scalar() == 1
            code, err, took = _run_bounded(env, ("add-user", "waits@example.com"), None)
            _busy(code, err, "add-user")
            assert took < 25, took  # IDP_LOCK_TIMEOUT (1 s), not MySQL's former fixed 30 s
            conn.rollback()
            if dialect == "mariadb":
                conn.execute(sqlalchemy.text(f"SELECT RELEASE_LOCK({MYSQL_LOCK_NAME})"))
    finally:
        engine.dispose()
    code, err, _ = _run_bounded(env, ("add-user", "waits@example.com"), None)
    assert code == 0, err


def test_an_idp_on_another_database_of_the_server_does_not_hold_this_ones_lock(
    flavored: IdpRunner, tmp_path: Path
) -> None:
    """MySQL's named locks belong to the server, not to a database: with one name for all, an idp writing
    to one database made an idp on another database of the same server wait and fail "busy" (CI's
    `-n 2` run did this to the test above). The name carries the database."""
    if flavored.db.dialect != "mariadb":
        pytest.skip("PostgreSQL's advisory locks and SQLite's file lock are per database already")
    import sqlalchemy

    from owox_idp.repository.users import MYSQL_LOCK_NAME

    env = {**flavored.env, "IDP_LOCK_TIMEOUT": LOCK_TIMEOUT}
    engine = sqlalchemy.create_engine(flavored.db.sa_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("USE mysql")  # an idp of another deployment on the same server
            assert conn.execute(sqlalchemy.text(f"SELECT GET_LOCK({MYSQL_LOCK_NAME}, 0)")).scalar() == 1
            code, err, _ = _run_bounded(env, ("add-user", "elsewhere@example.com"), None)
            assert code == 0, err
            conn.execute(sqlalchemy.text(f"SELECT RELEASE_LOCK({MYSQL_LOCK_NAME})"))
    finally:
        engine.dispose()
