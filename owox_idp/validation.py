"""Parsing and validating user input: emails, names, roles, durations, page sizes. Errors are
InvalidInput (exit 5), never a database error or a traceback: every value is checked here against the
narrowest column it may land in on any dialect before a statement is built.

Limits (why):
- names: 255 characters, MariaDB's `varchar(255)` for `user.name` (Better Auth's migration makes a
  sortable string `varchar(255)` on MySQL; PostgreSQL and SQLite take `text`); one limit on all dialects
  so that a deployment can move between them.
- free text (ban reason, search): 1000 characters, far inside MySQL's `text` (65,535 bytes).
- URLs (image, callback): 2048 characters, what browsers and proxies reliably carry.
- NUL is refused everywhere: PostgreSQL's text cannot hold it (psycopg raises), and the same input must
  give the same answer on every dialect. So are lone surrogates (an argument that was not UTF-8 arrives
  as `\\udcXX` and cannot be encoded for the database).
- durations: at most 5 years (MariaDB's TIMESTAMP ends in January 2038); link lifetimes at most
  MAX_LINK_TTL (30 days, below). Numbers have at most 12 digits, so nothing overflows.
- --limit and --offset: 0..2^31-1, which LIMIT/OFFSET take on every dialect.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from owox_idp.errors import InvalidInput

# A practical subset of what Better Auth's z.email() accepts.
_EMAIL = re.compile(
    r"^(?!\.)[A-Za-z0-9_'+\-.]*[A-Za-z0-9_+\-]@[A-Za-z0-9][A-Za-z0-9\-]*(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$"
)
_DURATION = re.compile(r"^([0-9]{1,12})\s*([smhdw]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

MAX_EMAIL = 254  # RFC 5321's path limit; also fits MariaDB's varchar(255)
MAX_NAME = 255
MAX_TEXT = 1000
MAX_URL = 2048
MAX_ROLE = 64
MAX_DURATION = 5 * 365 * 86400
MAX_INT = 2**31 - 1
# The longest magic link idp issues. Better Auth's magic-link plugin takes any `expiresIn` (default
# 60 * 5 s, no upper bound in plugins/magic-link/index.ts); a link is a bearer credential that signing
# out does not revoke, so idp caps it at 30 days (four times Better Auth's default 7-day session).
MAX_LINK_TTL = 30 * 86400
_SHOWN = 60  # characters of a bad value quoted in a message


def shown(value: str) -> str:
    """A bad value for an error message: quoted (repr escapes control characters) and cut short."""
    if len(value) > _SHOWN:
        return repr(value[:_SHOWN]) + f"... ({len(value)} characters)"
    return repr(value)


def validate_text(value: str, *, what: str, max_length: int = MAX_TEXT, allow_empty: bool = True) -> str:
    """`value` unchanged if it can be stored on every dialect: no NUL, no lone surrogate, not too long."""
    if "\x00" in value:
        raise InvalidInput(f"{what} contains a NUL character")
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise InvalidInput(f"{what} is not valid text (was the argument UTF-8?)")
    if len(value) > max_length:
        raise InvalidInput(f"{what} is {len(value)} characters long; at most {max_length} are allowed")
    if not allow_empty and not value.strip():
        raise InvalidInput(f"{what} is empty")
    return value


def validate_name(name: str, *, what: str = "the name") -> str:
    """A display name: stripped, not empty, at most MAX_NAME characters, no NUL."""
    return validate_text(name.strip(), what=what, max_length=MAX_NAME, allow_empty=False)


def validate_url(value: str, *, what: str) -> str:
    return validate_text(value.strip(), what=what, max_length=MAX_URL, allow_empty=False)


def validate_int(value: int, *, what: str, minimum: int = 0, maximum: int = MAX_INT) -> int:
    if value < minimum or value > maximum:
        raise InvalidInput(f"{what} must be between {minimum} and {maximum}")
    return value


def validate_limit(value: int | None, *, what: str = "--limit") -> int | None:
    """A page size: None (no limit) or 1..2^31-1."""
    return None if value is None else validate_int(value, what=what, minimum=1)


def validate_offset(value: int, *, what: str = "--offset") -> int:
    return validate_int(value, what=what, minimum=0)


def normalize_email(email: str) -> str:
    value = email.strip()
    if not value:
        raise InvalidInput("the email is empty")
    if len(value) > MAX_EMAIL or not _EMAIL.match(value) or ".." in value:
        raise InvalidInput(f"invalid email address: {shown(value)}")
    return value.lower()


def parse_duration(text: str, *, what: str = "duration", maximum: int = MAX_DURATION) -> int:
    """Seconds from '3600', '90s', '30m', '12h', '7d' or '2w'; 1 second to `maximum`."""
    match = _DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) <= 0:
        raise InvalidInput(
            f"invalid {what} {shown(text)}: use seconds or a number with s, m, h, d or w (e.g. 30m, 12h, 7d)"
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds > maximum:
        raise InvalidInput(f"{what} {text.strip()} is too long: at most {_human(maximum)} ({maximum}s)")
    return seconds


def parse_link_ttl(text: str, *, what: str = "--ttl") -> int:
    """A magic link's lifetime: as parse_duration, at most MAX_LINK_TTL (30 days)."""
    return parse_duration(text, what=what, maximum=MAX_LINK_TTL)


def _human(seconds: int) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} seconds"


def normalize_role(role: str, *, allowed: Sequence[str], multiple: bool, flavor: str) -> str:
    """A known role of the flavor; where the flavor allows it, several comma-separated."""
    validate_text(role, what="the role", max_length=MAX_ROLE * 16)
    parts = [p.strip() for p in role.split(",") if p.strip()]
    if not parts:
        raise InvalidInput("the role is empty")
    if not multiple and len(parts) > 1:
        raise InvalidInput(f"users of the {flavor} flavor have exactly one role: {', '.join(allowed)}")
    for part in parts:
        if part not in allowed:
            raise InvalidInput(f"unknown role {shown(part)}: the {flavor} flavor allows {', '.join(allowed)}")
    return ",".join(dict.fromkeys(parts))


def has_admin_role(role: str | None, admin_roles: Sequence[str]) -> bool:
    if not role:
        return False
    return any(part in admin_roles for part in role.split(","))


def name_from_email(email: str) -> str:
    """OWOX's generateNameFromEmail: the local part, dots and underscores as spaces, words capitalised."""
    local = email.split("@", 1)[0]
    words = [w for w in re.split(r"[._]+", local) if w]
    return " ".join(w[:1].upper() + w[1:] for w in words) or local
