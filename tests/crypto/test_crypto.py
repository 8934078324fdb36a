"""Unit tests for owox_idp.crypto, plus cross-checks against the real Better Auth / OWOX code in Node.

The Node cross-checks run one Node process for the whole module (see `node`): Python produces its
values first, Node checks them and produces its own, and each test asserts one part of the answer.
They are skipped when Node or tests/interop/node/node_modules is missing, and fail instead when
IDP_TEST_REQUIRE_ALL=1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from owox_idp.config import Secrets
from owox_idp.crypto import cookies, passwords, random, roletoken, symmetric, totp
from owox_idp.errors import InvalidInput
from owox_idp.services import hashing

NODE_DIR = Path(__file__).parents[1] / "interop" / "node"

# ---------------------------------------------------------------------------------------------------
# random


def _fake_token_bytes(monkeypatch: pytest.MonkeyPatch, stream: list[int]) -> None:
    data = iter(stream)

    def fake(n: int) -> bytes:
        return bytes(next(data, 0) for _ in range(n))

    monkeypatch.setattr("owox_idp.crypto.random.secrets.token_bytes", fake)
    random._clear_pools()  # symbols drawn before the fake stream are not used
    monkeypatch.setattr(random._Pool, "DRAW", 1)  # draw no more than asked, as Better Auth does


def test_generate_id_shape() -> None:
    ids = {random.generate_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", i) for i in ids)
    assert re.fullmatch(r"[A-Za-z0-9]{10}", random.generate_id(10))


def test_ordered_ids_have_generate_ids_shape_and_sort_in_the_order_they_were_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = iter([1_700_000_000_000_000_000 + i * 1_000_000 for i in range(200)] + [2**62])
    monkeypatch.setattr("owox_idp.crypto.random.time.time_ns", lambda: next(clock))
    ids = [random.ordered_id() for _ in range(201)]
    assert len(set(ids)) == 201
    assert all(re.fullmatch(r"[0-9a-z]{9}[A-Za-z0-9]{23}", i) for i in ids)
    assert ids == sorted(ids)  # byte order; digits and lower case only in the time part: every collation
    assert ids[0][:9] == "0loyw3v28"  # 1_700_000_000_000 ms in base 36
    assert re.fullmatch(r"[A-Za-z0-9]{6}", random.ordered_id(6))


def test_ordered_ids_in_one_millisecond_are_all_different(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("owox_idp.crypto.random.time.time_ns", lambda: 1_700_000_000_000_000_000)
    ids = {random.ordered_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert {i[:9] for i in ids} == {"0loyw3v28"}


def test_ordered_uuid_is_a_version_7_uuid_in_time_order(monkeypatch: pytest.MonkeyPatch) -> None:
    import uuid

    clock = iter(range(1_700_000_000_000_000_000, 1_800_000_000_000_000_000, 7_000_000_000_000))
    monkeypatch.setattr("owox_idp.crypto.random.time.time_ns", lambda: next(clock))
    made = [random.ordered_uuid() for _ in range(100)]
    parsed = [uuid.UUID(u) for u in made]
    assert all(str(u) == text for u, text in zip(parsed, made, strict=True))  # canonical lower-case text
    assert {u.version for u in parsed} == {7}
    assert {u.variant for u in parsed} == {uuid.RFC_4122}
    assert made == sorted(made)
    assert parsed[0].int >> 80 == 1_700_000_000_000  # the first 48 bits are the milliseconds
    assert len(set(made)) == 100


def test_generate_id_rejection_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    # alphabet a-z A-Z 0-9 (62 symbols): bytes >= 248 are dropped, others map to byte % 62
    _fake_token_bytes(monkeypatch, [248, 255, 0, 61, 62, 247, 26, 52])
    assert random.generate_id(6) == "a9a9A0"


def test_random_string_default_alphabet_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # default alphabet is a-z 0-9 A-Z -_ (64 symbols, maxValid 256: nothing rejected)
    _fake_token_bytes(monkeypatch, [0, 26, 36, 62, 63, 255])
    assert random.random_string(6) == "a0A-__"


def test_forked_child_never_repeats_the_parents_symbols() -> None:
    # ids and tokens are drawn from a pool of random symbols: a forked child must not reuse the
    # parent's pool (two processes would hand out the same magic-link tokens)
    random.generate_id()  # the parent's pool holds symbols now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write, random.generate_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert re.fullmatch(r"[A-Za-z0-9]{32}", child)
    assert child != random.generate_id()


def test_ids_from_threads_are_never_shared() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: random.generate_id(), range(20000)))
    assert len(set(ids)) == 20000


def test_random_string_alphabets() -> None:
    assert re.fullmatch(r"[a-zA-Z]{32}", random.random_string(32, "a-z", "A-Z"))
    assert re.fullmatch(r"[0-9]{100}", random.random_string(100, "0-9"))
    assert re.fullmatch(r"[a-zA-Z0-9_-]{200}", random.random_string(200))
    # every symbol of the default alphabet shows up eventually
    assert len(set(random.random_string(4000))) == 64


def test_random_string_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unsupported alphabet"):
        random.random_string(5, "a-f")
    with pytest.raises(ValueError, match="positive"):
        random.random_string(0)


def test_token_helpers() -> None:
    assert re.fullmatch(r"[a-zA-Z]{32}", random.magic_link_token())
    assert re.fullmatch(r"[a-zA-Z0-9]{24}", random.reset_token())
    assert re.fullmatch(r"[a-zA-Z0-9]{32}", random.session_token())


# ---------------------------------------------------------------------------------------------------
# passwords


def test_scrypt_format_and_verify() -> None:
    stored = passwords.hash_password("correct horse")
    assert re.fullmatch(r"[0-9a-f]{32}:[0-9a-f]{128}", stored)
    assert passwords.identify_hash(stored) == "scrypt"
    assert passwords.verify_password("correct horse", stored)
    assert not passwords.verify_password("correct horsE", stored)


def test_scrypt_salt_is_the_hex_string() -> None:
    stored = passwords.hash_password("pw")
    salt_hex, key_hex = stored.split(":")
    expected = hashlib.scrypt(b"pw", salt=salt_hex.encode(), n=16384, r=16, p=1, dklen=64, maxmem=64 << 20)
    assert key_hex == expected.hex()


def test_scrypt_nfkc() -> None:
    stored = passwords.hash_password("\ufb01le")  # the "fi" ligature normalises to "fi"
    assert passwords.verify_password("file", stored)


def test_argon2id() -> None:
    stored = passwords.hash_password("pässwörd", scheme="argon2id")
    assert stored.startswith("$argon2id$v=19$")
    assert passwords.identify_hash(stored) == "argon2id"
    assert passwords.verify_password("pässwörd", stored)
    assert not passwords.verify_password("passwort", stored)


@pytest.mark.parametrize(
    "stored",
    ["", "plain", "$2b$10$abcdefghijklmnopqrstuu", "abc:def", "A" * 32 + ":" + "0" * 128, "$argon2i$v=19$x"],
)
def test_unknown_hashes(stored: str) -> None:
    assert passwords.identify_hash(stored) is None
    assert not passwords.verify_password("anything", stored)


def test_corrupt_argon2_hash_does_not_raise() -> None:
    assert not passwords.verify_password("x", "$argon2id$v=19$m=65536,t=3,p=4$broken")


def test_unknown_scheme() -> None:
    with pytest.raises(InvalidInput, match="unknown password hash scheme"):
        passwords.hash_password("x", scheme="md5")
    with pytest.raises(InvalidInput):
        hashing.hash_passwords(["x"], scheme="md5")


def test_password_length_counts_utf16_units() -> None:
    passwords.validate_password_length("12345678")
    passwords.validate_password_length("x" * 128)
    with pytest.raises(InvalidInput, match="too short: 7 characters, at least 8"):
        passwords.validate_password_length("1234567")
    with pytest.raises(InvalidInput, match="too long: 129 characters, at most 128"):
        passwords.validate_password_length("x" * 129)
    # 4 emoji are 4 code points but 8 UTF-16 units, which is what Better Auth measures
    passwords.validate_password_length("\U0001f600" * 4)
    with pytest.raises(InvalidInput, match="too long: 130"):
        passwords.validate_password_length("\U0001f600" * 65)
    with pytest.raises(InvalidInput, match="too short"):
        passwords.validate_password_length("abc", minimum=4, maximum=10)


def test_password_length_message_is_one_line() -> None:
    with pytest.raises(InvalidInput) as info:
        passwords.validate_password_length("secret1")
    assert "\n" not in info.value.message
    assert "secret1" not in info.value.message


def test_hash_passwords_inline_and_pool() -> None:
    few = ["a1", "b2"]
    hashed = hashing.hash_passwords(few, scheme="scrypt")
    assert [passwords.verify_password(p, h) for p, h in zip(few, hashed, strict=True)] == [True, True]
    many = [f"password-{i}" for i in range(4)]
    hashed = hashing.hash_passwords(many, scheme="scrypt", workers=2)
    assert len(hashed) == 4
    assert all(passwords.verify_password(p, h) for p, h in zip(many, hashed, strict=True))
    assert not passwords.verify_password(many[0], hashed[1])  # order preserved
    assert hashing.hash_passwords([], scheme="argon2id") == []


# ---------------------------------------------------------------------------------------------------
# symmetric

PLAIN = Secrets(current="plain-secret-0123456789abcdef0123456789")
VERSIONED = Secrets(
    current="secret-v2-0123456789abcdef0123456789",
    current_version=2,
    versions=((2, "secret-v2-0123456789abcdef0123456789"), (1, "secret-v1-0123456789abcdef0123456789")),
    legacy="legacy-secret-0123456789abcdef0123456789",
)


def test_symmetric_roundtrip_and_format() -> None:
    value = symmetric.encrypt("JBSWY3DPEHPK3PXP", PLAIN)
    assert re.fullmatch(r"[0-9a-f]+", value)
    assert len(value) == 2 * (40 + len("JBSWY3DPEHPK3PXP"))
    assert symmetric.decrypt(value, PLAIN) == "JBSWY3DPEHPK3PXP"
    assert symmetric.decrypt(value.upper(), PLAIN) == "JBSWY3DPEHPK3PXP"  # noble's hexToBytes accepts it
    assert symmetric.encrypt("x", PLAIN) != symmetric.encrypt("x", PLAIN)  # random nonce
    assert symmetric.decrypt(symmetric.encrypt("ünï ☃", PLAIN), PLAIN) == "ünï ☃"


def test_symmetric_known_construction() -> None:
    """nonce || XChaCha20-Poly1305(key=SHA-256(secret)) checked with `cryptography` (HChaCha20 + ChaCha20)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    value = bytes.fromhex(symmetric.encrypt("hello world", PLAIN))
    nonce, sealed = value[:24], value[24:]
    key = hashlib.sha256(PLAIN.current.encode()).digest()
    # HChaCha20 subkey = the ChaCha20 block with counter/nonce = nonce[:16], minus the feed-forward
    block = Cipher(algorithms.ChaCha20(key, nonce[:16]), mode=None).encryptor().update(bytes(64))
    words = [int.from_bytes(block[i : i + 4], "little") for i in range(0, 64, 4)]
    consts = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    inputs = consts + [int.from_bytes(key[i : i + 4], "little") for i in range(0, 32, 4)]
    inputs += [int.from_bytes(nonce[i : i + 4], "little") for i in range(0, 16, 4)]
    out = [(words[i] - inputs[i]) % 2**32 for i in (0, 1, 2, 3, 12, 13, 14, 15)]
    subkey = b"".join(w.to_bytes(4, "little") for w in out)
    plain = ChaCha20Poly1305(subkey).decrypt(b"\0" * 4 + nonce[16:], sealed, None)
    assert plain == b"hello world"


