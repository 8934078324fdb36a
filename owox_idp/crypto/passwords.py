"""Password hashing compatible with Better Auth.

The default is Better Auth's own scrypt format (`@better-auth/utils/password`):
`<salthex32>:<keyhex128>` where the salt is 16 random bytes written as 32 lowercase hex characters and
**the ASCII bytes of that hex string** are the scrypt salt; N=16384, r=16, p=1, dkLen=64, applied to
the NFKC-normalised password.

`argon2id` produces a standard PHC string (`$argon2id$v=19$m=65536,t=3,p=4$...`, argon2-cffi's RFC 9106
low-memory profile) for deployments that plug an argon2 hasher into `emailAndPassword.password`.
Such hashers receive the password as given, so no normalisation is applied for argon2id.

`bcrypt` produces `$2b$10$...` (the maintained `bcrypt` package, cost 10 as bcryptjs' and Node bcrypt's
usual `hash(password, 10)`) for deployments whose `password.hash/verify` call bcryptjs or bcrypt; it
also verifies the `$2a$` hashes Supabase (Go's bcrypt) and Auth0 export and PHP's `$2y$`. Those hashers
receive the password as given and use only its first 72 UTF-8 bytes, so the same is done here.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata

from owox_idp.errors import InvalidInput

SCHEMES = ("scrypt", "argon2id", "bcrypt")

SCRYPT_N = 16384
SCRYPT_R = 16
SCRYPT_P = 1
SCRYPT_DKLEN = 64
SCRYPT_MAXMEM = 128 * SCRYPT_N * SCRYPT_R * 2  # 64 MiB, as Better Auth passes it

_SCRYPT_RE = re.compile(r"[0-9a-f]{32}:[0-9a-f]{128}")
# modular crypt format: $2<minor>$<2-digit cost>$<22 salt + 31 hash characters of bcrypt's base64>
BCRYPT_RE = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")
BCRYPT_ROUNDS = 10
BCRYPT_MAX_BYTES = 72  # bcrypt ignores what follows; bcryptjs and Node bcrypt truncate silently


def _scrypt_key(password: str, salt_hex: str) -> str:
    normalized = unicodedata.normalize("NFKC", password)
    key = hashlib.scrypt(
        normalized.encode("utf-8"),
        salt=salt_hex.encode("ascii"),
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=SCRYPT_DKLEN,
        maxmem=SCRYPT_MAXMEM,
    )
    return key.hex()


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise InvalidInput(f"unknown password hash scheme {scheme!r}: use one of {', '.join(SCHEMES)}")


def hash_password(password: str, *, scheme: str = "scrypt") -> str:
    """Hash `password` for `account.password` with `scheme` ("scrypt" or "argon2id")."""
    _check_scheme(scheme)
    if scheme == "argon2id":
        from argon2 import PasswordHasher

        return PasswordHasher().hash(password)
    if scheme == "bcrypt":
        import bcrypt

        return bcrypt.hashpw(_bcrypt_input(password), bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")
    salt_hex = os.urandom(16).hex()
    return f"{salt_hex}:{_scrypt_key(password, salt_hex)}"


def identify_hash(stored: str) -> str | None:
    """The scheme of a stored hash: "scrypt", "argon2id", or None when it is not recognised."""
    if _SCRYPT_RE.fullmatch(stored):
        return "scrypt"
    if stored.startswith("$argon2id$"):
        return "argon2id"
    if BCRYPT_RE.fullmatch(stored):
        return "bcrypt"
    return None


def _bcrypt_input(password: str) -> bytes:
    # bcryptjs: `stringToBytes(password)` then only the first 72 bytes enter the key schedule; the
    # Python package refuses longer input instead of truncating, so truncate as the Node hashers do
    return password.encode("utf-8")[:BCRYPT_MAX_BYTES]


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored`. Unknown or malformed hashes never match."""
    scheme = identify_hash(stored)
    if scheme == "scrypt":
        salt_hex, key_hex = stored.split(":")
        return hmac.compare_digest(_scrypt_key(password, salt_hex), key_hex)
    if scheme == "argon2id":
        from argon2 import PasswordHasher
        from argon2.exceptions import Argon2Error

        try:
            return PasswordHasher().verify(stored, password)
        except Argon2Error:
            return False
    if scheme == "bcrypt":
        import bcrypt

        try:
            return bcrypt.checkpw(_bcrypt_input(password), stored.encode("ascii"))
        except ValueError:  # a salt the library rejects
            return False
    return False


def utf16_length(text: str) -> int:
    """The length JavaScript reports for `text` (UTF-16 code units)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def validate_password_length(password: str, *, minimum: int = 8, maximum: int = 128) -> None:
    """Apply Better Auth's length policy (JS string length, i.e. UTF-16 code units)."""
    length = utf16_length(password)
    if length < minimum:
        raise InvalidInput(f"password is too short: {length} characters, at least {minimum} are required")
    if length > maximum:
        raise InvalidInput(f"password is too long: {length} characters, at most {maximum} are allowed")


check_scheme = _check_scheme  # public: services check a scheme before they start hashing
