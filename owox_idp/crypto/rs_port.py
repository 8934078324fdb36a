"""What idp writes into a database owned by Better Auth's Rust port (`better-auth-rs` 0.10, PostgreSQL).

Every value here is produced the way the port's own code produces it, so the port reads it back as
its own. References are to `github.com/better-auth-rs/better-auth-rs` at `0.10.x` @ bc6ebcd (identical
to v0.10.0 for these files); `tests/data/better_auth_rs/PORT.md` quotes the lines.

- Passwords: `Argon2::default()` of the `argon2` 0.5.3 crate, a PHC string
  `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` with a 16-byte salt (`SaltString::generate`) and a
  32-byte output (`crates/core/src/utils/password.rs` 49-56; argon2 `Params::DEFAULT`). The port's
  verify reads the parameters back from the string (`password.rs` 77-83), so any argon2 PHC string
  verifies; these are the port's own so that a hash idp writes is indistinguishable from its own.
- Where the hash goes: `users.metadata->>'password_hash'` is the only place sign-in reads
  (`crates/core/src/entity.rs` 32, 56-60); the admin plugin also copies it into a `credential` account
  (`crates/api/src/plugins/admin/handlers.rs` 84-97), which is what `credential_account_id` is for.
- Ids: `Uuid::new_v4().to_string()`, lowercase hyphenated text (`crates/core/src/adapters/database.rs`
  217, 530, 688, 840, 1386).
- Session tokens: `"session_" + Uuid::new_v4()`, stored and sent raw (`database.rs` 531).
- Two-factor: the secret is `totp_rs::Secret::generate_secret()` (20 random bytes) as RFC 4648 base32,
  upper case, unpadded; backup codes are 10 random alphanumerics of length 8, upper-cased, each hashed
  with `Argon2::default()`, stored as a compact JSON array string
  (`crates/api/src/plugins/two_factor.rs` 124-144, 181-203).
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from owox_idp.errors import InvalidInput

# argon2 0.5.3 `Params::DEFAULT` (argon2/src/params.rs: DEFAULT_M_COST = 19 * 1024, DEFAULT_T_COST = 2,
# DEFAULT_P_COST = 1, DEFAULT_OUTPUT_LEN = 32), Argon2id, version 0x13; `SaltString::generate` takes
# 16 random bytes (password-hash 0.5 `Salt::RECOMMENDED_LENGTH`).
ARGON2_MEMORY_COST = 19456
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
ARGON2_HASH_LEN = 32
ARGON2_SALT_LEN = 16

PASSWORD_HASH_KEY = "password_hash"  # entity.rs 32
CREDENTIAL_PROVIDER_ID = "credential"  # admin/handlers.rs 88
SESSION_TOKEN_PREFIX = "session_"  # database.rs 531

# TwoFactorConfig defaults (two_factor.rs 23-34)
BACKUP_CODE_COUNT = 10
BACKUP_CODE_LENGTH = 8
TOTP_ISSUER = "BetterAuth"
TOTP_DIGITS = 6
TOTP_PERIOD = 30
TOTP_SECRET_BYTES = 20  # totp-rs 5.7 Secret::generate_secret: `[u8; 20]`

# rand 0.8 `distributions::Alphanumeric`: uniform over these 62 symbols; the port upper-cases after.
_ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _hasher() -> Any:
    from argon2 import PasswordHasher, Type

    return PasswordHasher(
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_COST,
        parallelism=ARGON2_PARALLELISM,
        hash_len=ARGON2_HASH_LEN,
        salt_len=ARGON2_SALT_LEN,
        type=Type.ID,
    )


def new_id() -> str:
    """A row id as the port makes one: `Uuid::new_v4().to_string()` (database.rs 217, 530, 688)."""
    return str(uuid.uuid4())


def session_token() -> str:
    """A session token as `create_session` makes one: `format!("session_{}", Uuid::new_v4())`."""
    return f"{SESSION_TOKEN_PREFIX}{uuid.uuid4()}"


def verification_value(prefix: str) -> str:
    """A value-keyed verification token: `format!("{prefix}_{}", Uuid::new_v4())`.

    The port uses `reset` (password_management/handlers.rs 51), `verify` (email_verification/handlers.rs
    45), `ce` and `del` (user_management/handlers.rs 25, 142, 252).
    """
    if prefix not in ("reset", "verify", "ce", "del"):
        raise InvalidInput(f"unknown verification prefix {prefix!r}: the port uses reset, verify, ce, del")
    return f"{prefix}_{uuid.uuid4()}"


def hash_password(password: str) -> str:
    """An Argon2id PHC string with the port's parameters (`hash_password`, password.rs 49-56)."""
    if not isinstance(password, str) or password == "":
        raise InvalidInput("the password must not be empty")
    result: str = _hasher().hash(password)
    return result


