"""Every command of the `better-auth-rs` flavor through the real CLI, on PostgreSQL, checked with the
simulation of the port's read paths (`port.py`).

Each test runs `idp` on a database made by the port's own migrations (`port_db`), or on an empty one
that `idp migrate` sets up (`rs_empty`), and then asks the simulation what the port would do with what
idp wrote: sign in, look a session up, check a TOTP code. Each docstring names the port lines it stands
on (`tests/data/better_auth_rs/PORT.md` quotes them; paths are in `better-auth-rs` at 0.10.x @ bc6ebcd).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dbutil
import port
import psycopg
import pytest
from dbutil import fresh_database, selected_dialects
from idp_runner import Result
from port import PortError, SignedIn, TwoFactorRedirect

PASSWORD = "correct horse battery"
OTHER_PASSWORD = "another long password"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Rs:
    """`idp` in the better-auth-rs flavor on one PostgreSQL database, and the port's view of it."""

    db: dbutil.TestDatabase
    env: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: str, input: str | None = None) -> Result:
        from typer.testing import CliRunner

        from owox_idp.cli import app

        result = CliRunner().invoke(app, list(args), input=input, env=self.env, catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Result(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str, input: str | None = None) -> Any:
        r = self(*args, "--json", input=input)
        assert r.exit_code == 0, r.stderr
        return r.json()

    def port(self) -> psycopg.Connection[Any]:
        return port.connect(self.db.url)

    def scalar(self, sql: str, *params: Any) -> Any:
        with self.port() as c:
            row = c.execute(sql, params).fetchone()  # type: ignore[call-overload]
            return None if row is None else next(iter(row.values()))


def _runner(db: dbutil.TestDatabase) -> Rs:
    return Rs(db, {"IDP_DATABASE_URL": db.url, "IDP_FLAVOR": "better-auth-rs"})


@pytest.fixture
def rs(port_db: dbutil.TestDatabase) -> Rs:
    """A database the port's migrations made (as its docs say: psql -f, in order), no ban guard yet."""
    return _runner(port_db)


@pytest.fixture
def rs_empty(tmp_path: Path) -> Iterator[Rs]:
    if "postgresql" not in selected_dialects():
        pytest.skip("the Rust port is PostgreSQL only and IDP_TEST_DATABASES leaves PostgreSQL out")
    with fresh_database("postgresql", tmp_path) as db:
        yield _runner(db)


@pytest.fixture(params=["port-migrations", "idp-migrate"])
def any_rs(request: pytest.FixtureRequest, port_db: dbutil.TestDatabase, tmp_path: Path) -> Iterator[Rs]:
    """Both ways a port database comes to be: the port's files, or `idp migrate` on an empty database."""
    if request.param == "port-migrations":
        yield _runner(port_db)
        return
    with fresh_database("postgresql", tmp_path) as db:
        runner = _runner(db)
        runner.ok("migrate", "--yes")
        yield runner


def _add(rs: Rs, email: str, password: str = PASSWORD, *extra: str) -> dict[str, Any]:
    result: dict[str, Any] = rs.ok("add-user", email, "--password-stdin", *extra, input=password + "\n")
    return result


def _sign_in(rs: Rs, email: str, password: str = PASSWORD) -> SignedIn | TwoFactorRedirect:
    with rs.port() as c:
        return port.sign_in_email(c, email, password)


def _session(rs: Rs, email: str, password: str = PASSWORD) -> SignedIn:
    signed = _sign_in(rs, email, password)
    assert isinstance(signed, SignedIn)
    return signed


def _accepted(rs: Rs, token: str) -> bool:
    with rs.port() as c:
        try:
            port.require_session(c, token)
        except PortError:
            return False
        return True


# ------------------------------------------------------------------------------------------ schema


def test_migrate_on_an_empty_database_runs_the_ports_files_and_the_guard(rs_empty: Rs) -> None:
    """`idp migrate` applies migrations/001…005 verbatim (the port's docs: `psql -f`, in order) and
    idp's ban guard; the port then signs up and signs in on it (`email_password.rs:264-340`, 343-413).
    A second run has nothing to do: every statement is `CREATE … IF NOT EXISTS` and all tables exist."""
    planned = rs_empty.ok("migrate", "--sql")
    assert planned["applied"] is False
    shipped = [(ROOT / "owox_idp/db/rs_migrations" / f.name).read_text() for f in port.migration_files()]
    assert planned["statements"][:5] == shipped  # the port's own text, not DDL of idp's making
    assert "idp_ban_guard" in planned["statements"][5]
    assert rs_empty.ok("migrate", "--yes")["applied"] is True
    assert rs_empty.ok("migrate", "--yes") == {"statements": [], "applied": False}
    with rs_empty.port() as c:
        port.sign_up(c, "Someone@Example.com", "Someone", PASSWORD)
        assert isinstance(port.sign_in_email(c, "Someone@Example.com", PASSWORD), SignedIn)
    info = rs_empty.ok("info")
    assert info["schema"]["status"] == "up-to-date"
    assert not any("ban guard" in w for w in info["warnings"])


def test_a_database_the_port_created_has_nothing_to_migrate(rs: Rs) -> None:
    """On the port's own schema (`migrations/001…005`), `idp info` detects the flavor's layout (plural
    snake_case tables, `entity.rs:227-605` defaults) and reports nothing to migrate; `idp migrate` does
    nothing. It says the ban guard is missing: nothing in the port reads `banned` (PORT.md §6)."""
    info = rs.ok("info")
    assert info["flavor"] == "better-auth-rs"
    audit_statements = len(rs.ok("migrate", "--sql")["statements"])
    assert {k: v for k, v in info["schema"].items()} == {
        "status": "up-to-date",
        "missing": [],
        "missing_indexes": [],
        "missing_idp_tables": ["idp_audit"],  # idp's own record of its changes, not the port's
        "pending_statements": audit_statements,
        "warnings": [],
    }
    assert any("ban guard is not installed" in w for w in info["warnings"])
    assert not any("secret" in w for w in info["warnings"])  # nothing of the port's needs one
    assert info["settings"]["password_hash"] == {"value": "argon2id", "source": "better-auth-rs flavor"}
    port_tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'idp%%'"
    before = rs.scalar(port_tables)
    rs.ok("migrate", "--yes")  # only idp's audit table: the port's tables are left as they are
    assert rs.scalar(port_tables) == before
    assert rs.ok("migrate", "--yes") == {"statements": [], "applied": False}
    schema = rs.ok("info")["schema"]
    assert schema["status"] == "up-to-date" and schema["pending_statements"] == 0
    assert schema["missing"] == [] and schema["missing_idp_tables"] == []


def test_changes_on_a_port_database_are_in_the_audit_trail(rs: Rs) -> None:
    """`idp migrate` on a database the port created adds only idp's audit table (the port never reads
    it: its queries name their tables, `database.rs:73-75`), so that `idp audit` records changes there
    as in the other flavors; before that, a change says it is not recorded and how to fix it."""
    first = rs("add-user", "vic@example.com", "--password-stdin", input=PASSWORD + "\n")
    assert first.exit_code == 0 and "not in the audit trail" in first.stderr
    rs.ok("migrate", "--yes")
    second = rs("set-role", "vic@example.com", "admin", "--reason", "on call")
    assert second.exit_code == 0 and "audit" not in second.stderr, second.stderr
    trail = rs.ok("audit")
    assert sorted((e["command"], e["reason"]) for e in trail) == [("migrate", None), ("set-role", "on call")]
    assert port.is_admin(_session(rs, "vic@example.com").user)


def test_a_typescript_better_auth_database_is_not_taken_for_the_port(rs_empty: Rs) -> None:
    """A database with Better Auth's own `user` table belongs to another server: `idp migrate` creates
    no port table beside it, and commands stop with the schema error (exit 7)."""
    with rs_empty.port() as c:
        c.execute('CREATE TABLE "user" ("id" text primary key, "email" text)')
    r = rs_empty("migrate", "--yes")
    assert r.exit_code == 8 and "TypeScript Better Auth" in r.stderr
    assert rs_empty.scalar("SELECT to_regclass('users') IS NULL") is True
    assert rs_empty("list-users").exit_code == 7


def test_the_flavor_refuses_a_database_that_is_not_postgresql(tmp_path: Path) -> None:
    """The sqlx-postgres adapter is the port's only SQL adapter (`crates/core/src/adapters/database.rs:42`)."""
    env = {"IDP_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "IDP_FLAVOR": "better-auth-rs"}
    r = Rs(dbutil.TestDatabase("sqlite", env["IDP_DATABASE_URL"], "x", ""), env)("migrate", "--yes")
    assert r.exit_code == 6 and "postgresql only" in r.stderr
    assert not (tmp_path / "x.db").exists()


def test_the_flavor_refuses_mariadb(tmp_path: Path) -> None:
    """No MySQL adapter either (`database.rs:42`): every command stops before it writes."""
    if "mariadb" not in selected_dialects():
        pytest.skip("IDP_TEST_DATABASES leaves MariaDB out")
    with fresh_database("mariadb", tmp_path) as db:
        rs = _runner(db)
        for command in (("migrate", "--yes"), ("list-users",)):
            r = rs(*command)
            assert r.exit_code == 6 and "postgresql only" in r.stderr, (command, r.stderr)
        r = rs("add-user", "a@example.com", "--password-stdin", input=PASSWORD + "\n")
        assert r.exit_code == 6


def test_the_shipped_migrations_are_the_ports_files() -> None:
    """The package data `idp migrate` runs is byte for byte the port's files (hashes in their README)."""
    for f in port.migration_files():
        assert (ROOT / "owox_idp/db/rs_migrations" / f.name).read_bytes() == f.read_bytes()
    guard = (ROOT / "tests/data/better_auth_rs/ban_guard.sql").read_bytes()
    assert (ROOT / "owox_idp/db/rs_migrations/ban_guard.sql").read_bytes() == guard


# ------------------------------------------------------------------------------------------ users


def test_add_user_with_a_password_signs_in_on_the_port(any_rs: Rs) -> None:
    """The hash goes where 0.x sign-in reads it: `metadata.get(PASSWORD_HASH_KEY)` (`entity.rs:32,
    56-60`), verified by `verify_password` (`password.rs:77-83`) in `sign_in_with_user_core`
    (`email_password.rs:365-367`); and, as the admin plugin's create-user does, a `credential` account
    with `account_id = user id` and the same hash (`admin/handlers.rs:84-97`). The email lookup is exact
    (`database.rs:270-272`): idp stores it lower-case, so that is what the user types."""
    added = _add(any_rs, "Ana@Example.com", PASSWORD, "--role", "admin", "--name", "Ana")
    assert added["magic_link"] is None and added["has_password"] is True
    signed = _session(any_rs, "ana@example.com")
    assert signed.user["role"] == "admin" and port.is_admin(signed.user)
    with pytest.raises(PortError) as refused:
        _sign_in(any_rs, "ana@example.com", OTHER_PASSWORD)
    assert refused.value.status == 401
    with pytest.raises(PortError):
        _sign_in(any_rs, "Ana@Example.com")  # the port compares emails exactly
    stored = port.password_hash_of(signed.user)
    assert stored is not None and stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    account = any_rs.scalar(
        "SELECT password FROM accounts WHERE user_id = %s AND provider_id = 'credential' AND account_id = %s",
        signed.user["id"],
        signed.user["id"],
    )
    assert account == stored
    assert _accepted(any_rs, signed.token)
    assert any_rs.ok("add-user", "ana@example.com", "--if-missing")["created"] is False


def test_add_user_without_a_password_says_there_is_no_link_and_writes_nothing(rs: Rs) -> None:
    """The port has no magic-link plugin (PORT.md §8): a row idp would write is never read."""
    r = rs("add-user", "bob@example.com")
    assert r.exit_code == 5
    assert "no link to print on this server: give a password with --password-stdin" in r.stderr
    assert rs.scalar("SELECT count(*) FROM users") == 0
    assert rs.scalar("SELECT count(*) FROM verifications") == 0
    r = rs("bootstrap-admin", "root@example.com")
    assert r.exit_code == 5 and "no link to print" in r.stderr
    assert rs.scalar("SELECT count(*) FROM users") == 0


def test_bootstrap_admin_makes_a_user_with_a_password_the_admin(rs: Rs) -> None:
    """Only the exact role "admin" is admin: `user.role().unwrap_or("user") == admin_role`
    (`admin/mod.rs:92-93`). A user with a password needs nothing else; one without a password cannot be
    given a link, so bootstrap-admin refuses and leaves the role as it was."""
    _add(rs, "root@example.com")
    out = rs.ok("bootstrap-admin", "root@example.com")
    assert out["action"] == "unchanged" and out["role_changed"] is True
    assert port.is_admin(_session(rs, "root@example.com").user)
    assert rs.ok("bootstrap-admin", "root@example.com")["role_changed"] is False
    with rs.port() as c:
        c.execute("INSERT INTO users (id, email, role) VALUES ('u-2', 'nopass@example.com', 'user')")
    r = rs("bootstrap-admin", "nopass@example.com")
    assert r.exit_code == 5
    assert rs.scalar("SELECT role FROM users WHERE id = 'u-2'") == "user"


def test_reset_password_sets_what_the_port_verifies_and_ends_sessions(rs: Rs) -> None:
    """The new hash replaces `metadata.password_hash`, other metadata keys kept (as
    `password_management/handlers.rs:140-145` and `admin/handlers.rs:361-371` write it); the old
    password is refused and every session is deleted, as the port's reset does by default
    (`revoke_sessions_on_password_reset`, `mod.rs:57-59`, `handlers.rs:147-153`). Without a password
    there is no link to give: exit 5, nothing changed."""
    _add(rs, "cy@example.com")
    with rs.port() as c:
        c.execute(
            """UPDATE users SET metadata = metadata || '{"theme": "dark"}' WHERE email = 'cy@example.com'"""
        )
    old = _session(rs, "cy@example.com")
    reset = rs.ok(
        "reset-password", "cy@example.com", "--password-stdin", "--yes", input=OTHER_PASSWORD + "\n"
    )
    assert reset["sessions_revoked"] == 1 and reset["magic_link"] is None and reset["password_set"] is True
    assert not _accepted(rs, old.token)
    with pytest.raises(PortError) as refused:
        _sign_in(rs, "cy@example.com", PASSWORD)
    assert refused.value.kind == "InvalidCredentials"
    user = _session(rs, "cy@example.com", OTHER_PASSWORD).user
    assert user["metadata"]["theme"] == "dark"
    r = rs("reset-password", "cy@example.com", "--yes")
    assert r.exit_code == 5 and "no link to print" in r.stderr
    _session(rs, "cy@example.com", OTHER_PASSWORD)  # the password is still there


def test_set_role_writes_the_one_string_the_admin_check_compares(rs: Rs) -> None:
    """`set_role_core` writes `role` as given (`admin/handlers.rs:17-34`) and the admin check compares the
    whole string (`admin/mod.rs:92-93`): "admin,user" would not be admin, so idp refuses several roles."""
    _add(rs, "first@example.com", PASSWORD, "--role", "admin")
    _add(rs, "dee@example.com")
    out = rs.ok("set-role", "dee@example.com", "admin")
    assert out == {**out, "role": "admin", "previous_role": "user"}
    assert port.is_admin(_session(rs, "dee@example.com").user)
    rs.ok("set-role", "dee@example.com", "user")
    assert not port.is_admin(_session(rs, "dee@example.com").user)
    r = rs("set-role", "dee@example.com", "admin,user")
    assert r.exit_code == 5
    r = rs("set-role", "first@example.com", "user")
    assert r.exit_code == 8  # the last admin


def test_ban_holds_with_the_guard_and_unban_lifts_it(rs: Rs) -> None:
    """The port never reads `banned` (`grep -rn '.banned()' crates src` finds only `types_impls.rs:30`),
    so idp's first ban installs the guard: every sign-in ends in the one INSERT of `create_session`
    (`database.rs:534-560`), which the trigger refuses while the ban holds; the port answers 500
    (`error.rs:96`) and makes no session. The ban also deletes the user's sessions, as `ban_user_core`
    does (`admin/handlers.rs:184-186`), so the one in use stops at once (`database.rs:565-577`)."""
    _add(rs, "admin@example.com", PASSWORD, "--role", "admin")
    _add(rs, "eve@example.com")
    live = _session(rs, "eve@example.com")
    r = rs("ban", "eve@example.com", "--reason", "abuse", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    out = r.json()
    assert out["sessions_revoked"] == 1 and out["ban_reason"] == "abuse" and out["ban_expires"] is None
    assert "never checks a ban" in rs("ban", "eve@example.com", "--yes").stderr
    assert not _accepted(rs, live.token)
    with pytest.raises(PortError) as refused:
        _sign_in(rs, "eve@example.com")
    assert refused.value.status == 500 and "banned" in refused.value.message
    assert rs.scalar("SELECT count(*) FROM sessions") == 0
    info = rs.ok("info")
    assert not any("ban guard" in w for w in info["warnings"]) and info["counts"]["banned"] == 1
    assert rs.ok("unban", "eve@example.com")["changed"] is True
    assert (
        rs.scalar("SELECT banned OR ban_reason IS NOT NULL FROM users WHERE email = 'eve@example.com'")
        is False
    )
    _session(rs, "eve@example.com")


def test_a_ban_ends_a_second_step_left_open(rs: Rs) -> None:
    """A user with two-factor who typed the password holds a pending token: the row
    `2fa_pending:2fa_<uuid>` -> user id (`email_password.rs:370-385`), which `get_pending_2fa_user` looks
    up by identifier and then the user by its value (`two_factor.rs:311-327`). idp's ban deletes it with
    the sessions, so the second step is refused even before the guard's INSERT (`database.rs:534-560`)."""
    _add(rs, "admin@example.com", PASSWORD, "--role", "admin")
    _add(rs, "wyn@example.com")
    enrolled = rs.ok("2fa", "enable", "wyn@example.com")
    pending = _sign_in(rs, "wyn@example.com")
    assert isinstance(pending, TwoFactorRedirect)
    assert rs.scalar("SELECT count(*) FROM verifications WHERE identifier LIKE '2fa_pending:%%'") == 1
    rs.ok("ban", "wyn@example.com", "--yes")
    assert rs.scalar("SELECT count(*) FROM verifications WHERE identifier LIKE '2fa_pending:%%'") == 0
    code = port.totp_code(port.decode_secret(enrolled["secret"]), int(datetime.now(UTC).timestamp()))
    with rs.port() as c, pytest.raises(PortError) as refused:
        port.verify_totp(c, pending.pending_token, code)
    assert refused.value.status == 400 and "Invalid or expired 2FA token" in refused.value.message
    with rs.port() as c, pytest.raises(PortError) as refused:
        port.verify_backup_code(c, pending.pending_token, enrolled["backup_codes"][0])
    assert refused.value.status == 400
    assert rs.scalar("SELECT count(*) FROM sessions") == 0


def test_bootstrap_admin_refuses_a_banned_admin_and_unban_lets_them_in(rs: Rs) -> None:
    """A banned admin stays banned unless `--unban` is given; then the admin columns are cleared as the
    port's own unban clears them (`database.rs:341-348`) and the guard lets the next session in."""
    _add(rs, "other@example.com", PASSWORD, "--role", "admin")
    _add(rs, "root@example.com", PASSWORD, "--role", "admin")
    rs.ok("ban", "root@example.com", "--yes")
    with pytest.raises(PortError):
        _sign_in(rs, "root@example.com")
    assert rs("bootstrap-admin", "root@example.com").exit_code == 8
    out = rs.ok("bootstrap-admin", "root@example.com", "--unban")
    assert out["email"] == "root@example.com"
    assert (
        rs.scalar("SELECT banned OR ban_reason IS NOT NULL FROM users WHERE email = 'root@example.com'")
        is False
    )
    assert port.is_admin(_session(rs, "root@example.com").user)


def test_a_ban_disables_the_ports_api_keys_and_unban_restores_them(rs: Rs) -> None:
    """`validate_api_key` checks only the key's own `enabled` and expiry (`api_key/mod.rs:591-607`), never
    the owner's ban, and with `enable_session_for_api_keys` a valid key is a session (792-846). So idp's
    ban sets `enabled = false` on the user's keys, and unban enables exactly those again. A deleted user's
    keys go with the row (`004`: `user_id … ON DELETE CASCADE`)."""
    _add(rs, "admin@example.com", PASSWORD, "--role", "admin")
    _add(rs, "xan@example.com")
    user_id = rs.scalar("SELECT id FROM users WHERE email = 'xan@example.com'")
    with rs.port() as c:
        key = port.create_api_key(c, user_id)
        off = port.create_api_key(c, user_id, prefix="off_")
        c.execute("UPDATE api_keys SET enabled = false WHERE key = %s", (port._hash_api_key(off),))
        assert port.verify_api_key(c, key) == user_id
    banned = rs.ok("ban", "xan@example.com", "--yes")
    assert banned["api_keys_disabled"] == 1
    with rs.port() as c:
        for k in (key, off):
            with pytest.raises(PortError) as refused:
                port.verify_api_key(c, k)
            assert refused.value.kind == "KeyDisabled"
    assert rs.ok("unban", "xan@example.com")["api_keys_enabled"] == 1
    with rs.port() as c:
        assert port.verify_api_key(c, key) == user_id
        with pytest.raises(PortError):
            port.verify_api_key(c, off)  # disabled before the ban: stays so
    rs.ok("delete-user", "xan@example.com", "--yes")
    with rs.port() as c, pytest.raises(PortError) as refused:
        port.verify_api_key(c, key)
    assert refused.value.kind == "InvalidApiKey"
    refused_list = rs("api-key", "list")
    assert refused_list.exit_code == 6  # idp makes no keys in the port's format
    # and says so, instead of a hint to declare a plugin that would change nothing here
    assert "Rust port's API keys" in refused_list.stderr
    assert "IDP_PLUGINS" not in refused_list.stderr


def test_a_ban_always_writes_its_expiry(rs: Rs) -> None:
    """`update_user` writes `ban_expires` only when given (`database.rs:360-364`): after the port's own
    timed ban ran out without an unban, the row says banned with a past expiry. idp's permanent ban writes
    NULL explicitly, so the guard (which honours expiry) holds; a timed ban ends when it says."""
    _add(rs, "admin@example.com", PASSWORD, "--role", "admin")
    _add(rs, "fay@example.com")
    user_id = rs.scalar("SELECT id FROM users WHERE email = 'fay@example.com'")
    with rs.port() as c:
        port.admin_ban_user(c, user_id, ban_reason="old", ban_expires_in=60)
        c.execute("UPDATE users SET ban_expires = NOW() - interval '1 day' WHERE id = %s", (user_id,))
    assert rs.ok("ban", "fay@example.com", "--yes")["ban_expires"] is None
    assert rs.scalar("SELECT ban_expires FROM users WHERE id = %s", user_id) is None
    with pytest.raises(PortError):
        _sign_in(rs, "fay@example.com")
    rs.ok("unban", "fay@example.com")
    timed = rs.ok("ban", "fay@example.com", "--expires", "1h", "--yes")
    expires = datetime.fromisoformat(timed["ban_expires"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    with pytest.raises(PortError):
        _sign_in(rs, "fay@example.com")
    with rs.port() as c:  # an hour later: the guard lets the user in again, as the port never clears it
        c.execute("UPDATE users SET ban_expires = NOW() - interval '1 second' WHERE id = %s", (user_id,))
    _session(rs, "fay@example.com")


def test_delete_user_leaves_nothing_the_port_accepts(rs: Rs) -> None:
    """Deleting the `users` row cascades to sessions, accounts and two_factor (`001:27, 39`, `003:6`);
    idp also deletes the port's reset rows, which are keyed on the email and would otherwise reset the
    next user with that address (`password_management/handlers.rs:331-333`)."""
    _add(rs, "admin@example.com", PASSWORD, "--role", "admin")
    _add(rs, "gus@example.com")
    live = _session(rs, "gus@example.com")
    rs.ok("2fa", "enable", "gus@example.com")
    with rs.port() as c:
        reset_token = port.forget_password(c, "gus@example.com")
    assert reset_token is not None
    out = rs.ok("delete-user", "gus@example.com", "--yes")
    assert out["deleted"] is True
    assert not _accepted(rs, live.token)
    with pytest.raises(PortError) as refused:
        _sign_in(rs, "gus@example.com")
    assert refused.value.kind == "InvalidCredentials"
    _add(rs, "gus@example.com", OTHER_PASSWORD)
    with rs.port() as c:
        assert port.find_user_by_reset_token(c, reset_token) is None
    for table in ("two_factor", "sessions"):
        assert rs.scalar(f"SELECT count(*) FROM {table}") == 0


def test_list_users_and_show_user_read_the_ports_rows(rs: Rs) -> None:
    """A user the port signed up has the hash only in `metadata` and no account row
    (`email_password.rs:302-320`): idp counts that as a password. Sessions count only when the port would
    accept them (`active = true`, unexpired: `database.rs:567`, `session.rs:59`)."""
    with rs.port() as c:
        user = port.sign_up(c, "hal@example.com", "Hal", PASSWORD)
        port.create_session(c, user["id"])
        port.create_session(c, user["id"])
        c.execute("UPDATE sessions SET active = false WHERE token IN (SELECT token FROM sessions LIMIT 1)")
    users = rs.ok("list-users")
    assert [(u["email"], u["has_password"], u["role"]) for u in users] == [("hal@example.com", True, None)]
    shown = rs.ok("show-user", "hal@example.com")
    assert shown["sessions"] == 2 and shown["active_sessions"] == 1 and shown["pending_links"] == 0
    assert rs.ok("info")["counts"]["users_without_password"] == 0
    with rs.port() as c:  # the port stores an email as typed (email_password.rs:264-340)
        port.sign_up(c, "Wes@Example.com", "Wes", PASSWORD)
    assert rs.ok("show-user", "wes@example.com")["email"] == "Wes@Example.com"  # found, not changed
    assert {u["email"] for u in rs.ok("list-users")} == {"hal@example.com", "Wes@Example.com"}
    _session(rs, "Wes@Example.com")  # the port's exact lookup (database.rs:270-272) still finds it


def test_list_sessions_shows_only_what_the_port_accepts(rs: Rs) -> None:
    """`get_user_sessions` selects `active = true` and `list_user_sessions` drops expired rows
    (`database.rs:579-592`, `session.rs:155`): idp lists the same; `--all` adds the others, marked."""
    _add(rs, "ivy@example.com")
    live = _session(rs, "ivy@example.com")
    inactive = _session(rs, "ivy@example.com")
    expired = _session(rs, "ivy@example.com")
    with rs.port() as c:
        c.execute("UPDATE sessions SET active = false WHERE token = %s", (inactive.token,))
        c.execute(
            "UPDATE sessions SET expires_at = NOW() - interval '1 minute' WHERE token = %s", (expired.token,)
        )
        user_id = live.user["id"]
        ports_list = [s["id"] for s in port.list_user_sessions(c, user_id)]
    listed = rs.ok("list-sessions", "ivy@example.com")
    assert [s["id"] for s in listed] == ports_list == [live.session["id"]]
    assert listed[0]["token_prefix"] == live.token[:6] and live.token not in json.dumps(listed)
    everything = {s["id"]: s["active"] for s in rs.ok("list-sessions", "ivy@example.com", "--all")}
    assert everything == {
        live.session["id"]: True,
        inactive.session["id"]: False,
        expired.session["id"]: False,
    }


def test_revoke_sessions_ends_them_on_the_port(rs: Rs) -> None:
    """Revoking deletes the rows; the port's lookup (`database.rs:565-577`) then finds nothing."""
    _add(rs, "jo@example.com")
    one, two = _session(rs, "jo@example.com"), _session(rs, "jo@example.com")
    out = rs.ok("revoke-sessions", "jo@example.com", "--session-id", one.session["id"], "--yes")
    assert out["revoked"] == 1
    assert not _accepted(rs, one.token) and _accepted(rs, two.token)
    assert rs.ok("revoke-sessions", "jo@example.com", "--yes")["revoked"] == 1
    assert not _accepted(rs, two.token)


# ------------------------------------------------------------------------------------------ two-factor


def test_2fa_enable_gives_a_secret_and_codes_the_port_accepts(rs: Rs) -> None:
    """The port's format: the secret as upper-case unpadded base32 (`two_factor.rs:181-182`), the backup
    codes as a JSON array of their argon2 hashes (`138-144`), the flag set at once (`207-215`). Sign-in
    then redirects (`email_password.rs:370-385`); `verify_totp_core` decodes the secret and checks the
    code with one step of skew (`two_factor.rs:335-379`, `152-160`); a backup code works once, as typed
    (`480-493`). Disable deletes the row and clears the flag (`223-243`)."""
    _add(rs, "kim@example.com")
    enrolled = rs.ok("2fa", "enable", "kim@example.com")
    secret = enrolled["secret"]
    assert secret == secret.upper() and "=" not in secret and len(enrolled["backup_codes"]) == 10
    assert enrolled["otpauth_uri"] == (
        f"otpauth://totp/BetterAuth:kim%40example.com?secret={secret}&issuer=BetterAuth"
    )
    assert rs("2fa", "enable", "kim@example.com").exit_code == 4
    redirect = _sign_in(rs, "kim@example.com")
    assert isinstance(redirect, TwoFactorRedirect)
    code = port.totp_code(port.decode_secret(secret), int(datetime.now(UTC).timestamp()))
    with rs.port() as c:
        signed = port.verify_totp(c, redirect.pending_token, code)
    assert _accepted(rs, signed.token)
    again = _sign_in(rs, "kim@example.com")
    assert isinstance(again, TwoFactorRedirect)
    with rs.port() as c:
        port.verify_backup_code(c, again.pending_token, enrolled["backup_codes"][0])
    status = rs.ok("2fa", "status", "kim@example.com")
    assert status["enrolled"] and status["secret_decrypts"] and status["backup_codes_remaining"] == 9
    pending = _sign_in(rs, "kim@example.com")  # a second step left open
    assert isinstance(pending, TwoFactorRedirect)
    disabled = rs.ok("2fa", "disable", "kim@example.com", "--yes")
    assert disabled["changed"] is True and disabled["removed"]["challenges"] == 1
    assert isinstance(_sign_in(rs, "kim@example.com"), SignedIn)
    assert rs.ok("2fa", "status", "kim@example.com")["enrolled"] is False


def test_2fa_status_reads_rows_the_port_wrote(rs: Rs) -> None:
    """Rows from the port's own enable (`two_factor.rs:172-221`) read as usable; the flag without a row
    is the lock-out of `two_factor.rs:342-346`, and status says so."""
    _add(rs, "lee@example.com")
    user_id = rs.scalar("SELECT id FROM users WHERE email = 'lee@example.com'")
    with rs.port() as c:
        port.enable_two_factor(c, user_id)
    status = rs.ok("2fa", "status", "lee@example.com")
    assert status["secret_decrypts"] is True and status["backup_codes_remaining"] == 10
    with rs.port() as c:
        c.execute("DELETE FROM two_factor WHERE user_id = %s", (user_id,))
    r = rs("2fa", "status", "lee@example.com")
    assert r.exit_code == 0 and "no two_factor row" in r.stderr


# ------------------------------------------------------------------------------------------ bulk


def test_import_and_export(rs: Rs, tmp_path: Path) -> None:
    """Imported passwords are hashed with the port's `Argon2::default()` and written as add-user writes
    them (`entity.rs:56-60`); an imported argon2id hash verifies as any argon2 PHC string does
    (`password.rs:77-83`, parameters from the string). `--links` is refused: there are none."""
    port_hash = port._port_hash(OTHER_PASSWORD)
    source = tmp_path / "users.csv"
    source.write_text(
        "email,name,role,password,password_hash\n"
        f"mo@example.com,Mo,admin,{PASSWORD},\n"
        f'ned@example.com,Ned,user,,"{port_hash}"\n'
        "oz@example.com,Oz,user,,\n"
    )
    r = rs("import", str(source), "--links", str(tmp_path / "links.csv"))
    assert r.exit_code == 5 and "no link to print" in r.stderr
    assert rs.scalar("SELECT count(*) FROM users") == 0
    r = rs("import", str(source))
    assert r.exit_code == 0, r.stderr
    assert port.is_admin(_session(rs, "mo@example.com").user)
    _session(rs, "ned@example.com", OTHER_PASSWORD)
    with pytest.raises(PortError):
        _sign_in(rs, "oz@example.com", "")
    r = rs("export", "--format", "jsonl")
    assert r.exit_code == 0, r.stderr
    exported = {row["email"]: row for row in map(json.loads, r.stdout.splitlines())}
    assert {e: row["has_password"] for e, row in exported.items()} == {
        "mo@example.com": True,
        "ned@example.com": True,
        "oz@example.com": False,
    }
    assert port_hash not in r.stdout
    r = rs("export", "--format", "csv")
    assert r.exit_code == 0 and r.stdout.splitlines()[0].startswith("id,email,name,role")
    assert len(r.stdout.splitlines()) == 4 and port_hash not in r.stdout
    # a TypeScript scrypt `salt:key` is what `PasswordHash::new` cannot parse (password.rs:77-78): refused
    scrypt = tmp_path / "scrypt.csv"
    scrypt.write_text(f"email,password_hash\npat@example.com,{'a' * 32}:{'b' * 128}\n")
    r = rs("import", str(scrypt))
    assert r.exit_code == 5 and "argon2id" in r.stderr
    assert rs.scalar("SELECT count(*) FROM users WHERE email = 'pat@example.com'") == 0


# ------------------------------------------------------------------------------------------ doctor


def test_doctor_on_a_port_database(any_rs: Rs) -> None:
    """`idp doctor` in the better-auth-rs flavor: no admin is a failure (exit 9); with an admin (the port's
    admin check is `role == "admin"`, admin/mod.rs:92-93) nothing fails, and the port's tables are not
    taken for another flavor's or another application's."""
    r = any_rs("doctor", "--json")
    assert r.exit_code == 9, r.stderr
    failed = {c["name"] for c in r.json()["checks"] if c["status"] == "fail"}
    assert failed, r.stdout
    _add(any_rs, "root@example.com", PASSWORD, "--role", "admin")
    r = any_rs("doctor", "--json")
    checks = r.json()["checks"]
    assert [c for c in checks if c["status"] == "fail"] == [], checks
    assert r.exit_code == 0 and r.json()["ok"] is True


def test_doctor_reads_the_ports_two_factor_rows_without_a_secret(rs: Rs) -> None:
    """The port's two-factor rows are plain base32 and argon2 hashes (`two_factor.rs:181-182`, 138-144):
    no server secret is involved, so doctor neither asks for one nor fails on rows it cannot "decrypt";
    it checks them as the port uses them: `Secret::Encoded(..).to_bytes()` must decode (348-351), else
    the port answers 500 at the second step. It warns while the ban guard is missing (nothing in the
    port reads `banned`, PORT.md §6), and says there are no links (PORT.md §8)."""
    _add(rs, "root@example.com", PASSWORD, "--role", "admin")
    _add(rs, "una@example.com")
    rs.ok("2fa", "enable", "una@example.com")
    r = rs("doctor", "--json")
    checks = {c["name"]: c for c in r.json()["checks"]}
    assert r.exit_code == 0 and r.json()["ok"] is True, r.stdout
    assert checks["secret"]["status"] == "ok" and "not needed" in checks["secret"]["message"]
    assert (
        checks["link-lifetime"]["status"] == "ok" and "no sign-in links" in checks["link-lifetime"]["message"]
    )
    assert checks["two-factor-secrets"]["status"] == "ok", checks["two-factor-secrets"]
    assert checks["ban-guard"]["status"] == "warn" and "ban guard" in checks["ban-guard"]["message"]
    with rs.port() as c:  # what the port cannot decode: lower case (base32 0.5.1 RFC4648_INV)
        c.execute("UPDATE two_factor SET secret = lower(secret)")
    r = rs("doctor", "--json")
    checks = {c["name"]: c for c in r.json()["checks"]}
    assert r.exit_code == 9 and checks["two-factor-secrets"]["status"] == "fail", checks
    assert "una@example.com" in checks["two-factor-secrets"]["message"]
    with rs.port() as c:
        c.execute("UPDATE two_factor SET secret = upper(secret)")
    rs.ok("ban", "una@example.com", "--yes")  # installs the guard
    checks = {c["name"]: c for c in rs("doctor", "--json").json()["checks"]}
    assert checks["ban-guard"]["status"] == "ok"
