"""The fault suite's tools: `idp` as a real process (killed with SIGKILL by the kernel, with a resource
limit, with its stdout closed), the processes it left behind, and the invariants checked after each fault.

Kill points are observable progress, never a hook in idp: N users visible from another connection, the
links file reaching N lines, the hashing workers started, a line on stderr; fixed delays only as a
complement. Every process is started in a session of its own, so that whatever it starts (the hashing
workers) is found afterwards by its process group in /proc, even once re-parented.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from owox_idp.services.links import PREFIX_17, link_email

WAIT_S = 60.0  # a bound on every wait: a test that waits this long has failed
_TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_\-.~%]+)")


class Counters:
    """Figures for the report: kills injected, rows lost, processes left (printed by conftest)."""

    kills = 0
    rows_lost = 0
    processes_left = 0
    faults: dict[str, int] = {}  # noqa: RUF012 - a process-wide tally

    @classmethod
    def fault(cls, kind: str) -> None:
        cls.faults[kind] = cls.faults.get(kind, 0) + 1


def idp_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "owox_idp", *args]


def spawn(
    env: dict[str, str],
    *args: str,
    stdin: int | None = subprocess.DEVNULL,
    stdout: int | None = subprocess.PIPE,
    stderr: int | None = subprocess.PIPE,
    preexec_fn: Callable[[], None] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """`idp ARGS` in a new session (its process group id is its pid)."""
    return subprocess.Popen(
        idp_command(*args),
        env={**os.environ, **env},
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        preexec_fn=preexec_fn,
        cwd=cwd,
    )


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name is in parentheses and may hold spaces: split after the last ')'
    return raw[raw.rindex(")") + 2 :].split()


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat(int(entry))
        if fields and fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry))
    return found


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields and fields[0] != "Z" and int(fields[1]) == pid:
                found.append(int(entry))
    return found


def wait_for(what: str, predicate: Callable[[], bool], proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll until `predicate()`; fails after WAIT_S, or when `proc` ended before it came true."""
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if proc is not None and proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"idp ended (exit {proc.returncode}) before {what}: {err.decode()[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def kill9(proc: subprocess.Popen[bytes], what: str) -> None:
    """SIGKILL the idp process only (never its group: its workers must go by themselves), then check that
    nothing of its process group is left after a bounded wait."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=WAIT_S)
    Counters.kills += 1
    Counters.fault(what)
    assert_no_process_left(proc.pid)


def assert_no_process_left(pgid: int) -> None:
    deadline = time.monotonic() + 10.0
    left = group_members(pgid)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = group_members(pgid)
    if left:
        Counters.processes_left += len(left)
        for pid in left:  # do not leave them to the next test
            os.kill(pid, signal.SIGKILL)
        raise AssertionError(f"{len(left)} process(es) of idp's group {pgid} outlived it: {left}")


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    if proc.stdin is not None and proc.stdin.closed:  # the caller wrote and closed it already:
        proc.stdin = None  # communicate() would flush the closed pipe (ValueError)
    out, err = proc.communicate(timeout=WAIT_S * 3)
    assert_no_process_left(proc.pid)
    return proc.returncode, (out or b"").decode(), (err or b"").decode()


def run(env: dict[str, str], *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    proc = spawn(env, *args, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
    out, err = proc.communicate(stdin, timeout=WAIT_S * 3)
    assert_no_process_left(proc.pid)
    return proc.returncode, out.decode(), err.decode()


@dataclass
class Db:
    """Another connection to the test database: what a concurrent reader sees."""

    dialect: str
    engine: sa.engine.Engine

    @classmethod
    def of(cls, dialect: str, sa_url: str) -> Db:
        args: dict[str, Any] = {"timeout": 30} if dialect == "sqlite" else {}
        return cls(dialect, sa.create_engine(sa_url, connect_args=args, poolclass=sa.pool.NullPool))

    def q(self, sql: str) -> str:
        return sql.replace('"', "`") if self.dialect == "mariadb" else sql

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text(self.q(sql)), params).mappings()]

    def count(self, table: str) -> int:
        return int(self.rows(f'select count(*) as n from "{table}"')[0]["n"])

    def users(self) -> dict[str, str]:
        """email -> id."""
        return {r["email"]: r["id"] for r in self.rows('select "id", "email" from "user"')}

    def snapshot(self) -> dict[str, list[tuple[str, ...]]]:
        found = sa.inspect(self.engine).get_table_names()
        tables = [
            t for t in ("user", "account", "session", "verification", "member", "twoFactor") if t in found
        ]
        return {
            t: sorted(tuple(str(v) for v in r.values()) for r in self.rows(f'select * from "{t}"'))
            for t in tables
        }

    def dispose(self) -> None:
        self.engine.dispose()


def assert_complete_users(db: Db, *, owox: bool) -> None:
    """No half-written user: each has its role (a member row in OWOX, the role column otherwise), and no
    row of another table points at a user that is not there."""
    users = set(db.users().values())
    if owox:
        members = [m["userId"] for m in db.rows('select "userId" from "member"')]
        # an OWOX ban takes the member row away and keeps the role in idp_owox_ban (unban gives it back)
        found = sa.inspect(db.engine).get_table_names()
        banned = (
            {r["userId"] for r in db.rows('select "userId" from "idp_owox_ban"')}
            if "idp_owox_ban" in found
            else set()
        )
        missing = users - set(members) - banned
        assert not missing, f"{len(missing)} user(s) without their member row"
        assert len(members) == len(set(members)), "a user with two member rows"
    else:
        nulls = db.rows('select "email" from "user" where "role" is null')
        assert not nulls, f"users without a role: {nulls[:3]}"
    for table in ("account", "session"):
        orphans = [r for r in db.rows(f'select "userId" from "{table}"') if r["userId"] not in users]
        assert not orphans, f"{len(orphans)} {table} row(s) of no user"


def link_tokens(path: Path) -> dict[str, set[str]]:
    """email -> the tokens of the links the links file holds for it."""
    out: dict[str, set[str]] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines()[1:]:
        email, _, rest = line.partition(",")
        match = _TOKEN.search(rest)
        assert match, f"a links-file line without a token: {line[:80]}"
        out.setdefault(email, set()).add(match.group(1))
    return out


def live_link_tokens(db: Db) -> dict[str, set[str]]:
    """email -> the tokens of the live magic-link rows in the database."""
    now = datetime.now(UTC)
    out: dict[str, set[str]] = {}
    for r in db.rows('select "identifier", "value", "expiresAt" from "verification"'):
        email = link_email(str(r["value"]))
        if email is None or _expired(r["expiresAt"], now):
            continue
        out.setdefault(email, set()).add(str(r["identifier"]).removeprefix(PREFIX_17))
    return out


def _expired(value: Any, now: datetime) -> bool:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)) <= now
    if isinstance(value, int | float):
        return value / (1000 if value > 100_000_000_000 else 1) <= now.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) <= now


def assert_links_known(db: Db, links: Path) -> None:
    """No user with a live link nobody has: every live link row's token is in the links file."""
    in_file = link_tokens(links)
    for email, tokens in live_link_tokens(db).items():
        unknown = tokens - in_file.get(email, set())
        assert not unknown, f"{email} has {len(unknown)} live link(s) that are not in {links.name}"


def assert_all_imported(db: Db, emails: Sequence[str], links: Path, with_password: set[str]) -> None:
    """Every user of the file exactly once, with a password or a live link that is in the links file."""
    users = db.users()
    missing = [e for e in emails if e not in users]
    Counters.rows_lost += len(missing)
    assert not missing, f"{len(missing)} user(s) lost, e.g. {missing[:3]}"
    assert len(users) >= len(emails)
    with_account = {
        r["userId"] for r in db.rows('select "userId" from "account" where "password" is not null')
    }
    live = live_link_tokens(db)
    in_file = link_tokens(links)
    for email in emails:
        if email in with_password:
            assert users[email] in with_account, f"{email} lost their password"
        else:
            assert live.get(email, set()) & in_file.get(email, set()), f"{email} has no link in the file"
