"""Magic links: the verification rows Better Auth reads, and the URL each flavor prints.

Rows: Better Auth 1.4-1.6 look the token up as the identifier itself; 1.7 looks up `magic-link:<token>`
and wants a strict value `{"type":"magic-link","email":...}`. idp writes both rows with that value
(1.6 tolerates the extra key), so a link keeps working when the server is upgraded or the configured
version is off; each server consumes its own row and the other one simply expires.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any

from owox_idp.clock import after, iso
from owox_idp.crypto.random import generate_id, magic_link_token
from owox_idp.errors import ConfigError, Refused, UserNotFound
from owox_idp.models import Verification
from owox_idp.validation import normalize_email

if TYPE_CHECKING:
    from owox_idp.context import Env
    from owox_idp.deployment import Deployment
    from owox_idp.models import User
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
    # json.dumps({"type": "magic-link", "email": email}, separators=(",", ":")), without its per-call cost
    value = '{"type":"magic-link","email":' + encode_basestring_ascii(email) + "}"
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


class LinkMaker:
    """Magic links for many users: the same verification rows as `links.issue` (both the 1.4-1.6 and the
    1.7 form), built without a round trip each. The URL comes from `links.build_url` once per role and is
    reused with each user's token: in the owox flavor that URL carries OWOX's role token, which costs an
    scrypt to encrypt (about 50 ms), identical for every user of that role. It is rebuilt every few
    minutes, since it expires an hour after it was made."""

    PLACEHOLDER = "TOKENPLACEHOLDERTOKENPLACEHOLDER"  # letters only, as a real token: encoded as-is
    REFRESH = 300

    def __init__(self, dep: Deployment, *, ttl: int, callback_url: str | None) -> None:
        from owox_idp.clock import after
        from owox_idp.crypto.random import magic_link_token

        self.dep = dep
        self.ttl = ttl
        self.callback_url = callback_url
        self._templates: dict[str | None, tuple[float, str]] = {}
        # looked up once: `issue` runs for every user of an import
        self._after, self._token, self._new_id = after, magic_link_token, dep.id_maker()

    def _template(self, role: str | None) -> str:
        import time

        from owox_idp.services import links

        cached = self._templates.get(role)
        if cached is None or time.monotonic() - cached[0] > self.REFRESH:
            url = links.build_url(self.dep, self.PLACEHOLDER, role, callback_url=self.callback_url)
            cached = self._templates[role] = (time.monotonic(), url)
        return cached[1]

    def issue(
        self, email: str, role: str | None, now: datetime
    ) -> tuple[str, datetime, list[dict[str, Any]]]:
        token = self._token()
        url = self._template(role).replace(self.PLACEHOLDER, token, 1)
        expires = self._after(self.ttl, start=now)
        rows = link_rows(
            email,
            token,
            expires=expires,
            now=now,
            new_id=self._new_id,
            token_storage=self.dep.settings.magic_link_store_token,
        )
        return url, expires, rows


# ----------------------------------------------------------------------------- `idp issue-link`


@dataclass
class IssuedLink:
    """A link `idp issue-link` issued (one user, or one row of the bulk form)."""

    user_id: str
    email: str
    role: str | None
    magic_link: str
    expires_at: datetime
    has_password: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "role": self.role,
            "has_password": self.has_password,
            "magic_link": self.magic_link,
            "expires_at": iso(self.expires_at),
        }


@dataclass
class BulkLinksResult:
    """`idp issue-link --without-password`: how many links went out, and who was passed over."""

    issued: int = 0
    banned_skipped: int = 0
    links: list[IssuedLink] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        return [link.to_json() for link in self.links]


def ensure_links_verified(dep: Deployment) -> None:
    """A link needs the server's magic-link plugin; without it idp would print a link nobody accepts."""
    if not dep.plugins.magic_link:
        raise ConfigError(
            "the deployment's server does not verify magic links (the magic-link plugin is not in its "
            "plugin set): a link would not sign anyone in",
            hint="give the user a password with `idp reset-password EMAIL --password-stdin`, or add "
            "magic-link to IDP_PLUGINS if the server has the plugin",
        )


def _link_role(dep: Deployment, user: User) -> str:
    # OWOX's success page writes the link's role into the member row: the user keeps the role they have
    # (a user without one gets the least privileged, as reset-password does)
    return user.role or dep.default_role


def _refuse_banned(user: User) -> None:
    if user.banned:
        raise Refused(
            f"{user.email} is banned: a link would sign them in (or, on OWOX's server, undo the ban)",
            hint=f"lift the ban first with `idp unban {user.email}`",
        )


def issue_link(
    store: Store, *, email: str, ttl: int, now: datetime, callback_url: str | None = None
) -> IssuedLink:
    """A new one-time link for an existing user, as OWOX's "Generate Magic Link" does: nothing is
    revoked, neither their sessions nor the links already pending (each works once, until it expires)."""
    dep = store.deployment
    ensure_links_verified(dep)
    if dep.flavor.link_needs_secret:
        dep.settings.require_secrets()
    user = store.users.find_by_email(normalize_email(email))
    if user is None:
        raise UserNotFound(email.strip().lower())
    _refuse_banned(user)
    role = _link_role(dep, user)
    link = issue(store, email=user.email, role=role, ttl=ttl, now=now, callback_url=callback_url)
    warnings = []
    if not user.email_verified:
        # better-auth/src/plugins/magic-link/index.ts: a user whose email is not verified goes through
        # revokeUnprovenAccountAccess when the link is opened (password and sessions removed)
        warnings.append(
            f"{user.email} has an unverified email: opening the link removes their password and ends their "
            f"sessions (Better Auth's revokeUnprovenAccountAccess); `idp update-user {user.email} --verified` "
            "first keeps them"
        )
    return IssuedLink(user.id, user.email, user.role, link.url, link.expires_at, user.has_password, warnings)


def issue_links_without_password(
    env: Env,
    *,
    role: str | None,
    no_role: bool = False,
    ttl: int,
    now: datetime,
    callback_url: str | None = None,
    batch_size: int = 500,
    on_batch: Callable[[Sequence[IssuedLink]], None] | None = None,
) -> BulkLinksResult:
    """A link for every user without a password (and, with `role`, with that role; with `no_role`,
    without a role), written as `import --links` writes them: one transaction per batch of users, in
    primary-key order, `on_batch` called in each batch's transaction before it commits (an error there
    rolls the batch back). Banned users are passed over (counted), and nothing is revoked."""
    dep = env.deployment
    ensure_links_verified(dep)
    if dep.flavor.link_needs_secret:
        dep.settings.require_secrets()
    if role is not None:
        role = dep.normalize_role(role)
    maker = LinkMaker(dep, ttl=ttl, callback_url=callback_url)
    result = BulkLinksResult()
    after_id: str | None = None
    while True:
        with env.store(write=True) as store:
            page = store.users.page_without_password(after_id, limit=batch_size, role=role, no_role=no_role)
            if not page:
                break
            after_id = page[-1].id
            batch: list[IssuedLink] = []
            rows: list[dict[str, Any]] = []
            for user in page:
                if user.banned:
                    result.banned_skipped += 1
                    continue
                user_role = _link_role(dep, user)
                url, expires, link_rows_ = maker.issue(user.email, user_role, now)
                rows += link_rows_
                batch.append(IssuedLink(user.id, user.email, user.role, url, expires))
            store.verifications.insert_rows("verification", rows)
            if on_batch is not None:  # before the commit: links nobody could write are rolled back
                on_batch(batch)
        result.issued += len(batch)
        result.links += batch
        if len(page) < batch_size:
            break
    return result
