"""The api-key plugin and `idp api-key`: a key created by `idp api-key create` is accepted by the real
server with the permissions given; revoked (`idp api-key revoke`), disabled (`idp ban`) or expired keys
are refused; `idp unban` brings them back; `idp delete-user` takes them away; a key the server creates
is listed by `idp api-key list`; and `idp migrate` creates the table the server's migration would.
Better Auth 1.7.25 + @better-auth/api-key 1.7.5, and 1.6.25 + @better-auth/api-key 1.6.25, on every
selected dialect.

The server is tests/interop/node_apikey/apikey.mjs (`serve`: one JSON command per stdin line), on a
database that its own migration (`getMigrations().runMigrations()`) created. idp runs in-process with
the better-auth flavor and IDP_PLUGINS=admin,magic-link,api-key (the server's plugins). Direct SQL is
used only to read rows and to play the server's part (a ban set by the admin plugin, a user removed
without idp). Needs `npm ci` in tests/interop/node_apikey and in tests/interop/node_apikey/v1.6.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from dbutil import fresh_database, selected_dialects, skip_or_fail
from interop_support import SECRET, CliResult, node_dialect, run_idp, split_statements, unique_email

from owox_idp import Admin
from owox_idp.crypto import apikeys
from owox_idp.db import ddl
from owox_idp.db.apikey_schema import APIKEY_16, CREATE_DEFAULTS, DEFAULT_CONFIG_ID, apikey_models
from owox_idp.db.schema import DEFAULT_LAYOUT, Model, expected_indexes

if TYPE_CHECKING:
    from dbutil import TestDatabase

pytestmark = pytest.mark.interop

NODE_DIR = Path(__file__).parent / "node_apikey"
VERSIONS = ("1.7", "1.6")
COMBOS = [(v, d) for v in VERSIONS for d in selected_dialects()]
PERMISSIONS = {"files": ["read", "write"], "projects": ["view"]}
METADATA = {"team": "data", "tier": 2, "tags": ["a", "ü"]}
IDP_PLUGINS = "admin,magic-link,api-key"  # the interop server's: admin() and apiKey(); links need no table


def _node_problem() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (the api-key interop tests run the real Better Auth server on Node)"
    for folder, packages in (
        (NODE_DIR, ("better-auth", "@better-auth/api-key", "better-sqlite3", "pg", "mysql2")),
        (NODE_DIR / "v1.6", ("better-auth", "@better-auth/api-key")),
    ):
        for package in packages:
            if not (folder / "node_modules" / package / "package.json").exists():
                return f"node package {package} is missing from {folder / 'node_modules'}: run `npm ci` there"
    return None


def _ddl_dialect(dialect: str) -> str:
    return "mysql" if dialect == "mariadb" else dialect


class ApiKeyServer:
    """`node apikey.mjs serve`: write a JSON line, read a JSON line."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._err = log.open("wb")
        self.proc = subprocess.Popen(
            ["node", "apikey.mjs", "serve"],
            cwd=NODE_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
        )
        self._buf = b""
        ready = self._read_line(60)
        assert "ready" in ready, ready

    def _read_line(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise AssertionError(f"apikey.mjs gave no answer; stderr:\n{self.log.read_text()[-4000:]}")
            readable, _, _ = select.select([fd], [], [], left)
            if readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    continue
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        answer: dict[str, Any] = json.loads(line)
        return answer

    def call(self, op: str, **body: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"op": op, **body}) + "\n").encode())
        self.proc.stdin.flush()
        return self._read_line(30)

    def verify(self, key: str, permissions: dict[str, list[str]] | None = None) -> dict[str, Any]:
        answer = self.call("verify", key=key, **({"permissions": permissions} if permissions else {}))
        assert answer["ok"], answer
        result: dict[str, Any] = answer["result"]
        return result

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._err.close()


def idp_env(version: str, db: TestDatabase) -> dict[str, str]:
    return {
        "IDP_FLAVOR": "better-auth",
        "IDP_DATABASE_URL": db.url,
        "IDP_BETTER_AUTH_SECRET": SECRET,
        "IDP_BETTER_AUTH_BASE_URL": "http://127.0.0.1:3000",
        "IDP_BETTER_AUTH_VERSION": version,
        "IDP_PLUGINS": IDP_PLUGINS,
    }


