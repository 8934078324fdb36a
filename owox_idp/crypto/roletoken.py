"""OWOX's role token (`CryptoService.encrypt` / `decrypt` in packages/idp-better-auth).

The role travels in the magic-link callback path as an HS256 JWT signed with the raw secret:
claims `{payload, iat, exp: iat+3600, iss: "idp-better-auth"}` in that order (as jsonwebtoken writes
them), header `{"alg":"HS256","typ":"JWT"}`. `payload` is
`base64(utf8("<saltHex>:<ivHex>:<ciphertextHex>"))` where the ciphertext is AES-256-CBC (PKCS#7) of
the role with a random 16-byte IV and key = scrypt(utf8(secret), salt, 32) with Node's defaults
N=16384, r=8, p=1. The salt is 16 random bytes, passed to scrypt **as raw bytes** (Node's
`randomBytes(16)` Buffer; the hex form only appears in the payload).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import time
import warnings
from typing import Any

ISSUER = "idp-better-auth"
ALGORITHM = "HS256"
DEFAULT_LIFETIME = 3600  # CryptoService.expiresIn, hard-coded on the server

_SCRYPT_N = 16384
_SCRYPT_R = 8
_SCRYPT_P = 1
_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{2})+")


class RoleTokenError(Exception):
    """A role token is malformed, expired, from another issuer, or signed with another secret."""


def _derive_key(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(
        secret.encode("utf-8"),
        salt=salt,
        n=_SCRYPT_N,
        r=_SCRYPT_R,
        p=_SCRYPT_P,
        dklen=32,
        maxmem=64 * 1024 * 1024,
    )


def _encrypt_data(data: str, secret: str) -> str:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    salt = os.urandom(16)
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_derive_key(secret, salt)), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    joined = f"{salt.hex()}:{iv.hex()}:{ciphertext.hex()}"
    return base64.b64encode(joined.encode("utf-8")).decode("ascii")


def _decrypt_data(payload: str, secret: str) -> str:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    try:
        joined = base64.b64decode(payload, validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise RoleTokenError("invalid role token: the payload is not base64") from None
    parts = joined.split(":")
    if len(parts) != 3 or not all(_HEX_RE.fullmatch(p) for p in parts):
        raise RoleTokenError("invalid role token: the payload is not '<salt>:<iv>:<ciphertext>'")
    salt, iv, ciphertext = (bytes.fromhex(p) for p in parts)
    if len(iv) != 16 or len(ciphertext) % 16:
        raise RoleTokenError("invalid role token: bad IV or ciphertext length")
    decryptor = Cipher(algorithms.AES(_derive_key(secret, salt)), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    try:
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise RoleTokenError("invalid role token: it was encrypted with another secret") from None


def encrypt_role(role: str, secret: str, *, now: int | None = None, lifetime: int = DEFAULT_LIFETIME) -> str:
    """Mint the role token OWOX puts in `/auth/magic-link-success/<token>`."""
    import jwt

    iat = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "payload": _encrypt_data(role, secret),
        "iat": iat,
        "exp": iat + lifetime,
        "iss": ISSUER,
    }
    with warnings.catch_warnings():
        _ignore_short_key_warning()
        return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decrypt_role(token: str, secret: str) -> str:
    """Check a role token as OWOX does (HS256, expiry, issuer) and return the role. Raises RoleTokenError."""
    import jwt

    try:
        with warnings.catch_warnings():
            _ignore_short_key_warning()
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iss"]},
            )
    except jwt.ExpiredSignatureError:
        raise RoleTokenError("the role token has expired") from None
    except jwt.InvalidIssuerError:
        raise RoleTokenError("invalid role token: wrong issuer") from None
    except jwt.InvalidSignatureError:
        raise RoleTokenError("invalid role token: it was signed with another secret") from None
    except jwt.InvalidTokenError as exc:
        raise RoleTokenError(f"invalid role token: {exc}") from None
    payload = claims.get("payload")
    if not isinstance(payload, str) or not payload:
        raise RoleTokenError("invalid role token: missing encrypted payload")
    return _decrypt_data(payload, secret)


def _ignore_short_key_warning() -> None:
    import jwt

    category = getattr(jwt, "InsecureKeyLengthWarning", None)
    if category is not None:
        warnings.simplefilter("ignore", category)
