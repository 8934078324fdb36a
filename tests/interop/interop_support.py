"""What the interop tests need besides pytest: the real Better Auth server as a child process, a tiny
cookie-keeping HTTP client, `idp` run in-process with the server's settings, direct database reads,
and schema introspection.

Stdlib only for HTTP (http.client): no redirects are followed, so every 302 and its Set-Cookie can be
asserted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).parent.parent))

from dbutil import TestDatabase

NODE_DIR = Path(__file__).parent / "node"
SECRET = "interop-secret-0123456789abcdef0123456789abcdef"
PASSWORD = "correct-horse-battery-42"
PROFILES = ("owox", "better-auth")
OWOX_ORG_ID = "owox_data_marts_organization"


# ----------------------------------------------------------------------------- Node


@cache
def node_problem() -> str | None:
    """None when the interop server can run here, else why not."""
    if shutil.which("node") is None:
        return "node is not installed (the interop tests run the real Better Auth server on Node)"
    if not (NODE_DIR / "node_modules").is_dir():
        return f"{NODE_DIR / 'node_modules'} is missing: run `npm ci` in {NODE_DIR} (node packages)"
    for package in ("better-auth", "better-auth-16", "better-sqlite3", "pg", "mysql2", "jose"):
        if not (NODE_DIR / "node_modules" / package / "package.json").exists():
            return f"node package {package} is missing from {NODE_DIR / 'node_modules'}: run `npm ci` there"
    return None


def node_dialect(dialect: str) -> str:
    return {"sqlite": "sqlite", "postgresql": "postgres", "mariadb": "mysql"}[dialect]


def node_env(profile: str, db: TestDatabase, base_url: str = "http://127.0.0.1:3000") -> dict[str, str]:
    """The environment auth.mjs reads; nothing of the developer's IDP_/BETTER_AUTH_ settings leaks in."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT")}
    env.update(
        {
            "IDP_INTEROP_PROFILE": profile,
            "IDP_INTEROP_DIALECT": node_dialect(db.dialect),
            "IDP_INTEROP_DB": db.node_url,
            "IDP_INTEROP_BASE_URL": base_url,
            "IDP_INTEROP_SECRET": SECRET,
            "NODE_NO_WARNINGS": "1",
        }
    )
    return env


def run_node(
    script: str, *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", script, *args],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def server_schema_sql(profile: str, db: TestDatabase) -> tuple[list[str], str]:
    """The statements the server's own migration would run on that database now, and its stderr."""
    proc = run_node("schema.mjs", "sql", env=node_env(profile, db))
    assert proc.returncode == 0, f"node schema.mjs sql failed:\n{proc.stderr}"
    return split_statements(proc.stdout), proc.stderr


def server_migrate(profile: str, db: TestDatabase) -> str:
    proc = run_node("schema.mjs", "migrate", env=node_env(profile, db))
    assert proc.returncode == 0, f"node schema.mjs migrate failed:\n{proc.stderr}"
    return proc.stderr


IDP_OWN_TABLES = ("idp_audit",)  # created by `idp migrate` after Better Auth's statements


def better_auths(statements: list[str]) -> list[str]:
    """The statements of a migration that are Better Auth's own (not those of idp's own tables)."""
    return [s for s in statements if not any(t in s for t in IDP_OWN_TABLES)]


def split_statements(text: str) -> list[str]:
    """Statements of a migration script: one per non-blank line group, without the trailing `;`."""
    out: list[str] = []
    for chunk in text.replace(";\n", "\n\n").split("\n\n"):
        statement = " ".join(line.strip() for line in chunk.strip().splitlines()).strip().rstrip(";").strip()
        if statement and not statement.startswith("--"):
            out.append(statement)
    return out


def decrypt_role_in_node(token: str, secret: str = SECRET) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME")} | {"IDP_INTEROP_SECRET": secret}
    proc = run_node("roletoken.mjs", token, env=env)
    assert proc.returncode == 0, f"node roletoken.mjs refused the role token: {proc.stderr.strip()}"
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerError(Exception):
    pass


@dataclass
class AuthServer:
    """`node server.mjs` for one profile on one database; stderr goes to a file shown on failures."""

    profile: str
    db: TestDatabase
    log_dir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    stderr_path: Path = field(default_factory=Path)
    stdout_path: Path = field(default_factory=Path)
    extra_env: dict[str, str] = field(default_factory=dict)  # more IDP_INTEROP_* options (auth.mjs)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        last = ""
        for _attempt in range(3):  # another process may grab the port between probe and listen
            self.port = free_port()
            name = f"server-{self.profile}-{self.db.dialect}-{self.port}"
            self.stderr_path = self.log_dir / f"{name}.stderr"
            self.stdout_path = self.log_dir / f"{name}.stdout"
            env = (
                node_env(self.profile, self.db, self.base_url)
                | self.extra_env
                | {"IDP_INTEROP_PORT": str(self.port)}
            )
            with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
                self.proc = subprocess.Popen(
                    ["node", "server.mjs"],
                    cwd=NODE_DIR,
                    env=env,
                    stdout=out,
                    stderr=err,
                    stdin=subprocess.DEVNULL,
                )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if "listening" in self.stdout_path.read_text(errors="replace") and self._accepts():
                    return
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
            last = self.stderr_text()
            self.stop()
            if "EADDRINUSE" not in last:
                break
        raise ServerError(
            f"the Better Auth server ({self.profile} on {self.db.dialect}) did not start:\n{last or '(no stderr)'}"
        )

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self, offset: int = 0) -> str:
        try:
            with self.stderr_path.open("rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def stderr_size(self) -> int:
        try:
            return self.stderr_path.stat().st_size
        except OSError:
            return 0

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None


# ----------------------------------------------------------------------------- HTTP


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    set_cookies: dict[str, str]  # name -> value ("" when the server cleared it)

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else None

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.body[:500].decode('utf-8', errors='replace')}"