def test_symmetric_wrong_secret_and_corruption() -> None:
    value = symmetric.encrypt("data", PLAIN)
    with pytest.raises(symmetric.DecryptionError, match="encrypted with another secret"):
        symmetric.decrypt(value, Secrets(current="other"))
    tampered = value[:-2] + ("00" if value[-2:] != "00" else "11")
    with pytest.raises(symmetric.DecryptionError, match="another secret"):
        symmetric.decrypt(tampered, PLAIN)
    for junk in ("", "zz", "abc", "00" * 39, "0 0" * 50):
        with pytest.raises(symmetric.DecryptionError, match="not an encrypted"):
            symmetric.decrypt(junk, PLAIN)


def test_symmetric_versioned_envelope() -> None:
    value = symmetric.encrypt("totp-secret", VERSIONED)
    assert value.startswith("$ba$2$")
    assert re.fullmatch(r"\$ba\$2\$[0-9a-f]+", value)
    assert symmetric.decrypt(value, VERSIONED) == "totp-secret"
    # older versions still decrypt
    v1 = Secrets(current=VERSIONED.versions[1][1], current_version=1, versions=VERSIONED.versions)
    old = symmetric.encrypt("old", v1)
    assert old.startswith("$ba$1$")
    assert symmetric.decrypt(old, VERSIONED) == "old"
    # bare hex is decrypted with the legacy secret
    legacy_value = symmetric.encrypt("legacy", Secrets(current=VERSIONED.legacy or ""))
    assert symmetric.decrypt(legacy_value, VERSIONED) == "legacy"
    # ...or with the current secret when no legacy secret is configured
    no_legacy = Secrets(current=VERSIONED.current, current_version=2, versions=VERSIONED.versions)
    bare = symmetric.raw_encrypt("bare", VERSIONED.current)
    assert symmetric.decrypt(bare, no_legacy) == "bare"


