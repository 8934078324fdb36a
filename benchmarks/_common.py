"""Shared helpers for the benchmark scripts (not part of the test suite; never run in CI).

Every script measures its figure AND its anchor in the same run on the same machine and prints both and
their ratio. Databases are created fresh per run: a SQLite file in a temporary directory, or a new
PostgreSQL database on IDP_BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres), dropped
afterwards. The Better Auth anchors run the real server (tests/interop/node/server.mjs, profile
better-auth, better-auth 1.7.x) on the same database.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "tests" / "interop" / "node"
PG_ADMIN_URL = os.environ.get("IDP_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-0123456789abcdef0123456789abcdef01234567"
ADMIN_PASSWORD = "bench-admin-password-42"


# ----------------------------------------------------------------------------- reporting


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}"
    )


def header(title: str) -> None:
    print(f"== {title}")
    print(f"   machine: {machine()}")


def report(
    figure: str, value: float, unit: str, anchor: str, anchor_value: float, ratio: float, target: str
) -> None:
    """One result line: the figure, the anchor measured in the same run, their ratio and the target."""
    ok = "meets" if _meets(ratio, target) else "MISSES"
    print(
        f"   {figure}: {value:,.3f} {unit} | anchor {anchor}: {anchor_value:,.3f} {unit} | "
        f"ratio {ratio:.2f}x | target {target}: {ok}"
    )


def _meets(ratio: float, target: str) -> bool:
    kind, _, number = target.partition(" ")
    limit = float(number.rstrip("x"))
    return ratio <= limit if kind == "<=" else ratio >= limit


# ----------------------------------------------------------------------------- processes


def idp_command() -> list[str]:
    """The installed console script of this interpreter (no pyenv/asdf shim in between)."""
    script = Path(sys.executable).parent / "idp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "owox_idp"]


def idp_env(database_url: str, flavor: str = "better-auth", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "BETTER_AUTH", "DATABASE_URL"))}
    # an installed idp has its bytecode cached (pip compiles it); a shell with this set would measure
    # Python compiling every module of idp on every run instead
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        {
            "IDP_DATABASE_URL": database_url,
            "IDP_FLAVOR": flavor,
            "IDP_BETTER_AUTH_SECRET": SECRET,
            "IDP_BETTER_AUTH_BASE_URL": "http://127.0.0.1:3000",
            "XDG_CONFIG_HOME": tempfile.gettempdir() + "/idp-bench-config",
        }
    )
    env.update(extra)
    return env


def run(
    cmd: Sequence[str], env: dict[str, str], *, input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(list(cmd), env=env, input=input, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr.decode()}")
    return proc


def wall(cmd: Sequence[str], env: dict[str, str], *, input: bytes | None = None) -> float:
    start = time.perf_counter()
    run(cmd, env, input=input)
    return time.perf_counter() - start


def median_wall(cmd: Sequence[str], env: dict[str, str], runs: int) -> float:
    wall(cmd, env)  # warm the page cache and the .pyc files
    return statistics.median(wall(cmd, env) for _ in range(runs))


# ----------------------------------------------------------------------------- databases


@dataclass
class Database:
    dialect: str  # sqlite | postgresql
    url: str  # what idp takes
    node_url: str  # what the Node server takes

    @property
    def sa_url(self) -> str:
        return self.url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextlib.contextmanager
def fresh_database(dialect: str) -> Iterator[Database]:
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="idp-bench-") as tmp:
            path = Path(tmp) / "auth.db"
            yield Database("sqlite", f"sqlite:///{path}", str(path))
        return
    if dialect != "postgresql":
        raise SystemExit(f"unknown dialect {dialect}: use sqlite or postgresql")
    import sqlalchemy as sa

    name = f"idp_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield Database("postgresql", url, url.replace("postgresql://", "postgres://", 1))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def migrate(db: Database, *, indexes: bool = False, flavor: str = "better-auth") -> None:
    run([*idp_command(), "migrate", "--yes", *(["--indexes"] if indexes else [])], idp_env(db.url, flavor))


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def seed_users_and_sessions(db: Database, users: int, sessions: int) -> None:
    """`users` users (better-auth flavor rows, one created per second up to now, every 10th an admin) and
    `sessions` sessions spread over them (newest active, older ones expired), with bulk SQL."""
    start = time.perf_counter()
    if db.dialect == "sqlite":
        _seed_sqlite(Path(db.node_url), users, sessions)
    else:
        _seed_postgres(db, users, sessions)
    print(f"   seeded {users:,} users and {sessions:,} sessions in {time.perf_counter() - start:.1f} s")


def _seed_sqlite(path: Path, users: int, sessions: int) -> None:
    import sqlite3

    now = datetime.now(UTC).replace(microsecond=0)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")

    def user_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(users):
            ts = iso(now - timedelta(seconds=users - i))
            role = "admin" if i % 10 == 0 else "user"
            yield (f"u{i:09d}", f"User {i}", f"user{i}@example.com", 1, ts, ts, role, 0, 0)

    def session_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(sessions):
            created = now - timedelta(seconds=sessions - i)
            yield (
                f"s{i:09d}",
                iso(created + timedelta(days=7)),
                uuid.uuid4().hex,
                iso(created),
                iso(created),
                "127.0.0.1",
                "bench",
                f"u{i % users:09d}",
            )

    with conn:
        conn.executemany(
            'insert into "user" ("id","name","email","emailVerified","createdAt","updatedAt","role","banned",'
            '"twoFactorEnabled") values (?,?,?,?,?,?,?,?,?)',
            user_rows(),
        )
        conn.executemany(
            'insert into "session" ("id","expiresAt","token","createdAt","updatedAt","ipAddress","userAgent",'
            '"userId") values (?,?,?,?,?,?,?,?)',
            session_rows(),
        )
    conn.execute("ANALYZE")
    conn.close()


def _seed_postgres(db: Database, users: int, sessions: int) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(db.sa_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'insert into "user" ("id","name","email","emailVerified","createdAt","updatedAt","role","banned",'
            '"twoFactorEnabled") '
            "select 'u' || lpad(i::text, 9, '0'), 'User ' || i, 'user' || i || '@example.com', true, "
            f"date_trunc('second', now()) - make_interval(secs => {users} - i), "
            f"date_trunc('second', now()) - make_interval(secs => {users} - i), "
            "case when mod(i, 10) = 0 then 'admin' else 'user' end, false, false "
            f"from generate_series(0, {users - 1}) as i"
        )
        conn.exec_driver_sql(
            'insert into "session" ("id","expiresAt","token","createdAt","updatedAt","ipAddress","userAgent",'
            '"userId") '
            "select 's' || lpad(i::text, 9, '0'), "
            f"date_trunc('second', now()) - make_interval(secs => {sessions} - i) + interval '7 days', "
            "md5(i::text || random()::text), "
            f"date_trunc('second', now()) - make_interval(secs => {sessions} - i), "
            f"date_trunc('second', now()) - make_interval(secs => {sessions} - i), '127.0.0.1', 'bench', "
            f"'u' || lpad(mod(i, {users})::text, 9, '0') from generate_series(0, {sessions - 1}) as i"
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


# ----------------------------------------------------------------------------- the real Better Auth server


def node_problem() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_DIR / "node_modules" / "better-auth" / "package.json").exists():
        return f"run `npm ci` in {NODE_DIR}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """tests/interop/node/server.mjs (profile better-auth) on `db`, with an admin signed in."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None
        self.cookie = ""

    def __enter__(self) -> Server:
        problem = node_problem()
        if problem:
            raise SystemExit(f"cannot run the Better Auth anchor: {problem}")
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        env.update(
            {
                "IDP_INTEROP_PROFILE": "better-auth",
                "IDP_INTEROP_DIALECT": "sqlite" if self.db.dialect == "sqlite" else "postgres",
                "IDP_INTEROP_DB": self.db.node_url,
                "IDP_INTEROP_BASE_URL": self.base,
                "IDP_INTEROP_SECRET": SECRET,
                "IDP_INTEROP_PORT": str(self.port),
                "NODE_NO_WARNINGS": "1",
                "NODE_ENV": "production",
            }
        )
        self.proc = subprocess.Popen(
            ["node", str(NODE_DIR / "server.mjs")],
            cwd=NODE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("listening"):
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise SystemExit(f"the Better Auth server did not start: {line}{err}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def sign_in_admin(self, email: str = "bench-admin@example.com") -> None:
        """Create an admin with idp (password) and sign in through the server: keeps the session cookie."""
        run(
            [*idp_command(), "add-user", email, "--role", "admin", "--password-stdin", "--if-missing"],
            idp_env(self.db.url),
            input=ADMIN_PASSWORD.encode() + b"\n",
        )
        conn = HTTPConnection("127.0.0.1", self.port, timeout=60)
        status, headers, body = self.request(
            conn, "POST", "/api/auth/sign-in/email", {"email": email, "password": ADMIN_PASSWORD}, cookie=""
        )
        if status != 200:
            raise SystemExit(f"admin sign-in failed: {status} {body[:300]!r}")
        cookies = [v.split(";", 1)[0] for k, v in headers if k.lower() == "set-cookie"]
        self.cookie = "; ".join(cookies)
        conn.close()

    def request(
        self, conn: HTTPConnection, method: str, path: str, body: Any = None, *, cookie: str | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = {"Origin": self.base, "Cookie": self.cookie if cookie is None else cookie}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        return resp.status, resp.getheaders(), payload

    def connection(self) -> HTTPConnection:
        return HTTPConnection("127.0.0.1", self.port, timeout=120)
