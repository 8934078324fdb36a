"""Random identifiers and tokens, generated exactly as Better Auth generates them.

Better Auth's `createRandomStringGenerator` (`@better-auth/utils/random`) draws bytes and keeps only
those below the largest multiple of the alphabet size (rejection sampling), so every symbol is
equally likely. The same algorithm is used here with `secrets.token_bytes` as the source.
"""

from __future__ import annotations

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

    With no alphabet the default `a-z 0-9 A-Z -_` (64 symbols) is used.
    """
    if length <= 0:
        raise ValueError("length must be a positive integer")
    charset = _charset(alphabets or DEFAULT_ALPHABETS)
    size = len(charset)
    max_valid = (256 // size) * size
    out: list[str] = []
    while len(out) < length:
        for byte in secrets.token_bytes(length * 2):
            if byte < max_valid:
                out.append(charset[byte % size])
                if len(out) == length:
                    break
    return "".join(out)


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