def test_symmetric_retired_or_unexpected_version() -> None:
    value = symmetric.format_envelope(7, symmetric.raw_encrypt("x", "gone"))
    with pytest.raises(symmetric.DecryptionError, match="version 7, which is not in BETTER_AUTH_SECRETS"):
        symmetric.decrypt(value, VERSIONED)
    with pytest.raises(symmetric.DecryptionError, match="only a single secret is configured"):
        symmetric.decrypt(symmetric.encrypt("x", VERSIONED), PLAIN)


def test_parse_envelope_like_javascript() -> None:
    assert symmetric.parse_envelope("$ba$12$abcd") == (12, "abcd")
    assert symmetric.parse_envelope("$ba$0$") == (0, "")
    assert symmetric.parse_envelope("$ba$3x$ab") == (3, "ab")  # parseInt("3x") == 3
    assert symmetric.parse_envelope("$ba$-0$ab") == (0, "ab")
    assert symmetric.parse_envelope("$ba$-1$ab") is None
    assert symmetric.parse_envelope("$ba$x$ab") is None
    assert symmetric.parse_envelope("$ba$1") is None
    assert symmetric.parse_envelope("abcd") is None


# ---------------------------------------------------------------------------------------------------
# role token


def _jwt_part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def test_role_token_layout() -> None:
    token = roletoken.encrypt_role("editor", "s3cret", now=1_700_000_000)
    assert _jwt_part(token, 0) == {"alg": "HS256", "typ": "JWT"}
    claims = _jwt_part(token, 1)
    assert list(claims) == ["payload", "iat", "exp", "iss"]  # jsonwebtoken's order
    assert claims["iat"] == 1_700_000_000
    assert claims["exp"] == 1_700_003_600
    assert claims["iss"] == "idp-better-auth"
    salt_hex, iv_hex, ct_hex = base64.b64decode(claims["payload"]).decode().split(":")
    assert re.fullmatch(r"[0-9a-f]{32}", salt_hex)
    assert re.fullmatch(r"[0-9a-f]{32}", iv_hex)
    assert re.fullmatch(r"[0-9a-f]{32}", ct_hex)  # "editor" pads to one block
    # key = scrypt(secret, raw salt bytes, N=16384 r=8 p=1, 32)
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = hashlib.scrypt(b"s3cret", salt=bytes.fromhex(salt_hex), n=16384, r=8, p=1, dklen=32)
    dec = Cipher(algorithms.AES(key), modes.CBC(bytes.fromhex(iv_hex))).decryptor()
    padded = dec.update(bytes.fromhex(ct_hex)) + dec.finalize()
    assert padded == b"editor" + bytes([10]) * 10


