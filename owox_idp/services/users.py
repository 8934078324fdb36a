"""The user lifecycle: add, bootstrap, reset, set role, ban, unban, delete, list, show.

Every function runs inside the caller's transaction (the `Store` it is given), so "ban + revoke
sessions" or "new link + remove password" either happen completely or not at all. What differs between
flavors (where a role lives, how a ban holds, how a link looks) is asked of `store.deployment.flavor`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

from owox_idp.clock import after, iso
from owox_idp.errors import Conflict, InvalidInput, Refused, UsageError, UserExists, UserNotFound
from owox_idp.models import User
from owox_idp.repository import UserFilter
from owox_idp.repository.users import Sort
from owox_idp.validation import name_from_email, normalize_email

if TYPE_CHECKING:
    from owox_idp.repository import Store

BootstrapAction = Literal["created", "link-issued", "unchanged"]


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

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "role": self.role,
            "created": self.created,
            "has_password": self.has_password,
            "magic_link": self.magic_link,
            "expires_at": iso(self.expires_at),
        }


@dataclass
class BootstrapResult:
    user_id: str
    email: str
    action: BootstrapAction
    role_changed: bool
    magic_link: str | None
    expires_at: datetime | None
    unbanned: bool = False
    links_revoked: int = 0

    @property
    def actions(self) -> list[str]:
        """Every change made, in order: what a deploy log should show."""
        done = []
        if self.action == "created":
            done.append("created")
        if self.unbanned:
            done.append("unbanned")
        if self.role_changed and self.action != "created":
            done.append("made-admin")
        if self.links_revoked:
            done.append("links-revoked")
        if self.magic_link:
            done.append("link-issued")
        return done

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "action": self.action,
            "actions": self.actions,
            "role_changed": self.role_changed,
            "unbanned": self.unbanned,
            "links_revoked": self.links_revoked,
            "magic_link": self.magic_link,
            "expires_at": iso(self.expires_at),
        }


@dataclass
class ResetResult:
    user_id: str
    email: str
    sessions_revoked: int
    links_revoked: int
    magic_link: str | None
    expires_at: datetime | None
    password_set: bool
    impersonation_sessions_revoked: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "sessions_revoked": self.sessions_revoked,
            "impersonation_sessions_revoked": self.impersonation_sessions_revoked,
            "links_revoked": self.links_revoked,
            "password_set": self.password_set,
            "magic_link": self.magic_link,
            "expires_at": iso(self.expires_at),
        }


@dataclass
class RoleResult:
    user_id: str
    email: str
    role: str
    previous_role: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "role": self.role,
            "previous_role": self.previous_role,
        }


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
    impersonation_sessions_revoked: int = 0
    already_banned: bool = False
    api_keys_disabled: int = 0  # ban: keys set to enabled=false (services/apikeys.py)
    api_keys_enabled: int = 0  # unban: those keys enabled again

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "banned": self.banned,
            "ban_reason": self.ban_reason,
            "ban_expires": iso(self.ban_expires),
            "sessions_revoked": self.sessions_revoked,
            "impersonation_sessions_revoked": self.impersonation_sessions_revoked,
            "changed": self.changed,
            "already_banned": self.already_banned,
            "api_keys_disabled": self.api_keys_disabled,
            "api_keys_enabled": self.api_keys_enabled,
        }


@dataclass
class DeleteResult:
    user_id: str
    email: str
    deleted: bool
    removed: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "deleted": self.deleted,
            "removed": self.removed,
        }


@dataclass
class UserDetails:
    user: User
    sessions: int
    active_sessions: int
    pending_links: int
    organization: str | None

    def to_json(self) -> dict[str, Any]:
        u = self.user
        return u.to_json() | {
            "ban_reason": u.ban_reason,
            "ban_expires": iso(u.ban_expires),
            "sessions": self.sessions,
            "active_sessions": self.active_sessions,
            "pending_links": self.pending_links,
            "organization": self.organization,
        }


def require_user(store: Store, email: str) -> User:
    user = store.users.find_by_email(normalize_email(email))
    if user is None:
        raise UserNotFound(email.strip().lower())
    return user


def _hash(store: Store, password: str) -> str:
    from owox_idp.crypto.passwords import validate_password_length

    validate_password_length(password)
    dep = store.deployment
    return dep.flavor.password_hasher(dep.settings)(password)


def _guard_last_admin(store: Store, user: User, *, force: bool, action: str, role_only: bool = False) -> None:
    """Refuse (exit 8) when `action` would leave no active admin. With `role_only` the action only takes
    the admin role away: a user listed in the server's adminUserIds stays an admin then."""
    dep = store.deployment
    configured = user.id in dep.admin_user_ids
    if force or user.banned or not dep.is_admin(user.id, user.role) or (role_only and configured):
        return
    admins = store.users.active_admin_ids(dep.admin_roles, dep.admin_user_ids)
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


