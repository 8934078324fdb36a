"""Database URLs shown to people: the password hidden wherever it is, never a part of it in a message.

A leaf module (no imports from the rest of owox_idp), so that the config, the engine and the error paths
can all use it.

A password can sit in the userinfo (`scheme://user:password@host/db`) or in the query string
(`?password=...`, libpq's `password`/`sslpassword`, PyMySQL's `passwd`). `urllib.parse.urlsplit` is not
a safe guide for the userinfo: an unescaped `/`, `?` or `#` in the password ends its netloc early, so
that the password's prefix is taken for a host or a port, and the rest for a path. Here the userinfo is
what comes before the last `@` that is followed by a host and a `/` (the database name is required),
and when that is ambiguous more is hidden, never less.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

REDACTED = "***"

# Query keys whose value is a secret: libpq's password/sslpassword, PyMySQL's passwd/password, and any
# *token*/*secret* a driver may take.
_SECRET_KEY = re.compile(r"pass|pwd|secret|token", re.IGNORECASE)
# host[:port] as it follows the userinfo: a bracketed IPv6 address or a name, then an optional port
_HOST_THEN_PATH = re.compile(r"(?:\[[0-9A-Fa-f:.]*\]|[^@/?#:\[\]]*)(?::[^@/?#]*)?(?=/)")


@dataclass(frozen=True)
class UrlParts:
    """`scheme://[userinfo@]hostport[tail]`: tail is the path, query and fragment as written."""

    scheme: str
    userinfo: str | None
    hostport: str
    tail: str

    @property
    def username(self) -> str:
        return (self.userinfo or "").partition(":")[0]

    @property
    def password(self) -> str | None:
        if self.userinfo is None or ":" not in self.userinfo:
            return None
        return self.userinfo.partition(":")[2]


def split_url(url: str) -> UrlParts | None:
    """The parts of `scheme://...`, or None when there is no `://`. Never raises."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    userinfo: str | None = None
    at = _userinfo_end(rest)
    if at >= 0:
        userinfo, rest = rest[:at], rest[at + 1 :]
    cut = len(rest)
    for ch in "/?#":
        pos = rest.find(ch)
        if pos >= 0:
            cut = min(cut, pos)
    return UrlParts(scheme, userinfo, rest[:cut], rest[cut:])


def _userinfo_end(rest: str) -> int:
    """Index of the `@` that ends the userinfo, or -1. The rightmost `@` followed by host[:port]/ wins;
    without one, the last `@` at all (more hidden, never less), unless there is no authority."""
    pos = len(rest)
    while True:
        pos = rest.rfind("@", 0, pos)
        if pos < 0:
            break
        if _HOST_THEN_PATH.match(rest, pos + 1):
            return pos
    if rest.startswith("/"):  # `scheme:///db?host=/socket&user=a@b`: no authority at all
        return -1
    return rest.rfind("@")


def _redact_query(query: str) -> str:
    items = []
    for item in query.split("&"):
        key, sep, value = item.partition("=")
        if sep and value and _SECRET_KEY.search(unquote(key)):
            value = REDACTED
        items.append(f"{key}{sep}{value}")
    return "&".join(items)


def _redact_tail(tail: str) -> str:
    path, qmark, query = tail.partition("?")
    if not qmark:
        return tail
    query, hash_, fragment = query.partition("#")
    return f"{path}?{_redact_query(query)}{hash_}{fragment}"


def redact_url(url: str) -> str:
    """The URL with every password (userinfo or query string) replaced by ***."""
    parts = split_url(url)
    if parts is None:
        return _redact_tail(url) if "?" in url else url
    auth = ""
    if parts.userinfo is not None:
        auth = parts.username + (f":{REDACTED}" if parts.password is not None else "") + "@"
    return f"{parts.scheme}://{auth}{parts.hostport}{_redact_tail(parts.tail)}"


def display_url(url: str) -> str:
    """The URL as a user wrote it (no driver suffix), passwords hidden."""
    redacted = redact_url(url)
    return redacted.replace("postgresql+psycopg://", "postgresql://", 1).replace(
        "mysql+pymysql://", "mysql://", 1
    )


def url_secrets(url: str) -> list[str]:
    """Every password in the URL, as written and percent-decoded (longest first), for `scrub`."""
    parts = split_url(url)
    found: list[str] = []
    if parts is not None and parts.password:
        found.append(parts.password)
    tail = parts.tail if parts is not None else url
    _, qmark, query = tail.partition("?")
    if qmark:
        for item in query.partition("#")[0].split("&"):
            key, sep, value = item.partition("=")
            if sep and value and _SECRET_KEY.search(unquote(key)):
                found.append(value)
    variants = {v for s in found for v in (s, unquote(s)) if v}
    return sorted(variants, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """`text` (a driver's error message, say) with every password of `url` replaced by ***."""
    for secret in url_secrets(url):
        text = text.replace(secret, REDACTED)
    return text
