"""The simulation of the Rust port (`port.py`), tested on rows written as the port's own code writes them.

Each test names the PORT.md section and the port lines it stands on. The schema always comes from the
port's committed migrations (`conftest.py`).
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import port
import psycopg
import pyotp
import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type
from port import MIGRATIONS, PortError, SignedIn, TwoFactorRedirect, apply_sql

PW = "correct horse battery staple"
UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def one(conn: psycopg.Connection[Any], sql: str, *params: Any) -> Any:
    row = conn.execute(sql, params).fetchone()  # type: ignore[call-overload]
    return None if row is None else next(iter(row.values()))


def wrong_code(secret: str) -> str:
    """A 6-digit code that is valid in none of the three steps the port accepts."""
    totp, now = pyotp.TOTP(secret), int(time.time())
    valid = {totp.at(now + d) for d in range(-60, 61, 30)}
    return next(c for c in (f"{i:06d}" for i in range(10)) if c not in valid)


def signed_in(result: SignedIn | TwoFactorRedirect) -> SignedIn:
    assert isinstance(result, SignedIn), result
    return result


# §1 schema: migrations/001-005


def test_schema_has_the_ports_types_and_defaults(conn: psycopg.Connection[Any], port_db: Any) -> None:
    cols = {
        (r["table_name"], r["column_name"]): r
        for r in conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = 'public'"
        ).fetchall()
    }
    assert cols[("users", "id")]["data_type"] == "text"  # 001:4
    assert cols[("users", "metadata")]["data_type"] == "jsonb"  # 001:16
    assert cols[("users", "metadata")]["is_nullable"] == "NO"
    assert cols[("users", "metadata")]["column_default"] == "'{}'::jsonb"
    assert cols[("users", "role")]["column_default"] is None  # 001:12
    assert cols[("sessions", "active")]["column_default"] == "true"  # 001:30
    assert cols[("two_factor", "backup_codes")]["data_type"] == "text"  # 003:5
    assert cols[("api_keys", "metadata")]["data_type"] == "text"  # 004:23
    dates = [k for k, v in cols.items() if k[1].endswith(("_at", "_expires")) or k[1] in ("last_request",)]
    assert dates and all(cols[k]["data_type"] == "timestamp with time zone" for k in dates)
    tables = {
        r["table_name"]
        for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema='public'")
    }
    assert tables == {
        "users", "sessions", "accounts", "verifications", "organization", "member", "invitation",
        "two_factor", "api_keys", "passkeys",
    }  # fmt: skip
    for f in sorted(MIGRATIONS.glob("*.sql")):  # every statement is IF NOT EXISTS: re-running is harmless
        apply_sql(port_db.url, f)


# §3/§4 users and passwords: email_password.rs:264-340, 343-451; password.rs:41-86; entity.rs:32, 56-60


def test_sign_up_writes_an_argon2id_hash_in_metadata_only(conn: psycopg.Connection[Any]) -> None:
    user = port.sign_up(conn, "a@example.com", "A", PW)
    assert re.fullmatch(UUID4, user["id"])
    assert re.fullmatch(
        r"\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}",
        user["metadata"]["password_hash"],
    )
    assert user["role"] is None and user["banned"] is False and user["two_factor_enabled"] is False
    assert one(conn, 'SELECT count(*) FROM "accounts"') == 0


def test_sign_in_accepts_the_password_and_refuses_others(conn: psycopg.Connection[Any]) -> None:
    port.sign_up(conn, "a@example.com", "A", PW)
    ok = signed_in(port.sign_in_email(conn, "a@example.com", PW))
    assert re.fullmatch("session_" + UUID4, ok.token)  # database.rs:531
    assert ok.session["active"] is True
    assert ok.session["expires_at"] - datetime.now(UTC) > timedelta(days=6, hours=23)  # config.rs:377
    for email, password in (
        ("a@example.com", PW + "!"),
        ("b@example.com", PW),
        ("a@example.com", PW.upper()),
    ):
        with pytest.raises(PortError) as e:
            port.sign_in_email(conn, email, password)
        assert (e.value.kind, e.value.status) == ("InvalidCredentials", 401)


def test_email_lookup_is_exact(conn: psycopg.Connection[Any]) -> None:
    port.sign_up(conn, "Alice@Example.com", "A", PW)  # stored as typed (email_password.rs:311-313)
    signed_in(port.sign_in_email(conn, "Alice@Example.com", PW))
    with pytest.raises(PortError, match="InvalidCredentials"):
        port.sign_in_email(conn, "alice@example.com", PW)  # database.rs:268-279, "email" = $1


def test_a_hash_only_in_accounts_password_is_never_read(conn: psycopg.Connection[Any]) -> None:
    user = port.admin_create_user(conn, "a@example.com", "A", PW)
    assert (
        one(conn, 'SELECT "password" FROM "accounts" WHERE "provider_id"=%s', "credential")
        == user["metadata"]["password_hash"]
    )
    signed_in(port.sign_in_email(conn, "a@example.com", PW))
    conn.execute('UPDATE "users" SET "metadata" = \'{}\'')
    with pytest.raises(PortError, match="InvalidCredentials"):  # email_password.rs:365
        port.sign_in_email(conn, "a@example.com", PW)


def test_a_typescript_scrypt_hash_is_a_server_error(conn: psycopg.Connection[Any]) -> None:
    user = port.sign_up(conn, "a@example.com", "A", PW)
    scrypt = "0" * 32 + ":" + "0" * 128
    conn.execute(
        'UPDATE "users" SET "metadata" = %s WHERE "id" = %s',
        (json.dumps({"password_hash": scrypt}), user["id"]),
    )
    with pytest.raises(PortError) as e:
        port.sign_in_email(conn, "a@example.com", PW)
    assert (e.value.kind, e.value.status) == ("PasswordHash", 500)  # password.rs:77-78, error.rs:100


@pytest.mark.parametrize(
    "hasher",
    [
        PasswordHasher(),  # argon2-cffi's own profile: m=65536, t=3, p=4
        PasswordHasher(time_cost=1, memory_cost=4096, parallelism=2, hash_len=16, salt_len=8, type=Type.I),
        PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.D),
    ],
    ids=["argon2id-cffi-default", "argon2i-small", "argon2d-port-params"],
)
def test_verify_reads_the_parameters_from_the_string(hasher: PasswordHasher) -> None:
    stored = hasher.hash(PW)
    port.verify_password(PW, stored)  # argon2 hash_password_customized: alg, version, params from the string
    with pytest.raises(PortError, match="InvalidCredentials"):
        port.verify_password(PW + "x", stored)
    tampered = stored[:-2] + ("AA" if not stored.endswith("AA") else "BB")
    with pytest.raises(PortError, match="InvalidCredentials"):
        port.verify_password(PW, tampered)


def test_verify_refuses_what_the_port_cannot_parse_or_compute() -> None:
    good = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(PW)
    for bad in ("", "plain", good.replace("$argon2id$", "argon2id$"), good + "$extra"):
        with pytest.raises(PortError, match="PasswordHash"):
            port.verify_password(PW, bad)
    for wrong_alg in (good.replace("$argon2id$", "$scrypt$"), good.replace("v=19", "v=18")):
        with pytest.raises(PortError, match="InvalidCredentials"):
            port.verify_password(PW, wrong_alg)


# §5 sessions: database.rs:529-634, session.rs:53-182, plugin.rs:243-254


def test_session_lookup_accepts_an_active_unexpired_row(conn: psycopg.Connection[Any]) -> None:
    port.sign_up(conn, "a@example.com", "A", PW)
    ok = signed_in(port.sign_in_email(conn, "a@example.com", PW))
    user, session = port.require_session(conn, ok.token)
    assert user["email"] == "a@example.com" and session["id"] == ok.session["id"]
    assert port.get_session(conn, "session_" + "0" * 36) is None
    assert port.get_session(conn, ok.token.removeprefix("session_")) is None  # exact token, no prefix logic


@pytest.mark.parametrize(
    "change",
    ['"active" = false', "\"expires_at\" = NOW() - interval '1 second'"],
    ids=["inactive", "expired"],
)
def test_inactive_or_expired_sessions_are_refused(conn: psycopg.Connection[Any], change: str) -> None:
    port.sign_up(conn, "a@example.com", "A", PW)
    ok = signed_in(port.sign_in_email(conn, "a@example.com", PW))
    conn.execute(f'UPDATE "sessions" SET {change}')  # type: ignore[call-overload]
    assert port.get_session(conn, ok.token) is None
    with pytest.raises(PortError, match="Unauthenticated"):
        port.require_session(conn, ok.token)
    expired = "expires_at" in change
    # an expired active row is deleted on access (session.rs:59-71); an inactive one is never selected
    assert one(conn, 'SELECT count(*) FROM "sessions"') == (0 if expired else 1)


def test_a_session_written_with_any_unique_token_is_accepted(conn: psycopg.Connection[Any]) -> None:
    user = port.sign_up(conn, "a@example.com", "A", PW)
    conn.execute(  # not the port's session_<uuid> format: validate_token_format is never called (session.rs:223)
        'INSERT INTO "sessions" ("id", "user_id", "token", "expires_at") VALUES (%s, %s, %s, NOW() + interval \'1 day\')',
        ("x", user["id"], "tsStyleToken0123456789abcdefABCD"),
    )
    assert port.get_session(conn, "tsStyleToken0123456789abcdefABCD") is not None


def test_sliding_refresh_after_update_age(conn: psycopg.Connection[Any]) -> None:
    port.sign_up(conn, "a@example.com", "A", PW)
    ok = signed_in(port.sign_in_email(conn, "a@example.com", PW))
    conn.execute(
        'UPDATE "sessions" SET "expires_at" = NOW() + interval \'1 hour\', "updated_at" = NOW() - interval \'23 hours\''
    )
    s = port.get_session(conn, ok.token)
    assert s is not None and s["expires_at"] - datetime.now(UTC) < timedelta(hours=2)  # not yet 24 h
    conn.execute('UPDATE "sessions" SET "updated_at" = NOW() - interval \'25 hours\'')
    s = port.get_session(conn, ok.token)
    assert s is not None and s["expires_at"] - datetime.now(UTC) > timedelta(days=6)  # session.rs:73-130


def test_listing_shows_only_active_unexpired_sessions(conn: psycopg.Connection[Any]) -> None:
    user = port.sign_up(conn, "a@example.com", "A", PW)
    tokens = [signed_in(port.sign_in_email(conn, "a@example.com", PW)).token for _ in range(3)]
    conn.execute('UPDATE "sessions" SET "active" = false WHERE "token" = %s', (tokens[0],))
    conn.execute(
        'UPDATE "sessions" SET "expires_at" = NOW() - interval \'1 minute\' WHERE "token" = %s', (tokens[1],)
    )
    assert [s["token"] for s in port.list_user_sessions(conn, user["id"])] == [tokens[2]]


def test_a_deleted_user_has_nothing_the_port_accepts(conn: psycopg.Connection[Any]) -> None:
    a = port.admin_create_user(conn, "a@example.com", "A", PW)
    b = port.sign_up(conn, "b@example.com", "B", PW)
    port.enable_two_factor(conn, b["id"])
    ta = signed_in(port.sign_in_email(conn, "a@example.com", PW)).token
    pending = port.sign_in_email(conn, "b@example.com", PW)
    assert isinstance(pending, TwoFactorRedirect)
    port.admin_remove_user(conn, a["id"])  # admin/handlers.rs:316-340
    # a bare delete is enough for the rest: ON DELETE CASCADE (001:27, 003:6)
    conn.execute('DELETE FROM "users" WHERE "id" = %s', (b["id"],))
    assert port.get_session(conn, ta) is None
    for email in ("a@example.com", "b@example.com"):
        with pytest.raises(PortError, match="InvalidCredentials"):
            port.sign_in_email(conn, email, PW)
    with pytest.raises(PortError, match="UserNotFound"):  # the 2fa_pending row survives, its user does not
        port.verify_totp(conn, pending.pending_token, "000000")
    for table in ("sessions", "accounts", "two_factor"):
        assert one(conn, f'SELECT count(*) FROM "{table}"') == 0


def test_a_reset_token_outlives_its_user_and_applies_to_the_next_with_that_email(
    conn: psycopg.Connection[Any],
) -> None:
    old = port.sign_up(conn, "a@example.com", "A", PW)
    token = port.forget_password(conn, "a@example.com")
    assert token is not None and re.fullmatch("reset_" + UUID4, token)
    port.admin_remove_user(conn, old["id"])
    new = port.sign_up(conn, "a@example.com", "A2", "another password")
    found = port.find_user_by_reset_token(conn, token)  # password_management/handlers.rs:322-341
    assert found is not None and found[0]["id"] == new["id"]


# §6 roles and bans: admin/mod.rs:85-100, admin/handlers.rs:150-210, database.rs:337-365


@pytest.mark.parametrize(
    ("role", "admin"),
    [("admin", True), ("admin,user", False), ("Admin", False), (None, False), ("user", False)],
)
def test_admin_is_exactly_the_admin_role(role: str | None, admin: bool) -> None:
    assert port.is_admin({"role": role}) is admin


def test_a_ban_revokes_sessions_but_the_port_signs_the_user_in_again(conn: psycopg.Connection[Any]) -> None:
    user = port.sign_up(conn, "a@example.com", "A", PW)
    before = signed_in(port.sign_in_email(conn, "a@example.com", PW)).token
    port.admin_ban_user(conn, user["id"], ban_reason="spam")
    row = port.get_user_by_id(conn, user["id"])
    assert (
        row is not None
        and row["banned"] is True
        and row["ban_reason"] == "spam"
        and row["ban_expires"] is None
    )
    assert port.get_session(conn, before) is None
    after = signed_in(port.sign_in_email(conn, "a@example.com", PW))  # nothing reads `banned`
    assert port.require_session(conn, after.token)[0]["banned"] is True
    port.admin_unban_user(conn, user["id"])
    row = port.get_user_by_id(conn, user["id"])
    assert row is not None and (row["banned"], row["ban_reason"], row["ban_expires"]) == (False, None, None)


@pytest.mark.usefixtures("ban_guard")
def test_the_ban_guard_refuses_every_new_session_while_the_ban_holds(conn: psycopg.Connection[Any]) -> None:
    user = port.sign_up(conn, "a@example.com", "A", PW)
    other = port.admin_create_user(conn, "admin@example.com", "Admin", PW, role="admin")
    port.admin_ban_user(conn, user["id"], ban_reason="spam", ban_expires_in=3600)
    with pytest.raises(PortError) as e:
        port.sign_in_email(conn, "a@example.com", PW)
    assert (e.value.kind, e.value.status) == ("Database", 500) and "account is banned" in e.value.message
    # impersonation uses the same INSERT (admin/handlers.rs:212-247)
    with pytest.raises(PortError, match="Database"):
        port.create_session(conn, user["id"], impersonated_by=other["id"])
    token = port.forget_password(conn, "a@example.com")  # reset writes a new hash; sign-in still refused
    assert token is not None
    port.reset_password(conn, token, "a new password")
    with pytest.raises(PortError, match="Database"):
        port.sign_in_email(conn, "a@example.com", "a new password")
    assert one(conn, 'SELECT count(*) FROM "sessions" WHERE "user_id" = %s', user["id"]) == 0
    signed_in(port.sign_in_email(conn, "admin@example.com", PW))  # others are untouched
    conn.execute(
        'UPDATE "users" SET "ban_expires" = NOW() - interval \'1 second\' WHERE "id" = %s', (user["id"],)
    )
    signed_in(port.sign_in_email(conn, "a@example.com", "a new password"))  # an expired ban no longer blocks
    # the port's re-ban without a duration leaves the stale past ban_expires (database.rs:360-364), so
    # the guard sees an expired ban: a writer must set ban_expires explicitly (NULL = permanent)
    port.admin_ban_user(conn, user["id"])
    signed_in(port.sign_in_email(conn, "a@example.com", "a new password"))
    conn.execute('UPDATE "users" SET "ban_expires" = NULL WHERE "id" = %s', (user["id"],))
    with pytest.raises(PortError, match="Database"):
        port.sign_in_email(conn, "a@example.com", "a new password")
    port.admin_unban_user(conn, user["id"])
    signed_in(port.sign_in_email(conn, "a@example.com", "a new password"))


@pytest.mark.usefixtures("ban_guard")
def test_the_ban_guard_also_stops_the_second_factor_step(conn: psycopg.Connection[Any]) -> None:
    user = port.sign_up(conn, "a@example.com", "A", PW)
    secret, codes = port.enable_two_factor(conn, user["id"])
    pending = port.sign_in_email(conn, "a@example.com", PW)
    assert isinstance(pending, TwoFactorRedirect)
    port.admin_ban_user(conn, user["id"])
    with pytest.raises(PortError, match="Database"):
        port.verify_totp(conn, pending.pending_token, pyotp.TOTP(secret).now())
    with pytest.raises(PortError, match="Database"):
        port.verify_backup_code(conn, pending.pending_token, codes[0])


def test_removing_the_hash_stops_password_sign_in_until_a_reset(conn: psycopg.Connection[Any]) -> None:
    user = port.sign_up(conn, "a@example.com", "A", PW)
    conn.execute(
        'UPDATE "users" SET "metadata" = "metadata" - \'password_hash\' WHERE "id" = %s', (user["id"],)
    )
    with pytest.raises(PortError, match="InvalidCredentials"):
        port.sign_in_email(conn, "a@example.com", PW)
    token = port.forget_password(conn, "a@example.com")  # forget/reset check no ban (handlers.rs:16-153)
    assert token is not None
    port.reset_password(conn, token, "chosen by the banned user")
    signed_in(port.sign_in_email(conn, "a@example.com", "chosen by the banned user"))


# §7 two-factor: two_factor.rs:124-243, 297-517; totp-rs 5.7; base32 0.5.1


def test_two_factor_redirects_then_totp_gives_a_session(conn: psycopg.Connection[Any]) -> None:
    user = port.sign_up(conn, "a@example.com", "A", PW)
    secret, codes = port.enable_two_factor(conn, user["id"])
    assert re.fullmatch(r"[A-Z2-7]{32}", secret) and len(codes) == 10
    assert all(re.fullmatch(r"[A-Z0-9]{8}", c) for c in codes)
    stored = port.get_two_factor(conn, user["id"])
    assert stored is not None and stored["secret"] == secret  # plain base32, not encrypted
    hashes = json.loads(stored["backup_codes"])
    assert stored["backup_codes"].startswith('["$argon2id$v=19$m=19456,t=2,p=1$') and len(hashes) == 10
    pending = port.sign_in_email(conn, "a@example.com", PW)
    assert isinstance(pending, TwoFactorRedirect) and re.fullmatch("2fa_" + UUID4, pending.pending_token)
    assert (
        one(
            conn,
            'SELECT "value" FROM "verifications" WHERE "identifier" = %s',
            f"2fa_pending:{pending.pending_token}",
        )
        == user["id"]
    )
    with pytest.raises(PortError, match="Invalid TOTP code"):
        port.verify_totp(conn, pending.pending_token, wrong_code(secret))
    ok = port.verify_totp(conn, pending.pending_token, pyotp.TOTP(secret).now())
    port.require_session(conn, ok.token)
    with pytest.raises(PortError, match="Invalid or expired 2FA token"):  # the pending row was consumed
        port.verify_totp(conn, pending.pending_token, pyotp.TOTP(secret).now())


def test_totp_accepts_one_step_of_skew_either_way() -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    t = 1_700_000_000
    totp = pyotp.TOTP(secret)
    for delta in (-30, 0, 30):
        assert port.totp_check(secret, totp.at(t + delta), "a@example.com", at=t)
    for delta in (-90, 90):
        assert not port.totp_check(secret, totp.at(t + delta), "a@example.com", at=t)


@pytest.mark.parametrize(
    ("secret", "account"),
    [("jbswy3dpehpk3pxpjbswy3dpehpk3pxp", "a@x"), ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PX=", "a@x"),
     ("JBSWY3DPEHPK3PXP", "a@x"), ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "a:b@x")],
    ids=["lower-case", "padding", "80-bit", "colon-in-account"],
)  # fmt: skip
def test_secrets_the_port_cannot_use_are_internal_errors(secret: str, account: str) -> None:
    with pytest.raises(PortError) as e:
        port.totp_check(secret, "123456", account)
    assert (e.value.kind, e.value.status) == ("Internal", 500)


def test_a_backup_code_works_once_and_as_typed(conn: psycopg.Connection[Any]) -> None:
    user = port.sign_up(conn, "a@example.com", "A", PW)
    _, codes = port.enable_two_factor(conn, user["id"])
    code = next(c for c in codes if c != c.lower())  # one with a letter, so that lower case differs
    pending = port.sign_in_email(conn, "a@example.com", PW)
    assert isinstance(pending, TwoFactorRedirect)
    with pytest.raises(PortError, match="Invalid backup code"):
        port.verify_backup_code(conn, pending.pending_token, code.lower())
    ok = port.verify_backup_code(conn, pending.pending_token, code)
    port.require_session(conn, ok.token)
    stored = port.get_two_factor(conn, user["id"])
    assert stored is not None and len(json.loads(stored["backup_codes"])) == 9
    again = port.sign_in_email(conn, "a@example.com", PW)
    assert isinstance(again, TwoFactorRedirect)
    with pytest.raises(PortError, match="Invalid backup code"):
        port.verify_backup_code(conn, again.pending_token, code)


def test_the_flag_without_a_row_locks_the_user_out(conn: psycopg.Connection[Any]) -> None:
    user = port.sign_up(conn, "a@example.com", "A", PW)
    conn.execute('UPDATE "users" SET "two_factor_enabled" = true WHERE "id" = %s', (user["id"],))
    pending = port.sign_in_email(conn, "a@example.com", PW)
    assert isinstance(pending, TwoFactorRedirect)
    with pytest.raises(PortError) as e:
        port.verify_totp(conn, pending.pending_token, "123456")
    assert (e.value.kind, e.value.status) == ("NotFound", 404)


def test_disable_returns_to_password_only(conn: psycopg.Connection[Any]) -> None:
    user = port.sign_up(conn, "a@example.com", "A", PW)
    port.enable_two_factor(conn, user["id"])
    with pytest.raises(PortError, match="Database"):  # UNIQUE(user_id) (003:9): enable twice fails
        port.enable_two_factor(conn, user["id"])
    port.disable_two_factor(conn, user["id"])
    signed_in(port.sign_in_email(conn, "a@example.com", PW))
