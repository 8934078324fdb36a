"""The user lifecycle: add, bootstrap, reset, set role, ban, unban, delete, list, show.

Every function runs inside the caller's transaction (the command owns it), so "ban + revoke sessions"
or "new link + remove password" either happen completely or not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from owox_idp.clock import after
from owox_idp.config import Settings
from owox_idp.crypto.random import generate_id
from owox_idp.errors import InvalidInput, Refused, UserExists, UserNotFound
from owox_idp.models import OwoxBan, User
from owox_idp.repository import OWOX_ORG_ID, OWOX_ORG_NAME, OWOX_ORG_SLUG, Repository, UserFilter
from owox_idp.services import links
from owox_idp.validation import has_admin_role, name_from_email, normalize_email, normalize_role


@dataclass
class AddUserResult:
    user_id: str
    email: str
    role: str | None
    created: bool
    magic_link: str | None
    expires_at: datetime | None
    has_password: bool = False
    revoked_links: int = 0


@dataclass
class BootstrapResult:
    user_id: str
    email: str
    action: str  # created | link-issued | unchanged
    role_changed: bool
    magic_link: str | None
    expires_at: datetime | None


@dataclass
class ResetResult:
    user_id: str
    email: str
    sessions_revoked: int
    links_revoked: int
    magic_link: str | None
    expires_at: datetime | None
    password_set: bool


@dataclass
class RoleResult:
    user_id: str
    email: str
    role: str
    previous_role: str | None


@dataclass
class BanResult:
    user_id: str
    email: str
    banned: bool
    ban_reason: str | None
    ban_expires: datetime | None
    sessions_revoked: int
    links_revoked: int = 0
    changed: bool = True
    role: str | None = None


@dataclass
class DeleteResult:
    user_id: str
    email: str
    deleted: bool
    removed: dict[str, int] = field(default_factory=dict)


@dataclass
class UserDetails:
    user: User
    sessions: int
    active_sessions: int
    pending_links: int
    organization: str | None


def require_user(repo: Repository, email: str) -> User:
    user = repo.find_user_by_email(normalize_email(email))
    if user is None:
        raise UserNotFound(email.strip().lower())
    return user


def _hash(settings: Settings, password: str) -> str:
    from owox_idp.crypto.passwords import hash_password, validate_password_length

    validate_password_length(password)
    return hash_password(password, scheme=settings.password_hash)


def ensure_organization(repo: Repository, first_user_id: str, now: datetime) -> None:
    if not repo.organization_exists(OWOX_ORG_ID):
        repo.insert_organization(
            {
                "id": OWOX_ORG_ID,
                "name": OWOX_ORG_NAME,
                "slug": OWOX_ORG_SLUG,
                "logo": None,
                "createdAt": now,
                "metadata": json.dumps(
                    {"isDefault": True, "createdBy": first_user_id}, separators=(",", ":")
                ),
            }
        )


def _set_role(repo: Repository, settings: Settings, user: User, role: str, now: datetime) -> None:
    if settings.is_owox:
        ensure_organization(repo, user.id, now)
        if repo.update_member_role(user.id, OWOX_ORG_ID, role) == 0:
            repo.insert_member(
                {
                    "id": generate_id(),
                    "organizationId": OWOX_ORG_ID,
                    "userId": user.id,
                    "role": role,
                    "createdAt": now,
                }
            )
    else:
        repo.update_user(user.id, {"role": role, "updatedAt": now})


def _store_password(repo: Repository, user_id: str, password_hash: str, now: datetime) -> None:
    existing = repo.get_credential(user_id)
    if existing is None:
        repo.insert_account(
            {
                "id": generate_id(),
                "accountId": user_id,
                "providerId": "credential",
                "userId": user_id,
                "password": password_hash,
                "createdAt": now,
                "updatedAt": now,
            }
        )
    else:
        repo.update_credential(existing[0], password_hash, now)


def _guard_last_admin(
    repo: Repository, settings: Settings, user: User, *, force: bool, action: str, role_only: bool = False
) -> None:
    """Refuse (exit 8) when `action` would leave no active admin. With `role_only` the action only takes
    the admin role away: a user listed in the server's adminUserIds stays an admin then."""
    configured = user.id in settings.admin_user_ids
    is_admin = has_admin_role(settings, user.role) or configured
    if force or user.banned or not is_admin or (role_only and configured):
        return
    admins = repo.active_admin_ids(settings.admin_roles, settings.admin_user_ids)
    _test_pause()
    if admins == [user.id] or (user.id in admins and len(admins) == 1):
        raise Refused(
            f"{user.email} is the last active admin: {action} would leave the deployment without one",
            hint="make another user admin first, or pass --force",
        )