def test_role_token_roundtrip() -> None:
    for role in ("admin", "editor", "viewer", "a" * 16, "ünicode"):
        assert roletoken.decrypt_role(roletoken.encrypt_role(role, "secret-1"), "secret-1") == role


def test_role_token_failures() -> None:
    import jwt

    token = roletoken.encrypt_role("admin", "right-secret")
    with pytest.raises(roletoken.RoleTokenError, match="another secret"):
        roletoken.decrypt_role(token, "wrong-secret")
    expired = roletoken.encrypt_role("admin", "right-secret", now=int(time.time()) - 7200)
    with pytest.raises(roletoken.RoleTokenError, match="expired"):
        roletoken.decrypt_role(expired, "right-secret")
    short = roletoken.encrypt_role("admin", "right-secret", lifetime=-1)
    with pytest.raises(roletoken.RoleTokenError, match="expired"):
        roletoken.decrypt_role(short, "right-secret")
    with pytest.raises(roletoken.RoleTokenError, match="invalid role token"):
        roletoken.decrypt_role("not-a-jwt", "right-secret")
    now = int(time.time())
    other_issuer = jwt.encode(
        {"payload": "eA==", "iat": now, "exp": now + 60, "iss": "someone"}, "right-secret" * 3, "HS256"
    )
    with pytest.raises(roletoken.RoleTokenError, match="wrong issuer"):
        roletoken.decrypt_role(other_issuer, "right-secret" * 3)
    bad_payload = jwt.encode(
        {
            "payload": base64.b64encode(b"zz:yy").decode(),
            "iat": now,
            "exp": now + 60,
            "iss": "idp-better-auth",
        },
        "right-secret" * 3,
        "HS256",
    )
    with pytest.raises(roletoken.RoleTokenError, match="salt"):
        roletoken.decrypt_role(bad_payload, "right-secret" * 3)
    no_payload = jwt.encode(
        {"iat": now, "exp": now + 60, "iss": "idp-better-auth"}, "right-secret" * 3, "HS256"
    )
    with pytest.raises(roletoken.RoleTokenError, match="missing encrypted payload"):
        roletoken.decrypt_role(no_payload, "right-secret" * 3)


