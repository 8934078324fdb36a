"""Magic links: the verification rows Better Auth reads, and the URL each flavor prints.

Rows: Better Auth 1.4-1.6 look the token up as the identifier itself; 1.7 looks up `magic-link:<token>`
and wants a strict value `{"type":"magic-link","email":...}`. idp writes both rows with that value
(1.6 tolerates the extra key), so a link keeps working when the server is upgraded or the configured
version is off; each server consumes its own row and the other one simply expires.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from owox_idp.clock import after
from owox_idp.crypto.random import generate_id, magic_link_token
from owox_idp.models import Verification

if TYPE_CHECKING:
    from owox_idp.deployment import Deployment
    from owox_idp.repository import Store

PREFIX_17 = "magic-link:"


@dataclass(frozen=True)
class MagicLink:
    url: str
    token: str
    expires_at: datetime


def build_url(dep: Deployment, token: str, role: str | None, *, callback_url: str | None = None) -> str:
    """The URL the flavor's server opens for this token."""
    return dep.flavor.link_url(dep.settings, token, role, callback_url=callback_url)


def stored_token(token: str, storage: str) -> str:
    """The token as the magic-link plugin stores it: as it is (`storeToken: "plain"`, the default), or
    `hashed`: base64url of its SHA-256, unpadded (better-auth 1.6/1.7 magic-link `defaultKeyHasher`)."""
    if storage == "hashed":
        import base64
        import hashlib

        return base64.urlsafe_b64encode(hashlib.sha256(token.encode("utf-8")).digest()).rstrip(b"=").decode()
    return token


def link_rows(
    email: str,
    token: str,
    *,
    expires: datetime,
    now: datetime,
    new_id: Callable[[], str | None] = generate_id,
    token_storage: str = "plain",
) -> list[dict[str, Any]]:
    """The verification rows of one link: the 1.4-1.6 form and the 1.7 form, with the same value."""
    value = json.dumps({"type": "magic-link", "email": email}, separators=(",", ":"))
    stored = stored_token(token, token_storage)
    rows: list[dict[str, Any]] = []
    for identifier in (stored, PREFIX_17 + stored):
        row: dict[str, Any] = {
            "identifier": identifier,
            "value": value,
            "expiresAt": expires,
            "createdAt": now,
            "updatedAt": now,
        }
        row_id = new_id()
        rows.append(row if row_id is None else {"id": row_id, **row})
    return rows


def link_email(value: str) -> str | None:
    """The (lower-cased) email of a magic-link row's value, None when the row is something else."""
    if not value.startswith("{"):
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type", "magic-link") != "magic-link":
        return None
    email = data.get("email")
    return email.lower() if isinstance(email, str) else None


def issue(
    store: Store,
    *,
    email: str,
    role: str | None,
    ttl: int,
    now: datetime,
    callback_url: str | None = None,
) -> MagicLink:
    """Insert the verification rows for a new link and return the URL to print."""
    token = magic_link_token()
    dep = store.deployment
    dep.require_database_verifications("a sign-in link")
    # fails before writing if the link cannot be built (no secret)
    url = build_url(dep, token, role, callback_url=callback_url)
    expires = after(ttl, start=now)
    rows = link_rows(
        email,
        token,
        expires=expires,
        now=now,
        new_id=store.verifications.new_id,
        token_storage=dep.settings.magic_link_store_token,
    )
    store.verifications.insert_rows("verification", rows)
    return MagicLink(url=url, token=token, expires_at=expires)


def _link_email(row: Verification) -> str | None:
    return link_email(row.value)


def links_for_email(store: Store, email: str) -> list[Verification]:
    """Every magic-link row (either form, live or expired) for that email."""
    return [row for row in store.verifications.mentioning(email) if _link_email(row) == email.lower()]


def _counts_as_link(row: Verification, server_version: str) -> bool:
    if server_version == "1.7":
        return row.identifier.startswith(PREFIX_17)
    return ":" not in row.identifier and "-" not in row.identifier[:12] and len(row.identifier) >= 16


def pending_links(store: Store, email: str, now: datetime) -> list[Verification]:
    version = store.deployment.settings.server_version
    return [
        row
        for row in links_for_email(store, email)
        if _counts_as_link(row, version) and row.expires_at is not None and row.expires_at > now
    ]


def revoke_links(store: Store, email: str) -> int:
    """Delete every pending magic link for the email; returns how many links (not rows) went."""
    rows = links_for_email(store, email)
    tokens = {row.identifier.removeprefix(PREFIX_17) for row in rows}
    store.verifications.delete([row.id for row in rows])
    return len(tokens)


def revoke_user_tokens(store: Store, user_id: str) -> int:
    """Reset-password tokens, trusted devices and 2FA challenges: rows whose value is the user id."""
    rows = store.verifications.for_user_id(user_id)
    return store.verifications.delete([row.id for row in rows])


def count_links(store: Store, now: datetime) -> tuple[int, int]:
    """(pending, expired) magic links in the configured server version's form."""
    version = store.deployment.settings.server_version
    pending = expired = 0
    for row in store.verifications.iterate(live_after=None):
        if not _counts_as_link(row, version) or _link_email(row) is None:
            continue
        if row.expires_at is not None and row.expires_at > now:
            pending += 1
        else:
            expired += 1
    return pending, expired
