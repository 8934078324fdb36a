"""Random identifiers and tokens, generated exactly as Better Auth generates them.

Better Auth's `createRandomStringGenerator` (`@better-auth/utils/random`) draws bytes and keeps only
those below the largest multiple of the alphabet size (rejection sampling), so every symbol is
equally likely. The same algorithm is used here with `secrets.token_bytes` as the source.
"""

from __future__ import annotations

import functools
import secrets

ALPHABETS: dict[str, str] = {
    "a-z": "abcdefghijklmnopqrstuvwxyz",
    "A-Z": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0-9": "0123456789",
    "-_": "-_",
}
# generateRandomString's default alphabet, in Better Auth's order (`a-z 0-9 A-Z -_`, 64 symbols)
DEFAULT_ALPHABETS: tuple[str, ...] = ("a-z", "0-9", "A-Z", "-_")
# generateId's alphabet (`a-z A-Z 0-9`, 62 symbols, maxValid 248)
ID_ALPHABETS: tuple[str, ...] = ("a-z", "A-Z", "0-9")


def _charset(alphabets: tuple[str, ...]) -> str:
    try:
        return "".join(ALPHABETS[name] for name in alphabets)
    except KeyError as exc:
        raise ValueError(f"unsupported alphabet {exc.args[0]!r}: use one of {', '.join(ALPHABETS)}") from None


def random_string(length: int, *alphabets: str) -> str:
    """`generateRandomString(length, ...alphabets)`: `length` symbols from the named alphabets.

    With no alphabet the default `a-z 0-9 A-Z -_` (64 symbols) is used. Bytes at or above the largest
    multiple of the alphabet size are dropped and each kept byte maps to `charset[byte % size]`, as in
    Better Auth; done with one `bytes.translate` per draw (a million ids a minute matter to `import`).
    """
    if length <= 0:
        raise ValueError("length must be a positive integer")
    table, rejected = _tables(alphabets or DEFAULT_ALPHABETS)
    out = b""
    while len(out) < length:
        out += secrets.token_bytes(length * 2).translate(table, rejected)
    return out[:length].decode("ascii")


@functools.cache
def _tables(alphabets: tuple[str, ...]) -> tuple[bytes, bytes]:
    """The byte -> symbol table of an alphabet set and the bytes rejection sampling drops."""
    charset = _charset(alphabets)
    size = len(charset)
    max_valid = (256 // size) * size
    table = bytes(ord(charset[b % size]) if b < max_valid else 0 for b in range(256))
    return table, bytes(range(max_valid, 256))


def generate_id(size: int = 32) -> str:
    """Better Auth's `generateId(size)`: alphanumeric (62 symbols), 32 characters by default."""
    return random_string(size, *ID_ALPHABETS)


def magic_link_token() -> str:
    """A magic-link token: `generateRandomString(32, "a-z", "A-Z")`, 32 letters."""
    return random_string(32, "a-z", "A-Z")


def reset_token() -> str:
    """A password-reset token: `generateId(24)`."""
    return generate_id(24)


def session_token() -> str:
    """A session token: `generateId(32)`."""
    return generate_id(32)
