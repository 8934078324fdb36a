"""API keys of Better Auth's api-key plugin: create (the plain key is returned once), list (never the key:
its start and prefix only), revoke; and what ban, unban and delete-user do with a user's keys.

Facts in docs/reference-api-key.md. The row is the one the plugin's create route writes with its default
options (`@better-auth/api-key` 1.6.25 / 1.7.5 `dist/index.mjs`, `src/routes/create-api-key.ts`, the
`data` object): `configId "default"`, `enabled true`, `rateLimitEnabled true`, `rateLimitTimeWindow
86400000`, `rateLimitMax 10`, `requestCount 0`, the rest NULL, `createdAt = updatedAt = now`.

Bans: the server's `verifyApiKey` never reads the owner (no `banned` check, no user lookup), so a ban
that left the keys alone would leave a banned user with working keys. `idp ban` therefore disables the
user's enabled keys (`enabled = false`, which the server refuses with KEY_DISABLED) and records which ones
in idp's own table `idp_apikey_ban`; `idp unban` enables exactly those again (keys that were disabled
before the ban stay disabled). Deleting a user deletes their keys: from 1.5 on `referenceId` has no
foreign key and nothing else would (a deleted user's keys keep verifying).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from owox_idp.clock import iso
from owox_idp.errors import ConfigError, InvalidInput, NotFound, Refused
from owox_idp.models import ApiKeyRow, User
from owox_idp.services.users import require_user

if TYPE_CHECKING:
    from owox_idp.deployment import Deployment
    from owox_idp.repository import Store

# keyExpiration.minExpiresIn / maxExpiresIn, in days (the plugin's defaults; `src/index.ts`); the create
# route refuses an `expiresIn` outside them (EXPIRES_IN_IS_TOO_SMALL / _TOO_LARGE)
MIN_EXPIRES_DAYS = 1
MAX_EXPIRES_DAYS = 365
DAY = 86_400


class ApiKeyNotFound(NotFound):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"no API key with id {key_id}", hint="`idp api-key list` shows the ids")


@dataclass(frozen=True)
class ApiKeyView:
    """A key as listings show it: never the key, only its first characters (`start`) and prefix."""

    row: ApiKeyRow
    expired: bool

    @property
    def id(self) -> str:
        return self.row.id

    def to_json(self) -> dict[str, Any]:
        r = self.row
        return {
            "id": r.id,
            "name": r.name,
            "start": r.start,
            "prefix": r.prefix,
            "user_id": r.user_id,
            "email": r.email,
            "enabled": r.enabled is not False,  # the server refuses only `enabled === false`
            "expired": self.expired,
            "expires_at": iso(r.expires_at),
            "created_at": iso(r.created_at),
            "last_request": iso(r.last_request),
            "request_count": r.request_count,
            "remaining": r.remaining,
            "permissions": _parse_json(r.permissions),
            "metadata": _parse_metadata(r.metadata),
        }


@dataclass(frozen=True)
class ApiKeyCreated:
    """`idp api-key create`: the row as listed, plus the plain key (shown once, never stored)."""

    view: ApiKeyView
    key: str

    @property
    def id(self) -> str:
        return self.view.row.id

    @property
    def email(self) -> str | None:
        return self.view.row.email

    def to_json(self) -> dict[str, Any]:
        return self.view.to_json() | {"key": self.key}


@dataclass(frozen=True)
class ApiKeyRevokeResult:
    revoked: int
    ids: list[str]
    user_id: str | None = None
    email: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"revoked": self.revoked, "ids": self.ids, "user_id": self.user_id, "email": self.email}


def _parse_json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # not ours to fix: show it as stored


def _parse_metadata(text: str | None) -> Any:
    # older plugin versions stringified metadata twice (the server's parseDoubleStringifiedMetadata)
    value = _parse_json(text)
    if isinstance(value, str):
        value = _parse_json(value)
    return value


def ensure_supported(dep: Deployment) -> None:
    """The api-key commands need the plugin declared (its table is then part of the schema check)."""
    if dep.flavor.api_keys_unavailable is not None:
        message, hint = dep.flavor.api_keys_unavailable
        raise ConfigError(message, hint=hint)
    if not dep.plugins.api_key:
        wanted = ",".join((*dep.plugins.names, "api-key"))
        raise ConfigError(
            "the api-key plugin is not declared for this deployment: idp would write keys the server "
            "does not read",
            hint=f"if the server runs Better Auth's apiKey() plugin, declare it: IDP_PLUGINS={wanted} "
            "(then `idp migrate` creates its table when missing)",
        )


def check_expires(expires_in: int) -> int:
    """`--expires`, within the plugin's default keyExpiration limits (1 to 365 days)."""
    if not MIN_EXPIRES_DAYS * DAY <= expires_in <= MAX_EXPIRES_DAYS * DAY:
        raise InvalidInput(
            f"--expires must be between {MIN_EXPIRES_DAYS} and {MAX_EXPIRES_DAYS} days "
            "(the api-key plugin's keyExpiration limits), e.g. 30d"
        )
    return expires_in


