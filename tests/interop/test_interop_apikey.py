"""The api-key plugin: keys written the way owox_idp.crypto.apikeys + owox_idp.db.apikey_schema say are
accepted by the real server, refused when revoked or expired, and keys the server creates read back as
expected. Better Auth 1.7.25 + @better-auth/api-key 1.7.5, and 1.6.25 + @better-auth/api-key 1.6.25, on
every selected dialect.

The server is tests/interop/node_apikey/apikey.mjs (`serve`: one JSON command per stdin line), on a
database that its own migration (`getMigrations().runMigrations()`) created. Rows are written here with
plain SQLAlchemy (the repository integration comes later). Needs `npm ci` in tests/interop/node_apikey
and in tests/interop/node_apikey/v1.6.
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
from interop_support import node_dialect, split_statements, unique_email

from owox_idp.crypto import apikeys
from owox_idp.crypto.random import generate_id
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

    def add_user(self, banned: bool = False) -> str:
        now = datetime.now(UTC)
        user_id = generate_id()
        row = {"id": user_id, "name": "Key Owner", "email": unique_email("apikey"), "emailVerified": True}
        row |= {"createdAt": now, "updatedAt": now, "banned": banned}
        self.insert("user", row)
        return user_id

    def insert(self, table: str, row: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.tables[table].insert().values(**row))

    def add_key(self, user_id: str, *, prefix: str | None = "sk_", **columns: Any) -> tuple[str, str]:
        """A key row as `idp api-key create` would write it; returns (id, plain key)."""
        new = apikeys.new_api_key(prefix)
        now = datetime.now(UTC)
        row: dict[str, Any] = dict(CREATE_DEFAULTS)
        row |= {
            "id": generate_id(),
            "configId": DEFAULT_CONFIG_ID,
            "name": "ci key",
            "start": new.start,
            "referenceId": user_id,
            "prefix": new.prefix,
            "key": new.hashed,
            "expiresAt": None,
            "createdAt": now,
            "updatedAt": now,
            "permissions": apikeys.serialize_permissions(PERMISSIONS),
            "metadata": apikeys.serialize_metadata(METADATA),
        }
        row |= columns
        self.insert("apikey", row)
        return row["id"], new.key

    def key_row(self, key_id: str) -> dict[str, Any] | None:
        import sqlalchemy

        t = self.tables["apikey"]
        with self.engine.connect() as conn:
            found = conn.execute(sqlalchemy.select(t).where(t.c.id == key_id)).mappings().first()
        return dict(found) if found else None

    def update_key(self, key_id: str, **values: Any) -> None:
        t = self.tables["apikey"]
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == key_id).values(**values))


def _tables(model: Model) -> dict[str, Any]:
    from sqlalchemy import Column, Integer, MetaData, String, Table

    from owox_idp.db.types import BABool, BADate

    def sa_type(kind: str) -> Any:
        return {"string": String(), "boolean": BABool(), "date": BADate(), "number": Integer()}[kind]

    md = MetaData()
    user = Table(
        "user",
        md,
        *(Column(n, sa_type(k)) for n, k in [("id", "string"), ("name", "string"), ("email", "string")]),
        Column("emailVerified", BABool()),
        Column("createdAt", BADate()),
        Column("updatedAt", BADate()),
        Column("banned", BABool()),
    )
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


def test_key_written_by_idp_is_accepted_with_its_permissions(env: Env) -> None:
    user_id = env.add_user()
    key_id, key = env.add_key(user_id)
    result = env.server.verify(key)
    assert result["valid"] is True, result
    got = result["key"]
    assert got["id"] == key_id
    assert got["referenceId"] == user_id
    assert got["name"] == "ci key"
    assert got["start"] == key[:6] and got["start"].startswith("sk_")
    assert got["prefix"] == "sk_"
    assert got["enabled"] is True
    assert got["permissions"] == PERMISSIONS
    assert got["metadata"] == METADATA
    assert "key" not in got  # the hash is never returned

    assert env.server.verify(key, {"files": ["read"], "projects": ["view"]})["valid"] is True
    refused = env.server.verify(key, {"files": ["delete"]})
    assert refused["valid"] is False and refused["error"]["code"] == "KEY_NOT_FOUND"

    # the session path (x-api-key header, enableSessionForAPIKeys) resolves the owner
    session = env.server.call("session", key=key)
    assert session["ok"] and session["result"]["user"]["id"] == user_id
    assert session["result"]["session"]["id"] == key_id


def test_wrong_key_is_refused(env: Env) -> None:
    user_id = env.add_user()
    _, key = env.add_key(user_id)
    result = env.server.verify(key[:-1] + ("a" if key[-1] != "a" else "b"))
    assert result["valid"] is False and result["error"]["code"] == "INVALID_API_KEY"


def test_disabled_key_is_refused(env: Env) -> None:
    user_id = env.add_user()
    key_id, key = env.add_key(user_id)
    assert env.server.verify(key)["valid"] is True
    env.update_key(key_id, enabled=False)
    result = env.server.verify(key)
    assert result["valid"] is False and result["error"]["code"] == "KEY_DISABLED"
    assert env.key_row(key_id) is not None  # a disabled key stays


def test_deleted_key_is_refused(env: Env) -> None:
    user_id = env.add_user()
    key_id, key = env.add_key(user_id)
    assert env.server.verify(key)["valid"] is True
    t = env.tables["apikey"]
    with env.engine.begin() as conn:
        conn.execute(t.delete().where(t.c.id == key_id))
    result = env.server.verify(key)
    assert result["valid"] is False and result["error"]["code"] == "INVALID_API_KEY"


def test_expiry(env: Env) -> None:
    user_id = env.add_user()
    later = datetime.now(UTC) + timedelta(days=3)
    live_id, live = env.add_key(user_id, expiresAt=later)
    result = env.server.verify(live)
    assert result["valid"] is True
    assert abs(datetime.fromisoformat(result["key"]["expiresAt"].replace("Z", "+00:00")) - later) < timedelta(
        milliseconds=2
    )

    dead_id, dead = env.add_key(user_id, expiresAt=datetime.now(UTC) - timedelta(seconds=1))
    result = env.server.verify(dead)
    assert result["valid"] is False and result["error"]["code"] == "KEY_EXPIRED"
    assert env.key_row(dead_id) is None  # verifying an expired key deletes its row
    assert env.key_row(live_id) is not None


def test_key_without_prefix(env: Env) -> None:
    user_id = env.add_user()
    key_id, key = env.add_key(user_id, prefix=None, permissions=None, metadata=None)
    got = env.server.verify(key)["key"]
    assert got["id"] == key_id and got["prefix"] is None and got["start"] == key[:6]
    assert got["permissions"] is None and got["metadata"] is None


def test_default_rate_limit_allows_ten_verifications(env: Env) -> None:
    user_id = env.add_user()
    key_id, key = env.add_key(user_id)
    for _ in range(10):
        assert env.server.verify(key)["valid"] is True
    result = env.server.verify(key)
    assert result["valid"] is False and result["error"]["code"] == "RATE_LIMITED"
    row = env.key_row(key_id)
    assert row is not None and row["requestCount"] == 10 and row["lastRequest"] is not None


def test_key_created_by_the_server_reads_as_idp_expects(env: Env) -> None:
    user_id = env.add_user()
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

    row = env.key_row(created["id"])
    assert row is not None
    assert row["key"] == apikeys.hash_key(key)
    assert row["start"] == apikeys.key_start(key) == "pk-" + key[3:6]
    assert row["prefix"] == "pk-"
    assert row["referenceId"] == user_id
    assert row["configId"] == DEFAULT_CONFIG_ID
    assert row["name"] == "server key"
    assert row["permissions"] == apikeys.serialize_permissions(PERMISSIONS)
    assert row["metadata"] == apikeys.serialize_metadata(METADATA)
    for column, value in CREATE_DEFAULTS.items():
        assert row[column] == value, column
    assert before + timedelta(days=2) <= row["expiresAt"] <= datetime.now(UTC) + timedelta(days=2)
    assert before <= row["createdAt"] <= datetime.now(UTC)

    # and the server accepts what it wrote (sanity check of the harness)
    assert env.server.verify(key)["valid"] is True


def test_owner_state_is_not_checked_by_verify(env: Env) -> None:
    """verifyApiKey never reads the user: a banned owner's key stays valid, and so does the key of a
    deleted user (referenceId has no foreign key; nothing deletes the keys). Only the session path
    (x-api-key) looks the user up, and it ignores `banned`."""
    banned = env.add_user(banned=True)
    _, key = env.add_key(banned)
    assert env.server.verify(key)["valid"] is True
    session = env.server.call("session", key=key)
    assert session["ok"] and session["result"]["user"]["id"] == banned

    gone = env.add_user()
    key_id, key = env.add_key(gone)
    t = env.tables["user"]
    with env.engine.begin() as conn:
        conn.execute(t.delete().where(t.c.id == gone))
    assert env.key_row(key_id) is not None
    assert env.server.verify(key)["valid"] is True
    session = env.server.call("session", key=key)
    assert not session["ok"] and session["error"]["code"] == "INVALID_REFERENCE_ID_FROM_API_KEY"
