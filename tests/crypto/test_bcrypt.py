"""IDP_PASSWORD_HASH=bcrypt: owox_idp.crypto.passwords against the bcrypt hashers a Better Auth server
plugs into `emailAndPassword.password.hash/verify` (npm bcryptjs and bcrypt, pinned in
tests/interop/node_bcrypt). The Node cross-check is skipped when Node or that folder's node_modules is
missing, and fails instead when IDP_TEST_REQUIRE_ALL=1."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from dbutil import skip_or_fail

from owox_idp.crypto import passwords
from owox_idp.services import hashing

NODE_DIR = Path(__file__).parents[1] / "interop" / "node_bcrypt"

# passwords that probe what differs between implementations: non-ASCII (UTF-8 bytes), exactly 72 bytes,
# past 72 bytes (bcrypt ignores the rest: bcryptjs and Node bcrypt truncate, Python's package refuses),
# a multi-byte character cut at byte 72, and the longest Better Auth accepts (128 UTF-16 units)
PASSWORDS = [
    "correct horse battery",
    "pässwörd-ünïcödé-🔑",
    "x" * 72,
    "y" * 72 + "ignored tail",
    "z" * 71 + "é",
    "w" * 128,
]


def test_bcrypt_format_and_verify() -> None:
    stored = passwords.hash_password("correct horse", scheme="bcrypt")
    assert stored.startswith("$2b$10$") and len(stored) == 60
    assert passwords.identify_hash(stored) == "bcrypt"
    assert passwords.verify_password("correct horse", stored)
    assert not passwords.verify_password("correct horsE", stored)


def test_bcrypt_accepts_the_other_prefixes() -> None:
    stored = passwords.hash_password("pw-123456", scheme="bcrypt")
    for minor in ("2a", "2y"):  # Go (Supabase) and Auth0 write $2a$, PHP $2y$: the same algorithm
        other = f"${minor}$" + stored[4:]
        assert passwords.identify_hash(other) == "bcrypt"
        assert passwords.verify_password("pw-123456", other)


def test_bcrypt_known_answer() -> None:
    # Auth0's documented sample is redacted; this one is OpenBSD's test vector (password "U*U")
    assert passwords.verify_password("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")
    assert not passwords.verify_password(
        "U*V", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
    )


def test_bcrypt_truncates_at_72_bytes_like_node() -> None:
    stored = passwords.hash_password("a" * 72 + "tail one", scheme="bcrypt")
    assert passwords.verify_password("a" * 72 + "another tail", stored)
    assert not passwords.verify_password("a" * 71, stored)


@pytest.mark.parametrize(
    "stored",
    [
        "$2b$10$short",
        "$2x$10$" + "a" * 53,  # the buggy-era prefix: not produced by any current hasher
        "$2b$03$" + "a" * 53,  # cost below bcrypt's minimum of 4
        "$2b$10$" + "a" * 52 + "!",
        "$2$10$" + "a" * 53,
    ],
)
def test_bcrypt_malformed(stored: str) -> None:
    assert passwords.identify_hash(stored) is None
    assert not passwords.verify_password("anything", stored)


def test_bcrypt_unusable_salt_does_not_raise() -> None:
    # well-formed for the pattern, but the salt's last character carries bits bcrypt does not allow
    assert passwords.verify_password("x", "$2b$04$" + "z" * 53) in (True, False)


def test_hash_passwords_bcrypt_in_order() -> None:
    hashes = hashing.hash_passwords(["one-pass", "two-pass", "three-pass", "four-pass"], scheme="bcrypt")
    assert [
        passwords.verify_password(p, h)
        for p, h in zip(["one-pass", "two-pass", "three-pass", "four-pass"], hashes, strict=True)
    ] == [True] * 4


# ---------------------------------------------------------------------------------------------------
# Node: bcryptjs and bcrypt


@cache
def _node_answer() -> dict[str, Any]:
    python_hashes = [{"password": p, "hash": passwords.hash_password(p, scheme="bcrypt")} for p in PASSWORDS]
    # Python's hashes with the prefixes other systems write; Node bcrypt refuses $2y$ (see below)
    python_hashes.append({"password": PASSWORDS[0], "hash": "$2a$" + python_hashes[0]["hash"][4:]})
    job = {"verify": python_hashes, "hash": PASSWORDS}
    completed = subprocess.run(
        ["node", str(NODE_DIR / "crosscheck.mjs")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer: dict[str, Any] = json.loads(completed.stdout)
    answer["_python"] = python_hashes
    return answer


@pytest.fixture
def node() -> dict[str, Any]:
    if shutil.which("node") is None:
        skip_or_fail("node is not installed: the bcrypt cross-check needs Node 20")
    if (
        not (NODE_DIR / "node_modules" / "bcryptjs").is_dir()
        or not (NODE_DIR / "node_modules" / "bcrypt").is_dir()
    ):
        skip_or_fail(f"run `npm ci` in {NODE_DIR} for the bcrypt cross-check")
    return _node_answer()


@pytest.mark.parametrize("library", ["bcryptjs", "bcrypt"])
def test_python_hashes_verify_in_node(node: dict[str, Any], library: str) -> None:
    assert node[library]["verify"] == [True] * len(node["_python"])


@pytest.mark.parametrize("library", ["bcryptjs", "bcrypt"])
def test_node_hashes_verify_in_python(node: dict[str, Any], library: str) -> None:
    hashes = node[library]["hashes"]
    assert all(passwords.identify_hash(h) == "bcrypt" for h in hashes)
    assert [passwords.verify_password(p, h) for p, h in zip(PASSWORDS, hashes, strict=True)] == [True] * len(
        PASSWORDS
    )
    # and a wrong password is refused, so the check can fail
    assert not passwords.verify_password(PASSWORDS[0] + "!", hashes[0])
