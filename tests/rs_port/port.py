"""A simulation of Better Auth's Rust port (better-auth-rs 0.10, `0.10.x` @ bc6ebcd) on PostgreSQL.

There is no Rust toolchain with the port's crates here, so its read paths (and the writes they depend
on) are reproduced statement by statement from its source. Each function names the lines it
reproduces. Paths are relative to the port's repository, and `tests/data/better_auth_rs/PORT.md`
explains them. The SQL is the port's own: the same tables, columns, WHERE clauses and `NOW()`
comparisons, with `$n` written as `%s`. Each statement runs in its own transaction (autocommit),
as it does on the port's sqlx pool.

Refusals raise `PortError` with the `AuthError` variant and the HTTP status the port would answer
(`crates/core/src/error.rs:76-101`).

The writer half (`sign_up`, `admin_create_user`, `enable_two_factor`, `admin_ban_user`, ...) writes rows
as the port's handlers write them. It is deliberately independent of `owox_idp.crypto.rs_port`, which
the tests check against this simulation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import struct
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

# crates/core/src/config.rs:377-381 (SessionConfig::default)
SESSION_EXPIRES_IN = timedelta(days=7)
SESSION_UPDATE_AGE = timedelta(hours=24)
# crates/api/src/plugins/two_factor.rs:23-34 (TwoFactorConfig defaults)
TOTP_ISSUER = "BetterAuth"
TOTP_DIGITS = 6
TOTP_PERIOD = 30
TOTP_SKEW = 1  # build_totp passes skew 1 (two_factor.rs:152-160)
BACKUP_CODE_COUNT = 10
BACKUP_CODE_LENGTH = 8
# crates/api/src/plugins/admin/mod.rs:38-54 (AdminConfig defaults)
ADMIN_ROLE = "admin"
DEFAULT_USER_ROLE = "user"
# argon2 0.5.3 Params::DEFAULT (argon2/src/params.rs:42-76); Argon2::default() is Argon2id v0x13
ARGON2_M, ARGON2_T, ARGON2_P, ARGON2_OUT = 19456, 2, 1, 32
PASSWORD_HASH_KEY = "password_hash"  # crates/core/src/entity.rs:32


class PortError(Exception):
    """An `AuthError` of the port: `kind` is the variant, `status` what `status_code()` maps it to."""

    def __init__(self, kind: str, status: int, message: str) -> None:
        super().__init__(f"{kind} ({status}): {message}")
        self.kind = kind
        self.status = status
        self.message = message


def invalid_credentials() -> PortError:
    return PortError("InvalidCredentials", 401, "Invalid email or password")  # error.rs:81


def connect(url: str) -> psycopg.Connection[dict[str, Any]]:
    """An autocommit connection: each statement of the port is its own transaction on the sqlx pool."""
    return psycopg.connect(url, autocommit=True, row_factory=dict_row)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _db(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...] = ()) -> psycopg.Cursor[Any]:
    """Any database failure becomes `AuthError::Database` (500), as sqlx errors do (error.rs:96, 191-204)."""
    try:
        return conn.execute(sql, params)  # type: ignore[arg-type]  # the port's SQL is built at run time
    except psycopg.Error as exc:
        raise PortError("Database", 500, f"Database error: {exc}") from exc


# --------------------------------------------------------------------------------------------------
# Schema: the port's migrations, applied as its docs say (psql -f, in order)
# --------------------------------------------------------------------------------------------------

DATA = Path(__file__).resolve().parent.parent / "data" / "better_auth_rs"
MIGRATIONS = DATA / "migrations"


def migration_files() -> list[Path]:
    """The port's migrations in name order, checked against the hashes recorded in their README."""
    files = sorted(MIGRATIONS.glob("*.sql"))
    recorded = dict(
        re.findall(r"^\| (\S+\.sql) \| ([0-9a-f]{64}) \|$", (MIGRATIONS / "README.md").read_text(), re.M)
    )
    assert [f.name for f in files] == sorted(recorded), "migrations/ and its README disagree on the files"
    for f in files:
        assert hashlib.sha256(f.read_bytes()).hexdigest() == recorded[f.name], (
            f"{f.name} is not the port's file"
        )
    return files


def apply_sql(url: str, path: Path) -> None:
    """Run one SQL file, as `psql -f` would."""
    # no parameters: psycopg sends the whole file as one simple query, as psql -f runs it statement by statement
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(path.read_text())  # type: ignore[call-overload]