@dataclass
class Env:
    version: str
    db: TestDatabase
    server: ApiKeyServer
    engine: Any
    sql: list[str]  # what the server's migration planned on the empty database
    tables: dict[str, Any]

    @property
    def model(self) -> Model:
        return apikey_models(self.version)[0]

    def idp(self, *args: str) -> CliResult:
        return run_idp(idp_env(self.version, self.db), *args)

    def idp_ok(self, *args: str) -> Any:
        r = self.idp(*args, "--json")
        assert r.exit_code == 0, str(r)
        return r.json()

    def add_user(self) -> tuple[str, str]:
        """A user made by `idp add-user`; returns (id, email)."""
        email = unique_email("apikey")
        return self.idp_ok("add-user", email)["user_id"], email

    def create_key(self, email: str, *args: str) -> dict[str, Any]:
        """`idp api-key create EMAIL --json`; the answer holds the plain key (`key`)."""
        out: dict[str, Any] = self.idp_ok("api-key", "create", email, *args)
        return out

    def admin(self) -> Admin:
        return Admin.from_url(
            self.db.url,
            flavor="better-auth",
            secret=SECRET,
            base_url="http://127.0.0.1:3000",
            server_version=self.version,
            plugins=IDP_PLUGINS,
        )

    def key_row(self, key_id: str) -> dict[str, Any] | None:
        import sqlalchemy

        t = self.tables["apikey"]
        with self.engine.connect() as conn:
            found = conn.execute(sqlalchemy.select(t).where(t.c.id == key_id)).mappings().first()
        return dict(found) if found else None

    def set_banned(self, user_id: str) -> None:
        """What the admin plugin's banUser writes (the server's ban, not idp's)."""
        t = self.tables["user"]
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == user_id).values(banned=True))


def _tables(model: Model) -> dict[str, Any]:
    from sqlalchemy import Column, Integer, MetaData, String, Table

    from owox_idp.db.types import BABool, BADate

    def sa_type(kind: str) -> Any:
        return {"string": String(), "boolean": BABool(), "date": BADate(), "number": Integer()}[kind]

    md = MetaData()
    user = Table("user", md, Column("id", String(), primary_key=True), Column("banned", BABool()))
    apikey = Table(model.name, md, Column("id", String(), primary_key=True))
    for f in model.fields:
        apikey.append_column(Column(f.name, sa_type(f.type)))
    return {"user": user, "apikey": apikey}


def _engine(db: TestDatabase) -> Any:
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    # MariaDB: timestamp(3) is read and written in the session time zone; the server's mysql2 pool uses UTC
    args = {"init_command": "SET time_zone = '+00:00'"} if db.dialect == "mariadb" else {}
    return sqlalchemy.create_engine(db.sa_url, poolclass=NullPool, connect_args=args)