def test_role_token_short_secret_is_quiet() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert roletoken.decrypt_role(roletoken.encrypt_role("viewer", "short"), "short") == "viewer"


# ---------------------------------------------------------------------------------------------------
# totp


def test_totp_secret_shape() -> None:
    secret = totp.generate_totp_secret()
    assert re.fullmatch(r"[a-zA-Z0-9_-]{32}", secret)


def test_totp_rfc6238_vectors() -> None:
    # RFC 6238 appendix B (SHA-1): the key is the ASCII string itself, as Better Auth uses its secrets
    secret = "12345678901234567890"
    vectors = {59: "94287082", 1111111109: "07081804", 1234567890: "89005924", 20000000000: "65353130"}
    for at, code in vectors.items():
        assert totp.totp_now(secret, at=at, digits=8) == code
    assert totp.totp_now(secret, at=59) == "287082"
    assert totp.totp_now(secret, at=59.999) == totp.totp_now(secret, at=30)


def test_totp_base32_prefix() -> None:
    raw = "12345678901234567890"
    b32 = base64.b32encode(raw.encode()).decode()
    assert totp.totp_now("base32:" + b32, at=59, digits=8) == "94287082"
    assert totp.totp_now("base32:" + b32.lower().rstrip("="), at=59, digits=8) == "94287082"
    assert totp.base32_secret("base32:" + b32.lower()) == b32.rstrip("=")
    with pytest.raises(ValueError, match="invalid base32"):
        totp.totp_key("base32:not*base32")


def test_totp_now_defaults_to_the_clock() -> None:
    secret = totp.generate_totp_secret()
    before = totp.totp_now(secret, at=time.time())
    assert totp.totp_now(secret) in {before, totp.totp_now(secret, at=time.time())}


def test_verify_totp_window() -> None:
    secret = totp.generate_totp_secret()
    at = 1_700_000_000.0
    assert totp.verify_totp(secret, totp.totp_now(secret, at=at), at=at)
    assert totp.verify_totp(secret, totp.totp_now(secret, at=at - 30), at=at)
    assert totp.verify_totp(secret, totp.totp_now(secret, at=at + 30), at=at)
    assert not totp.verify_totp(secret, totp.totp_now(secret, at=at + 90), at=at)
    assert not totp.verify_totp(secret, "12345", at=at)


def test_base32_secret() -> None:
    assert totp.base32_secret("12345678901234567890") == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert totp.base32_secret("a") == "ME"  # no padding
    secret = totp.generate_totp_secret()
    assert base64.b32decode(totp.base32_secret(secret) + "=" * (-len(totp.base32_secret(secret)) % 8)) == (
        secret.encode()
    )