def _test_pause() -> None:
    """Test-only: IDP_TEST_PAUSE_AFTER_ADMIN_CHECK=<seconds> widens the window between the last-admin
    check and the write, so that a test can prove two concurrent demotions cannot both pass it."""
    import os

    pause = os.environ.get("IDP_TEST_PAUSE_AFTER_ADMIN_CHECK")
    if pause:
        import time

        time.sleep(float(pause))


def _refuse_if_owox_banned(settings: Settings, user: User, action: str) -> None:
    if settings.is_owox and user.banned:
        raise Refused(
            f"{user.email} is banned: unban them before you {action}", hint=f"idp unban {user.email}"
        )


def add_user(
    repo: Repository,
    settings: Settings,
    *,
    email: str,
    role: str | None,
    name: str | None,
    password: str | None,
    ttl: int,
    if_missing: bool,
    now: datetime,
    callback_url: str | None = None,
) -> AddUserResult:
    email = normalize_email(email)
    role = normalize_role(settings, role) if role else settings.default_role
    password_hash = _hash(settings, password) if password is not None else None
    if settings.is_owox:
        settings.require_secrets()  # the link's role token needs it: fail before writing anything

    existing = repo.find_user_by_email(email)
    if existing is not None:
        if if_missing:
            return AddUserResult(
                existing.id, existing.email, existing.role, False, None, None, existing.has_password
            )
        raise UserExists(email)

    user_id = generate_id()
    values: dict[str, Any] = {
        "id": user_id,
        "name": (name.strip() if name and name.strip() else name_from_email(email)),
        "email": email,
        # the operator vouches for the address; an unverified user would lose its password when the
        # magic link is opened (Better Auth's revokeUnprovenAccountAccess)
        "emailVerified": True,
        "image": None,
        "createdAt": now,
        "updatedAt": now,
    }
    if not settings.is_owox:
        values["role"] = role
        values["banned"] = False
        if "twoFactorEnabled" in repo.t["user"].c:
            values["twoFactorEnabled"] = False
    repo.insert_user(values)
    if settings.is_owox:
        ensure_organization(repo, user_id, now)
        repo.insert_member(
            {
                "id": generate_id(),
                "organizationId": OWOX_ORG_ID,
                "userId": user_id,
                "role": role,
                "createdAt": now,
            }
        )
    if password_hash is not None:
        _store_password(repo, user_id, password_hash, now)
    revoked = links.revoke_links(repo, email)
    link = links.issue(repo, settings, email=email, role=role, ttl=ttl, now=now, callback_url=callback_url)
    return AddUserResult(
        user_id, email, role, True, link.url, link.expires_at, password_hash is not None, revoked
    )


def bootstrap_admin(
    repo: Repository, settings: Settings, *, email: str, ttl: int, now: datetime
) -> BootstrapResult:
    email = normalize_email(email)
    admin_role = settings.admin_roles[0]
    user = repo.find_user_by_email(email)
    if user is None:
        added = add_user(
            repo,
            settings,
            email=email,
            role=admin_role,
            name=None,
            password=None,
            ttl=ttl,
            if_missing=False,
            now=now,
        )
        return BootstrapResult(added.user_id, email, "created", True, added.magic_link, added.expires_at)

    role_changed = False
    if user.banned:
        _unban(repo, settings, user, now)
        user = repo.find_user_by_id(user.id) or user
    if not has_admin_role(settings, user.role):
        _set_role(repo, settings, user, admin_role, now)
        role_changed = True
    if user.has_password:
        return BootstrapResult(user.id, user.email, "unchanged", role_changed, None, None)
    links.revoke_links(repo, user.email)
    link = links.issue(repo, settings, email=user.email, role=admin_role, ttl=ttl, now=now)
    return BootstrapResult(user.id, user.email, "link-issued", role_changed, link.url, link.expires_at)