# --------------------------------------------------------------------------------------------------
# Passwords: crates/core/src/utils/password.rs
# --------------------------------------------------------------------------------------------------

# password-hash 0.5 PHC grammar: $<ident>[$v=<dec>][$<params>[$<salt>[$<hash>]]]. Salt is B64 of 4..64
# chars (Salt::MIN_LENGTH/MAX_LENGTH); the output is 10..64 bytes (Output::MIN_LENGTH/MAX_LENGTH).
_PHC = re.compile(
    r"\$(?P<ident>[a-z0-9-]{1,32})"
    r"(?:\$v=(?P<version>[0-9]+))?"
    r"(?:\$(?P<params>[a-z0-9-]{1,32}=[A-Za-z0-9/+.-]{1,64}(?:,[a-z0-9-]{1,32}=[A-Za-z0-9/+.-]{1,64})*))?"
    r"(?:\$(?P<salt>[A-Za-z0-9/+]{4,64}))?"
    r"(?:\$(?P<hash>[A-Za-z0-9/+]+))?"
)


def _b64_nopad(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def verify_password(password: str, stored: str) -> None:
    """`verify_password(None, password, hash)` (password.rs:62-86): returns when it matches, else raises.

    - `PasswordHash::new(hash)` must parse, or `AuthError::PasswordHash` (500) is raised (77-78).
    - `Argon2::default().verify_password` re-hashes with the algorithm, version and m/t/p/output length
      read from the string (argon2 0.5.3 `hash_password_customized`, lib.rs:599-628). Any failure is
      `InvalidCredentials` (80-83): a mismatch, an unknown algorithm or a bad parameter.
    - The password bytes are `password.as_bytes()`, UTF-8 with no normalisation.
    """
    from argon2.low_level import Type, hash_secret_raw

    m = _PHC.fullmatch(stored)
    if m is None:
        raise PortError("PasswordHash", 500, "Invalid password hash")
    try:
        salt_b = _b64_nopad(m["salt"]) if m["salt"] else None
        out_b = _b64_nopad(m["hash"]) if m["hash"] else None
    except (binascii.Error, ValueError):
        raise PortError("PasswordHash", 500, "Invalid password hash") from None
    if out_b is not None and not 10 <= len(out_b) <= 64:
        raise PortError("PasswordHash", 500, "Invalid password hash")
    if salt_b is None or out_b is None:
        raise invalid_credentials()  # password-hash verify: no salt or no hash is Error::Password
    kinds = {"argon2id": Type.ID, "argon2i": Type.I, "argon2d": Type.D}
    if m["ident"] not in kinds:
        raise invalid_credentials()  # Algorithm::try_from fails
    version = int(m["version"]) if m["version"] else 0x13  # absent: Version::default() (lib.rs:612-615)
    if version not in (0x10, 0x13):
        raise invalid_credentials()
    params = {"m": ARGON2_M, "t": ARGON2_T, "p": ARGON2_P}
    for pair in (m["params"] or "").split(",") if m["params"] else []:
        key, _, value = pair.partition("=")
        if key not in params or not value.isdigit():
            raise invalid_credentials()  # keyid/data or unknown keys: not reproduced, refused
        params[key] = int(value)
    if len(salt_b) < 8 or params["t"] < 1 or params["p"] < 1 or params["m"] < 8 * params["p"]:
        raise invalid_credentials()  # Argon2 MIN_SALT_LEN 8; Params::new limits
    computed = hash_secret_raw(
        password.encode("utf-8"),
        salt_b,
        time_cost=params["t"],
        memory_cost=params["m"],
        parallelism=params["p"],
        hash_len=len(out_b),
        type=kinds[m["ident"]],
        version=version,
    )
    if not hmac.compare_digest(computed, out_b):
        raise invalid_credentials()


def _port_hash(password: str) -> str:
    """`hash_password(None, password)` (password.rs:41-57): `SaltString::generate` (16 bytes) and
    `Argon2::default()`, written as the PHC string."""
    from argon2.low_level import Type, hash_secret

    return hash_secret(
        password.encode("utf-8"),
        os.urandom(16),
        time_cost=ARGON2_T,
        memory_cost=ARGON2_M,
        parallelism=ARGON2_P,
        hash_len=ARGON2_OUT,
        type=Type.ID,
        version=0x13,
    ).decode("ascii")


# --------------------------------------------------------------------------------------------------
# Users: crates/core/src/adapters/database.rs (UserOps), crates/core/src/entity.rs
# --------------------------------------------------------------------------------------------------


def get_user_by_email(conn: psycopg.Connection[Any], email: str) -> dict[str, Any] | None:
    """database.rs:268-279: `SELECT * FROM "users" WHERE "email" = $1`, an exact, case-sensitive match."""
    row: dict[str, Any] | None = _db(conn, 'SELECT * FROM "users" WHERE "email" = %s', (email,)).fetchone()
    return row


def get_user_by_id(conn: psycopg.Connection[Any], user_id: str) -> dict[str, Any] | None:
    """database.rs:255-266."""
    row: dict[str, Any] | None = _db(conn, 'SELECT * FROM "users" WHERE "id" = %s', (user_id,)).fetchone()
    return row


def password_hash_of(user: dict[str, Any]) -> str | None:
    """`AuthUser::password_hash` (entity.rs:56-60): `metadata.get("password_hash").and_then(as_str)`.

    This is the only place 0.x sign-in reads a hash from. `accounts.password` is never read.
    """
    value = (user.get("metadata") or {}).get(PASSWORD_HASH_KEY)
    return value if isinstance(value, str) else None


def is_admin(user: dict[str, Any], admin_role: str = ADMIN_ROLE) -> bool:
    """`require_admin` (admin/mod.rs:92-93): `user.role().unwrap_or("user") == admin_role`, whole string."""
    return (user.get("role") or "user") == admin_role


# --------------------------------------------------------------------------------------------------
# Sessions: database.rs (SessionOps) and crates/core/src/session.rs (SessionManager)
# --------------------------------------------------------------------------------------------------


def create_session(
    conn: psycopg.Connection[Any],
    user_id: str,
    *,
    impersonated_by: str | None = None,
    expires_in: timedelta = SESSION_EXPIRES_IN,
    now: datetime | None = None,
) -> dict[str, Any]:
    """`SessionManager::create_session` (session.rs:31-50) into `SqlxAdapter::create_session`
    (database.rs:529-563), with the same INSERT. Every sign-in path of the port ends here."""
    now = now or _utcnow()
    sid = str(uuid.uuid4())
    token = f"session_{uuid.uuid4()}"
    row: dict[str, Any] = _db(
        conn,
        'INSERT INTO "sessions" ("id", "user_id", "token", "expires_at", "created_at", "ip_address", '
        '"user_agent", "impersonated_by", "active_organization_id", "active") '
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (sid, user_id, token, now + expires_in, now, None, None, impersonated_by, None, True),
    ).fetchone()
    return row


def _db_get_session(conn: psycopg.Connection[Any], token: str) -> dict[str, Any] | None:
    """database.rs:565-577: `SELECT * FROM "sessions" WHERE "token" = $1 AND "active" = true`."""
    row: dict[str, Any] | None = _db(
        conn, 'SELECT * FROM "sessions" WHERE "token" = %s AND "active" = true', (token,)
    ).fetchone()
    return row


def get_session(
    conn: psycopg.Connection[Any],
    token: str,
    *,
    now: datetime | None = None,
    expires_in: timedelta = SESSION_EXPIRES_IN,
    update_age: timedelta | None = SESSION_UPDATE_AGE,
    disable_session_refresh: bool = False,
) -> dict[str, Any] | None:
    """`SessionManager::get_session` (session.rs:53-133).

    - Lookup by exact token and `active = true` (database.rs:565-577).
    - `expires_at < now || !active`: delete the row (by token, database.rs:616-624) and return None.
    - Sliding refresh once `now - updated_at >= update_age`: `expires_at = now + expires_in`,
      `updated_at = now` (database.rs:594-614), then re-read.
    """
    now = now or _utcnow()
    session = _db_get_session(conn, token)
    if session is None:
        return None
    if session["expires_at"] < now or not session["active"]:
        _db(conn, 'DELETE FROM "sessions" WHERE "token" = %s', (token,))
        return None
    if disable_session_refresh:
        return session
    if update_age is None or now - session["updated_at"] >= update_age:
        _db(
            conn,
            'UPDATE "sessions" SET "expires_at" = %s, "updated_at" = %s WHERE "token" = %s AND "active" = true',
            (now + expires_in, now, token),
        )
        refreshed = _db_get_session(conn, token)
        if refreshed is not None:
            session = refreshed
    return session


def require_session(
    conn: psycopg.Connection[Any], token: str, **kw: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`AuthContext::require_session` (crates/core/src/plugin.rs:243-254): `get_session`, then the user
    by id. Either missing is `Unauthenticated` (401). `banned` is not read."""
    session = get_session(conn, token, **kw)
    if session is not None:
        user = get_user_by_id(conn, session["user_id"])
        if user is not None:
            return user, session
    raise PortError("Unauthenticated", 401, "Unauthenticated")


def list_user_sessions(
    conn: psycopg.Connection[Any], user_id: str, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """`SessionManager::list_user_sessions` (session.rs:148-159) over `get_user_sessions`
    (database.rs:579-592): active rows, newest first, without the expired ones."""
    now = now or _utcnow()
    rows = _db(
        conn,
        'SELECT * FROM "sessions" WHERE "user_id" = %s AND "active" = true ORDER BY "created_at" DESC',
        (user_id,),
    ).fetchall()
    return [r for r in rows if r["expires_at"] > now and r["active"]]


# --------------------------------------------------------------------------------------------------
# Sign-in: crates/api/src/plugins/email_password.rs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """`SignInCoreResult::Success`: the session the port created and its raw token (the cookie value)."""

    token: str
    session: dict[str, Any]
    user: dict[str, Any]


@dataclass(frozen=True)
class TwoFactorRedirect:
    """`SignInCoreResult::TwoFactorRedirect`: `{twoFactorRedirect: true, token: "2fa_<uuid>"}`."""

    pending_token: str
    user: dict[str, Any]


def sign_in_with_user(
    conn: psycopg.Connection[Any], user: dict[str, Any], password: str
) -> SignedIn | TwoFactorRedirect:
    """`sign_in_with_user_core` (email_password.rs:343-413).

    - 365: no `metadata.password_hash` -> InvalidCredentials.
    - 367: verify_password.
    - 370-385: `two_factor_enabled` -> a verification `2fa_pending:2fa_<uuid>` -> user id (5 min).
    - 400-403: otherwise create a session.
    Neither `banned` nor `email_verified` is consulted.
    """
    stored = password_hash_of(user)
    if stored is None:
        raise invalid_credentials()
    verify_password(password, stored)
    if user["two_factor_enabled"]:
        pending = f"2fa_{uuid.uuid4()}"
        create_verification(conn, f"2fa_pending:{pending}", user["id"], _utcnow() + timedelta(minutes=5))
        return TwoFactorRedirect(pending, user)
    session = create_session(conn, user["id"])
    return SignedIn(session["token"], session, user)


def sign_in_email(conn: psycopg.Connection[Any], email: str, password: str) -> SignedIn | TwoFactorRedirect:
    """`sign_in_core` (email_password.rs:416-451): user by exact email, else InvalidCredentials (436-440)."""
    user = get_user_by_email(conn, email)
    if user is None:
        raise invalid_credentials()
    return sign_in_with_user(conn, user, password)


# --------------------------------------------------------------------------------------------------
# Verifications: database.rs (VerificationOps)
# --------------------------------------------------------------------------------------------------


def create_verification(
    conn: psycopg.Connection[Any], identifier: str, value: str, expires_at: datetime
) -> dict[str, Any]:
    """database.rs:836-864."""
    now = _utcnow()
    row: dict[str, Any] = _db(
        conn,
        'INSERT INTO "verifications" ("id", "identifier", "value", "expires_at", "created_at", "updated_at") '
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
        (str(uuid.uuid4()), identifier, value, expires_at, now, now),
    ).fetchone()
    return row


def get_verification_by_value(conn: psycopg.Connection[Any], value: str) -> dict[str, Any] | None:
    """database.rs:882-894 (`expires_at > NOW()`)."""
    row: dict[str, Any] | None = _db(
        conn, 'SELECT * FROM "verifications" WHERE "value" = %s AND "expires_at" > NOW()', (value,)
    ).fetchone()
    return row


def get_verification_by_identifier(conn: psycopg.Connection[Any], identifier: str) -> dict[str, Any] | None:
    """database.rs:896-908 (`expires_at > NOW()`)."""
    row: dict[str, Any] | None = _db(
        conn, 'SELECT * FROM "verifications" WHERE "identifier" = %s AND "expires_at" > NOW()', (identifier,)
    ).fetchone()
    return row


def find_user_by_reset_token(
    conn: psycopg.Connection[Any], token: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """password_management/handlers.rs:322-341: the row by value, then the user by the row's email."""
    verification = get_verification_by_value(conn, token)
    if verification is None:
        return None
    user = get_user_by_email(conn, verification["identifier"])
    return None if user is None else (user, verification)


def reset_password(conn: psycopg.Connection[Any], token: str, new_password: str) -> None:
    """`reset_password_core` (password_management/handlers.rs:112-176), default config: the new hash
    into `metadata.password_hash` (140-145), the row deleted (148), every session deleted (151-153)."""
    found = find_user_by_reset_token(conn, token)
    if found is None:
        raise PortError("BadRequest", 400, "Invalid or expired reset token")
    user, verification = found
    metadata = dict(user["metadata"])
    metadata[PASSWORD_HASH_KEY] = _port_hash(new_password)
    _db(
        conn,
        'UPDATE "users" SET "updated_at" = NOW(), "metadata" = %s WHERE "id" = %s',
        (Jsonb(metadata), user["id"]),
    )
    _db(conn, 'DELETE FROM "verifications" WHERE "id" = %s', (verification["id"],))
    _db(conn, 'DELETE FROM "sessions" WHERE "user_id" = %s', (user["id"],))


# --------------------------------------------------------------------------------------------------
# Two-factor: crates/api/src/plugins/two_factor.rs; totp-rs 5.7.0; base32 0.5.1
# --------------------------------------------------------------------------------------------------

_B32_UPPER = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def decode_secret(secret: str) -> bytes:
    """`Secret::Encoded(s).to_bytes()` (totp-rs secret.rs:131-139): base32 0.5.1 `decode` with
    `Rfc4648 { padding: false }`. Its table has no lower case and no `=`, so either fails. That is an
    internal error at two_factor.rs:348-351."""
    if not secret or any(c not in _B32_UPPER for c in secret):
        raise PortError("Internal", 500, "Failed to decode secret: Could not decode base32 secret.")
    # base32 0.5.1 decodes 8-char chunks and truncates to len*5/8 bytes; b32decode needs the padding
    return base64.b32decode(secret + "=" * (-len(secret) % 8))[: len(secret) * 5 // 8]


def totp_code(key: bytes, at: int, digits: int = TOTP_DIGITS, period: int = TOTP_PERIOD) -> str:
    """totp-rs `TOTP::generate` (lib.rs:419-447): HMAC-SHA1 of the big-endian step, dynamic truncation."""
    mac = hmac.new(key, struct.pack(">Q", at // period), hashlib.sha1).digest()
    offset = mac[-1] & 15
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**digits:0{digits}d}"


def totp_check(
    secret: str, code: str, account: str, *, at: int | None = None, issuer: str = TOTP_ISSUER
) -> bool:
    """`build_totp` (two_factor.rs:146-162) then `check_current` (totp-rs lib.rs:474-490).

    `TOTP::new` refuses a secret under 16 bytes and a `:` in the issuer or the account name (lib.rs:289-296,
    rfc.rs:48-54): "Failed to create TOTP" (500). The check accepts steps t-1, t and t+1.
    """
    key = decode_secret(secret)
    if len(key) < 16 or ":" in issuer or ":" in account:
        raise PortError("Internal", 500, "Failed to create TOTP")
    t = int(time.time()) if at is None else at
    base = t // TOTP_PERIOD - TOTP_SKEW
    return any(
        hmac.compare_digest(totp_code(key, (base + i) * TOTP_PERIOD).encode(), code.encode())
        for i in range(TOTP_SKEW * 2 + 1)
    )


def get_two_factor(conn: psycopg.Connection[Any], user_id: str) -> dict[str, Any] | None:
    """database.rs:1412-1423."""
    row: dict[str, Any] | None = _db(
        conn, 'SELECT * FROM "two_factor" WHERE "user_id" = %s', (user_id,)
    ).fetchone()
    return row


def pending_two_factor_user(conn: psycopg.Connection[Any], pending_token: str) -> tuple[dict[str, Any], str]:
    """`get_pending_2fa_user` (two_factor.rs:297-330): the `2fa_` Bearer token, its verification row
    `2fa_pending:<token>` (by identifier, unexpired), then the user by the row's value."""
    if not pending_token.startswith("2fa_"):
        raise PortError("BadRequest", 400, "Invalid 2FA pending token")
    verification = get_verification_by_identifier(conn, f"2fa_pending:{pending_token}")
    if verification is None or verification["expires_at"] < _utcnow():
        raise PortError("BadRequest", 400, "Invalid or expired 2FA token")
    user = get_user_by_id(conn, verification["value"])
    if user is None:
        raise PortError("UserNotFound", 404, "User not found")
    return user, verification["id"]


def _two_factor_row(conn: psycopg.Connection[Any], user_id: str) -> dict[str, Any]:
    row = get_two_factor(conn, user_id)
    if row is None:  # two_factor.rs:342-346, 463-467
        raise PortError("NotFound", 404, "Two-factor authentication not enabled")
    return row


def verify_totp(
    conn: psycopg.Connection[Any], pending_token: str, code: str, *, at: int | None = None
) -> SignedIn:
    """`verify_totp_core` (two_factor.rs:335-379): the row, the code, a session, the pending row deleted."""
    user, verification_id = pending_two_factor_user(conn, pending_token)
    row = _two_factor_row(conn, user["id"])
    if not totp_check(row["secret"], code, user["email"] or "user", at=at):
        raise PortError("BadRequest", 400, "Invalid TOTP code")
    session = create_session(conn, user["id"])
    _db(conn, 'DELETE FROM "verifications" WHERE "id" = %s', (verification_id,))
    return SignedIn(session["token"], session, user)


def verify_backup_code(conn: psycopg.Connection[Any], pending_token: str, code: str) -> SignedIn:
    """`verify_backup_code_core` (two_factor.rs:457-517).

    - `backup_codes` must not be NULL (469-471). It is parsed as a JSON `Vec<String>`, and a failure is
      a 500 (473-474).
    - The code, as typed, is verified against each hash with `verify_password(None, ..)`. Any error is
      "no match" (`.is_ok()`, 479-487).
    - The used hash is removed and the array written back (491-500), then a session is created.
    """
    user, verification_id = pending_two_factor_user(conn, pending_token)
    row = _two_factor_row(conn, user["id"])
    if row["backup_codes"] is None:
        raise PortError("BadRequest", 400, "No backup codes available")
    try:
        hashed = json.loads(row["backup_codes"])
    except ValueError:
        raise PortError("Internal", 500, "Failed to parse backup codes") from None
    if not isinstance(hashed, list) or not all(isinstance(h, str) for h in hashed):
        raise PortError("Internal", 500, "Failed to parse backup codes")
    matched = None
    for i, h in enumerate(hashed):
        try:
            verify_password(code, h)
        except PortError:
            continue
        matched = i
        break
    if matched is None:
        raise PortError("BadRequest", 400, "Invalid backup code")
    remaining = hashed[:matched] + hashed[matched + 1 :]
    _db(
        conn,
        'UPDATE "two_factor" SET "backup_codes" = %s, "updated_at" = NOW() WHERE "user_id" = %s RETURNING *',
        (json.dumps(remaining, separators=(",", ":")), user["id"]),
    )
    session = create_session(conn, user["id"])
    _db(conn, 'DELETE FROM "verifications" WHERE "id" = %s', (verification_id,))
    return SignedIn(session["token"], session, user)


# --------------------------------------------------------------------------------------------------
# Writers: rows as the port's own handlers write them (for the tests of this simulation)
# --------------------------------------------------------------------------------------------------


def _create_user(
    conn: psycopg.Connection[Any],
    *,
    email: str,
    name: str | None,
    role: str | None,
    email_verified: bool,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """`SqlxAdapter::create_user` (database.rs:216-253): the same INSERT. `banned` and
    `two_factor_enabled` come from column defaults."""
    uid = str(uuid.uuid4())
    now = _utcnow()
    row: dict[str, Any] = _db(
        conn,
        'INSERT INTO "users" ("id", "email", "name", "image", "email_verified", "username", "display_username", '
        '"role", "created_at", "updated_at", "metadata") VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *',
        (uid, email, name, None, email_verified, None, None, role, now, now, Jsonb(metadata)),
    ).fetchone()
    return row


def sign_up(conn: psycopg.Connection[Any], email: str, name: str, password: str) -> dict[str, Any]:
    """`sign_up_core` (email_password.rs:264-340), without the auto sign-in: the email as typed, the hash
    only in `metadata.password_hash` (302-320), and no account row."""
    if get_user_by_email(conn, email) is not None:
        raise PortError("Conflict", 409, "A user with this email already exists")
    return _create_user(
        conn,
        email=email,
        name=name,
        role=None,
        email_verified=False,
        metadata={PASSWORD_HASH_KEY: _port_hash(password)},
    )


def admin_create_user(
    conn: psycopg.Connection[Any], email: str, name: str, password: str, role: str | None = None
) -> dict[str, Any]:
    """`create_user_core` (admin/handlers.rs:36-100): role or "user", verified, the hash in metadata, and
    a `credential` account with `account_id = user id` and the same hash (84-97)."""
    password_hash = _port_hash(password)
    user = _create_user(
        conn,
        email=email,
        name=name,
        role=role or DEFAULT_USER_ROLE,
        email_verified=True,
        metadata={PASSWORD_HASH_KEY: password_hash},
    )
    now = _utcnow()
    _db(  # database.rs:687-727
        conn,
        'INSERT INTO "accounts" ("id", "account_id", "provider_id", "user_id", "access_token", "refresh_token", '
        '"id_token", "access_token_expires_at", "refresh_token_expires_at", "scope", "password", "created_at", '
        '"updated_at") VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *',
        (
            str(uuid.uuid4()),
            user["id"],
            "credential",
            user["id"],
            None,
            None,
            None,
            None,
            None,
            None,
            password_hash,
            now,
            now,
        ),
    )
    return user


def admin_set_role(conn: psycopg.Connection[Any], user_id: str, role: str) -> None:
    """`set_role_core` (admin/handlers.rs:17-34) -> `update_user` (database.rs:294-336)."""
    _db(conn, 'UPDATE "users" SET "updated_at" = NOW(), "role" = %s WHERE "id" = %s', (role, user_id))


def admin_ban_user(
    conn: psycopg.Connection[Any],
    user_id: str,
    *,
    ban_reason: str | None = None,
    ban_expires_in: int | None = None,
) -> None:
    """`ban_user_core` (admin/handlers.rs:150-189): `banned = true`, the reason and expiry only when
    given (database.rs:337-365), then `revoke_all_user_sessions`, which deletes all the user's
    sessions (session.rs:175-182, database.rs:626-634)."""
    sets, params = ['"banned" = %s'], [True]
    if ban_reason is not None:
        sets.append('"ban_reason" = %s')
        params.append(ban_reason)  # type: ignore[arg-type]
    if ban_expires_in is not None:
        sets.append('"ban_expires" = %s')
        params.append(_utcnow() + timedelta(seconds=ban_expires_in))  # type: ignore[arg-type]
    _db(
        conn,
        f'UPDATE "users" SET "updated_at" = NOW(), {", ".join(sets)} WHERE "id" = %s',
        (*params, user_id),
    )
    _db(conn, 'DELETE FROM "sessions" WHERE "user_id" = %s', (user_id,))


def admin_unban_user(conn: psycopg.Connection[Any], user_id: str) -> None:
    """`unban_user_core` (admin/handlers.rs:191-210): `banned = false`, with the adapter's
    `ban_reason = NULL, ban_expires = NULL` (database.rs:341-348)."""
    _db(
        conn,
        'UPDATE "users" SET "updated_at" = NOW(), "banned" = %s, "ban_reason" = NULL, "ban_expires" = NULL WHERE "id" = %s',
        (False, user_id),
    )


def admin_remove_user(conn: psycopg.Connection[Any], user_id: str) -> None:
    """`remove_user_core` (admin/handlers.rs:316-340): sessions, then each account, then the user.
    Verifications are left (nothing deletes them)."""
    _db(conn, 'DELETE FROM "sessions" WHERE "user_id" = %s', (user_id,))
    for acc in _db(
        conn, 'SELECT * FROM "accounts" WHERE "user_id" = %s ORDER BY "created_at" DESC', (user_id,)
    ).fetchall():
        _db(conn, 'DELETE FROM "accounts" WHERE "id" = %s', (acc["id"],))
    _db(conn, 'DELETE FROM "users" WHERE "id" = %s', (user_id,))


def forget_password(conn: psycopg.Connection[Any], email: str, *, hours: int = 24) -> str | None:
    """`forget_password_core` (password_management/handlers.rs:16-110): `identifier = email`,
    `value = "reset_<uuid>"`. Returns the token that the email would carry."""
    user = get_user_by_email(conn, email)
    if user is None:
        return None
    token = f"reset_{uuid.uuid4()}"
    create_verification(conn, user["email"] or "", token, _utcnow() + timedelta(hours=hours))
    return token


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def enable_two_factor(conn: psycopg.Connection[Any], user_id: str) -> tuple[str, list[str]]:
    """`enable_core` (two_factor.rs:172-221), after its password check:
    - `Secret::generate_secret().to_encoded()`: 20 random bytes as upper-case, unpadded base32 (181-182);
    - backup codes: 8 x rand `Alphanumeric`, then `.to_uppercase()` (124-136), each Argon2-hashed and
      stored as `serde_json::to_string(&Vec<String>)` (138-144);
    - the `two_factor` row (198-204, database.rs:1385-1410), then `two_factor_enabled = true` (207-215).
    Returns (secret, plain backup codes)."""
    secret = base64.b32encode(os.urandom(20)).decode("ascii").rstrip("=")
    codes = [
        "".join(secrets.choice(_ALNUM) for _ in range(BACKUP_CODE_LENGTH)).upper()
        for _ in range(BACKUP_CODE_COUNT)
    ]
    hashed = json.dumps([_port_hash(c) for c in codes], separators=(",", ":"))
    now = _utcnow()
    _db(
        conn,
        'INSERT INTO "two_factor" ("id", "secret", "backup_codes", "user_id", "created_at", "updated_at") '
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
        (str(uuid.uuid4()), secret, hashed, user_id, now, now),
    )
    _db(
        conn,
        'UPDATE "users" SET "updated_at" = NOW(), "two_factor_enabled" = %s WHERE "id" = %s',
        (True, user_id),
    )
    return secret, codes


def disable_two_factor(conn: psycopg.Connection[Any], user_id: str) -> None:
    """`disable_core` (two_factor.rs:223-243): the row deleted (database.rs:1445-1453), the flag false."""
    _db(conn, 'DELETE FROM "two_factor" WHERE "user_id" = %s', (user_id,))
    _db(
        conn,
        'UPDATE "users" SET "updated_at" = NOW(), "two_factor_enabled" = %s WHERE "id" = %s',
        (False, user_id),
    )


# --------------------------------------------------------------------------------------------------
# API keys: crates/api/src/plugins/api_key/mod.rs, database.rs:1474-1550
# --------------------------------------------------------------------------------------------------


def _hash_api_key(key: str) -> str:
    """`hash_key` (api_key/mod.rs:376-381): base64url without padding of SHA-256 of the full key."""
    return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()).rstrip(b"=").decode()


def create_api_key(conn: psycopg.Connection[Any], user_id: str, *, prefix: str = "") -> str:
    """`generate_key` (mod.rs:354-374, 32 random bytes, base64url, `start` = 6 characters of the random
    part) and `create_api_key` (database.rs:1474-1524, `enabled` true by default); returns the key."""
    raw = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    full = prefix + raw
    now = _utcnow()
    _db(
        conn,
        'INSERT INTO "api_keys" ("id", "name", "start", "prefix", "key", "user_id", "enabled", '
        '"rate_limit_enabled", "created_at", "updated_at") VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)',
        (
            str(uuid.uuid4()),
            "ci",
            raw[:6],
            prefix or None,
            _hash_api_key(full),
            user_id,
            True,
            False,
            now,
            now,
        ),
    )
    return full


def verify_api_key(conn: psycopg.Connection[Any], key: str) -> str:
    """`validate_api_key` (mod.rs:569-607) up to the expiry check: the row by hash
    (`get_api_key_by_hash`, database.rs:1539-1550), refused when `!enabled` (591-593) or expired
    (596-607); returns the owner's user id, which `before_request` turns into a session when
    `enable_session_for_api_keys` is set (792-846). Nothing here reads the owner's ban."""
    row = _db(conn, 'SELECT * FROM "api_keys" WHERE "key" = %s', (_hash_api_key(key),)).fetchone()
    if row is None:
        raise PortError("InvalidApiKey", 401, "Invalid API key")
    if not row["enabled"]:
        raise PortError("KeyDisabled", 401, "API key is disabled")
    if row["expires_at"] is not None and _utcnow() > row["expires_at"]:
        _db(conn, 'DELETE FROM "api_keys" WHERE "id" = %s', (row["id"],))
        raise PortError("KeyExpired", 401, "API key has expired")
    return str(row["user_id"])
