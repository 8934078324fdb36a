"""Sessions: list them (never with the full token) and revoke one or all of a user's.

Revoking deletes the database rows. What that cannot reach (a cookie cache, sessions kept in a
secondary storage such as Redis, OWOX access tokens) is explained in docs/sessions-and-revocation.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from owox_idp.clock import iso
from owox_idp.errors import InvalidInput, SessionNotFound
from owox_idp.models import Session
from owox_idp.services.users import require_user

if TYPE_CHECKING:
    from owox_idp.repository import Store

TOKEN_PREFIX_LENGTH = 6


@dataclass(frozen=True)
class SessionView:
    """A session as listings show it: the token is reduced to a short prefix."""

    id: str
    user_id: str
    email: str | None
    created_at: datetime | None
    expires_at: datetime | None
    ip_address: str | None
    user_agent: str | None
    impersonated_by: str | None
    token_prefix: str
    active: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "email": self.email,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "active": self.active,
            "ip_address": self.ip_address,
            "user_agent": self.user_agent,
            "impersonated_by": self.impersonated_by,
            "token_prefix": self.token_prefix,
        }


@dataclass
class RevokeResult:
    user_id: str
    email: str
    revoked: int
    session_id: str | None = None
    impersonation_sessions_revoked: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "session_id": self.session_id,
            "revoked": self.revoked,
            "impersonation_sessions_revoked": self.impersonation_sessions_revoked,
        }


def token_prefix(token: str) -> str:
    """At most the first 6 characters, and never more than a quarter of the token."""
    return token[: min(TOKEN_PREFIX_LENGTH, len(token) // 4)]


def _view(session: Session, now: datetime) -> SessionView:
    return SessionView(
        id=session.id,
        user_id=session.user_id,
        email=session.email,
        created_at=session.created_at,
        expires_at=session.expires_at,
        ip_address=session.ip_address,
        user_agent=session.user_agent,
        impersonated_by=session.impersonated_by,
        token_prefix=token_prefix(session.token or ""),
        active=session.active and session.expires_at is not None and session.expires_at > now,
    )


def list_sessions(
    store: Store,
    *,
    email: str | None = None,
    include_expired: bool = False,
    limit: int | None = None,
    offset: int = 0,
    now: datetime,
    cursor: str | None = None,
) -> list[SessionView]:
    """Active sessions (all of them with `include_expired`), newest first, of one user or of everyone.
    `cursor` (from `page_cursor`) continues after the last session of the previous page."""
    from owox_idp.services.users import parse_cursor
    from owox_idp.validation import validate_limit, validate_offset

    store.deployment.require_database_sessions("listing sessions")
    validate_limit(limit)
    validate_offset(offset)
    if limit is not None and limit < 1:
        raise InvalidInput("--limit must be at least 1")
    if offset < 0:
        raise InvalidInput("--offset cannot be negative")
    user_id = require_user(store, email).id if email is not None else None
    rows = store.sessions.query(
        user_id=user_id,
        active_after=None if include_expired else now,
        limit=limit,
        offset=offset,
        after=parse_cursor(cursor) if cursor else None,
    )
    return [_view(row, now) for row in rows]


def revoke_sessions(store: Store, *, email: str, session_id: str | None = None) -> RevokeResult:
    """Delete one session of the user (`session_id`) or all of them; returns how many went."""
    from owox_idp.validation import validate_text

    store.deployment.require_database_sessions("revoking sessions")
    if session_id is not None:
        validate_text(session_id, what="--session-id", max_length=255)
    user = require_user(store, email)
    if session_id is None:
        # the user's own sessions, and those in which they act as someone else
        own = store.sessions.delete_for_user(user.id)
        return RevokeResult(user.id, user.email, own, None, store.sessions.delete_impersonations(user.id))
    if store.sessions.delete_one(user.id, session_id) == 0:
        other = store.sessions.find(session_id)
        if other is not None:
            raise SessionNotFound(
                f"session {session_id} belongs to another user, not {user.email}",
                hint=f"idp revoke-sessions {other.email} --session-id {session_id}" if other.email else None,
            )
        raise SessionNotFound(
            f"{user.email} has no session with id {session_id}", hint=f"idp list-sessions {user.email} --all"
        )
    return RevokeResult(user.id, user.email, 1, session_id)