class Browser:
    """One user agent: keeps its cookies, sends Origin = the server's base URL on every non-GET request
    (Better Auth refuses cookie-carrying POSTs without it), follows no redirects."""

    def __init__(self, base_url: str, base_path: str, user_agent: str = "idp-interop-tests") -> None:
        self.base_url = base_url
        self.base_path = base_path
        self.user_agent = user_agent
        self.cookies: dict[str, str] = {}

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + self.base_path + path

    def request(
        self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None
    ) -> Response:
        parts = urlsplit(self.url(path))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        hdrs = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        payload = None
        if method != "GET":
            hdrs["Origin"] = self.base_url
            payload = json.dumps({} if body is None else body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        try:
            conn.request(method, target, body=payload, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            set_cookies: dict[str, str] = {}
            for raw in resp.headers.get_all("Set-Cookie") or []:
                name, value, cleared = _parse_set_cookie(raw)
                set_cookies[name] = "" if cleared else value
                if cleared:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, set_cookies)
        finally:
            conn.close()

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> Response:
        return self.request("POST", path, body)


def _parse_set_cookie(raw: str) -> tuple[str, str, bool]:
    first, *attrs = raw.split(";")
    name, _, value = first.strip().partition("=")
    cleared = value == ""
    for attr in attrs:
        key, _, val = attr.strip().partition("=")
        if key.lower() == "max-age" and val.strip().lstrip("-").isdigit() and int(val) <= 0:
            cleared = True
        if key.lower() == "expires":
            try:
                from email.utils import parsedate_to_datetime

                if parsedate_to_datetime(val) <= datetime.now(UTC):
                    cleared = True
            except (TypeError, ValueError):
                pass
    return name, value, cleared


# ----------------------------------------------------------------------------- idp


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return f"exit {self.exit_code}\nstdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-2000:]}"


def run_idp(env: dict[str, str], *args: str, input: str | None = None) -> CliResult:
    """`idp ARGS` in-process (typer's CliRunner) with exactly `env` as its IDP_* configuration."""
    from typer.testing import CliRunner

    from owox_idp.cli import app

    result = CliRunner().invoke(app, list(args), input=input, env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(result.exit_code, result.stdout, result.stderr)


def run_idp_subprocess(
    env: dict[str, str], *args: str, input: str | None = None, tz: str | None = None
) -> CliResult:
    """`python -m owox_idp ARGS` as a separate process (the real entry point), optionally in another
    local time zone; it sees only `env` plus PATH/HOME and the test's XDG directories."""
    keep = ("PATH", "HOME", "LANG", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "SYSTEMROOT")
    full = {k: v for k, v in os.environ.items() if k in keep} | env | ({"TZ": tz} if tz else {})
    proc = subprocess.run(
        [sys.executable, "-m", "owox_idp", *args],
        input=input,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@contextlib.contextmanager
def local_time_zone(name: str) -> Iterator[None]:
    """Run in-process code (idp) as if the machine's local time zone were `name`."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


@cache
def idp_commands() -> frozenset[str]:
    """The commands `idp --help` lists (and `idp 2fa --help`, as `2fa enable` ...), read from the same
    click command tree the help is rendered from."""
    import typer

    from owox_idp.cli import app

    root = typer.main.get_command(app)
    names: set[str] = set()
    for name, command in getattr(root, "commands", {}).items():
        names.add(name)
        for sub in getattr(command, "commands", {}):
            names.add(f"{name} {sub}")
    return frozenset(names)


def idp_settings_env(profile: str, db: TestDatabase, base_url: str) -> dict[str, str]:
    env = {
        "IDP_FLAVOR": profile,
        "IDP_DATABASE_URL": db.url,
        "IDP_BETTER_AUTH_SECRET": SECRET,
        "IDP_BETTER_AUTH_BASE_URL": base_url,
        "IDP_BETTER_AUTH_VERSION": "1.6" if profile == "owox" else "1.7",
    }
    if profile == "better-auth":
        env |= {"IDP_ROLES": "admin,editor,viewer,user", "IDP_ADMIN_ROLES": "admin"}
    return env


# ----------------------------------------------------------------------------- database


def sa_engine(db: TestDatabase) -> Any:
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    return sqlalchemy.create_engine(db.sa_url, poolclass=NullPool)


def parse_time(value: Any) -> datetime:
    """A timestamp from JSON (ISO-8601, `Z` or offset) or a driver value, as an aware UTC datetime."""
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip().replace(" ", "T", 1)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.test"


# ----------------------------------------------------------------------------- the stack


@dataclass
class Stack:
    """One running server (profile x dialect) on its database, plus idp configured for it."""

    profile: str
    db: TestDatabase
    server: AuthServer
    engine: Any

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @property
    def owox(self) -> bool:
        return self.profile == "owox"

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def base_path(self) -> str:
        return "/auth/better-auth" if self.owox else "/api/auth"

    @property
    def session_cookie(self) -> str:
        return "refreshToken" if self.owox else "better-auth.session_token"

    @property
    def roles(self) -> tuple[str, ...]:
        return ("admin", "editor", "viewer") if self.owox else ("admin", "editor", "viewer", "user")

    # -- idp

    @property
    def idp_env(self) -> dict[str, str]:
        return idp_settings_env(self.profile, self.db, self.base_url)

    def idp(self, *args: str, input: str | None = None) -> CliResult:
        return run_idp(self.idp_env, *args, input=input)

    def idp_json(self, *args: str, input: str | None = None) -> Any:
        r = self.idp(*args, "--json", input=input)
        assert r.exit_code == 0, f"idp {' '.join(args)} failed: {r}"
        return r.json()

    def add_user(
        self,
        prefix: str,
        *,
        role: str | None = None,
        password: str | None = None,
        ttl: str | None = None,
        subprocess_tz: str | None = None,
    ) -> dict[str, Any]:
        """`idp add-user` a new unique email; returns its JSON (with `password` added when given).
        With `subprocess_tz`, idp runs as its own process in that local time zone."""
        args = ["add-user", unique_email(prefix)]
        if role:
            args += ["--role", role]
        if ttl:
            args += ["--ttl", ttl]
        if password is not None:
            args.append("--password-stdin")
        stdin = (password + "\n") if password is not None else None
        if subprocess_tz:
            r = run_idp_subprocess(self.idp_env, *args, "--json", input=stdin, tz=subprocess_tz)
            assert r.exit_code == 0, f"idp {' '.join(args)} failed: {r}"
            data: dict[str, Any] = r.json()
        else:
            data = self.idp_json(*args, input=stdin)
        assert data["created"] is True and data["magic_link"], data
        data["password"] = password
        return data

    # -- HTTP

    def browser(self, user_agent: str = "idp-interop-tests") -> Browser:
        return Browser(self.base_url, self.base_path, user_agent)

    def sign_in(self, email: str, password: str, browser: Browser | None = None) -> tuple[Response, Browser]:
        b = browser or self.browser()
        return b.post("/sign-in/email", {"email": email, "password": password}), b

    def signed_in(self, email: str, password: str, user_agent: str = "idp-interop-tests") -> Browser:
        r, b = self.sign_in(email, password, self.browser(user_agent))
        assert r.status == 200, f"sign-in of {email} refused: {r}"
        assert b.cookies.get(self.session_cookie), (
            f"no {self.session_cookie} cookie after sign-in: {r.set_cookies}"
        )
        assert self.session_user(b) is not None
        return b

    def session(self, browser: Browser) -> dict[str, Any] | None:
        r = browser.get("/get-session")
        assert r.status == 200, f"get-session: {r}"
        data: dict[str, Any] | None = r.json()
        return data

    def session_user(self, browser: Browser) -> dict[str, Any] | None:
        data = self.session(browser)
        return None if data is None else data["user"]

    def verify_url(self, printed_link: str) -> str:
        """The Better Auth verify URL that opening the printed link leads to.

        owox: idp prints OWOX's confirmation page `<base>/auth/magic-link?token=..&callbackURL=..`, whose
        "Confirm and continue" button is `/auth/better-auth/magic-link/verify` with the same two
        parameters. better-auth: the printed URL is the verify URL itself."""
        if not self.owox:
            return printed_link
        parts = urlsplit(printed_link)
        assert f"{parts.scheme}://{parts.netloc}" == self.base_url, printed_link
        assert parts.path == "/auth/magic-link", printed_link
        query = parse_qs(parts.query, strict_parsing=True)
        assert set(query) == {"token", "callbackURL"}, printed_link
        params = {"token": query["token"][0], "callbackURL": query["callbackURL"][0]}
        return f"{self.base_url}{self.base_path}/magic-link/verify?{urlencode(params)}"

    def open_link(self, printed_link: str, browser: Browser | None = None) -> tuple[Response, Browser]:
        b = browser or self.browser()
        return b.get(self.verify_url(printed_link)), b

    def link_works(self, printed_link: str) -> Browser:
        r, b = self.open_link(printed_link)
        assert r.status in (200, 302), f"magic link refused: {r}"
        assert "error=" not in r.location, f"magic link refused: redirected to {r.location}"
        assert b.cookies.get(self.session_cookie), f"magic link gave no session cookie: {r} {r.headers}"
        return b

    def link_fails(self, printed_link: str) -> Response:
        """The server refuses the link's token as unknown or expired (not for some other reason)."""
        r, b = self.open_link(printed_link)
        assert not b.cookies.get(self.session_cookie), f"a dead link still gave a session: {r} {r.headers}"
        assert r.status == 302 and "error=INVALID_TOKEN" in r.location, f"unexpected answer: {r} {r.location}"
        return r

    def role_token(self, printed_link: str) -> str:
        """owox: the role token, i.e. the last path segment of callbackURL, URL-decoded."""
        callback = parse_qs(urlsplit(printed_link).query)["callbackURL"][0]
        path = urlsplit(callback).path
        assert path.startswith("/auth/magic-link-success/"), callback
        return unquote(path.rsplit("/", 1)[1])

    def server_role(self, browser: Browser) -> str | None:
        """The role the server sees for the signed-in user: owox, the organization plugin's member role;
        better-auth, the admin plugin's user.role in get-session."""
        if not self.owox:
            user = self.session_user(browser)
            assert user is not None, "not signed in"
            role: str | None = user.get("role")
            return role
        r = browser.get(f"/organization/get-active-member-role?organizationId={OWOX_ORG_ID}")
        if r.status == 403:
            return None
        assert r.status == 200, f"get-active-member-role: {r}"
        role = r.json()["role"]
        return role

    def captured(self) -> dict[str, list[dict[str, str]]]:
        r = Browser(self.base_url, "").get("/__interop/captured")
        assert r.status == 200, r
        data: dict[str, list[dict[str, str]]] = r.json()
        return data

    # -- database

    def q(self, name: str) -> str:
        quoted: str = self.engine.dialect.identifier_preparer.quote_identifier(name)
        return quoted

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        import sqlalchemy

        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sqlalchemy.text(sql), params)]

    def user_row(self, email: str) -> dict[str, Any] | None:
        found = self.rows(f"SELECT * FROM {self.q('user')} WHERE email = :e", e=email)
        return found[0] if found else None

    def count(self, table: str, column: str, value: Any) -> int:
        sql = f"SELECT COUNT(*) AS n FROM {self.q(table)} WHERE {self.q(column)} = :v"
        return int(self.rows(sql, v=value)[0]["n"])

    def tables(self) -> set[str]:
        import sqlalchemy

        return set(sqlalchemy.inspect(self.engine).get_table_names())


def wait_until(moment: datetime, margin: float = 0.3) -> None:
    delay = (moment - datetime.now(UTC)).total_seconds() + margin
    if delay > 0:
        time.sleep(delay)


# ----------------------------------------------------------------------------- schema introspection


def describe_schema(db: TestDatabase, *, ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """Everything a schema comparison needs, read back from the database itself: per table the columns
    (order, type, nullability, default), primary key, unique constraints, indexes (with uniqueness) and
    foreign keys (with ON DELETE), through SQLAlchemy's inspector; plus the dialect's own catalog text
    (sqlite_master, pg_catalog definitions, SHOW CREATE TABLE). Tables named in `ignore` are left out
    (idp's own, which Better Auth's migration does not create)."""
    import sqlalchemy

    engine = sa_engine(db)
    try:
        insp = sqlalchemy.inspect(engine)
        out: dict[str, Any] = {}
        for table in sorted(t for t in insp.get_table_names() if t not in ignore):
            out[table] = {
                "columns": [
                    {
                        "name": c["name"],
                        "type": str(c["type"]),
                        "nullable": c["nullable"],
                        "default": None if c.get("default") is None else str(c["default"]),
                    }
                    for c in insp.get_columns(table)
                ],
                "primary_key": insp.get_pk_constraint(table)["constrained_columns"],
                "unique": sorted(
                    (u.get("name") or "", tuple(u["column_names"]))
                    for u in insp.get_unique_constraints(table)
                ),
                "indexes": sorted(
                    (i["name"] or "", tuple(c or "" for c in i["column_names"]), bool(i["unique"]))
                    for i in insp.get_indexes(table)
                ),
                "foreign_keys": sorted(
                    (
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        tuple(fk["referred_columns"]),
                        str((fk.get("options") or {}).get("ondelete", "")).upper(),
                    )
                    for fk in insp.get_foreign_keys(table)
                ),
            }
        with engine.connect() as conn:
            catalog = _catalog(conn, db.dialect, sorted(t for t in out if not t.startswith("(")))
            out["(catalog)"] = [
                entry for entry in catalog if not any(t in str(part) for part in entry for t in ignore)
            ]
        return out
    finally:
        engine.dispose()


def _catalog(conn: Any, dialect: str, tables: Iterable[str]) -> list[Any]:
    if dialect == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        )
        out: list[Any] = [(t, n, tb, " ".join((sql or "").split())) for t, n, tb, sql in rows]
        # the inspector skips inline `unique` (sqlite_autoindex_*): the pragmas list every index
        for table in tables:
            out += [("column", table, *r) for r in conn.exec_driver_sql(f'PRAGMA table_info("{table}")')]
            for seq, name, unique, origin, partial in conn.exec_driver_sql(f'PRAGMA index_list("{table}")'):
                cols = [r[2] for r in conn.exec_driver_sql(f'PRAGMA index_info("{name}")')]
                out.append(("index", table, seq, name, unique, origin, partial, cols))
            out += [("fk", table, *r) for r in conn.exec_driver_sql(f'PRAGMA foreign_key_list("{table}")')]
        return out
    if dialect == "postgresql":
        columns = conn.exec_driver_sql(
            "SELECT table_name, ordinal_position, column_name, data_type, character_maximum_length,"
            " is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public'"
            " ORDER BY table_name, ordinal_position"
        ).all()
        constraints = conn.exec_driver_sql(
            "SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)"
            " FROM pg_constraint c WHERE c.connamespace = 'public'::regnamespace ORDER BY 1, 2"
        ).all()
        indexes = conn.exec_driver_sql(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2"
        ).all()
        return [tuple(r) for r in columns] + [tuple(r) for r in constraints] + [tuple(r) for r in indexes]
    out = []
    for table in tables:
        row = conn.exec_driver_sql(f"SHOW CREATE TABLE `{table}`").one()
        out.append((table, row[1]))
    return out