def reset_password(
    repo: Repository,
    settings: Settings,
    *,
    email: str,
    password: str | None,
    keep_sessions: bool,
    ttl: int,
    now: datetime,
) -> ResetResult:
    user = require_user(repo, email)
    _refuse_if_owox_banned(settings, user, "reset their password")
    password_hash = _hash(settings, password) if password is not None else None
    revoked_links = links.revoke_links(repo, user.email)
    links.revoke_user_tokens(repo, user.id)
    link = None
    if password_hash is not None:
        _store_password(repo, user.id, password_hash, now)
        if not user.email_verified:
            repo.update_user(user.id, {"emailVerified": True, "updatedAt": now})
    else:
        # the new way in exists before the old one is removed (and both happen in one transaction)
        role = user.role or settings.default_role
        link = links.issue(repo, settings, email=user.email, role=role, ttl=ttl, now=now)
        repo.delete_credential(user.id)
    sessions = 0 if keep_sessions else repo.delete_sessions(user.id)
    return ResetResult(
        user.id,
        user.email,
        sessions,
        revoked_links,
        link.url if link else None,
        link.expires_at if link else None,
        password_hash is not None,
    )


def set_role(
    repo: Repository, settings: Settings, *, email: str, role: str, force: bool, now: datetime
) -> RoleResult:
    role = normalize_role(settings, role)
    repo.lock_admins()
    user = require_user(repo, email)
    _refuse_if_owox_banned(settings, user, "change their role")
    if not has_admin_role(settings, role):
        _guard_last_admin(
            repo, settings, user, force=force, action="removing their admin role", role_only=True
        )
    if user.role != role:
        _set_role(repo, settings, user, role, now)
    return RoleResult(user.id, user.email, role, user.role)


def ban(
    repo: Repository,
    settings: Settings,
    *,
    email: str,
    reason: str | None,
    expires_in: int | None,
    force: bool,
    now: datetime,
) -> BanResult:
    repo.lock_admins()
    user = require_user(repo, email)
    if settings.is_owox and expires_in is not None:
        raise InvalidInput(
            "OWOX's server has no timed bans: ban without --expires and run `idp unban` when it should end"
        )
    _guard_last_admin(repo, settings, user, force=force, action="banning them")
    if settings.is_owox:
        repo.ensure_owox_ban_table()  # DDL first: MySQL commits implicitly around it
        ban_row = repo.get_owox_ban(user.id)
        if ban_row is not None:
            return BanResult(user.id, user.email, True, ban_row.reason, ban_row.expires_at, 0, changed=False)
        credential = repo.get_credential(user.id)
        repo.insert_owox_ban(
            OwoxBan(
                user_id=user.id,
                previous_role=user.role,
                password_hash=credential[1] if credential else None,
                reason=reason,
                expires_at=None,
                created_at=now,
            )
        )
        # no role (the app API refuses), no password (no sign-in), no sessions, no links
        repo.delete_members(user.id)
        repo.delete_credential(user.id)
        ban_reason, ban_expires = reason, None
    else:
        ban_reason = reason or "No reason"
        ban_expires = after(expires_in, start=now) if expires_in else None
        repo.update_user(
            user.id, {"banned": True, "banReason": ban_reason, "banExpires": ban_expires, "updatedAt": now}
        )
    sessions = repo.delete_sessions(user.id)
    revoked = links.revoke_links(repo, user.email)
    links.revoke_user_tokens(repo, user.id)
    return BanResult(user.id, user.email, True, ban_reason, ban_expires, sessions, revoked, role=user.role)


