"""Random identifiers and tokens, generated exactly as Better Auth generates them.

Better Auth's `createRandomStringGenerator` (`@better-auth/utils/random`) draws bytes and keeps only
those below the largest multiple of the alphabet size (rejection sampling), so every symbol is
equally likely. The same algorithm is used here with `secrets.token_bytes` as the source.
"""

from __future__ import annotations

import functools
import os
import secrets
import threading

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
    return _pool(alphabets or DEFAULT_ALPHABETS).take(length)


class _Pool:
    """Symbols of one alphabet set, drawn from `secrets.token_bytes` a few KiB at a time (one draw and
    one `bytes.translate` for about a hundred ids instead of one each: `import` makes three per user).
    Each symbol is used once. The pool is emptied in a forked child, so that parent and child never
    hand out the same symbols, and taken under a lock, so that threads never share them."""

    DRAW = 4096

    def __init__(self, alphabets: tuple[str, ...]) -> None:
        self.table, self.rejected = _tables(alphabets)
        self.buffer = b""
        self.at = 0
        self.lock = threading.Lock()

    def take(self, length: int) -> str:
        if length <= 0:
            raise ValueError("length must be a positive integer")
        with self.lock:
            while len(self.buffer) - self.at < length:
                fresh = secrets.token_bytes(max(self.DRAW, 2 * length)).translate(self.table, self.rejected)
                self.buffer, self.at = self.buffer[self.at :] + fresh, 0
            start = self.at
            self.at += length
            return self.buffer[start : self.at].decode("ascii")

    def clear(self) -> None:
        self.buffer, self.at = b"", 0
        self.lock = threading.Lock()


_POOLS: dict[tuple[str, ...], _Pool] = {}


def _pool(alphabets: tuple[str, ...]) -> _Pool:
    pool = _POOLS.get(alphabets)
    if pool is None:
        pool = _POOLS.setdefault(alphabets, _Pool(alphabets))
    return pool


def _clear_pools() -> None:
    for pool in _POOLS.values():
        pool.clear()


os.register_at_fork(after_in_child=_clear_pools)


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
    return _pool(ID_ALPHABETS).take(size)


def magic_link_token() -> str:
    """A magic-link token: `generateRandomString(32, "a-z", "A-Z")`, 32 letters."""
    return _pool(_LETTERS).take(32)


_LETTERS = ("a-z", "A-Z")


def reset_token() -> str:
    """A password-reset token: `generateId(24)`."""
    return generate_id(24)


def session_token() -> str:
    """A session token: `generateId(32)`."""
    return generate_id(32)
