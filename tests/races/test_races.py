"""The race suite (issue 13): N runs of each write command of the real `idp`, released together, on
every dialect and both flavors where the flavor changes what is written.

What is asserted is the outcome, never the timing: exactly one effect (one run succeeds and the others
get the contract's exit code, or all succeed where the command is idempotent), no duplicate rows (a
`member` row per user, a credential account per user, a `twoFactor` row per user, one organization), never
zero admins, and concurrent valid work on different users all succeeding. RACE_RUNS (IDP_TEST_RACE_RUNS,
default 8) runs are started per trial.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import db_rows
import pytest

if TYPE_CHECKING:  # (not imported at run time: tests/interop has a conftest of the same name)
    from conftest import IdpRunner

RACE_RUNS = int(os.environ.get("IDP_TEST_RACE_RUNS", "8"))
RELEASE = Path(__file__).with_name("release.py")
FLAVORS = ("owox", "better-auth")
LOW_ROLE = {"owox": "viewer", "better-auth": "user"}


class Db(db_rows.Db):
    """Direct access to the test database: what idp wrote, counted."""

    def duplicates(self) -> dict[str, list[Any]]:
        """Rows the schema does not prevent but Better Auth never makes twice: empty when all is well."""
        found: dict[str, list[Any]] = {}

        def grouped(name: str, sql: str) -> None:
            dupes = [tuple(r.values()) for r in self.rows(sql)]
            if dupes:
                found[name] = dupes

        grouped(
            "user email", 'select "email", count(*) as n from "user" group by "email" having count(*) > 1'
        )
        grouped(
            "credential account",
            'select "userId", count(*) as n from "account" where "providerId" = \'credential\' '
            'group by "userId" having count(*) > 1',
        )
        if self.has("member"):
            grouped(
                "member",
                'select "organizationId", "userId", count(*) as n from "member" '
                'group by "organizationId", "userId" having count(*) > 1',
            )
            grouped(
                "organization",
                'select "slug", count(*) as n from "organization" group by "slug" having count(*) > 1',
            )
        if self.has("twoFactor"):
            grouped(
                "twoFactor",
                'select "userId", count(*) as n from "twoFactor" group by "userId" having count(*) > 1',
            )
        return found

    def admins(self) -> int:
        r = self.idp("info", "--json")
        assert r.exit_code == 0, r.stderr
        return int(r.json()["counts"]["admins"])


@pytest.fixture
def rows(idp: IdpRunner, request: pytest.FixtureRequest) -> Iterator[Db]:
    access = Db(idp)
    yield access
    report = os.environ.get("IDP_TEST_RACE_REPORT")  # figures: the duplicates left, passed or failed
    if report:
        import json

        with open(report, "a", encoding="utf-8") as fh:
            found = {k: len(v) for k, v in access.duplicates().items()}
            fh.write(json.dumps({"test": request.node.nodeid, "duplicates": found}) + "\n")
    access.engine.dispose()


@pytest.fixture(params=FLAVORS)
def flavored(request: pytest.FixtureRequest, idp: IdpRunner) -> IdpRunner:
    idp.flavor(request.param)
    idp.migrate()
    return idp


class Run:
    def __init__(self, args: Sequence[str], code: int, stdout: str, stderr: str) -> None:
        self.args, self.code, self.stdout, self.stderr = list(args), code, stdout, stderr

    def __repr__(self) -> str:
        return f"Run({' '.join(self.args)!r} -> {self.code}: {self.stderr.strip()[:300]!r})"


def race(
    idp: IdpRunner,
    commands: Sequence[Sequence[str]],
    *,
    stdin: str | None = None,
    allowed: tuple[int, ...] = (0, 3, 4, 8),
) -> list[Run]:
    """Start every command as its own `idp` process, release them together, wait for all of them."""
    barrier = idp.tmp_path / f"go-{time.monotonic_ns()}"
    env = {**os.environ, **idp.env}
    procs = [
        subprocess.Popen(
            [sys.executable, str(RELEASE), str(barrier), *cmd],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for cmd in commands
    ]
    try:
        deadline = time.monotonic() + 120
        while len(list(idp.tmp_path.glob(f"{barrier.name}.ready.*"))) < len(procs):
            assert time.monotonic() < deadline, "the racers never got ready"
            assert all(p.poll() is None for p in procs), "a racer ended before the start"
            time.sleep(0.01)
        barrier.touch()
        runs = []
        for cmd, p in zip(commands, procs, strict=True):
            out, err = p.communicate(input=stdin, timeout=180)
            runs.append(Run(cmd, p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for run in runs:
        assert "Traceback" not in run.stderr, run
        assert run.code in allowed, run  # never an unexpected failure or "database error"
    return runs


def codes(runs: list[Run]) -> list[int]:
    return sorted(r.code for r in runs)


def add(idp: IdpRunner, email: str, *args: str) -> str:
    r = idp("add-user", email, "--json", *args)
    assert r.exit_code == 0, r.stderr
    return str(r.json()["user_id"])


def member_roles(rows: Db, user_id: str) -> list[str]:
    return [r["role"] for r in rows.rows('select "role" from "member" where "userId" = :u', u=user_id)]


def role_of(idp: IdpRunner, rows: Db, user_id: str) -> list[str]:
    if idp.env["IDP_FLAVOR"] == "owox":
        return member_roles(rows, user_id)
    return [r["role"] for r in rows.rows('select "role" from "user" where "id" = :u', u=user_id)]


# ----------------------------------------------------------------------------- add-user


def test_add_user_same_email(flavored: IdpRunner, rows: Db) -> None:
    runs = race(flavored, [["add-user", "race@example.com", "--role", "admin"]] * RACE_RUNS)
    assert codes(runs) == [0] + [4] * (RACE_RUNS - 1), runs
    assert all("already exists" in r.stderr for r in runs if r.code == 4), runs
    assert rows.count("user") == 1
    assert rows.duplicates() == {}
    if flavored.env["IDP_FLAVOR"] == "owox":
        assert rows.count("member") == 1


def test_add_user_same_email_if_missing_is_idempotent(flavored: IdpRunner, rows: Db) -> None:
    runs = race(flavored, [["add-user", "race@example.com", "--if-missing", "--json"]] * RACE_RUNS)
    assert codes(runs) == [0] * RACE_RUNS, runs
    import json

    assert sorted(json.loads(r.stdout)["created"] for r in runs) == [False] * (RACE_RUNS - 1) + [True]
    assert rows.count("user") == 1 and rows.duplicates() == {}


def test_add_user_different_emails_on_a_fresh_database(flavored: IdpRunner, rows: Db) -> None:
    """Regression: on a fresh owox database 9 of 10 of these failed with exit 4 (the organization row)."""
    runs = race(flavored, [["add-user", f"u{i}@example.com", "--role", "admin"] for i in range(RACE_RUNS)])
    assert codes(runs) == [0] * RACE_RUNS, runs
    assert rows.count("user") == RACE_RUNS
    assert rows.duplicates() == {}
    if flavored.env["IDP_FLAVOR"] == "owox":
        assert rows.count("organization") == 1
        assert rows.count("member") == RACE_RUNS


# ----------------------------------------------------------------------------- bootstrap-admin


def test_bootstrap_admin_from_several_deploy_jobs(flavored: IdpRunner, rows: Db) -> None:
    flavored.env["IDP_BETTER_AUTH_PRIMARY_ADMIN_EMAIL"] = "root@example.com"
    runs = race(flavored, [["bootstrap-admin", "--json"]] * RACE_RUNS)
    assert codes(runs) == [0] * RACE_RUNS, runs
    import json

    actions = sorted(json.loads(r.stdout)["action"] for r in runs)
    assert actions == ["created"] + ["link-issued"] * (RACE_RUNS - 1), actions
    (user,) = rows.rows('select "id" from "user"')
    assert rows.duplicates() == {}
    assert role_of(flavored, rows, user["id"]) == ["admin"]
    # each run revoked the links before it: one link's rows are left, the last one printed
    assert rows.count("verification") == 2


# ----------------------------------------------------------------------------- set-role


def test_set_role_same_user(flavored: IdpRunner, rows: Db) -> None:
    add(flavored, "boss@example.com", "--role", "admin")
    uid = add(flavored, "kim@example.com")
    low = LOW_ROLE[flavored.env["IDP_FLAVOR"]]
    targets = ["admin" if i % 2 else low for i in range(RACE_RUNS)]
    runs = race(flavored, [["set-role", "kim@example.com", t] for t in targets])
    assert codes(runs) == [0] * RACE_RUNS, runs
    assert rows.duplicates() == {}
    assert len(role_of(flavored, rows, uid)) == 1 and role_of(flavored, rows, uid)[0] in targets


def test_demoting_every_admin_at_once_keeps_one(flavored: IdpRunner, rows: Db) -> None:
    low = LOW_ROLE[flavored.env["IDP_FLAVOR"]]
    for i in range(RACE_RUNS):
        add(flavored, f"a{i}@example.com", "--role", "admin")
    runs = race(flavored, [["set-role", f"a{i}@example.com", low] for i in range(RACE_RUNS)])
    assert codes(runs) == [0] * (RACE_RUNS - 1) + [8], runs
    assert rows.admins() == 1
    assert rows.duplicates() == {}


# ----------------------------------------------------------------------------- ban / unban


def test_ban_and_unban_same_user(flavored: IdpRunner, rows: Db) -> None:
    add(flavored, "boss@example.com", "--role", "admin")
    uid = add(flavored, "kim@example.com", "--role", "admin")
    flavored("reset-password", "kim@example.com", "--password-stdin", "--yes", input="a-good-password\n")
    runs = race(
        flavored,
        [
            ["ban", "kim@example.com", "--yes"] if i % 2 else ["unban", "kim@example.com"]
            for i in range(RACE_RUNS)
        ],
    )
    assert codes(runs) == [0] * RACE_RUNS, runs
    assert rows.duplicates() == {}
    # whatever order they ran in, a last unban gives back exactly what the user had
    assert flavored("unban", "kim@example.com").exit_code == 0
    assert role_of(flavored, rows, uid) == ["admin"]
    assert rows.count("account", '"userId" = :u and "providerId" = \'credential\'', u=uid) == 1
    if rows.has("idp_owox_ban"):
        assert rows.count("idp_owox_ban") == 0


def test_banning_every_admin_at_once_keeps_one(flavored: IdpRunner, rows: Db) -> None:
    for i in range(RACE_RUNS):
        add(flavored, f"a{i}@example.com", "--role", "admin")
    runs = race(flavored, [["ban", f"a{i}@example.com", "--yes"] for i in range(RACE_RUNS)])
    assert codes(runs) == [0] * (RACE_RUNS - 1) + [8], runs
    assert rows.admins() == 1
    assert rows.duplicates() == {}


# ----------------------------------------------------------------------------- reset-password


def test_reset_password_same_user(flavored: IdpRunner, rows: Db) -> None:
    uid = add(flavored, "kim@example.com")
    runs = race(
        flavored,
        [["reset-password", "kim@example.com", "--password-stdin", "--yes"]] * RACE_RUNS,
        stdin="a-good-password\n",
    )
    assert codes(runs) == [0] * RACE_RUNS, runs
    assert rows.count("account", '"userId" = :u and "providerId" = \'credential\'', u=uid) == 1
    assert rows.duplicates() == {}
    # and by link: every run revokes the links before its own, one link is left
    runs = race(flavored, [["reset-password", "kim@example.com", "--yes"]] * RACE_RUNS)
    assert codes(runs) == [0] * RACE_RUNS, runs
    assert rows.count("account", '"userId" = :u and "providerId" = \'credential\'', u=uid) == 0
    assert rows.count("verification") == 2


# ----------------------------------------------------------------------------- delete-user


def test_delete_user_same_user(flavored: IdpRunner, rows: Db) -> None:
    add(flavored, "boss@example.com", "--role", "admin")
    add(flavored, "kim@example.com")
    runs = race(flavored, [["delete-user", "kim@example.com", "--yes"]] * RACE_RUNS)
    assert codes(runs) == [0] + [3] * (RACE_RUNS - 1), runs
    assert rows.count("user") == 1 and rows.duplicates() == {}


def test_deleting_every_admin_at_once_keeps_one(flavored: IdpRunner, rows: Db) -> None:
    for i in range(RACE_RUNS):
        add(flavored, f"a{i}@example.com", "--role", "admin")
    runs = race(flavored, [["delete-user", f"a{i}@example.com", "--yes"] for i in range(RACE_RUNS)])
    assert codes(runs) == [0] * (RACE_RUNS - 1) + [8], runs
    assert rows.admins() == 1 and rows.count("user") == 1


# ----------------------------------------------------------------------------- revoke-sessions


def test_revoke_sessions_same_user(idp: IdpRunner, rows: Db) -> None:
    idp.flavor("better-auth").migrate()
    uid = add(idp, "kim@example.com")
    other = add(idp, "other@example.com")
    for i in range(3):
        rows.add_session(uid, f"tok{i}" + "x" * 28)
    rows.add_session(other, "keep" + "y" * 28)
    runs = race(idp, [["revoke-sessions", "kim@example.com", "--yes", "--json"]] * RACE_RUNS)
    assert codes(runs) == [0] * RACE_RUNS, runs
    import json

    assert sum(json.loads(r.stdout)["revoked"] for r in runs) == 3, runs
    assert rows.count("session", '"userId" = :u', u=uid) == 0
    assert rows.count("session", '"userId" = :u', u=other) == 1


# ----------------------------------------------------------------------------- 2fa enable


def test_two_factor_enable_same_user(idp: IdpRunner, rows: Db) -> None:
    idp.flavor("better-auth").migrate()
    uid = add(idp, "kim@example.com")
    runs = race(idp, [["2fa", "enable", "kim@example.com", "--json"]] * RACE_RUNS)
    assert codes(runs) == [0] + [4] * (RACE_RUNS - 1), runs
    assert rows.count("twoFactor", '"userId" = :u', u=uid) == 1
    assert rows.duplicates() == {}
    # --force: each run replaces the enrolment, one row is left
    runs = race(idp, [["2fa", "enable", "kim@example.com", "--force", "--json"]] * RACE_RUNS)
    assert codes(runs) == [0] * RACE_RUNS, runs
    assert rows.count("twoFactor", '"userId" = :u', u=uid) == 1


def test_two_factor_enable_different_users(idp: IdpRunner, rows: Db) -> None:
    idp.flavor("better-auth").migrate()
    for i in range(RACE_RUNS):
        add(idp, f"u{i}@example.com")
    runs = race(idp, [["2fa", "enable", f"u{i}@example.com", "--json"] for i in range(RACE_RUNS)])
    assert codes(runs) == [0] * RACE_RUNS, runs
    assert rows.count("twoFactor") == RACE_RUNS and rows.duplicates() == {}


# ----------------------------------------------------------------------------- import


def test_overlapping_imports(flavored: IdpRunner, rows: Db, tmp_path: Path) -> None:
    """Every file has the same 5 shared users and 5 of its own: each user is created once, and
    with --if-missing every run succeeds."""
    files = []
    for i in range(RACE_RUNS):
        lines = ["email,role"] + [f"shared{j}@example.com,admin" for j in range(5)]
        lines += [f"own{i}-{j}@example.com," for j in range(5)]
        path = tmp_path / f"users{i}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(str(path))
    runs = race(flavored, [["import", f, "--if-missing", "--batch-size", "3"] for f in files])
    assert codes(runs) == [0] * RACE_RUNS, runs
    assert rows.count("user") == 5 + 5 * RACE_RUNS
    assert rows.duplicates() == {}
    if flavored.env["IDP_FLAVOR"] == "owox":
        assert rows.count("member") == 5 + 5 * RACE_RUNS and rows.count("organization") == 1


def test_overlapping_imports_without_if_missing(flavored: IdpRunner, rows: Db, tmp_path: Path) -> None:
    """The same file N times: one run creates the users, the others report them as existing (exit 5),
    none writes a second row."""
    path = tmp_path / "users.csv"
    path.write_text("email,role\n" + "".join(f"u{j}@example.com,\n" for j in range(6)), encoding="utf-8")
    runs = race(flavored, [["import", str(path)]] * RACE_RUNS, allowed=(0, 5))
    # the first run creates them; every other run finds them there (in its plan or under the lock)
    assert codes(runs) == [0] + [5] * (RACE_RUNS - 1), runs
    assert all("already exists" in r.stderr for r in runs if r.code == 5), runs
    assert rows.count("user") == 6 and rows.duplicates() == {}
    if flavored.env["IDP_FLAVOR"] == "owox":
        assert rows.count("member") == 6


# ----------------------------------------------------------------------------- api-key create


def test_api_key_create_same_user(idp: IdpRunner, rows: Db) -> None:
    idp.flavor("better-auth")
    idp.env["IDP_PLUGINS"] = "admin,two-factor,magic-link,api-key"
    idp.migrate()
    add(idp, "kim@example.com")
    runs = race(idp, [["api-key", "create", "kim@example.com", "--name", "ci", "--json"]] * RACE_RUNS)
    assert codes(runs) == [0] * RACE_RUNS, runs
    import json

    keys = {json.loads(r.stdout)["key"] for r in runs}
    assert len(keys) == RACE_RUNS
    assert rows.count("apikey") == RACE_RUNS