def _view(row: ApiKeyRow, now: datetime) -> ApiKeyView:
    return ApiKeyView(row, expired=row.expires_at is not None and row.expires_at < now)


def create(
    store: Store,
    *,
    email: str,
    name: str,
    expires_in: int | None,
    prefix: str | None,
    permissions: Mapping[str, Sequence[str]] | None,
    metadata: Mapping[str, Any] | None,
    now: datetime,
) -> ApiKeyCreated:
    from owox_idp.crypto import apikeys
    from owox_idp.crypto.random import generate_id
    from owox_idp.db.apikey_schema import CREATE_DEFAULTS, DEFAULT_CONFIG_ID

    ensure_supported(store.deployment)
    apikeys.check_name(name)
    if prefix is not None:
        apikeys.check_prefix(prefix)
    if expires_in is not None:
        check_expires(expires_in)
    user = require_user(store, email)
    if user.banned and (user.ban_expires is None or user.ban_expires > now):
        raise Refused(
            f"{user.email} is banned: a new key would let them in (the server does not check bans on keys)",
            hint=f"unban them first: idp unban {user.email}",
        )
    new = apikeys.new_api_key(prefix)
    repo = store.api_keys
    values: dict[str, Any] = dict(CREATE_DEFAULTS)
    values |= {
        "id": generate_id(),
        "name": name,
        "start": new.start,
        repo.owner_field: user.id,
        "prefix": new.prefix,
        "key": new.hashed,
        "expiresAt": now + timedelta(seconds=expires_in) if expires_in is not None else None,
        "createdAt": now,
        "updatedAt": now,
        "permissions": apikeys.serialize_permissions(permissions) if permissions is not None else None,
        "metadata": apikeys.serialize_metadata(metadata) if metadata is not None else None,
    }
    if repo.has_column("configId"):  # 1.5+
        values["configId"] = DEFAULT_CONFIG_ID
    repo.insert(values)
    row = repo.find(values["id"])
    assert row is not None  # just written in this transaction
    return ApiKeyCreated(_view(row, now), new.key)


def list_keys(
    store: Store, *, email: str | None, include_expired: bool = False, now: datetime
) -> list[ApiKeyView]:
    """Newest first. Expired keys are left out unless asked for: the server deletes them when it meets
    them (on verification, and in its sweep on create/list/update/delete)."""
    ensure_supported(store.deployment)
    user_id = require_user(store, email).id if email is not None else None
    rows = store.api_keys.query(user_id=user_id, live_at=None if include_expired else now)
    return [_view(r, now) for r in rows]


def revoke(store: Store, *, key_id: str | None, email: str | None) -> ApiKeyRevokeResult:
    """Delete one key by id, or every key of a user: what the plugin's own delete route does."""
    ensure_supported(store.deployment)
    repo = store.api_keys
    if (key_id is None) == (email is None):
        raise InvalidInput("give a key id, or --all EMAIL for every key of a user")
    if key_id is not None:
        row = repo.find(key_id)
        if row is None:
            raise ApiKeyNotFound(key_id)
        repo.forget_ban(ids=[key_id])
        return ApiKeyRevokeResult(repo.delete([key_id]), [key_id], row.user_id, row.email)
    assert email is not None
    user = require_user(store, email)
    ids = repo.ids_for_user(user.id)
    repo.forget_ban(user.id)
    return ApiKeyRevokeResult(repo.delete(ids), ids, user.id, user.email)


# ---------------------------------------------------------------------- ban, unban, delete-user


def disable_for_ban(store: Store, user: User, now: datetime) -> int:
    """Disable the user's enabled keys and remember which; returns how many. Called by `ban` before its
    other writes (the table of records may have to be created, and MySQL commits around DDL)."""
    repo = store.api_keys
    if not repo.present:
        return 0
    ids = repo.ids_for_user(user.id, enabled_only=True)
    if not ids:
        return 0
    repo.ensure_ban_table()
    recorded = set(repo.banned_ids(user.id))  # a re-ban: keys the server re-enabled meanwhile
    repo.record_ban(user.id, [i for i in ids if i not in recorded], now)
    return repo.set_enabled(ids, False, now)


def restore_after_unban(store: Store, user: User, now: datetime) -> int:
    """Enable again exactly the keys that `ban` disabled (those that still exist); returns how many."""
    repo = store.api_keys
    if not repo.present:
        return 0
    ids = repo.banned_ids(user.id)
    restored = repo.set_enabled(ids, True, now)
    repo.forget_ban(user.id)
    return restored


def delete_for_user(store: Store, user: User) -> int:
    """Delete the user's keys (and idp's records of them) when the user is deleted."""
    repo = store.api_keys
    if not repo.present:
        return 0
    repo.forget_ban(user.id)
    return repo.delete_for_user(user.id)