def verify_password(stored: str, password: str) -> bool:
    """True when `password` matches the argon2 PHC string `stored` (parameters taken from the string)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def metadata_with_password(metadata: Mapping[str, Any] | None, password_hash: str) -> dict[str, Any]:
    """`users.metadata` with the hash under `password_hash`, other keys kept (admin/handlers.rs 361-371)."""
    out = dict(metadata or {})
    out[PASSWORD_HASH_KEY] = password_hash
    return out


def metadata_without_password(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """`users.metadata` with no password: the port's sign-in then refuses (email_password.rs 365)."""
    return {k: v for k, v in (metadata or {}).items() if k != PASSWORD_HASH_KEY}


def generate_backup_codes(count: int = BACKUP_CODE_COUNT, length: int = BACKUP_CODE_LENGTH) -> list[str]:
    """Backup codes as `generate_backup_codes` makes them (two_factor.rs 124-136): `length` symbols of
    rand's `Alphanumeric`, then `.to_uppercase()` (so letters are twice as likely as digits)."""
    if count <= 0 or length <= 0:
        raise InvalidInput("backup code count and length must be positive")
    return ["".join(secrets.choice(_ALPHANUMERIC) for _ in range(length)).upper() for _ in range(count)]


def hash_backup_codes(codes: Iterable[str]) -> str:
    """`two_factor.backup_codes`: `serde_json::to_string` of the Argon2 PHC hash of each code
    (two_factor.rs 138-144), i.e. a compact JSON array of strings."""
    return json.dumps([hash_password(code) for code in codes], separators=(",", ":"))


def generate_totp_secret() -> str:
    """`Secret::generate_secret().to_encoded()`: 20 random bytes, base32 RFC 4648, upper case, no
    padding (totp-rs 5.7 secret.rs 153-176; the port decodes with the same alphabet, which rejects
    lower case and `=`)."""
    return base64.b32encode(secrets.token_bytes(TOTP_SECRET_BYTES)).decode("ascii").rstrip("=")


def totp_uri(secret: str, account: str, issuer: str = TOTP_ISSUER) -> str:
    """The `otpauth://` URI the port returns from enable / get-totp-uri: totp-rs 5.7 `TOTP::get_url`
    (lib.rs 644-676) with the port's SHA-1, 6 digits, 30 s (two_factor.rs 146-162, 187-191).

    `urlencoding::encode` leaves only `A-Z a-z 0-9 - . _ ~` unescaped, which is `quote(..., safe="")`.
    totp-rs refuses a `:` in the issuer or the account name (lib.rs 291-296), and so does this.
    """
    if ":" in account or ":" in issuer:
        raise InvalidInput("the port's TOTP library refuses ':' in the account name or issuer")
    enc_issuer = quote(issuer, safe="")
    enc_account = quote(account, safe="")
    return f"otpauth://totp/{enc_issuer}:{enc_account}?secret={secret}&issuer={enc_issuer}"
