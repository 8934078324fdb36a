"""Plain, frozen records that the repository returns and the services pass around."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# The keys of a user's record (`list-users --json`, `idp export`), in order; each is a `User` attribute.
USER_RECORD_FIELDS = (
    "id",
    "email",
    "name",
    "role",
    "email_verified",
    "has_password",
    "banned",
    "two_factor_enabled",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str
    email_verified: bool
    created_at: datetime | None
    updated_at: datetime | None
    role: str | None = None
    banned: bool = False
    ban_reason: str | None = None
    ban_expires: datetime | None = None
    two_factor_enabled: bool = False
    has_password: bool = False

    def record(self) -> dict[str, Any]:
        """The stable form of `list-users --json` and `idp export`: no hash, no secret, no token."""
        return {name: getattr(self, name) for name in USER_RECORD_FIELDS}

    def to_json(self) -> dict[str, Any]:
        """`record()` with ISO-8601 UTC dates: one element of `list-users --json`."""
        from owox_idp.clock import iso

        return {k: iso(v) if isinstance(v, datetime) else v for k, v in self.record().items()}


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    email: str | None
    token: str
    created_at: datetime | None
    expires_at: datetime | None
    ip_address: str | None
    user_agent: str | None
    impersonated_by: str | None
    active: bool = True  # the Rust port's sessions.active (its lookups require true); True elsewhere


@dataclass(frozen=True)
class Verification:
    id: str
    identifier: str
    value: str
    expires_at: datetime | None
    created_at: datetime | None


@dataclass(frozen=True)
class OwoxBan:
    """What `idp ban` took away from an OWOX user, kept so that `idp unban` can give it back."""

    user_id: str
    previous_role: str | None
    password_hash: str | None
    reason: str | None
    expires_at: datetime | None
    created_at: datetime | None


@dataclass(frozen=True)
class TwoFactorRow:
    id: str
    user_id: str
    secret: str
    backup_codes: str
    verified: bool | None


@dataclass(frozen=True)
class ApiKeyRow:
    """An `apikey` row (the api-key plugin) without its `key` column: the hash is never read back."""

    id: str
    user_id: str  # `referenceId` (1.5+) or `userId` (1.4): the owner
    email: str | None  # the owner's, None when no such user (a deleted user, or an organization owner)
    name: str | None
    start: str | None
    prefix: str | None
    enabled: bool | None  # NULL counts as enabled
    expires_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None
    permissions: str | None  # JSON text
    metadata: str | None  # JSON text
    config_id: str | None
    request_count: int | None
    remaining: int | None
    last_request: datetime | None