def _unban(repo: Repository, settings: Settings, user: User, now: datetime) -> bool:
    if settings.is_owox:
        ban_row = repo.get_owox_ban(user.id)
        if ban_row is None:
            return False
        if ban_row.previous_role:
            _set_role(repo, settings, user, ban_row.previous_role, now)
        if ban_row.password_hash and repo.get_credential(user.id) is None:
            _store_password(repo, user.id, ban_row.password_hash, now)
        repo.delete_owox_ban(user.id)
        return True
    if not user.banned:
        return False
    repo.update_user(user.id, {"banned": False, "banReason": None, "banExpires": None, "updatedAt": now})
    return True


def unban(repo: Repository, settings: Settings, *, email: str, now: datetime) -> BanResult:
    user = require_user(repo, email)
    role = user.role
    if settings.is_owox:
        ban_row = repo.get_owox_ban(user.id)
        role = ban_row.previous_role if ban_row else user.role
    changed = _unban(repo, settings, user, now)
    return BanResult(user.id, user.email, False, None, None, 0, changed=changed, role=role)


def delete_user(
    repo: Repository, settings: Settings, *, email: str, force: bool, now: datetime
) -> DeleteResult:
    del now
    repo.lock_admins()
    user = require_user(repo, email)
    _guard_last_admin(repo, settings, user, force=force, action="deleting them")
    removed: dict[str, int] = {}
    # explicit deletes: MySQL before 9 ignores inline foreign keys, so nothing cascades there
    removed["sessions"] = repo.delete_sessions(user.id)
    removed["accounts"] = repo.delete_accounts(user.id)
    if repo.t.has("member"):
        removed["memberships"] = repo.delete_members(user.id)
        removed["invitations"] = repo.delete_invitations_by_inviter(user.id)
    if repo.t.has("twoFactor"):
        removed["two_factor"] = repo.delete_two_factor(user.id)
    removed["links"] = links.revoke_links(repo, user.email)
    removed["tokens"] = links.revoke_user_tokens(repo, user.id)
    if settings.is_owox:
        repo.delete_owox_ban(user.id)
    deleted = repo.delete_user(user.id) > 0
    return DeleteResult(user.id, user.email, deleted, removed)


def list_users(
    repo: Repository,
    settings: Settings,
    *,
    role: str | None,
    search: str | None,
    banned: bool | None,
    limit: int | None,
    offset: int,
    cursor: str | None = None,
) -> list[User]:
    if role is not None:
        role = normalize_role(settings, role)
    if limit is not None and limit < 1:
        raise InvalidInput("--limit must be at least 1")
    if offset < 0:
        raise InvalidInput("--offset cannot be negative")
    after_row = parse_cursor(cursor) if cursor is not None else None
    return repo.list_users(
        UserFilter(role=role, search=search, banned=banned, limit=limit, offset=offset, after=after_row)
    )


def page_cursor(created: datetime | None, row_id: str) -> str:
    """The keyset cursor after a row (a user, a session) in a newest-first listing: `<created_at>,<id>`,
    the same two values `--json` prints (microseconds kept when the database has them)."""
    from owox_idp.clock import iso

    if created is None:
        raise InvalidInput(f"row {row_id} has no createdAt: keyset paging needs one")
    text = iso(created) or ""
    if created.microsecond % 1000:
        text = text[:-4] + f"{created.microsecond:06d}Z"
    return f"{text},{row_id}"


def parse_cursor(cursor: str) -> tuple[datetime, str]:
    from owox_idp.db.types import parse_date

    created_text, sep, user_id = cursor.strip().partition(",")
    created = parse_date(created_text) if sep and "T" in created_text else None
    if created is None or not user_id:
        raise InvalidInput(
            f"invalid cursor {cursor!r}: expected <created_at>,<id> as printed after a full page"
        )
    return created, user_id


def show_user(repo: Repository, settings: Settings, *, email: str, now: datetime) -> UserDetails:
    user = require_user(repo, email)
    organization = None
    if settings.is_owox and repo.member_rows(user.id, OWOX_ORG_ID):
        organization = OWOX_ORG_ID
    return UserDetails(
        user=user,
        sessions=repo.count_sessions(user_id=user.id),
        active_sessions=repo.count_sessions(user_id=user.id, active_after=now),
        pending_links=len(links.pending_links(repo, settings, user.email, now)),
        organization=organization,
    )
