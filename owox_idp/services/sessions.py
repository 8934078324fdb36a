"""Sessions: list them (never with the full token) and revoke one or all of a user's.

Revoking deletes the database rows. What that cannot reach (a cookie cache, sessions kept in a
secondary storage such as Redis, OWOX access tokens) is explained in docs/sessions-and-revocation.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from owox_idp.config import Settings
from owox_idp.errors import InvalidInput, SessionNotFound
from owox_idp.models import Session
from owox_idp.repository import Repository
from owox_idp.services.users import require_user

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


@dataclass
class RevokeResult:
    user_id: str
    email: str
    revoked: int
    session_id: str | None = None


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
        active=session.expires_at is not None and session.expires_at > now,
    )


def list_sessions(
    repo: Repository,
    settings: Settings,
    *,
    email: str | None,
    include_expired: bool,
    limit: int | None,
    offset: int,
    now: datetime,
    cursor: str | None = None,
) -> list[SessionView]:
    """Active sessions (all of them with `include_expired`), newest first, of one user or of everyone.
    `cursor` (from `page_cursor`) continues after the last session of the previous page."""
    from owox_idp.services.users import parse_cursor

    del settings
    if limit is not None and limit < 1:
        raise InvalidInput("--limit must be at least 1")
    if offset < 0:
        raise InvalidInput("--offset cannot be negative")
    user_id = require_user(repo, email).id if email is not None else None
    rows = repo.list_sessions(
        user_id=user_id,
        active_after=None if include_expired else now,
        limit=limit,
        offset=offset,
        after=parse_cursor(cursor) if cursor else None,
    )
    return [_view(row, now) for row in rows]


def revoke_sessions(
    repo: Repository, settings: Settings, *, email: str, session_id: str | None
) -> RevokeResult:
    """Delete one session of the user (`session_id`) or all of them; returns how many went."""
    del settings
    user = require_user(repo, email)
    if session_id is None:
        return RevokeResult(user.id, user.email, repo.delete_sessions(user.id))
    if repo.delete_session(user.id, session_id) == 0:
        other = repo.find_session(session_id)
        if other is not None:
            raise SessionNotFound(
                f"session {session_id} belongs to another user, not {user.email}",
                hint=f"idp revoke-sessions {other.email} --session-id {session_id}" if other.email else None,
            )
        raise SessionNotFound(
            f"{user.email} has no session with id {session_id}", hint=f"idp list-sessions {user.email} --all"
        )
    return RevokeResult(user.id, user.email, 1, session_id)
