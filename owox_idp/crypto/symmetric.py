"""Better Auth's `symmetricEncrypt` / `symmetricDecrypt` (used for `twoFactor.secret` and `backupCodes`).

key = SHA-256(utf8(secret)); XChaCha20-Poly1305 with a random 24-byte nonce and no associated data;
the value is lowercase hex of `nonce || ciphertext || tag`.

With a single secret (`BETTER_AUTH_SECRET`) the bare hex is stored. With versioned secrets
(`BETTER_AUTH_SECRETS="2:new,1:old"`) Better Auth stores `$ba$<version>$<hex>`, encrypted with that
version's secret, and decrypts bare hex with the legacy `BETTER_AUTH_SECRET`.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

ENVELOPE_PREFIX = "$ba$"
NONCE_BYTES = 24
TAG_BYTES = 16

_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{2})*")
_JS_INT_RE = re.compile(r"\s*([+-]?)(\d+)")


@dataclass(frozen=True)
class Secrets:
    """The server's secret(s). `current` signs and encrypts; `versions` is set with BETTER_AUTH_SECRETS
    (`"2:new,1:old"`), and `legacy` is the BETTER_AUTH_SECRET that decrypts values without an envelope."""

    current: str
    current_version: int | None = None
    versions: tuple[tuple[int, str], ...] = ()
    legacy: str | None = None

    def for_version(self, version: int) -> str | None:
        for v, s in self.versions:
            if v == version:
                return s
        return None


class DecryptionError(Exception):
    """A stored value could not be decrypted: another secret, a retired secret version, or corrupt data."""


def _key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def raw_encrypt(plaintext: str, secret: str) -> str:
    """Encrypt with one secret and return the bare hex (no envelope)."""
    from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt

    nonce = os.urandom(NONCE_BYTES)
    sealed: bytes = crypto_aead_xchacha20poly1305_ietf_encrypt(
        plaintext.encode("utf-8"), None, nonce, _key(secret)
    )
    return (nonce + sealed).hex()


def raw_decrypt(data: str, secret: str) -> str:
    """Decrypt bare hex with one secret."""
    from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt
    from nacl.exceptions import CryptoError

    if not _HEX_RE.fullmatch(data) or len(data) < 2 * (NONCE_BYTES + TAG_BYTES):
        raise DecryptionError("the stored value is not an encrypted Better Auth value (expected hex)")
    raw = bytes.fromhex(data)
    try:
        plain: bytes = crypto_aead_xchacha20poly1305_ietf_decrypt(
            raw[NONCE_BYTES:], None, raw[:NONCE_BYTES], _key(secret)
        )
    except CryptoError:
        raise DecryptionError(
            "the stored value was encrypted with another secret (or is corrupt): check the configured secret"
        ) from None
    # TextDecoder().decode(): replacement characters for bad UTF-8, a leading BOM dropped
    text = plain.decode("utf-8", errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


def parse_envelope(data: str) -> tuple[int, str] | None:
    """`$ba$<version>$<hex>` -> (version, hex), parsed as leniently as Better Auth's parseEnvelope."""
    if not data.startswith(ENVELOPE_PREFIX):
        return None
    end = data.find("$", len(ENVELOPE_PREFIX))
    if end == -1:
        return None
    match = _JS_INT_RE.match(data[len(ENVELOPE_PREFIX) : end])  # parseInt(..., 10)
    if match is None:
        return None
    version = int(match.group(2))
    if match.group(1) == "-" and version != 0:
        return None
    return version, data[end + 1 :]


def format_envelope(version: int, ciphertext: str) -> str:
    return f"{ENVELOPE_PREFIX}{version}${ciphertext}"


def encrypt(plaintext: str, secrets: Secrets) -> str:
    """`symmetricEncrypt` with the server's secret configuration."""
    if secrets.current_version is None:
        return raw_encrypt(plaintext, secrets.current)
    secret = secrets.for_version(secrets.current_version) or secrets.current
    return format_envelope(secrets.current_version, raw_encrypt(plaintext, secret))


def decrypt(stored: str, secrets: Secrets) -> str:
    """`symmetricDecrypt` with the server's secret configuration. Raises DecryptionError."""
    envelope = parse_envelope(stored)
    if envelope is not None:
        version, ciphertext = envelope
        secret = secrets.for_version(version)
        if secret is None:
            if secrets.current_version is None:
                raise DecryptionError(
                    f"the stored value was encrypted with secret version {version} (BETTER_AUTH_SECRETS), "
                    "but only a single secret is configured"
                )
            raise DecryptionError(
                f"the stored value was encrypted with secret version {version}, "
                "which is not in BETTER_AUTH_SECRETS (it may have been retired)"
            )
        return raw_decrypt(ciphertext, secret)
    if secrets.current_version is not None and secrets.legacy:
        return raw_decrypt(stored, secrets.legacy)
    return raw_decrypt(stored, secrets.current)
