"""Unit tests for owox_idp.crypto.apikeys. The expected hashes and JSON texts were produced by the real
plugin in Node (`defaultKeyHasher` from @better-auth/api-key 1.7.5, and `JSON.stringify`); the interop
test (tests/interop/test_interop_apikey.py) checks the same against a running server."""

from __future__ import annotations

import re

import pytest

from owox_idp.crypto import apikeys
from owox_idp.errors import InvalidInput

# defaultKeyHasher(key) in Node
HASH_VECTORS = [
    ("sk_", "rK7JA2wWMJBmLfVzQiaLW0LLauPWAVpzloZDuUJRaAE"),
    (
        "pk_ABCdefGHIjklMNOpqrSTUvwxYZabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN",
        "AmsMpON13I2f5JGQj2GpXT3zjf9RhXWOwXmw6cjpVGU",
    ),
    ("ключ", "HeNqMq95jaDBrJKXYDoyDtj-VnzyHJF3ESpM6RTruL4"),  # UTF-8, base64url ('-' and '_')
]


@pytest.mark.parametrize(("key", "expected"), HASH_VECTORS)
def test_hash_key_matches_the_plugin(key: str, expected: str) -> None:
    assert apikeys.hash_key(key) == expected
    assert apikeys.stored_key(key) == expected


def test_disable_key_hashing_stores_the_key() -> None:
    assert apikeys.stored_key("sk_abc", disable_hashing=True) == "sk_abc"


def test_generated_key_is_prefix_plus_64_letters() -> None:
    key = apikeys.generate_key("sk_")
    assert re.fullmatch(r"sk_[a-zA-Z]{64}", key)
    assert re.fullmatch(r"[a-zA-Z]{64}", apikeys.generate_key())
    assert re.fullmatch(r"[a-zA-Z]{10}", apikeys.generate_key(length=10))
    assert len({apikeys.generate_key() for _ in range(20)}) == 20


def test_random_letters_rejects_bytes_above_the_largest_multiple(monkeypatch: pytest.MonkeyPatch) -> None:
    # 52 letters: bytes >= 208 are dropped; 0 -> 'a', 25 -> 'z', 26 -> 'A', 51 -> 'Z', 52 -> 'a', 207 -> 'Z'
    stream = iter([208, 0, 255, 25, 26, 51, 52, 207, 1, 2, 3, 4])

    def fake(n: int) -> bytes:
        return bytes(next(stream, 0) for _ in range(n))

    monkeypatch.setattr(apikeys.secrets, "token_bytes", fake)
    assert apikeys.random_letters(6) == "azAZaZ"


def test_all_letters_are_drawn() -> None:
    seen = set("".join(apikeys.random_letters(64) for _ in range(40)))
    assert seen == set(apikeys.KEY_ALPHABET)


def test_start_is_the_first_six_characters_with_the_prefix() -> None:
    assert apikeys.key_start("sk_ABCdefGHI") == "sk_ABC"
    assert apikeys.key_start("ABCdefGHI") == "ABCdef"
    assert apikeys.key_start("longprefix_ABC") == "longpr"


def test_new_api_key() -> None:
    new = apikeys.new_api_key("pk-")
    assert new.key.startswith("pk-") and len(new.key) == 67
    assert new.hashed == apikeys.hash_key(new.key) and len(new.hashed) == 43
    assert new.start == new.key[:6]
    assert new.prefix == "pk-"
    plain = apikeys.new_api_key()
    assert plain.prefix is None and len(plain.key) == 64


@pytest.mark.parametrize("prefix", ["sk_", "a", "A-b_9", "x" * 32])
def test_valid_prefixes(prefix: str) -> None:
    assert apikeys.check_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["sk.", "s k", "é", "x" * 33, "a\n"])
def test_invalid_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidInput):
        apikeys.generate_key(prefix)


def test_name_length_counts_utf16_units() -> None:
    assert apikeys.check_name("x" * 32) == "x" * 32
    assert apikeys.check_name("😀" * 16)
    for bad in ("", "x" * 33, "😀" * 17):
        with pytest.raises(InvalidInput):
            apikeys.check_name(bad)


def test_permissions_serialise_like_json_stringify() -> None:
    permissions = apikeys.parse_permissions('{ "files": ["read", "write"], "é": [] }')
    assert apikeys.serialize_permissions(permissions) == '{"files":["read","write"],"é":[]}'


@pytest.mark.parametrize("text", ["[]", '{"a": "read"}', '{"a": [1]}', "nope", "null"])
def test_bad_permissions(text: str) -> None:
    with pytest.raises(InvalidInput):
        apikeys.parse_permissions(text)


def test_metadata_serialises_like_json_stringify() -> None:
    metadata = apikeys.parse_metadata('{"a": 1, "b": {"c": [1, "x"]}, "d": null, "e": "ü\\n"}')
    assert apikeys.serialize_metadata(metadata) == '{"a":1,"b":{"c":[1,"x"]},"d":null,"e":"ü\\n"}'


@pytest.mark.parametrize("text", ["[1]", '"x"', "3", "null", "{"])
def test_bad_metadata(text: str) -> None:
    with pytest.raises(InvalidInput):
        apikeys.parse_metadata(text)