def test_otpauth_uri() -> None:
    uri = totp.otpauth_uri("12345678901234567890", issuer="Better Auth", account="dave@example.com")
    assert uri == (
        "otpauth://totp/Better%20Auth:dave%40example.com"
        "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Better+Auth&digits=6&period=30"
    )
    uri = totp.otpauth_uri("s", issuer="A~B*(c)!'", account="x+y@z.io", digits=8, period=60)
    assert (
        uri == "otpauth://totp/A~B*(c)!':x%2By%40z.io?secret=OM&issuer=A%7EB*%28c%29%21%27&digits=8&period=60"
    )
    uri = totp.otpauth_uri("s", issuer="Ünï & Co/?#=", account="é")
    assert uri.startswith("otpauth://totp/%C3%9Cn%C3%AF%20%26%20Co%2F%3F%23%3D:%C3%A9?")
    assert "&issuer=%C3%9Cn%C3%AF+%26+Co%2F%3F%23%3D&" in uri


def test_backup_codes() -> None:
    codes = totp.generate_backup_codes()
    assert len(codes) == 10
    assert all(re.fullmatch(r"[a-zA-Z0-9]{5}-[a-zA-Z0-9]{5}", c) for c in codes)
    assert len(set(codes)) == 10
    assert len(totp.generate_backup_codes(3)) == 3


# ---------------------------------------------------------------------------------------------------
# cookies


def test_sign_cookie_value() -> None:
    token = "agLbrvTokenValue0123456789abcdef"
    value = cookies.sign_cookie_value(token, "secret")
    signature = base64.b64encode(hmac.new(b"secret", token.encode(), hashlib.sha256).digest()).decode()
    assert len(signature) == 44
    assert value == token + "." + signature.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def test_encode_uri_component() -> None:
    assert (
        cookies.encode_uri_component("a b+c/d=e?&#~*'()!-_.é") == "a%20b%2Bc%2Fd%3De%3F%26%23~*'()!-_.%C3%A9"
    )


# ---------------------------------------------------------------------------------------------------
# cross-checks against the real Node implementations

NODE_SCRIPT = r"""
import { hashPassword, verifyPassword, symmetricEncrypt, symmetricDecrypt, makeSignature }
  from "better-auth/crypto";
import * as ba16 from "better-auth-16/crypto";
import { createOTP } from "@better-auth/utils/otp";
import { base32 } from "@better-auth/utils/base32";
import { jwtVerify, SignJWT, decodeProtectedHeader } from "jose";
import { scrypt, createDecipheriv, createCipheriv, randomBytes } from "node:crypto";
import { promisify } from "node:util";

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const out = {};
async function check(name, fn) {
  try { out[name] = await fn(); } catch (e) { out[name] = { error: String(e && e.stack || e) }; }
}
const keyObject = (v) => ({ keys: new Map(v.versions), currentVersion: v.currentVersion,
                            legacySecret: v.legacy || undefined });

// (a) passwords
const pw = input.pw;
await check("verify_python_hash", () => verifyPassword({ hash: pw.hash, password: pw.password }));
await check("verify_python_hash_wrong", () => verifyPassword({ hash: pw.hash, password: pw.password + "x" }));
await check("node_hash", () => hashPassword(input.pw.password));

// (b) symmetric encryption
const sym = input.sym;
for (const [name, mod] of [["17", { symmetricEncrypt, symmetricDecrypt }], ["16", ba16]]) {
  await check("decrypt_plain_" + name, () => mod.symmetricDecrypt({ key: sym.secret, data: sym.plain }));
  await check("encrypt_plain_" + name, () => mod.symmetricEncrypt({ key: sym.secret, data: sym.text }));
  const key = keyObject(sym.versioned);
  await check("decrypt_envelope_" + name, () => mod.symmetricDecrypt({ key, data: sym.envelope }));
  await check("decrypt_envelope_v1_" + name, () => mod.symmetricDecrypt({ key, data: sym.envelope_v1 }));
  await check("decrypt_legacy_" + name, () => mod.symmetricDecrypt({ key, data: sym.legacy }));
  await check("encrypt_envelope_" + name, () => mod.symmetricEncrypt({ key, data: sym.text }));
}

// (c) TOTP codes
await check("hotp", () => Promise.all(input.totp.counters.map((c) => createOTP(input.totp.secret).hotp(c))));
await check("hotp_base32", () => {
  const bytes = base32.decode(input.totp.base32.slice(7).toUpperCase());
  return Promise.all(input.totp.counters.map((c) => createOTP(bytes).hotp(c)));
});
await check("totp_now", async () => ({ now: Date.now(), code: await createOTP(input.totp.secret).totp() }));

// (d) otpauth URIs
await check("uris", () => input.uris.map((u) => createOTP(u.secret, { digits: u.digits, period: u.period })
  .url(u.issuer, u.account)));

// (e) OWOX role token, decrypted and minted with OWOX's recipe (CryptoService)
const scryptAsync = promisify(scrypt);
await check("role_decrypt", async () => {
  const { payload: claims, protectedHeader } = await jwtVerify(input.role.token,
    new TextEncoder().encode(input.role.secret), { algorithms: ["HS256"], issuer: "idp-better-auth" });
  const [saltHex, ivHex, encrypted] = Buffer.from(claims.payload, "base64").toString("utf8").split(":");
  const key = await scryptAsync(input.role.secret, Buffer.from(saltHex, "hex"), 32);
  const decipher = createDecipheriv("aes-256-cbc", key, Buffer.from(ivHex, "hex"));
  let role = decipher.update(encrypted, "hex", "utf8");
  role += decipher.final("utf8");
  return { role, header: protectedHeader, lifetime: claims.exp - claims.iat, claims: Object.keys(claims) };
});
await check("role_mint", async () => {
  const salt = randomBytes(16), iv = randomBytes(16);
  const key = await scryptAsync(input.role.secret, salt, 32);
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  let enc = cipher.update(input.role.role, "utf8", "hex");
  enc += cipher.final("hex");
  const payload = Buffer.from(salt.toString("hex") + ":" + iv.toString("hex") + ":" + enc).toString("base64");
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ payload }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt(iat)
    .setExpirationTime(iat + 3600).setIssuer("idp-better-auth")
    .sign(new TextEncoder().encode(input.role.secret));
});

// signed session cookie
const cookie = input.cookie;
await check("cookie", async () =>
  encodeURIComponent(cookie.token + "." + await makeSignature(cookie.token, cookie.secret)));

process.stdout.write(JSON.stringify(out));
"""


