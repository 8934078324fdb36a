"""Parsing and validating user input: emails, roles, durations. Errors are InvalidInput (exit 5)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from owox_idp.errors import InvalidInput

# A practical subset of what Better Auth's z.email() accepts.
_EMAIL = re.compile(
    r"^(?!\.)[A-Za-z0-9_'+\-.]*[A-Za-z0-9_+\-]@[A-Za-z0-9][A-Za-z0-9\-]*(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$"
)
_DURATION = re.compile(r"^(\d+)\s*([smhdw]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def normalize_email(email: str) -> str:
    value = email.strip()
    if not value:
        raise InvalidInput("the email is empty")
    if len(value) > 254 or not _EMAIL.match(value) or ".." in value:
        raise InvalidInput(f"invalid email address: {value!r}")
    return value.lower()


def parse_duration(text: str, *, what: str = "duration") -> int:
    """Seconds from '3600', '90s', '30m', '12h', '7d' or '2w'."""
    match = _DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) <= 0:
        raise InvalidInput(
            f"invalid {what} {text!r}: use seconds or a number with s, m, h, d or w (e.g. 30m, 12h, 7d)"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


def normalize_role(role: str, *, allowed: Sequence[str], multiple: bool, flavor: str) -> str:
    """A known role of the flavor; where the flavor allows it, several comma-separated."""
    parts = [p.strip() for p in role.split(",") if p.strip()]
    if not parts:
        raise InvalidInput("the role is empty")
    if not multiple and len(parts) > 1:
        raise InvalidInput(f"users of the {flavor} flavor have exactly one role: {', '.join(allowed)}")
    for part in parts:
        if part not in allowed:
            raise InvalidInput(f"unknown role {part!r}: the {flavor} flavor allows {', '.join(allowed)}")
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
