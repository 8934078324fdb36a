"""Two-factor secrets, otpauth URIs, TOTP codes and backup codes, made as Better Auth makes them.

The TOTP secret is `generateRandomString(32)` and the HMAC-SHA1 key is **the UTF-8 bytes of that
string** (not a base32 decoding of it). Secrets imported from other providers are stored as
`base32:<BASE32>` and then the base32 part is decoded to the key bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import struct
import time

from owox_idp.crypto.cookies import encode_uri_component
from owox_idp.crypto.random import random_string

BASE32_PREFIX = "base32:"
DEFAULT_DIGITS = 6
DEFAULT_PERIOD = 30
_BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# The application/x-www-form-urlencoded byte set URLSearchParams leaves as is
_FORM_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._")


def generate_totp_secret() -> str:
    """A new secret: 32 characters from `a-z 0-9 A-Z -_`."""
    return random_string(32)


def _base32_decode(data: str) -> bytes:
    """`@better-auth/utils/base32` decode: stops at '=', ignores leftover bits, rejects other characters."""
    out = bytearray()
    buffer = 0
    bits = 0
    for char in data:
        if char == "=":
            break
        value = _BASE32_ALPHABET.find(char)
        if value < 0:
            raise ValueError(f"invalid base32 character {char!r} in the TOTP secret")
        buffer = ((buffer << 5) | value) & 0xFFFF
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((buffer >> bits) & 0xFF)
    return bytes(out)


def totp_key(secret: str) -> bytes:
    """The HMAC key for a (decrypted) `twoFactor.secret`."""
    if secret.startswith(BASE32_PREFIX):
        return _base32_decode(secret[len(BASE32_PREFIX) :].upper())
    return secret.encode("utf-8")


def base32_secret(secret: str) -> str:
    """The secret as authenticator apps take it: base32 of the key bytes, no padding."""
    return base64.b32encode(totp_key(secret)).decode("ascii").rstrip("=")


def _form_encode(value: str) -> str:
    """URLSearchParams serialisation of one name or value (space -> '+')."""
    out: list[str] = []
    for byte in value.encode("utf-8"):
        if byte in _FORM_SAFE:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def otpauth_uri(
    secret: str, *, issuer: str, account: str, digits: int = DEFAULT_DIGITS, period: int = DEFAULT_PERIOD
) -> str:
    """`createOTP(secret, {digits, period}).url(issuer, account)`, byte for byte."""
    params = [
        ("secret", base32_secret(secret)),
        ("issuer", issuer),
        ("digits", str(digits)),
        ("period", str(period)),
    ]
    query = "&".join(f"{_form_encode(k)}={_form_encode(v)}" for k, v in params)
    return f"otpauth://totp/{encode_uri_component(issuer)}:{encode_uri_component(account)}?{query}"


def hotp(key: bytes, counter: int, *, digits: int = DEFAULT_DIGITS) -> str:
    """RFC 4226 HOTP with HMAC-SHA1."""
    if not 1 <= digits <= 8:
        raise ValueError("digits must be between 1 and 8")
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


def _counter(at: float | None, period: int) -> int:
    return math.floor((time.time() if at is None else at) / period)


def totp_now(
    secret: str, *, at: float | None = None, digits: int = DEFAULT_DIGITS, period: int = DEFAULT_PERIOD
) -> str:
    """The TOTP code for `secret` at `at` (Unix seconds, default now)."""
    return hotp(totp_key(secret), _counter(at, period), digits=digits)


def verify_totp(
    secret: str,
    code: str,
    *,
    at: float | None = None,
    window: int = 1,
    digits: int = DEFAULT_DIGITS,
    period: int = DEFAULT_PERIOD,
) -> bool:
    """Whether `code` is valid within ±`window` steps, as Better Auth's verifyTOTP accepts it."""
    key = totp_key(secret)
    counter = _counter(at, period)
    matched = False
    for step in range(-window, window + 1):
        matched = hmac.compare_digest(code, hotp(key, counter + step, digits=digits)) or matched
    return matched


def generate_backup_codes(amount: int = 10, *, length: int = 10) -> list[str]:
    """Backup codes: `generateRandomString(10, "a-z", "0-9", "A-Z")` formatted `xxxxx-xxxxx`."""
    codes = (random_string(length, "a-z", "0-9", "A-Z") for _ in range(amount))
    return [f"{code[:5]}-{code[5:]}" for code in codes]