def _node_unavailable() -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH (install Node 20+ to run the Better Auth cross-checks)"
    for package in ("better-auth", "better-auth-16", "@better-auth/utils", "jose"):
        if not (NODE_DIR / "node_modules" / package).is_dir():
            return f"{NODE_DIR / 'node_modules' / package} is missing (run `npm ci` in {NODE_DIR})"
    return None


@pytest.fixture(scope="module")
def node() -> dict[str, Any]:
    """Python's values, checked by one Node process, and Node's own values for Python to check."""
    reason = _node_unavailable()
    if reason is not None:
        if os.environ.get("IDP_TEST_REQUIRE_ALL") == "1":
            pytest.fail(f"{reason}; IDP_TEST_REQUIRE_ALL=1 forbids skipping")
        pytest.skip(reason)
    password = "Pässwörd \ufb01 +1"
    v1 = Secrets(current=VERSIONED.versions[1][1], current_version=1, versions=VERSIONED.versions)
    totp_secret = totp.generate_totp_secret()
    base32_form = "base32:" + base64.b32encode(os.urandom(20)).decode().lower().rstrip("=")
    now = int(time.time())
    counters = [0, 1, now // 30, now // 30 + 1, 2**40 + 7]
    uri_cases = [
        {"secret": totp_secret, "issuer": "My Company Inc.", "account": "first.last+tag@example.com"},
        {"secret": totp_secret, "issuer": "Better Auth", "account": "dave@example.com"},
        {"secret": "s3cr3t", "issuer": "A~B*(c)!' & Co/?#=", "account": "ünï+x@exämple.com"},
        {
            "secret": totp_secret,
            "issuer": "OWOX Data Marts",
            "account": "a_b-c@x.io",
            "digits": 8,
            "period": 60,
        },
    ]
    data: dict[str, Any] = {
        "pw": {"password": password, "hash": passwords.hash_password(password)},
        "sym": {
            "secret": PLAIN.current,
            "text": "sym text ☃ 🚀",
            "plain": symmetric.encrypt("sym text ☃ 🚀", PLAIN),
            "versioned": {
                "versions": [list(v) for v in VERSIONED.versions],
                "currentVersion": VERSIONED.current_version,
                "legacy": VERSIONED.legacy,
            },
            "envelope": symmetric.encrypt("sym text ☃ 🚀", VERSIONED),
            "envelope_v1": symmetric.encrypt("sym text ☃ 🚀", v1),
            "legacy": symmetric.encrypt("sym text ☃ 🚀", Secrets(current=VERSIONED.legacy or "")),
        },
        "totp": {"secret": totp_secret, "base32": base32_form, "counters": counters},
        "uris": uri_cases,
        "role": {"secret": "owox-secret ünï", "role": "editor"},
        "cookie": {"token": random.session_token(), "secret": "cookie-secret-0123456789abcdef0123"},
    }
    data["role"]["token"] = roletoken.encrypt_role("viewer", data["role"]["secret"])
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", NODE_SCRIPT],
        cwd=NODE_DIR,
        input=json.dumps(data),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"node failed:\n{proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout)
    return {"input": data, "output": result}


def _ok(node: dict[str, Any], name: str) -> Any:
    value = node["output"][name]
    assert not (isinstance(value, dict) and "error" in value), f"{name} failed in Node:\n{value}"
    return value


def test_node_verifies_python_scrypt_hash(node: dict[str, Any]) -> None:
    assert _ok(node, "verify_python_hash") is True
    assert _ok(node, "verify_python_hash_wrong") is False


def test_python_verifies_node_scrypt_hash(node: dict[str, Any]) -> None:
    stored = _ok(node, "node_hash")
    assert passwords.identify_hash(stored) == "scrypt"
    assert passwords.verify_password(node["input"]["pw"]["password"], stored)
    assert not passwords.verify_password("wrong", stored)


@pytest.mark.parametrize("version", ["17", "16"])
def test_node_decrypts_python_values(node: dict[str, Any], version: str) -> None:
    text = node["input"]["sym"]["text"]
    assert _ok(node, f"decrypt_plain_{version}") == text
    assert _ok(node, f"decrypt_envelope_{version}") == text
    assert _ok(node, f"decrypt_envelope_v1_{version}") == text
    assert _ok(node, f"decrypt_legacy_{version}") == text


@pytest.mark.parametrize("version", ["17", "16"])
def test_python_decrypts_node_values(node: dict[str, Any], version: str) -> None:
    text = node["input"]["sym"]["text"]
    plain = _ok(node, f"encrypt_plain_{version}")
    assert re.fullmatch(r"[0-9a-f]+", plain)
    assert symmetric.decrypt(plain, PLAIN) == text
    envelope = _ok(node, f"encrypt_envelope_{version}")
    assert envelope.startswith("$ba$2$")
    assert symmetric.decrypt(envelope, VERSIONED) == text
    with pytest.raises(symmetric.DecryptionError):
        symmetric.decrypt(plain, VERSIONED)  # bare hex goes to the legacy secret, which differs


def test_totp_matches_node(node: dict[str, Any]) -> None:
    data = node["input"]["totp"]
    expected = [totp.hotp(totp.totp_key(data["secret"]), c) for c in data["counters"]]
    assert _ok(node, "hotp") == expected
    expected_b32 = [totp.hotp(totp.totp_key(data["base32"]), c) for c in data["counters"]]
    assert _ok(node, "hotp_base32") == expected_b32
    now = _ok(node, "totp_now")
    assert totp.totp_now(data["secret"], at=now["now"] / 1000) == now["code"]


def test_otpauth_uri_matches_node(node: dict[str, Any]) -> None:
    expected = [
        totp.otpauth_uri(
            u["secret"],
            issuer=u["issuer"],
            account=u["account"],
            digits=u.get("digits", 6),
            period=u.get("period", 30),
        )
        for u in node["input"]["uris"]
    ]
    assert _ok(node, "uris") == expected


def test_node_decrypts_python_role_token(node: dict[str, Any]) -> None:
    result = _ok(node, "role_decrypt")
    assert result["role"] == "viewer"
    assert result["header"] == {"alg": "HS256", "typ": "JWT"}
    assert result["lifetime"] == 3600
    assert result["claims"] == ["payload", "iat", "exp", "iss"]


def test_python_decrypts_node_role_token(node: dict[str, Any]) -> None:
    token = _ok(node, "role_mint")
    assert roletoken.decrypt_role(token, node["input"]["role"]["secret"]) == node["input"]["role"]["role"]


def test_cookie_matches_node(node: dict[str, Any]) -> None:
    data = node["input"]["cookie"]
    assert _ok(node, "cookie") == cookies.sign_cookie_value(data["token"], data["secret"])
