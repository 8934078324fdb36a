"""`kill -9` of every write command at deterministic points, then the same command again.

The kill points: (1) inside its transaction, after its other writes, blocked on the audit table
(or the last table it writes) that another connection locks (PostgreSQL, MariaDB: seen from outside as
a connection waiting for a lock); (2) blocked at its start behind a lock on the user table (SQLite: the
whole database); (3) a fixed delay, wherever it falls. After each kill: nothing of the command is in the
database (a command is one transaction), no half-written user, no process left; once the lock is gone
the same command succeeds.
`migrate` on an empty database likewise, at fixed delays: the re-run completes the schema.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from faultkit import Counters, Db, assert_complete_users, finish, kill9, run, spawn, wait_for
from idp_runner import IdpRunner
from writes import Holder, seed, waiting, writes


def _kill_while_blocked(
    env: dict[str, str], holder: Holder, other: Db, table: str, args: tuple[str, ...], stdin: bytes | None
) -> None:
    with holder.table(table):
        proc = spawn(env, *args, stdin=subprocess.PIPE)
        if stdin and proc.stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
        if other.dialect == "sqlite":
            time.sleep(1.0)  # SQLite cannot show a waiter: it waits for the lock (10 s) at its start
            if proc.poll() is not None:
                _, err = proc.communicate()
                raise AssertionError(f"{args[0]} ended behind an exclusive lock: {err.decode()}")
        else:
            wait_for(f"{args[0]} waiting for the lock on {table}", lambda: waiting(other) >= 1, proc)
        kill9(proc, f"{args[0]}: blocked on {table}")


@pytest.mark.parametrize("flavor", ["owox", "better-auth"])
def test_kill_each_write_command(idp: IdpRunner, other: Db, tmp_path: Path, flavor: str) -> None:
    idp.flavor(flavor)
    idp.migrate()
    seed(idp, tmp_path)
    holder = Holder(idp.db.dialect, idp.db.sa_url, idp.db.node_url)
    for write in writes(tmp_path, flavor):
        tables = ["user"] if idp.db.dialect == "sqlite" else list(dict.fromkeys([write.late, "user"]))
        before = other.snapshot()
        for table in tables:
            _kill_while_blocked(idp.env, holder, other, table, write.args, write.stdin)
            if not write.bulk:  # an import keeps its committed batches (of complete users)
                assert other.snapshot() == before, f"{write.name} killed on {table} left a change"
            assert_complete_users(other, owox=flavor == "owox")
        # a fixed delay: the command may have finished by then (then it is not a kill)
        proc = spawn(idp.env, *write.args, stdin=subprocess.PIPE)
        if write.stdin and proc.stdin is not None:
            proc.stdin.write(write.stdin)
            proc.stdin.close()
        time.sleep(0.4)
        if proc.poll() is None:
            kill9(proc, f"{write.name}: after 0.4s")
        else:
            finish(proc)
        assert_complete_users(other, owox=flavor == "owox")
        # and now it runs to the end (or, if the delayed run had committed, is an idempotent no-op or a
        # clear conflict)
        code, _, err = run(idp.env, *write.args, stdin=write.stdin)
        assert code in (0, 3, 4), (write.name, err)
        assert "Traceback" not in err
        assert_complete_users(other, owox=flavor == "owox")
    Counters.fault("write commands")


def test_kill_migrate(idp: IdpRunner, other: Db) -> None:
    """`migrate` killed at fixed delays on an empty database; the next run completes the schema."""
    for delay in (0.5, 1.0, 1.5, 2.0):
        proc = spawn(idp.env, "migrate", "--yes")
        time.sleep(delay)
        if proc.poll() is None:
            kill9(proc, f"migrate: after {delay}s")
        else:
            finish(proc)
    code, _, err = run(idp.env, "migrate", "--yes")
    assert code == 0, err
    code, _, err = run(idp.env, "migrate", "--yes")  # nothing left to do
    assert code == 0, err
    code, _, err = run(idp.env, "add-user", "after-migrate@example.com")  # exit 7 if the schema lacked a part
    assert code == 0, err
