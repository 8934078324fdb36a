"""`owox_idp.crypto.rs_port` produces what the Rust port accepts: rows written with its values pass the
simulation of the port's read paths (`port.py`, itself tested in `test_port_model.py`)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import port
import psycopg
import pyotp
import pytest
from port import PortError, SignedIn, TwoFactorRedirect
from psycopg.types.json import Jsonb

from owox_idp.crypto import rs_port
from owox_idp.errors import InvalidInput

PW = "Tr0ub4dor&3 with ünïcode"
PHC = r"\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}"


def idp_add_user(
    conn: psycopg.Connection[Any], email: str, password: str | None, *, role: str = "user", **extra: Any
) -> str:
    """The rows idp's add-user would write: a users row with the hash in metadata, and a credential
    account as the port's admin create-user keeps one (admin/handlers.rs:84-97)."""
    uid = rs_port.new_id()
    metadata = rs_port.metadata_with_password({}, rs_port.hash_password(password)) if password else {}
    conn.execute(
        'INSERT INTO "users" ("id", "email", "name", "email_verified", "role", "metadata") VALUES (%s, %s, %s, %s, %s, %s)',
        (uid, email, email.split("@")[0], True, role, Jsonb(metadata)),
    )
    if password:
        conn.execute(
            'INSERT INTO "accounts" ("id", "account_id", "provider_id", "user_id", "password") VALUES (%s, %s, %s, %s, %s)',
            (rs_port.new_id(), uid, rs_port.CREDENTIAL_PROVIDER_ID, uid, metadata[rs_port.PASSWORD_HASH_KEY]),
        )
    for column, value in extra.items():
        conn.execute(f'UPDATE "users" SET "{column}" = %s WHERE "id" = %s', (value, uid))  # type: ignore[call-overload]
    return uid


def test_password_hash_has_the_ports_parameters_and_verifies() -> None:
    stored = rs_port.hash_password(PW)
    assert re.fullmatch(PHC, stored)
    port.verify_password(PW, stored)
    with pytest.raises(PortError, match="InvalidCredentials"):
        port.verify_password(PW.replace("ü", "u"), stored)  # bytes as given: no normalisation either side
    assert rs_port.verify_password(stored, PW) and not rs_port.verify_password(stored, PW + " ")
    assert rs_port.verify_password(port._port_hash(PW), PW)  # and idp reads the port's own hashes
    assert not rs_port.verify_password("0" * 32 + ":" + "0" * 128, PW)
    with pytest.raises(InvalidInput):
        rs_port.hash_password("")


def test_ids_and_tokens_look_like_the_ports() -> None:
    uid = rs_port.new_id()
    assert str(uuid.UUID(uid)) == uid and uuid.UUID(uid).version == 4
    token = rs_port.session_token()
    assert re.fullmatch(r"session_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", token)
    assert len(token) > 40  # SessionManager::validate_token_format (session.rs:223-225), though unused
    assert rs_port.verification_value("reset").startswith("reset_")
    with pytest.raises(InvalidInput):
        rs_port.verification_value("magic-link")


def test_a_user_idp_adds_signs_in_on_the_port(conn: psycopg.Connection[Any]) -> None:
    idp_add_user(conn, "a@example.com", PW)
    result = port.sign_in_email(conn, "a@example.com", PW)
    assert isinstance(result, SignedIn)
    user, _ = port.require_session(conn, result.token)
    assert user["email"] == "a@example.com" and not port.is_admin(user)
    with pytest.raises(PortError, match="InvalidCredentials"):
        port.sign_in_email(conn, "a@example.com", "wrong")


def test_a_user_without_a_password_cannot_sign_in(conn: psycopg.Connection[Any]) -> None:
    idp_add_user(conn, "a@example.com", None)
    with pytest.raises(PortError, match="InvalidCredentials"):  # no magic link on the port: nothing to use
        port.sign_in_email(conn, "a@example.com", PW)


def test_metadata_helpers_keep_other_keys(conn: psycopg.Connection[Any]) -> None:
    uid = idp_add_user(conn, "a@example.com", PW)
    with_pw = rs_port.metadata_with_password({"plan": "pro"}, rs_port.hash_password("new password"))
    conn.execute('UPDATE "users" SET "metadata" = %s WHERE "id" = %s', (Jsonb(with_pw), uid))
    assert isinstance(port.sign_in_email(conn, "a@example.com", "new password"), SignedIn)
    without = rs_port.metadata_without_password(with_pw)
    assert without == {"plan": "pro"}
    conn.execute('UPDATE "users" SET "metadata" = %s WHERE "id" = %s', (Jsonb(without), uid))
    with pytest.raises(PortError, match="InvalidCredentials"):
        port.sign_in_email(conn, "a@example.com", "new password")