def _refuse_if_frozen(store: Store, user: User, action: str) -> None:
    """Where the ban took the role and password away, changing them would undo part of it."""
    if store.deployment.flavor.frozen_while_banned and user.banned:
        raise Refused(
            f"{user.email} is banned: unban them before you {action}", hint=f"idp unban {user.email}"
        )


def require_link_secret(store: Store) -> None:
    """Fail before writing anything when the flavor's links need the secret and there is none."""
    if store.deployment.flavor.link_needs_secret:
        store.deployment.settings.require_secrets()


def new_user_row(
    store: Store,
    *,
    email: str,
    name: str | None,
    role: str,
    now: datetime,
    fields: dict[str, Any] | None = None,
    email_verified: bool = True,
    created_at: datetime | None = None,
    template: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `user` row of a new user, as the server would create it: a new id in the deployment's
    format (none when the database makes it), the flavor's role columns, the additional fields
    (`template`: `user_template(store, role, fields)` made once for many users of one role)."""
    values: dict[str, Any] = {
        "name": (name.strip() if name and name.strip() else name_from_email(email)),
        "email": email,
        # the operator vouches for the address; an unverified user would lose its password when the
        # magic link is opened (Better Auth's revokeUnprovenAccountAccess)
        "emailVerified": email_verified,
        "image": None,
        "createdAt": created_at or now,
        "updatedAt": now,
    }
    values.update(user_template(store, role, fields) if template is None else template)
    return store.users.with_id(values)


def user_template(store: Store, role: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The columns of a new user row that depend only on the role and the given fields: the flavor's
    role and ban columns, the additional fields (given, or their declared defaults)."""
    values = dict(store.deployment.flavor.new_user_values(store, role))
    values.update(store.deployment.additional_user_values(fields))
    return values


def add_user(
    store: Store,
    *,
    email: str,
    role: str | None,
    name: str | None,
    password: str | None,
    ttl: int,
    if_missing: bool,
    now: datetime,
    callback_url: str | None = None,
    fields: dict[str, str] | None = None,
    no_link: bool = False,
) -> AddUserResult:
    from owox_idp.services import links
    from owox_idp.validation import validate_name, validate_url

    dep = store.deployment
    email = normalize_email(email)
    role = dep.normalize_role(role) if role else dep.default_role
    if name is not None:
        validate_name(name)
    if callback_url is not None:
        validate_url(callback_url, what="--callback-url")
    if no_link and password is None:
        raise UsageError(
            "--no-link needs a password (--password-stdin): without either the user could never sign in",
            hint="leave out --no-link to print a one-time sign-in link",
        )
    password_hash = _hash(store, password) if password is not None else None
    if not no_link:
        require_link_secret(store)
    # --field NAME=VALUE: checked and converted as update-user does, then bound with the column's type
    extra = additional_field_values(store, fields or {})
    given = {n: v for n, (v, _) in extra.items()}

    existing = store.users.find_by_email(email)
    if existing is not None:
        if if_missing:
            return AddUserResult(
                existing.id, existing.email, existing.role, False, None, None, existing.has_password
            )
        raise UserExists(email)

    user_id = store.users.insert(
        new_user_row(store, email=email, name=name, role=role, now=now, fields=given), typed=extra
    )
    dep.flavor.assign_new_roles(store, [(user_id, role)], now)
    if password_hash is not None:
        store.users.store_password(user_id, password_hash, now)
    revoked = links.revoke_links(store, email)  # a former user's links of that address never sign in
    if no_link or (password_hash is not None and not dep.flavor.issues_links):
        return AddUserResult(user_id, email, role, True, None, None, True, revoked)
    # without a password on a server that has no links, the flavor refuses here (nothing is committed)
    link = links.issue(store, email=email, role=role, ttl=ttl, now=now, callback_url=callback_url)
    return AddUserResult(
        user_id, email, role, True, link.url, link.expires_at, password_hash is not None, revoked
    )


def bootstrap_admin(
    store: Store,
    *,
    email: str,
    ttl: int,
    now: datetime,
    lift_ban: bool = False,
    fields: dict[str, str] | None = None,
) -> BootstrapResult:
    """Create the primary admin, or make sure they are one and can get in. A ban is never lifted
    silently: a banned admin is refused (exit 8) unless `lift_ban` asks for it, so that a deploy job
    that runs this every time cannot undo a deliberate ban. `fields` (additional user columns) are
    written when the admin is created; an existing admin's are left as they are (`update-user`)."""
    from owox_idp.services import links

    dep = store.deployment
    email = normalize_email(email)
    admin_role = dep.admin_roles[0]
    user = store.users.find_by_email(email)
    if user is None:
        added = add_user(
            store,
            email=email,
            role=admin_role,
            name=None,
            password=None,
            ttl=ttl,
            if_missing=False,
            now=now,
            fields=fields,
        )
        return BootstrapResult(added.user_id, email, "created", True, added.magic_link, added.expires_at)

    role_changed = unbanned = False
    if user.banned:
        if not lift_ban:
            raise Refused(
                f"{user.email} is banned"
                + (f" ({user.ban_reason})" if user.ban_reason else "")
                + ": bootstrap-admin does not lift a ban",
                hint=f"lift it on purpose with `idp unban {user.email}` or `idp bootstrap-admin --unban`",
            )
        dep.flavor.unban(store, user, now)
        unbanned = True
        user = store.users.find_by_id(user.id) or user
    if not dep.has_admin_role(user.role):
        dep.flavor.set_role(store, user, admin_role, now)
        role_changed = True
    if user.has_password:
        return BootstrapResult(user.id, user.email, "unchanged", role_changed, None, None, unbanned)
    revoked = links.revoke_links(store, user.email)
    link = links.issue(store, email=user.email, role=admin_role, ttl=ttl, now=now)
    return BootstrapResult(
        user.id, user.email, "link-issued", role_changed, link.url, link.expires_at, unbanned, revoked
    )


def reset_password(
    store: Store, *, email: str, password: str | None, keep_sessions: bool, ttl: int, now: datetime
) -> ResetResult:
    from owox_idp.services import links

    if not keep_sessions:
        store.deployment.require_database_sessions(
            "signing the user out (reset-password without --keep-sessions)"
        )
    user = require_user(store, email)
    _refuse_if_frozen(store, user, "reset their password")
    password_hash = _hash(store, password) if password is not None else None
    revoked_links = links.revoke_links(store, user.email)
    links.revoke_user_tokens(store, user.id)
    link = None
    if password_hash is not None:
        store.users.store_password(user.id, password_hash, now)
        if not user.email_verified:
            store.users.update(user.id, {"emailVerified": True, "updatedAt": now})
    else:
        # the new way in exists before the old one is removed (and both happen in one transaction)
        role = user.role or store.deployment.default_role
        link = links.issue(store, email=user.email, role=role, ttl=ttl, now=now)
        store.users.delete_credential(user.id)
    sessions = 0 if keep_sessions else store.sessions.delete_for_user(user.id)
    # what the user does as someone else ends with their own access (also with --keep-sessions, which
    # keeps the user's own sessions only)
    impersonations = store.sessions.delete_impersonations(user.id)
    return ResetResult(
        user.id,
        user.email,
        sessions,
        revoked_links,
        link.url if link else None,
        link.expires_at if link else None,
        password_hash is not None,
        impersonations,
    )


def set_role(store: Store, *, email: str, role: str, force: bool, now: datetime) -> RoleResult:
    dep = store.deployment
    role = dep.normalize_role(role)
    store.users.lock_admins()
    user = require_user(store, email)
    _refuse_if_frozen(store, user, "change their role")
    if not dep.has_admin_role(role):
        _guard_last_admin(store, user, force=force, action="removing their admin role", role_only=True)
    if user.role != role:
        dep.flavor.set_role(store, user, role, now)
    return RoleResult(user.id, user.email, role, user.role)


def ban(
    store: Store, *, email: str, reason: str | None, expires_in: int | None, force: bool, now: datetime
) -> BanResult:
    from owox_idp.services import links
    from owox_idp.validation import validate_text

    flavor = store.deployment.flavor
    if reason is not None:
        validate_text(reason, what="--reason", max_length=1000)
    store.users.lock_admins()
    user = require_user(store, email)
    if expires_in is not None and not flavor.timed_bans:
        raise InvalidInput(
            "OWOX's server has no timed bans: ban without --expires and run `idp unban` when it should end"
        )
    _guard_last_admin(store, user, force=force, action="banning them")
    store.deployment.require_database_sessions("a ban (which must end the user's sessions)")
    already = user.banned and (user.ban_expires is None or user.ban_expires > now)
    # first: the server does not check bans on API keys, so they are disabled (see services/apikeys.py)
    from owox_idp.services import apikeys  # (it imports this module)

    keys_disabled = apikeys.disable_for_ban(store, user, now)
    outcome = flavor.ban(
        store,
        user,
        reason=reason,
        expires=after(expires_in, start=now) if expires_in else None,
        now=now,
        reban=already,
    )
    # every way in goes, also on a re-ban (a session may have been made since)
    sessions = store.sessions.delete_for_user(user.id)
    impersonations = store.sessions.delete_impersonations(user.id)
    revoked = links.revoke_links(store, user.email)
    links.revoke_user_tokens(store, user.id)
    return BanResult(
        user.id,
        user.email,
        True,
        outcome.reason,
        outcome.expires,
        sessions,
        revoked,
        changed=outcome.changed or keys_disabled > 0,
        role=user.role,
        impersonation_sessions_revoked=impersonations,
        already_banned=already,
        api_keys_disabled=keys_disabled,
    )


def unban(store: Store, *, email: str, now: datetime) -> BanResult:
    user = require_user(store, email)
    outcome = store.deployment.flavor.unban(store, user, now)
    # also after a timed ban the server lifted by itself: the keys stay disabled until now
    from owox_idp.services import apikeys

    keys_enabled = apikeys.restore_after_unban(store, user, now)
    return BanResult(
        user.id,
        user.email,
        False,
        None,
        None,
        0,
        changed=outcome.changed or keys_enabled > 0,
        role=outcome.role,
        api_keys_enabled=keys_enabled,
    )


def delete_user(store: Store, *, email: str, force: bool, now: datetime) -> DeleteResult:
    from owox_idp.services import links

    del now
    store.users.lock_admins()
    user = require_user(store, email)
    _guard_last_admin(store, user, force=force, action="deleting them")
    removed: dict[str, int] = {}
    # explicit deletes: MySQL before 9 ignores inline foreign keys, so nothing cascades there
    removed["sessions"] = store.sessions.delete_for_user(user.id)
    removed["impersonation_sessions"] = store.sessions.delete_impersonations(user.id)
    removed["accounts"] = store.users.delete_accounts(user.id)
    if store.members.present:
        removed["memberships"] = store.members.delete_members(user.id)
        removed["invitations"] = store.members.delete_invitations_by_inviter(
            user.id
        ) + store.members.delete_invitations_to(user.email)
    if store.two_factor.present:
        removed["two_factor"] = store.two_factor.delete_for_user(user.id)
    if store.api_keys.present:  # no foreign key from 1.5 on: the keys would keep verifying
        from owox_idp.services import apikeys

        removed["api_keys"] = apikeys.delete_for_user(store, user)
    removed["links"] = links.revoke_links(store, user.email)
    removed["tokens"] = links.revoke_user_tokens(store, user.id)
    store.deployment.flavor.forget(store, user)
    deleted = store.users.delete(user.id) > 0
    return DeleteResult(user.id, user.email, deleted, removed)


SORTS: tuple[Sort, ...] = get_args(Sort)


def user_filter(
    store: Store,
    *,
    role: str | None = None,
    search: str | None = None,
    banned: bool | None = None,
    verified: bool | None = None,
    limit: int | None = None,
    offset: int = 0,
    cursor: str | None = None,
    sort: str = "created",
    ascending: bool = False,
) -> UserFilter:
    """The filter of `list-users`: `role` "none" means users without a role (unless a role has that
    name); keyset paging (`cursor`) follows the creation date only."""
    from owox_idp.validation import validate_limit, validate_offset, validate_text

    validate_limit(limit)
    validate_offset(offset)
    if search is not None:
        validate_text(search, what="--search")
    dep = store.deployment
    no_role = role is not None and role.strip().lower() == "none" and "none" not in dep.roles
    if role is not None and not no_role:
        role = dep.normalize_role(role)
    if sort not in SORTS:
        raise InvalidInput(f"unknown --sort {sort!r}: use {', '.join(SORTS)}")
    if limit is not None and limit < 1:
        raise InvalidInput("--limit must be at least 1")
    if offset < 0:
        raise InvalidInput("--offset cannot be negative")
    if cursor is not None and sort != "created":
        raise UsageError(f"--after pages by creation date: with --sort {sort}, page with --offset")
    after_row = parse_cursor(cursor) if cursor is not None else None
    return UserFilter(
        role=None if no_role else role,
        no_role=no_role,
        search=search,
        banned=banned,
        verified=verified,
        limit=limit,
        offset=offset,
        after=after_row,
        sort=sort,  # narrowed to Sort by `in SORTS` above
        ascending=ascending,
    )


def list_users(store: Store, **criteria: Any) -> list[User]:
    """Users matching `user_filter(**criteria)`, newest first unless sorted otherwise."""
    return store.users.query(user_filter(store, **criteria))


def count_users(store: Store, **criteria: Any) -> int:
    """How many users match (paging options are ignored)."""
    return store.users.count_matching(user_filter(store, **criteria))


def page_cursor(created: datetime | None, row_id: str) -> str:
    """The keyset cursor after a row (a user, a session) in a newest-first listing: `<created_at>,<id>`,
    the same two values `--json` prints (microseconds kept when the database has them)."""
    if created is None:
        raise InvalidInput(f"row {row_id} has no createdAt: keyset paging needs one")
    text = iso(created) or ""
    if created.microsecond % 1000:
        text = text[:-4] + f"{created.microsecond:06d}Z"
    return f"{text},{row_id}"


def parse_cursor(cursor: str) -> tuple[datetime, str]:
    from owox_idp.db.types import parse_date
    from owox_idp.validation import validate_text

    validate_text(cursor, what="the cursor", max_length=300)
    created_text, sep, user_id = cursor.strip().partition(",")
    created = parse_date(created_text) if sep and "T" in created_text else None
    if created is None or not user_id:
        raise InvalidInput(
            f"invalid cursor {cursor!r}: expected <created_at>,<id> as printed after a full page"
        )
    return created, user_id


def show_user(store: Store, *, email: str, now: datetime) -> UserDetails:
    from owox_idp.services import links

    user = require_user(store, email)
    return UserDetails(
        user=user,
        sessions=store.sessions.count(user_id=user.id),
        active_sessions=store.sessions.count(user_id=user.id, active_after=now),
        pending_links=len(links.pending_links(store, user.email, now)),
        organization=store.deployment.flavor.organization(store, user),
    )


# ----------------------------------------------------------------------------- update-user


@dataclass
class UpdateUserResult:
    user: User
    image: str | None
    changed: list[str]  # what changed: name, email, email_verified, image, and each --field column
    previous_email: str | None = None  # when the email changed
    links_revoked: int = 0  # pending links of the old email
    fields: dict[str, Any] = field(default_factory=dict)  # the --field columns, as stored now

    def to_json(self) -> dict[str, Any]:
        return self.user.to_json() | {
            "image": self.image,
            "fields": {k: _json_value(v) for k, v in self.fields.items()},
            "changed": self.changed,
            "previous_email": self.previous_email,
            "links_revoked": self.links_revoked,
        }


def _json_value(value: Any) -> Any:
    from datetime import date
    from decimal import Decimal

    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return value.hex()
    return value


def update_user(
    store: Store,
    *,
    email: str,
    name: str | None = None,
    new_email: str | None = None,
    verified: bool | None = None,
    image: str | None = None,
    fields: dict[str, Any] | None = None,
    now: datetime,
) -> UpdateUserResult:
    """Edit a user's own columns as Better Auth's admin `updateUser` would. A new email is lower-cased,
    refused when another user has it (exit 4), and the old address's pending links are revoked (they
    would sign in as the old address, creating a new user); sessions, the password, the role (OWOX's
    member rows hang off the user id) and `emailVerified` stay as they are unless asked. `image` ""
    clears it. `fields` are additional columns of the user table (see `additional_field_values`)."""
    from owox_idp.services import links

    user = require_user(store, email)
    values: dict[str, Any] = {}
    changed: list[str] = []
    from owox_idp.validation import validate_name, validate_text, validate_url

    if image:
        validate_url(image, what="--image")
    for key, value in (fields or {}).items():
        if isinstance(value, str):
            validate_text(value, what=f"--field {key}")
    if name is not None:
        validate_name(name)
        name = name.strip()
        if not name:
            raise InvalidInput("the name is empty")
        if name != user.name:
            values["name"] = name
            changed.append("name")
    previous_email = None
    if new_email is not None:
        target = normalize_email(new_email)
        if target != user.email:
            if store.users.email_taken(target, other_than=user.id):
                raise Conflict(f"another user already has the email {target}", hint=f"idp show-user {target}")
            values["email"], previous_email = target, user.email
            changed.append("email")
    if verified is not None and verified != user.email_verified:
        values["emailVerified"] = verified
        changed.append("email_verified")
    current_image = store.users.image(user.id)
    if image is not None:
        new_image = image.strip() or None
        if new_image != current_image:
            values["image"], current_image = new_image, new_image
            changed.append("image")
    extra = additional_field_values(store, fields or {})
    stored = store.users.column_values(user.id, {n: t for n, (_, t) in extra.items()})
    for column_name, (value, _) in extra.items():
        if stored.get(column_name) != value:
            changed.append(column_name)
    if not changed:
        return UpdateUserResult(user, current_image, [], fields=stored)
    store.users.update(user.id, values | {"updatedAt": now})
    store.users.update_columns(user.id, extra)
    revoked = links.revoke_links(store, previous_email) if previous_email else 0
    updated = store.users.find_by_id(user.id) or user
    stored = store.users.column_values(user.id, {n: t for n, (_, t) in extra.items()})
    return UpdateUserResult(updated, current_image, changed, previous_email, revoked, stored)


def additional_field_values(store: Store, fields: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """`--field NAME=VALUE` checked against the user table as the database has it: NAME must be one of
    its columns (exit 5 naming it otherwise) and not one of Better Auth's own (those have their own
    options and commands); VALUE (text from the command line, or a Python value) is converted to the
    column's type. Returns {column: (value, SQLAlchemy type)}. An empty text VALUE writes NULL."""
    if not fields:
        return {}
    from owox_idp.db.discover import ALL_PLUGINS
    from owox_idp.db.schema import models_for

    table = store.users.catalog_table()
    layout = store.deployment.layout
    user_model = next(m for m in models_for(ALL_PLUGINS) if m.name == "user")
    own = {"id", layout.column("user", "id")}
    for f in user_model.fields:
        own |= {f.name, layout.column("user", f.name)}
    result: dict[str, tuple[Any, Any]] = {}
    for name, value in fields.items():
        if name in own:
            raise InvalidInput(
                f"--field {name}: {name} is one of Better Auth's own user columns",
                hint="use --name, --email, --verified or --image, or the command that changes it "
                "(set-role, ban, 2fa)",
            )
        column = table.column(name) if table is not None else None
        if column is None:
            raise InvalidInput(
                f"--field {name}: the user table has no column {name}",
                hint="--field names an additional column that exists in the database (as the catalog "
                "spells it)",
            )
        result[name] = _convert(store.conn.dialect.name, column, name, value)
    return result


_INTEGER_TYPES = {"integer", "bigint", "smallint", "tinyint", "mediumint", "int2", "int8", "serial"}
_FLOAT_TYPES = {"real", "double", "double precision", "float", "float4", "float8"}
_DECIMAL_TYPES = {"numeric", "decimal"}
_DATE_TYPES = {"timestamptz", "timestamp", "datetime"}
_TRUE = {"true", "1", "yes", "on", "t"}
_FALSE = {"false", "0", "no", "off", "f"}


def _null_type(dialect: str, kind: str) -> Any:
    from sqlalchemy import JSON, Date, Float, Integer, Numeric, String, Uuid

    from owox_idp.db.types import BABool, BADate

    if kind == "boolean":
        return BABool()
    if kind in _INTEGER_TYPES:
        return Integer()
    if kind in _FLOAT_TYPES:
        return Float()
    if kind in _DECIMAL_TYPES:
        return Numeric()
    if kind in _DATE_TYPES or (kind == "date" and dialect == "sqlite"):
        return BADate()
    if kind == "date":
        return Date()
    if kind == "jsonb" and dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        return JSONB(none_as_null=True)
    if kind in ("json", "jsonb"):
        return JSON(none_as_null=True)
    if kind == "uuid":
        return Uuid(as_uuid=False)
    return String()


def _convert(dialect: str, column: Any, name: str, value: Any) -> tuple[Any, Any]:
    """A value of the column's type, and the SQLAlchemy type that writes it (see db.types)."""
    import re

    from sqlalchemy import Date, Float, Integer, Numeric, String, Uuid

    from owox_idp.db.types import BABool, BADate, parse_date

    kind = column.type
    if isinstance(value, str) and value == "":
        value = None
    if value is None:
        if not column.nullable:
            raise InvalidInput(f"--field {name}: the column is NOT NULL, give it a value")
        # a NULL bound with the column's own type (PostgreSQL refuses a NULL cast to VARCHAR for an
        # integer column)
        return None, _null_type(dialect, kind)

    def bad(expected: str) -> InvalidInput:
        return InvalidInput(f"--field {name}: {value!r} is not {expected} (the column is {column.raw_type})")

    text = value.strip() if isinstance(value, str) else None
    if kind == "boolean" or (
        kind == "integer" and dialect == "sqlite" and (text or "").lower() in _TRUE | _FALSE
    ):
        # Better Auth's SQLite booleans are integer columns holding 0/1
        if isinstance(value, bool):
            return value, BABool()
        if text is not None and text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE, BABool()
        raise bad("true or false")
    if kind in _INTEGER_TYPES:
        if isinstance(value, int) and not isinstance(value, bool):
            return value, Integer()
        if text is not None and re.fullmatch(r"[+-]?\d+", text):
            return int(text), Integer()
        raise bad("an integer")
    if kind in _FLOAT_TYPES | _DECIMAL_TYPES:
        from decimal import Decimal, InvalidOperation

        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise bad("a number") from None
        if not number.is_finite():
            raise bad("a finite number")
        return (number, Numeric()) if kind in _DECIMAL_TYPES else (float(number), Float())
    if kind in _DATE_TYPES or (kind == "date" and dialect == "sqlite"):
        # Kysely's SQLite `date` columns hold ISO text: written as Better Auth writes its own dates
        moment = value if isinstance(value, datetime) else parse_date(text) if text else None
        if moment is None:
            raise bad("an ISO 8601 date and time")
        return parse_date(moment), BADate()
    if kind == "date":
        from datetime import date

        if isinstance(value, date) and not isinstance(value, datetime):
            return value, None
        try:
            return date.fromisoformat(text or ""), Date()
        except ValueError:
            raise bad("a date (YYYY-MM-DD)") from None
    if kind in ("json", "jsonb"):
        import json

        json_type = _null_type(dialect, kind)
        if text is not None:
            try:
                return json.loads(text), json_type
            except ValueError:
                raise bad("JSON") from None
        return value, json_type
    if kind == "uuid":
        import uuid

        try:
            return str(uuid.UUID(str(value))), Uuid(as_uuid=False)
        except ValueError:
            raise bad("a UUID") from None
    if not isinstance(value, str):
        raise bad("text")
    size = re.search(r"\((\d+)\)", column.raw_type)
    if size and kind in ("varchar", "char") and len(value) > int(size.group(1)):
        raise InvalidInput(f"--field {name}: longer than the column's {size.group(1)} characters")
    if kind == "enum":
        allowed = re.findall(r"'((?:[^']|'')*)'", column.raw_type)
        if allowed and value not in [a.replace("''", "'") for a in allowed]:
            raise InvalidInput(f"--field {name}: {value!r} is not one of {', '.join(allowed)}")
    return value, String()