@pytest.fixture(scope="module", params=COMBOS, ids=lambda c: f"{c[0]}-{c[1]}")
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    problem = _node_problem()
    if problem:
        skip_or_fail(problem)
    version, dialect = request.param
    base = tmp_path_factory.mktemp(f"apikey-{version}-{dialect}")
    with fresh_database(dialect, base) as db:
        node_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        node_env |= {
            "IDP_APIKEY_VERSION": version,
            "IDP_INTEROP_DIALECT": node_dialect(db.dialect),
            "IDP_INTEROP_DB": db.node_url,
            "NODE_NO_WARNINGS": "1",
        }
        outputs = {}
        for action in ("sql", "migrate"):
            proc = subprocess.run(
                ["node", "apikey.mjs", action],
                cwd=NODE_DIR,
                env=node_env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert proc.returncode == 0, f"node apikey.mjs {action} failed:\n{proc.stderr}"
            outputs[action] = proc.stdout
        server = ApiKeyServer(node_env, base / "apikey.stderr")
        engine = _engine(db)
        try:
            model = apikey_models(version)[0]
            yield Env(version, db, server, engine, split_statements(outputs["sql"]), _tables(model))
        finally:
            server.stop()
            engine.dispose()


def test_model_gives_the_servers_ddl(env: Env) -> None:
    dialect = _ddl_dialect(env.db.dialect)
    model = env.model
    assert model == APIKEY_16
    create = ddl.create_table(dialect, DEFAULT_LAYOUT, model)
    indexes = [ddl.create_index(dialect, i) for i in expected_indexes([model], DEFAULT_LAYOUT)]
    server_apikey = [s for s in env.sql if "apikey" in s]
    assert server_apikey == [create, *indexes]


def test_idp_migrate_creates_what_the_servers_migration_wants(
    env: Env, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`idp migrate` with the plugin declared, on an empty database: the server's own migration then
    has nothing left to do, and `idp migrate --sql` printed its apikey statements."""
    with fresh_database(env.db.dialect, tmp_path_factory.mktemp("idp-migrate")) as db:
        planned = run_idp(idp_env(env.version, db), "migrate", "--sql")
        assert planned.exit_code == 0, str(planned)
        server_apikey = [s for s in env.sql if "apikey" in s]
        for statement in server_apikey:
            assert statement.rstrip(";") in planned.stdout, statement
        applied = run_idp(idp_env(env.version, db), "migrate", "--yes")
        assert applied.exit_code == 0, str(applied)
        node_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        node_env |= {
            "IDP_APIKEY_VERSION": env.version,
            "IDP_INTEROP_DIALECT": node_dialect(db.dialect),
            "IDP_INTEROP_DB": db.node_url,
            "NODE_NO_WARNINGS": "1",
        }
        proc = subprocess.run(
            ["node", "apikey.mjs", "sql"],
            cwd=NODE_DIR,
            env=node_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "", proc.stdout


def test_key_created_by_idp_is_accepted_with_its_permissions(env: Env) -> None:
    user_id, email = env.add_user()
    created = env.create_key(
        email,
        "--name",
        "ci key",
        "--prefix",
        "sk_",
        "--permissions",
        json.dumps(PERMISSIONS),
        "--metadata",
        json.dumps(METADATA),
    )
    key = created["key"]
    result = env.server.verify(key)
    assert result["valid"] is True, result
    got = result["key"]
    assert got["id"] == created["id"]
    assert got["referenceId"] == user_id == created["user_id"]
    assert got["name"] == "ci key"
    assert got["start"] == key[:6] == created["start"] and got["start"].startswith("sk_")
    assert got["prefix"] == "sk_"
    assert got["enabled"] is True
    assert got["permissions"] == PERMISSIONS == created["permissions"]
    assert got["metadata"] == METADATA == created["metadata"]
    assert got["expiresAt"] is None and created["expires_at"] is None
    assert "key" not in got  # the hash is never returned

    assert env.server.verify(key, {"files": ["read"], "projects": ["view"]})["valid"] is True
    refused = env.server.verify(key, {"files": ["delete"]})
    assert refused["valid"] is False and refused["error"]["code"] == "KEY_NOT_FOUND"

    # the session path (x-api-key header, enableSessionForAPIKeys) resolves the owner
    session = env.server.call("session", key=key)
    assert session["ok"] and session["result"]["user"]["id"] == user_id
    assert session["result"]["session"]["id"] == created["id"]


def test_key_without_permissions_is_refused_when_permissions_are_asked(env: Env) -> None:
    _, email = env.add_user()
    created = env.create_key(email, "--name", "plain")
    key = created["key"]
    assert created["prefix"] is None and len(key) == apikeys.KEY_LENGTH
    got = env.server.verify(key)["key"]
    assert got["id"] == created["id"] and got["prefix"] is None and got["start"] == key[:6]
    assert got["permissions"] is None and got["metadata"] is None
    refused = env.server.verify(key, {"files": ["read"]})
    assert refused["valid"] is False and refused["error"]["code"] == "KEY_NOT_FOUND"


def test_wrong_key_is_refused(env: Env) -> None:
    _, email = env.add_user()
    key = env.create_key(email, "--name", "k")["key"]
    result = env.server.verify(key[:-1] + ("a" if key[-1] != "a" else "b"))
    assert result["valid"] is False and result["error"]["code"] == "INVALID_API_KEY"


def test_revoked_key_is_refused(env: Env) -> None:
    _, email = env.add_user()
    first = env.create_key(email, "--name", "one")
    second = env.create_key(email, "--name", "two")
    third = env.create_key(email, "--name", "three")
    for created in (first, second, third):
        assert env.server.verify(created["key"])["valid"] is True
    revoked = env.idp_ok("api-key", "revoke", first["id"], "--yes")
    assert revoked["revoked"] == 1
    result = env.server.verify(first["key"])
    assert result["valid"] is False and result["error"]["code"] == "INVALID_API_KEY"
    assert env.server.verify(second["key"])["valid"] is True

    revoked = env.idp_ok("api-key", "revoke", "--all", email, "--yes")
    assert sorted(revoked["ids"]) == sorted([second["id"], third["id"]])
    for created in (second, third):
        result = env.server.verify(created["key"])
        assert result["valid"] is False and result["error"]["code"] == "INVALID_API_KEY"


def test_ban_disables_keys_and_unban_restores_them(env: Env) -> None:
    _, email = env.add_user()
    created = env.create_key(email, "--name", "k")
    assert env.server.verify(created["key"])["valid"] is True
    banned = env.idp_ok("ban", email, "--yes")
    assert banned["api_keys_disabled"] == 1
    result = env.server.verify(created["key"])
    assert result["valid"] is False and result["error"]["code"] == "KEY_DISABLED"
    assert env.key_row(created["id"]) is not None  # a disabled key stays
    listed = env.idp_ok("api-key", "list", email)
    assert [(k["id"], k["enabled"]) for k in listed] == [(created["id"], False)]

    unbanned = env.idp_ok("unban", email)
    assert unbanned["api_keys_enabled"] == 1
    assert env.server.verify(created["key"])["valid"] is True


def test_expiry(env: Env) -> None:
    user_id, email = env.add_user()
    live = env.create_key(email, "--name", "live", "--expires", "3d")
    later = datetime.now(UTC) + timedelta(days=3)
    result = env.server.verify(live["key"])
    assert result["valid"] is True
    server_expiry = datetime.fromisoformat(result["key"]["expiresAt"].replace("Z", "+00:00"))
    assert server_expiry == datetime.fromisoformat(live["expires_at"].replace("Z", "+00:00"))
    assert abs(server_expiry - later) < timedelta(minutes=1)

    # a key made by idp two days ago with one day to live (the same code as the command, at another `now`)
    with env.admin() as admin:
        dead = admin.api_key_create(
            email, name="dead", expires="1d", now=datetime.now(UTC) - timedelta(days=2)
        )
        assert [(k.id, k.expired) for k in admin.api_key_list(email, include_expired=True)] == [
            (live["id"], False),
            (dead.id, True),  # created "two days ago": older
        ]
    assert [k["id"] for k in env.idp_ok("api-key", "list", email)] == [live["id"]]
    result = env.server.verify(dead.key)
    assert result["valid"] is False and result["error"]["code"] == "KEY_EXPIRED"
    assert env.key_row(dead.id) is None  # verifying an expired key deletes its row
    assert env.key_row(live["id"]) is not None
    assert user_id == live["user_id"]


def test_default_rate_limit_allows_ten_verifications(env: Env) -> None:
    _, email = env.add_user()
    created = env.create_key(email, "--name", "k")
    for _ in range(10):
        assert env.server.verify(created["key"])["valid"] is True
    result = env.server.verify(created["key"])
    assert result["valid"] is False and result["error"]["code"] == "RATE_LIMITED"
    row = env.key_row(created["id"])
    assert row is not None and row["requestCount"] == 10 and row["lastRequest"] is not None
    [listed] = env.idp_ok("api-key", "list", email)
    assert listed["request_count"] == 10 and listed["last_request"] is not None


def test_key_created_by_the_server_is_listed_by_idp(env: Env) -> None:
    user_id, email = env.add_user()
    before = datetime.now(UTC).replace(microsecond=0)
    answer = env.server.call(
        "create",
        userId=user_id,
        name="server key",
        prefix="pk-",
        expiresIn=2 * 86400,
        permissions=PERMISSIONS,
        metadata=METADATA,
    )
    assert answer["ok"], answer
    created = answer["result"]
    key = created["key"]
    assert key.startswith("pk-") and len(key) == 3 + apikeys.KEY_LENGTH
    assert set(key[3:]) <= set(apikeys.KEY_ALPHABET)

    r = env.idp("api-key", "list", email, "--json")
    assert r.exit_code == 0, str(r)
    [listed] = r.json()
    assert key not in r.stdout and apikeys.hash_key(key) not in r.stdout and "key" not in listed
    assert listed["id"] == created["id"]
    assert listed["name"] == "server key"
    assert listed["start"] == apikeys.key_start(key) == "pk-" + key[3:6]
    assert listed["prefix"] == "pk-"
    assert listed["user_id"] == user_id and listed["email"] == email
    assert listed["enabled"] is True and listed["expired"] is False
    assert listed["permissions"] == PERMISSIONS and listed["metadata"] == METADATA
    assert listed["expires_at"] == created["expiresAt"]
    assert listed["created_at"] == created["createdAt"]
    assert any(k["id"] == created["id"] for k in env.idp_ok("api-key", "list"))

    # and its row is the one idp writes (the same defaults, hash, start, serialisation)
    row = env.key_row(created["id"])
    assert row is not None
    assert row["key"] == apikeys.hash_key(key)
    assert row["configId"] == DEFAULT_CONFIG_ID
    assert row["permissions"] == apikeys.serialize_permissions(PERMISSIONS)
    assert row["metadata"] == apikeys.serialize_metadata(METADATA)
    for column, value in CREATE_DEFAULTS.items():
        assert row[column] == value, column
    assert before + timedelta(days=2) <= row["expiresAt"] <= datetime.now(UTC) + timedelta(days=2)

    # idp revokes it, and the server refuses it
    assert env.server.verify(key)["valid"] is True
    env.idp_ok("api-key", "revoke", created["id"], "--yes")
    assert env.server.verify(key)["error"]["code"] == "INVALID_API_KEY"


def test_owner_state_is_not_checked_by_verify(env: Env) -> None:
    """verifyApiKey never reads the user: a key of an owner banned by the server (admin plugin) stays
    valid, and so does the key of a user removed without idp (referenceId has no foreign key). That is
    why `idp ban` disables keys and `idp delete-user` deletes them."""
    banned, banned_email = env.add_user()
    created = env.create_key(banned_email, "--name", "k")
    env.set_banned(banned)
    assert env.server.verify(created["key"])["valid"] is True
    session = env.server.call("session", key=created["key"])
    assert session["ok"] and session["result"]["user"]["id"] == banned
    # idp's ban of the same user (already banned): the key stops working
    assert env.idp_ok("ban", banned_email, "--yes")["api_keys_disabled"] == 1
    assert env.server.verify(created["key"])["error"]["code"] == "KEY_DISABLED"

    gone, gone_email = env.add_user()
    key = env.create_key(gone_email, "--name", "k")
    t = env.tables["user"]
    with env.engine.begin() as conn:
        conn.execute(t.delete().where(t.c.id == gone))
    assert env.key_row(key["id"]) is not None
    assert env.server.verify(key["key"])["valid"] is True
    session = env.server.call("session", key=key["key"])
    assert not session["ok"] and session["error"]["code"] == "INVALID_REFERENCE_ID_FROM_API_KEY"
    # idp lists it with the owner id, and can revoke it
    listed = [k for k in env.idp_ok("api-key", "list") if k["id"] == key["id"]]
    assert listed and listed[0]["email"] is None and listed[0]["user_id"] == gone
    env.idp_ok("api-key", "revoke", key["id"], "--yes")
    assert env.server.verify(key["key"])["error"]["code"] == "INVALID_API_KEY"


def test_delete_user_deletes_their_keys(env: Env) -> None:
    _, email = env.add_user()
    keys = [env.create_key(email, "--name", f"k{i}") for i in range(2)]
    assert all(env.server.verify(k["key"])["valid"] for k in keys)
    deleted = env.idp_ok("delete-user", email, "--yes")
    assert deleted["removed"]["api_keys"] == 2
    for created in keys:
        result = env.server.verify(created["key"])
        assert result["valid"] is False and result["error"]["code"] == "INVALID_API_KEY"