def test_a_session_row_idp_writes_is_one_the_port_accepts(conn: psycopg.Connection[Any]) -> None:
    uid = idp_add_user(conn, "a@example.com", PW)
    token = rs_port.session_token()
    now = datetime.now(UTC)
    conn.execute(
        'INSERT INTO "sessions" ("id", "user_id", "token", "expires_at", "created_at", "updated_at", "active") '
        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (rs_port.new_id(), uid, token, now + timedelta(days=7), now, now, True),
    )
    user, session = port.require_session(conn, token)
    assert user["id"] == uid and session["token"] == token
    assert [s["token"] for s in port.list_user_sessions(conn, uid)] == [token]
    conn.execute('UPDATE "sessions" SET "active" = false WHERE "token" = %s', (token,))  # revoke by flag...
    assert port.get_session(conn, token) is None and port.list_user_sessions(conn, uid) == []


def test_two_factor_rows_idp_writes_are_accepted(conn: psycopg.Connection[Any]) -> None:
    uid = idp_add_user(conn, "a@example.com", PW)
    secret = rs_port.generate_totp_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    codes = rs_port.generate_backup_codes()
    assert len(codes) == 10 and all(re.fullmatch(r"[A-Z0-9]{8}", c) for c in codes)
    stored_codes = rs_port.hash_backup_codes(codes)
    assert " " not in stored_codes and all(re.fullmatch(PHC, h) for h in json.loads(stored_codes))
    conn.execute(
        'INSERT INTO "two_factor" ("id", "secret", "backup_codes", "user_id") VALUES (%s, %s, %s, %s)',
        (rs_port.new_id(), secret, stored_codes, uid),
    )
    conn.execute('UPDATE "users" SET "two_factor_enabled" = true WHERE "id" = %s', (uid,))
    pending = port.sign_in_email(conn, "a@example.com", PW)
    assert isinstance(pending, TwoFactorRedirect)
    ok = port.verify_totp(conn, pending.pending_token, pyotp.TOTP(secret).now())
    port.require_session(conn, ok.token)
    pending = port.sign_in_email(conn, "a@example.com", PW)
    assert isinstance(pending, TwoFactorRedirect)
    ok = port.verify_backup_code(conn, pending.pending_token, codes[3])
    port.require_session(conn, ok.token)
    row = port.get_two_factor(conn, uid)
    assert row is not None and len(json.loads(row["backup_codes"])) == 9


def test_the_totp_uri_is_the_ports() -> None:
    secret = rs_port.generate_totp_secret()
    uri = rs_port.totp_uri(secret, "a+b@example.com")
    assert uri == f"otpauth://totp/BetterAuth:a%2Bb%40example.com?secret={secret}&issuer=BetterAuth"
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP) and parsed.secret == secret and parsed.issuer == "BetterAuth"
    assert parsed.digits == 6 and parsed.interval == 30
    with pytest.raises(InvalidInput):
        rs_port.totp_uri(secret, "a:b@example.com")


def test_a_reset_row_idp_writes_is_found_by_the_port(conn: psycopg.Connection[Any]) -> None:
    uid = idp_add_user(conn, "a@example.com", PW)
    value = rs_port.verification_value("reset")
    conn.execute(
        'INSERT INTO "verifications" ("id", "identifier", "value", "expires_at") VALUES (%s, %s, %s, %s)',
        (rs_port.new_id(), "a@example.com", value, datetime.now(UTC) + timedelta(hours=1)),
    )
    found = port.find_user_by_reset_token(conn, value)
    assert found is not None and found[0]["id"] == uid
    port.reset_password(conn, value, "reset by the user")
    assert isinstance(port.sign_in_email(conn, "a@example.com", "reset by the user"), SignedIn)


@pytest.mark.usefixtures("ban_guard")
def test_a_ban_idp_writes_holds_with_the_guard(conn: psycopg.Connection[Any]) -> None:
    uid = idp_add_user(conn, "a@example.com", PW)
    token = port.sign_in_email(conn, "a@example.com", PW)
    assert isinstance(token, SignedIn)
    # what idp's ban writes: the admin columns, ban_expires explicit, and every session deleted
    conn.execute(
        'UPDATE "users" SET "banned" = true, "ban_reason" = %s, "ban_expires" = NULL, "updated_at" = NOW() WHERE "id" = %s',
        ("abuse", uid),
    )
    conn.execute('DELETE FROM "sessions" WHERE "user_id" = %s', (uid,))
    assert port.get_session(conn, token.token) is None
    with pytest.raises(PortError, match="account is banned"):
        port.sign_in_email(conn, "a@example.com", PW)
    # unban as the port's adapter does it (database.rs:341-348)
    conn.execute(
        'UPDATE "users" SET "banned" = false, "ban_reason" = NULL, "ban_expires" = NULL WHERE "id" = %s',
        (uid,),
    )
    assert isinstance(port.sign_in_email(conn, "a@example.com", PW), SignedIn)
