"""API keys exactly as Better Auth's api-key plugin makes them (`@better-auth/api-key` 1.5+, and
`better-auth/plugins` `apiKey` in 1.4; the algorithm is the same in all of them).

From `@better-auth/api-key` 1.6.25 / 1.7.5 `dist/index.mjs` (`src/index.ts`, `src/routes/create-api-key.ts`):

- key: `defaultKeyGenerator` = `${prefix || ""}${generateRandomString(64, "a-z", "A-Z")}`: the prefix
  verbatim (no separator is added: a prefix such as `sk_` carries its own) and 64 letters `[a-zA-Z]`
  drawn by rejection sampling (`createRandomStringGenerator`, `@better-auth/utils/random`).
- stored `key`: `defaultKeyHasher` = base64url(SHA-256(UTF-8(key))) without padding (43 characters),
  over the whole key including the prefix; the plain key when the server sets `disableKeyHashing`.
- `start`: `key.substring(0, 6)`, the first 6 characters of the whole key (prefix included), plain.
- `prefix`: the prefix as given (`^[a-zA-Z0-9_-]+$`, 1..32 characters), or NULL.
- `permissions`: `JSON.stringify(permissions)` of a `Record<string, string[]>`.
- `metadata`: the field's `transform.input` = `JSON.stringify(value)`, once (an object).

A leaf: stdlib only, plus owox_idp.errors.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from owox_idp.errors import InvalidInput

KEY_LENGTH = 64  # defaultKeyLength
KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # generateRandomString(_, "a-z", "A-Z")
START_LENGTH = 6  # startingCharactersConfig.charactersLength
MIN_PREFIX_LENGTH = 1  # minimumPrefixLength
MAX_PREFIX_LENGTH = 32  # maximumPrefixLength
MIN_NAME_LENGTH = 1  # minimumNameLength
MAX_NAME_LENGTH = 32  # maximumNameLength
# createApiKeyBodySchema: prefix.regex(/^[a-zA-Z0-9_-]+$/)
_PREFIX_RE = re.compile(r"[a-zA-Z0-9_-]+")


def random_letters(length: int = KEY_LENGTH) -> str:
    """`generateRandomString(length, "a-z", "A-Z")`: bytes below 208 (4 x 52) are kept, so every letter
    is equally likely, as in `createRandomStringGenerator`."""
    if length <= 0:
        raise ValueError("length must be a positive integer")
    size = len(KEY_ALPHABET)
    max_valid = (256 // size) * size
    out: list[str] = []
    while len(out) < length:
        for byte in secrets.token_bytes(length * 2):
            if byte < max_valid:
                out.append(KEY_ALPHABET[byte % size])
                if len(out) == length:
                    break
    return "".join(out)


def check_prefix(prefix: str) -> str:
    """The prefix rules of the create endpoint (its body schema and min/maximumPrefixLength)."""
    if not _PREFIX_RE.fullmatch(prefix):
        raise InvalidInput(f"invalid API key prefix {prefix!r}: use letters, digits, '_' and '-' only")
    if not MIN_PREFIX_LENGTH <= len(prefix) <= MAX_PREFIX_LENGTH:
        raise InvalidInput(
            f"API key prefix must be {MIN_PREFIX_LENGTH} to {MAX_PREFIX_LENGTH} characters long"
        )
    return prefix


def check_name(name: str) -> str:
    """minimumNameLength / maximumNameLength (1..32, counted in UTF-16 units by JavaScript)."""
    units = len(name.encode("utf-16-le")) // 2
    if not MIN_NAME_LENGTH <= units <= MAX_NAME_LENGTH:
        raise InvalidInput(f"API key name must be {MIN_NAME_LENGTH} to {MAX_NAME_LENGTH} characters long")
    return name


def generate_key(prefix: str | None = None, length: int = KEY_LENGTH) -> str:
    """A new plain key: the prefix (checked) followed by `length` random letters."""
    return (check_prefix(prefix) if prefix else "") + random_letters(length)


def hash_key(key: str) -> str:
    """`defaultKeyHasher`: base64url(SHA-256(UTF-8(key))), no padding. What the `key` column holds and
    what verifyApiKey looks up."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def stored_key(key: str, *, disable_hashing: bool = False) -> str:
    """The `key` column's value: the hash, or the key itself under the server's `disableKeyHashing`."""
    return key if disable_hashing else hash_key(key)


def key_start(key: str, length: int = START_LENGTH) -> str:
    """The `start` column: the first characters of the whole key, prefix included."""
    return key[:length]


@dataclass(frozen=True)
class NewApiKey:
    key: str  # the plain key: shown once, never stored
    hashed: str  # the `key` column
    start: str  # the `start` column
    prefix: str | None  # the `prefix` column


def new_api_key(prefix: str | None = None, *, disable_hashing: bool = False) -> NewApiKey:
    key = generate_key(prefix)
    return NewApiKey(key, stored_key(key, disable_hashing=disable_hashing), key_start(key), prefix or None)


def _js_json(value: Any) -> str:
    # JSON.stringify: no spaces, non-ASCII kept as is, insertion order
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def parse_permissions(text: str) -> dict[str, list[str]]:
    """`--permissions JSON`: an object of string arrays (`z.record(z.string(), z.array(z.string()))`)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"--permissions is not valid JSON: {exc}") from None
    if not isinstance(value, dict) or not all(
        isinstance(v, list) and all(isinstance(a, str) for a in v) for v in value.values()
    ):
        raise InvalidInput('--permissions must be a JSON object of string arrays, e.g. {"files": ["read"]}')
    return value


def serialize_permissions(permissions: Mapping[str, Sequence[str]]) -> str:
    """The `permissions` column: `JSON.stringify(permissions)`."""
    return _js_json({resource: list(actions) for resource, actions in permissions.items()})


def parse_metadata(text: str) -> dict[str, Any]:
    """`--metadata JSON`: an object (the create endpoint refuses other types with INVALID_METADATA_TYPE)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"--metadata is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidInput("--metadata must be a JSON object")
    return value


def serialize_metadata(metadata: Mapping[str, Any]) -> str:
    """The `metadata` column: the field's `transform.input`, `JSON.stringify(value)` once. (Older plugin
    versions stored it stringified twice; the server's parseDoubleStringifiedMetadata unwraps that.)"""
    return _js_json(dict(metadata))
