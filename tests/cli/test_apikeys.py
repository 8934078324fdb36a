"""`idp api-key create / list / revoke` on every dialect, and what ban, unban and delete-user do with a
user's keys. Rows are read back with idp's own tables (the layout's names and column types), and
checked against what the plugin's create route writes (docs/reference-api-key.md); that the server
accepts them is tests/interop/test_interop_apikey.py's part.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from idp_runner import IdpRunner

from owox_idp import Admin
from owox_idp.crypto import apikeys
from owox_idp.db.apikey_schema import CREATE_DEFAULTS
from owox_idp.repository import Store
from owox_idp.repository.apikeys import APIKEY_BAN_TABLE

PLUGINS = {"better-auth": "admin,two-factor,magic-link,api-key", "owox": "organization,magic-link,api-key"}
PERMISSIONS = '{"files": ["read", "write"], "projects": ["view"]}'
METADATA = '{"team": "data", "tier": 2, "tags": ["a", "ü"]}'


def setup(idp: IdpRunner, flavor: str = "better-auth", version: str | None = None) -> IdpRunner:
    idp.flavor(flavor)
    idp.env["IDP_PLUGINS"] = PLUGINS[flavor]
    if version:
        idp.env["IDP_BETTER_AUTH_VERSION"] = version
    idp.migrate()
    assert idp("add-user", "admin@example.com", "--role", "admin").exit_code == 0
    role = "user" if flavor == "better-auth" else "viewer"
    assert idp("add-user", "kim@example.com", "--role", role).exit_code == 0
    return idp


@contextmanager
def store(idp: IdpRunner) -> Iterator[Store]:
    """idp's Store on the test database with the runner's settings (read-only use)."""
    flags: dict[str, Any] = {
        "flavor": idp.env.get("IDP_FLAVOR", "owox"),
        "plugins": idp.env["IDP_PLUGINS"],
        "server_version": idp.env.get("IDP_BETTER_AUTH_VERSION"),
    }
    admin = Admin.from_url(idp.db.url, **{k: v for k, v in flags.items() if v})
    with admin, admin.env.store(write=False) as s:
        yield s


def key_rows(idp: IdpRunner) -> dict[str, dict[str, Any]]:
    with store(idp) as s:
        t = s.api_keys.table
        return {r["id"]: dict(r) for r in s.conn.execute(sa.select(t)).mappings()}


def create(idp: IdpRunner, *args: str, email: str = "kim@example.com") -> dict[str, Any]:
    r = idp("api-key", "create", email, *args, "--json")
    assert r.exit_code == 0, r.stderr
    out: dict[str, Any] = r.json()
    return out


def user_id(idp: IdpRunner, email: str) -> str:
    r = idp("show-user", email, "--json")
    assert r.exit_code == 0, r.stderr
    return str(r.json()["id"])


# ---------------------------------------------------------------------- create


def test_create_stores_the_row_the_plugin_writes(idp: IdpRunner) -> None:
    setup(idp)
    before = datetime.now(UTC) - timedelta(seconds=1)
    out = create(
        idp,
        "--name",
        "ci key",
        "--prefix",
        "sk_",
        "--expires",
        "30d",
        "--permissions",
        PERMISSIONS,
        "--metadata",
        METADATA,
    )
    key = out["key"]
    assert set(out) >= {"id", "name", "start", "prefix", "user_id", "expires_at", "key"}
    assert key.startswith("sk_") and len(key) == 3 + apikeys.KEY_LENGTH
    assert set(key[3:]) <= set(apikeys.KEY_ALPHABET)
    assert out["start"] == key[:6] and out["prefix"] == "sk_" and out["name"] == "ci key"
    assert out["user_id"] == user_id(idp, "kim@example.com") and out["email"] == "kim@example.com"
    assert out["permissions"] == {"files": ["read", "write"], "projects": ["view"]}
    assert out["metadata"] == {"team": "data", "tier": 2, "tags": ["a", "ü"]}
    assert out["enabled"] is True and out["expired"] is False

    row = key_rows(idp)[out["id"]]
    assert len(row["id"]) == 32
    assert row["key"] == apikeys.hash_key(key) and key not in row.values()
    assert row["start"] == key[:6] and row["prefix"] == "sk_" and row["name"] == "ci key"
    assert row["referenceId"] == out["user_id"] and row["configId"] == "default"
    for column, value in CREATE_DEFAULTS.items():
        assert row[column] == value, column
    assert row["createdAt"] == row["updatedAt"]
    assert before <= row["createdAt"] <= datetime.now(UTC)
    assert row["expiresAt"] == row["createdAt"] + timedelta(days=30)
    assert out["expires_at"] == row["expiresAt"].strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    # JSON.stringify, once: no spaces, non-ASCII kept
    assert row["permissions"] == '{"files":["read","write"],"projects":["view"]}'
    assert row["metadata"] == '{"team":"data","tier":2,"tags":["a","ü"]}'


def test_create_defaults_no_prefix_no_expiry_no_permissions(idp: IdpRunner) -> None:
    setup(idp)
    out = create(idp, "--name", "plain")
    assert len(out["key"]) == apikeys.KEY_LENGTH and out["prefix"] is None
    assert out["expires_at"] is None and out["permissions"] is None and out["metadata"] is None
    row = key_rows(idp)[out["id"]]
    assert row["prefix"] is None and row["expiresAt"] is None
    assert row["permissions"] is None and row["metadata"] is None
    assert row["start"] == out["key"][:6]


def test_create_prints_only_the_key_on_stdout(idp_sqlite: IdpRunner) -> None:
    idp = setup(idp_sqlite)
    r = idp("api-key", "create", "KIM@example.com", "--name", "n", "--expires", "86400")
    assert r.exit_code == 0, r.stderr
    key = r.stdout.strip()
    assert r.stdout == key + "\n" and len(key) == apikeys.KEY_LENGTH
    assert "shown only once" in r.stderr and "kim@example.com" in r.stderr and key not in r.stderr
    [row] = key_rows(idp).values()
    assert row["key"] == apikeys.hash_key(key)
    assert row["expiresAt"] == row["createdAt"] + timedelta(days=1)


def test_create_on_better_auth_14_writes_user_id(idp: IdpRunner) -> None:
    """Better Auth 1.4: the owner is `userId` (a foreign key), and there is no `configId`."""
    setup(idp, version="1.4")
    out = create(idp, "--name", "old")
    row = key_rows(idp)[out["id"]]
    assert row["userId"] == user_id(idp, "kim@example.com") and "configId" not in row
    assert "referenceId" not in row and row["key"] == apikeys.hash_key(out["key"])
    listed = idp("api-key", "list", "--json").json()
    assert [k["id"] for k in listed] == [out["id"]] and listed[0]["user_id"] == row["userId"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--name", ""], 5, "1 to 32 characters"),
        (["--name", "x" * 33], 5, "1 to 32 characters"),
        (["--name", "n", "--prefix", "sk."], 5, "invalid API key prefix"),
        (["--name", "n", "--prefix", "p" * 33], 5, "1 to 32 characters"),
        (["--name", "n", "--expires", "23h"], 5, "between 1 and 365 days"),
        (["--name", "n", "--expires", "366d"], 5, "between 1 and 365 days"),
        (["--name", "n", "--expires", "soon"], 5, "invalid --expires"),
        (["--name", "n", "--permissions", "{"], 5, "not valid JSON"),
        (["--name", "n", "--permissions", '{"files": "read"}'], 5, "object of string arrays"),
        (["--name", "n", "--metadata", "[1]"], 5, "must be a JSON object"),
        (["--name", "n", "--metadata", "nope"], 5, "not valid JSON"),
        ([], 2, "--name"),
    ],
)
def test_create_refuses_bad_input(idp_sqlite: IdpRunner, args: list[str], code: int, message: str) -> None:
    idp = setup(idp_sqlite)
    r = idp("api-key", "create", "kim@example.com", *args)
    assert r.exit_code == code, r.stderr
    assert message in r.stderr
    assert key_rows(idp) == {}


def test_create_limits_are_inclusive(idp_sqlite: IdpRunner) -> None:
    idp = setup(idp_sqlite)
    create(idp, "--name", "a", "--expires", "1d")
    create(idp, "--name", "b", "--expires", "365d")
    create(idp, "--name", "c", "--prefix", "p" * 32)
    create(idp, "--name", "é" * 32)
    assert len(key_rows(idp)) == 4


def test_create_for_unknown_or_banned_user(idp: IdpRunner) -> None:
    setup(idp)
    r = idp("api-key", "create", "nobody@example.com", "--name", "n")
    assert r.exit_code == 3 and "no user" in r.stderr
    assert idp("ban", "kim@example.com", "--yes").exit_code == 0
    r = idp("api-key", "create", "kim@example.com", "--name", "n")
    assert r.exit_code == 8 and "banned" in r.stderr and "idp unban" in r.stderr
    assert key_rows(idp) == {}


def test_commands_refuse_without_the_plugin(idp: IdpRunner) -> None:
    """Not declared: exit 6 and nothing written, before any database access."""
    idp.flavor("better-auth").migrate()
    assert idp("add-user", "kim@example.com").exit_code == 0
    for args in (
        ["create", "kim@example.com", "--name", "n"],
        ["list"],
        ["list", "kim@example.com"],
        ["revoke", "some-id", "--yes"],
        ["revoke", "--all", "kim@example.com"],
    ):
        r = idp("api-key", *args)
        assert r.exit_code == 6, (args, r.stderr)
        assert "api-key plugin is not declared" in r.stderr and "IDP_PLUGINS=" in r.stderr
    with sa.create_engine(idp.db.sa_url).connect() as conn:
        assert not sa.inspect(conn).has_table("apikey")


def test_declared_without_its_table_asks_for_migrate(idp_sqlite: IdpRunner) -> None:
    idp = idp_sqlite.flavor("better-auth")
    idp.migrate()  # without the plugin
    idp.env["IDP_PLUGINS"] = PLUGINS["better-auth"]
    r = idp("api-key", "list")
    assert r.exit_code == 7 and "apikey" in r.stderr and "idp migrate" in r.stderr
    idp.migrate()  # now creates the plugin's table
    assert idp("api-key", "list", "--json").json() == []


# ---------------------------------------------------------------------- list


def test_list_never_shows_the_key(idp: IdpRunner) -> None:
    setup(idp)
    assert idp("add-user", "lee@example.com").exit_code == 0
    a = create(idp, "--name", "first", "--prefix", "sk_")
    b = create(idp, "--name", "second")
    c = create(idp, "--name", "lee's", email="lee@example.com")
    rows = idp("api-key", "list", "--json")
    assert rows.exit_code == 0, rows.stderr
    listed = rows.json()
    assert [k["id"] for k in listed] == [c["id"], b["id"], a["id"]]  # newest first
    for item in listed:
        assert "key" not in item
    hashed = key_rows(idp)
    for created in (a, b, c):
        assert created["key"] not in rows.stdout and hashed[created["id"]]["key"] not in rows.stdout
    mine = idp("api-key", "list", "kim@example.com", "--json").json()
    assert [k["id"] for k in mine] == [b["id"], a["id"]]
    assert mine[1]["start"] == a["key"][:6] and mine[1]["prefix"] == "sk_"
    assert {k: v for k, v in mine[1].items() if k != "key"} == {k: v for k, v in a.items() if k != "key"}

    table = idp("api-key", "list")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split("\t") == ["id", "name", "start", "prefix", "email", "enabled", "expires", "created"]
    assert len(lines) == 4 and a["key"] not in table.stdout
    assert f"{a['id']}\tfirst\t{a['key'][:6]}…\tsk_\tkim@example.com\tyes\tnever\t" in table.stdout


def test_list_unknown_user(idp_sqlite: IdpRunner) -> None:
    idp = setup(idp_sqlite)
    r = idp("api-key", "list", "nobody@example.com")
    assert r.exit_code == 3 and "no user" in r.stderr


def test_list_leaves_out_expired_keys_unless_all(idp: IdpRunner) -> None:
    setup(idp)
    live = create(idp, "--name", "live", "--expires", "2d")
    dead = create(idp, "--name", "dead", "--expires", "1d")
    with Admin.from_url(idp.db.url, flavor="better-auth", plugins=PLUGINS["better-auth"]) as admin:
        later = datetime.now(UTC) + timedelta(days=1, hours=1)
        assert [k.id for k in admin.api_key_list(now=later)] == [live["id"]]
        everything = admin.api_key_list("kim@example.com", include_expired=True, now=later)
        assert [(k.id, k.expired) for k in everything] == [(dead["id"], True), (live["id"], False)]
    # in the database: move the key's expiry into the past, as time would
    with sa.create_engine(idp.db.sa_url).begin() as conn:
        conn.execute(
            sa.text('UPDATE apikey SET "expiresAt" = :t WHERE id = :id'.replace('"', _quote(idp))),
            {"t": _db_date(idp, datetime.now(UTC) - timedelta(minutes=1)), "id": dead["id"]},
        )
    assert [k["id"] for k in idp("api-key", "list", "--json").json()] == [live["id"]]
    shown = idp("api-key", "list", "--all", "--json").json()
    assert [(k["id"], k["expired"]) for k in shown] == [(dead["id"], True), (live["id"], False)]
    assert "expired 20" in idp("api-key", "list", "--all").stdout


def _quote(idp: IdpRunner) -> str:
    return "`" if idp.db.dialect == "mariadb" else '"'


def _db_date(idp: IdpRunner, value: datetime) -> Any:
    from owox_idp.clock import iso

    if idp.db.dialect == "sqlite":
        return iso(value)
    return value.replace(tzinfo=None) if idp.db.dialect == "mariadb" else value


def test_list_shows_keys_of_missing_owners(idp_sqlite: IdpRunner) -> None:
    """A key whose owner is gone (deleted by something else than idp): listed with its owner id."""
    idp = setup(idp_sqlite)
    out = create(idp, "--name", "orphan")
    with sa.create_engine(idp.db.sa_url).begin() as conn:
        conn.execute(sa.text("UPDATE apikey SET \"referenceId\" = 'gone' WHERE id = :id"), {"id": out["id"]})
    [item] = idp("api-key", "list", "--json").json()
    assert item["user_id"] == "gone" and item["email"] is None
    assert "(gone)" in idp("api-key", "list").stdout


# ---------------------------------------------------------------------- revoke


def test_revoke_one_key(idp: IdpRunner) -> None:
    setup(idp)
    a = create(idp, "--name", "a")
    b = create(idp, "--name", "b")
    r = idp("api-key", "revoke", a["id"], "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json() == {"revoked": 1, "ids": [a["id"]], "user_id": a["user_id"], "email": "kim@example.com"}
    assert set(key_rows(idp)) == {b["id"]}
    r = idp("api-key", "revoke", a["id"], "--yes")
    assert r.exit_code == 3 and f"no API key with id {a['id']}" in r.stderr
    r = idp("api-key", "revoke", b["id"], "--yes")
    assert r.exit_code == 0 and f"Revoked API key {b['id']} of kim@example.com." in r.stderr
    assert key_rows(idp) == {}


def test_revoke_all_keys_of_a_user(idp: IdpRunner) -> None:
    setup(idp)
    assert idp("add-user", "lee@example.com").exit_code == 0
    a = create(idp, "--name", "a")
    b = create(idp, "--name", "b")
    c = create(idp, "--name", "c", email="lee@example.com")
    r = idp("api-key", "revoke", "--all", "kim@example.com", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["revoked"] == 2 and sorted(r.json()["ids"]) == sorted([a["id"], b["id"]])
    assert set(key_rows(idp)) == {c["id"]}
    r = idp("api-key", "revoke", "--all", "kim@example.com", "--yes")
    assert r.exit_code == 0 and "Revoked 0 API key(s) of kim@example.com." in r.stderr
    r = idp("api-key", "revoke", "--all", "nobody@example.com", "--yes")
    assert r.exit_code == 3


def test_revoke_usage_errors(idp_sqlite: IdpRunner) -> None:
    idp = setup(idp_sqlite)
    a = create(idp, "--name", "a")
    for args in ([], [a["id"], "--all", "kim@example.com"]):
        r = idp("api-key", "revoke", *args, "--yes")
        assert r.exit_code == 2 and "give a key id, or --all EMAIL" in r.stderr
    r = idp("api-key", "revoke", a["id"])  # no terminal, no --yes
    assert r.exit_code == 2 and "--yes" in r.stderr
    assert set(key_rows(idp)) == {a["id"]}
    with Admin.from_url(idp.db.url, flavor="better-auth", plugins=PLUGINS["better-auth"]) as admin:
        from owox_idp.errors import InvalidInput

        with pytest.raises(InvalidInput):
            admin.api_key_revoke()


# ---------------------------------------------------------------------- ban, unban, delete-user


@pytest.mark.parametrize("flavor", ["better-auth", "owox"])
def test_ban_disables_keys_and_unban_restores_exactly_those(idp: IdpRunner, flavor: str) -> None:
    setup(idp, flavor)
    a = create(idp, "--name", "a")
    b = create(idp, "--name", "b")
    off = create(idp, "--name", "off")
    with sa.create_engine(idp.db.sa_url).begin() as conn:  # disabled before the ban (by the server)
        conn.execute(sa.text("UPDATE apikey SET enabled = :f WHERE id = :id"), {"f": False, "id": off["id"]})
    created = key_rows(idp)[a["id"]]["updatedAt"]

    r = idp("ban", "kim@example.com", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["api_keys_disabled"] == 2 and r.json()["api_keys_enabled"] == 0
    rows = key_rows(idp)
    assert [rows[k["id"]]["enabled"] for k in (a, b, off)] == [False, False, False]
    assert rows[a["id"]]["updatedAt"] >= created

    again = idp("ban", "kim@example.com", "--yes", "--json").json()  # a re-ban: nothing new
    assert again["api_keys_disabled"] == 0

    r = idp("unban", "kim@example.com", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["api_keys_enabled"] == 2 and r.json()["changed"] is True
    rows = key_rows(idp)
    assert [rows[k["id"]]["enabled"] for k in (a, b, off)] == [True, True, False]
    assert idp("unban", "kim@example.com", "--json").json()["api_keys_enabled"] == 0
    with store(idp) as s:
        assert s.api_keys.banned_ids(user_id(idp, "kim@example.com")) == []


def test_ban_messages(idp_sqlite: IdpRunner) -> None:
    idp = setup(idp_sqlite)
    create(idp, "--name", "a")
    r = idp("ban", "kim@example.com", "--yes")
    assert r.exit_code == 0 and "1 API key(s) disabled" in r.stderr
    r = idp("unban", "kim@example.com")
    assert r.exit_code == 0 and "Enabled again the 1 API key(s) the ban disabled." in r.stderr


def test_reban_disables_keys_enabled_meanwhile(idp: IdpRunner) -> None:
    """Keys the server (re-)enabled while the user was banned are disabled by the next ban, and all of
    them come back with the unban."""
    setup(idp)
    a = create(idp, "--name", "a")
    assert idp("ban", "kim@example.com", "--yes").exit_code == 0
    with sa.create_engine(idp.db.sa_url).begin() as conn:
        conn.execute(sa.text("UPDATE apikey SET enabled = :t WHERE id = :id"), {"t": True, "id": a["id"]})
    assert idp("ban", "kim@example.com", "--yes", "--json").json()["api_keys_disabled"] == 1
    assert key_rows(idp)[a["id"]]["enabled"] is False
    assert idp("unban", "kim@example.com", "--json").json()["api_keys_enabled"] == 1
    assert key_rows(idp)[a["id"]]["enabled"] is True


def test_unban_after_the_ban_expired_restores_keys(idp: IdpRunner) -> None:
    """A timed ban the server lifted on its own leaves the keys disabled until `idp unban`."""
    setup(idp)
    a = create(idp, "--name", "a")
    assert idp("ban", "kim@example.com", "--expires", "1h", "--yes").exit_code == 0
    with sa.create_engine(idp.db.sa_url).begin() as conn:  # what the server's expiry does
        conn.execute(
            sa.text(
                'UPDATE "user" SET banned = :f, "banReason" = NULL, "banExpires" = NULL WHERE email = :e'.replace(
                    '"', _quote(idp)
                )
            ),
            {"f": False, "e": "kim@example.com"},
        )
    assert key_rows(idp)[a["id"]]["enabled"] is False
    r = idp("unban", "kim@example.com", "--json")
    assert r.exit_code == 0 and r.json()["api_keys_enabled"] == 1 and r.json()["changed"] is True
    assert key_rows(idp)[a["id"]]["enabled"] is True


def test_revoked_key_leaves_no_ban_record(idp_sqlite: IdpRunner) -> None:
    idp = setup(idp_sqlite)
    a = create(idp, "--name", "a")
    assert idp("ban", "kim@example.com", "--yes").exit_code == 0
    assert idp("api-key", "revoke", a["id"], "--yes").exit_code == 0
    with store(idp) as s:
        assert s.api_keys.banned_ids(user_id(idp, "kim@example.com")) == []
    assert idp("unban", "kim@example.com", "--json").json()["api_keys_enabled"] == 0


def test_ban_without_keys_creates_no_table(idp_sqlite: IdpRunner) -> None:
    idp = setup(idp_sqlite)
    assert idp("ban", "kim@example.com", "--yes", "--json").json()["api_keys_disabled"] == 0
    with sa.create_engine(idp.db.sa_url).connect() as conn:
        assert not sa.inspect(conn).has_table(APIKEY_BAN_TABLE)


@pytest.mark.parametrize("flavor", ["better-auth", "owox"])
def test_delete_user_deletes_their_keys(idp: IdpRunner, flavor: str) -> None:
    setup(idp, flavor)
    assert idp("add-user", "lee@example.com").exit_code == 0
    create(idp, "--name", "a")
    create(idp, "--name", "b")
    other = create(idp, "--name", "c", email="lee@example.com")
    assert idp("ban", "kim@example.com", "--yes").exit_code == 0
    uid = user_id(idp, "kim@example.com")
    r = idp("delete-user", "kim@example.com", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["removed"]["api_keys"] == 2
    assert set(key_rows(idp)) == {other["id"]}
    with store(idp) as s:
        assert s.api_keys.banned_ids(uid) == []


def test_delete_user_message_counts_keys(idp_sqlite: IdpRunner) -> None:
    idp = setup(idp_sqlite)
    create(idp, "--name", "a")
    r = idp("delete-user", "kim@example.com", "--yes")
    assert r.exit_code == 0 and "1 api keys" in r.stderr


def test_without_the_plugin_ban_and_delete_report_no_keys(idp_sqlite: IdpRunner) -> None:
    idp = idp_sqlite.flavor("better-auth")
    idp.migrate()
    assert idp("add-user", "admin@example.com", "--role", "admin").exit_code == 0
    assert idp("add-user", "kim@example.com").exit_code == 0
    assert idp("ban", "kim@example.com", "--yes", "--json").json()["api_keys_disabled"] == 0
    assert "api_keys" not in idp("delete-user", "kim@example.com", "--yes", "--json").json()["removed"]


# ---------------------------------------------------------------------- Python API


def test_python_api(idp_sqlite: IdpRunner) -> None:
    idp = setup(idp_sqlite)
    with Admin.from_url(idp.db.url, flavor="better-auth", plugins=PLUGINS["better-auth"]) as admin:
        made = admin.api_key_create(
            "kim@example.com", name="py", expires="7d", prefix="py_", permissions={"files": ["read"]}
        )
        assert made.key.startswith("py_") and made.to_json()["key"] == made.key
        assert made.to_json()["permissions"] == {"files": ["read"]}
        listed = admin.api_key_list("kim@example.com")
        assert [k.id for k in listed] == [made.id] and "key" not in listed[0].to_json()
        assert admin.api_key_revoke(made.id).revoked == 1
        assert admin.api_key_list() == []
