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
import time

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


# a time-ordered id starts with the time in milliseconds, in base 36 (digits and lower-case letters only:
# fixed-width strings of those sort the same in byte order and in every collation PostgreSQL, MySQL and
# SQLite apply to an id column); 9 symbols last until the year 5188
_TIME_SYMBOLS = "0123456789abcdefghijklmnopqrstuvwxyz"
_TIME_WIDTH = 9
_last_prefix: tuple[int, str] = (-1, "")  # (milliseconds, their symbols): one tuple, read at once


def _time_prefix() -> str:
    global _last_prefix
    ms = time.time_ns() // 1_000_000
    last = _last_prefix
    if ms == last[0]:
        return last[1]
    digits = []
    n = ms
    for _ in range(_TIME_WIDTH):
        n, r = divmod(n, 36)
        digits.append(_TIME_SYMBOLS[r])
    prefix = "".join(reversed(digits))
    _last_prefix = (ms, prefix)
    return prefix


def ordered_id(size: int = 32) -> str:
    """An id in `generateId(size)`'s format (alphanumeric) whose first 9 symbols are the time in
    milliseconds, the other 23 random (137 bits: unique without any coordination). Ids written one after
    the other land next to each other in the primary-key index, which keeps a bulk import's index pages
    in the cache instead of touching a random page of a growing index for every row (`idp import` at a
    million users: about twice the rows a second on SQLite). Better Auth reads ids as opaque strings."""
    if size <= _TIME_WIDTH:
        return generate_id(size)
    return _time_prefix() + _pool(ID_ALPHABETS).take(size - _TIME_WIDTH)


def ordered_uuid() -> str:
    """A UUID version 7 (RFC 9562: 48 bits of Unix milliseconds, then 74 random bits), in the text form
    of `crypto.randomUUID()`: time-ordered for the same reason as `ordered_id`."""
    import uuid

    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(secrets.token_bytes(10), "big")
    value = (
        (ms & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | ((rand >> 62) & 0xFFF) << 64
        | 0b10 << 62
        | (rand & 0x3FFF_FFFF_FFFF_FFFF)
    )
    return str(uuid.UUID(int=value))


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
