"""Parsing and validating user input: emails, roles, durations. Errors are InvalidInput (exit 5)."""

from __future__ import annotations

import re

from owox_idp.config import Settings
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


def normalize_role(settings: Settings, role: str) -> str:
    """A known role of the flavor; in the better-auth flavor several may be given comma-separated."""
    parts = [p.strip() for p in role.split(",") if p.strip()]
    if not parts:
        raise InvalidInput("the role is empty")
    if settings.is_owox and len(parts) > 1:
        raise InvalidInput("OWOX users have exactly one role: admin, editor or viewer")
    for part in parts:
        if part not in settings.roles:
            raise InvalidInput(
                f"unknown role {part!r}: the {settings.flavor} flavor allows {', '.join(settings.roles)}"
            )
    return ",".join(dict.fromkeys(parts))


def has_admin_role(settings: Settings, role: str | None) -> bool:
    if not role:
        return False
    return any(part in settings.admin_roles for part in role.split(","))


def name_from_email(email: str) -> str:
    """OWOX's generateNameFromEmail: the local part, dots and underscores as spaces, words capitalised."""
    local = email.split("@", 1)[0]
    words = [w for w in re.split(r"[._]+", local) if w]
    return " ".join(w[:1].upper() + w[1:] for w in words) or local
