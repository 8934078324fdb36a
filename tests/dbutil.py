"""Real test databases: SQLite files, and fresh PostgreSQL / MariaDB databases created per use.

Which servers are used: IDP_TEST_DATABASES (comma list of sqlite, postgresql, postgresql-pgbouncer,
mariadb; default all). postgresql-pgbouncer is PostgreSQL reached through PgBouncer in transaction mode
(what Neon, Supabase and RDS Proxy put in front of PostgreSQL): the test session starts its own
PgBouncer (`pgbouncer` on PATH or in /usr/sbin, Debian's package) on a free loopback port, in front of
IDP_TEST_PG_URL's server; idp gets the pooled URL, while the tests' own checks and the Node server
connect to PostgreSQL directly.
Server addresses: IDP_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres) and
IDP_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/mysql). When a server cannot be reached the
tests that need it are skipped with the reason, unless IDP_TEST_REQUIRE_ALL=1, which makes that a
failure (CI sets it).
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

DIALECTS = ("sqlite", "postgresql", "postgresql-pgbouncer", "mariadb")
PGBOUNCER = "postgresql-pgbouncer"
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
    if dialect == PGBOUNCER:
        error = server_error("postgresql") or pgbouncer().error
        return error and f"{PGBOUNCER} is not reachable: {error}"
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
    direct_url: str | None = None  # behind a pooler: the server itself, for the tests' own checks
    pooler: str | None = None  # "pgbouncer" when `url` goes through PgBouncer (transaction mode)

    @property
    def sa_url(self) -> str:
        """What the tests' own SQLAlchemy checks connect to: the server (never through the pooler)."""
        return _sa_url(self.direct_url or self.url)


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
    if dialect in ("postgresql", PGBOUNCER):
        # PgBouncer knows every database (a `*` entry): it is created on the server directly
        _admin_exec("postgresql", f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        url = f"{base}/{name}"
        node_url = url.replace("postgresql://", "postgres://", 1)
        try:
            if dialect == PGBOUNCER:
                pooled = f"postgresql://{pgbouncer().user}@127.0.0.1:{pgbouncer().port}/{name}"
                yield TestDatabase("postgresql", pooled, name, node_url, direct_url=url, pooler="pgbouncer")
            else:
                yield TestDatabase("postgresql", url, name, node_url)
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


# ----------------------------------------------------------------------------- PgBouncer


@dataclass
class PgBouncer:
    port: int = 0
    user: str = "postgres"
    error: str | None = None


def _pgbouncer_binary() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@cache
def pgbouncer() -> PgBouncer:
    """This test process's own PgBouncer in transaction mode in front of IDP_TEST_PG_URL's server,
    started on first use and stopped at exit; `error` says why there is none."""
    from urllib.parse import urlsplit

    binary = _pgbouncer_binary()
    if binary is None:
        return PgBouncer(error="pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    target = urlsplit(PG_ADMIN_URL)
    user = target.username or "postgres"
    folder = Path(tempfile.mkdtemp(prefix="idp-pgbouncer-"))
    folder.chmod(0o755)  # as root, PgBouncer drops to the postgres user, who reads the files here
    port = _free_port()
    (folder / "userlist.txt").write_text(f'"{user}" ""\n')
    lines = [
        "[databases]",
        f"* = host={target.hostname or '127.0.0.1'} port={target.port or 5432}",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {port}",
        "unix_socket_dir =",
        "pool_mode = transaction",
        "auth_type = trust",
        f"auth_file = {folder / 'userlist.txt'}",
        "max_client_conn = 500",
        "default_pool_size = 10",
        # a test database lives for one test: its idle server connections should not outlive it long
        "server_idle_timeout = 10",
    ]
    if os.geteuid() == 0:
        lines.append("user = postgres")  # PgBouncer refuses to run as root
    config = folder / "pgbouncer.ini"
    config.write_text("\n".join(lines) + "\n")
    for f in folder.iterdir():
        f.chmod(0o644)
    log = (folder / "pgbouncer.log").open("wb")
    proc = subprocess.Popen([binary, str(config)], stdout=log, stderr=subprocess.STDOUT)
    atexit.register(_stop, proc)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (folder / "pgbouncer.log").read_text(errors="replace").strip().splitlines()[-3:]
            return PgBouncer(error=f"pgbouncer exited at start: {' | '.join(tail)[:300]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return PgBouncer(port=port, user=user)
        except OSError:
            time.sleep(0.05)
    return PgBouncer(error=f"pgbouncer did not listen on 127.0.0.1:{port} within 15 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
