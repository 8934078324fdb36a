"""OWOX Data Marts' self-hosted identity provider (`IDP_PROVIDER=better-auth`).

Better Auth 1.6 with the magic-link and organization plugins only, at basePath `/auth/better-auth`.
Roles live in `member` rows of OWOX's one organization; the server has no admin plugin, so it ignores
`user.banned`: idp's ban takes the role, the password, the sessions and the links away and keeps what
it took in its own table (`idp_owox_ban`), so that `idp unban` can give it back. The printed link is
OWOX's confirmation page, whose callback carries OWOX's encrypted role token.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote, urlsplit

from owox_idp.flavors.base import BanOutcome, Flavor, UnbanOutcome

if TYPE_CHECKING:
    from owox_idp.config import Settings
    from owox_idp.db.discover import Discovery
    from owox_idp.db.schema import Layout, PluginSet
    from owox_idp.models import User
    from owox_idp.repository import Store
    from owox_idp.repository.probe import DatabaseProbe

ORG_ID = "owox_data_marts_organization"
ORG_NAME = "OWOX Data Marts"
ORG_SLUG = "owox-data-marts"
ROLE_TOKEN_LIFETIME = 3600  # OWOX's CryptoService.expiresIn, hard-coded on the server


def _form_encode(value: str) -> str:
    """URLSearchParams' encoding (application/x-www-form-urlencoded as browsers do it)."""
    return quote(value, safe="*-._").replace("%20", "+")


class OwoxFlavor(Flavor):
    name = "owox"
    description = "OWOX Data Marts' identity provider (Better Auth 1.6, magic link + organization)"

    fixed_base_path = "/auth/better-auth"
    default_magic_link_ttl = 3600
    default_server_version = "1.6"
    fixed_roles = (("admin", "editor", "viewer"), ("admin",))
    organization_required = True
    honours_admin_user_ids = False
    detects_plugins = False

    role_storage = "member"
    ban_storage = "owox-emulation"
    multiple_roles = False
    timed_bans = False
    link_needs_secret = True
    link_lifetime_limit = ROLE_TOKEN_LIFETIME
    frozen_while_banned = True
    warn_users_without_role = True
    revocation_notes = ("OWOX access tokens already issued stay valid for up to 1 h",)
    two_factor_unavailable: ClassVar[tuple[str, str] | None] = (
        "two-factor is not available in the owox flavor: OWOX Data Marts' server does not enable "
        "Better Auth's two-factor plugin, so an enrolment would never be asked for at sign-in",
        "for a Better Auth server with the two-factor plugin, use --flavor better-auth "
        "(IDP_FLAVOR=better-auth)",
    )

    def plugins(self, *, server_version: str, organization: bool) -> PluginSet:
        from owox_idp.db.schema import PluginSet

        del organization  # OWOX's server always has it
        return PluginSet(organization=True, magic_link=True, server_version=server_version)

    def link_url(self, settings: Settings, token: str, role: str | None, *, callback_url: str | None) -> str:
        from owox_idp.crypto.roletoken import encrypt_role

        del callback_url  # OWOX's page decides where the user lands
        secret = settings.require_secrets().current
        role_token = encrypt_role(role or "viewer", secret)
        parts = urlsplit(settings.base_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        callback = f"{settings.base_url}/auth/magic-link-success/{quote(role_token, safe='-_.!~*()')}"
        query = "&".join(
            f"{_form_encode(k)}={_form_encode(v)}"
            for k, v in {"token": token, "callbackURL": callback}.items()
        )
        return f"{origin}/auth/magic-link?" + query

    def looks_like(self, found: Discovery) -> bool:
        # OWOX's server has no admin plugin: its columns on user mean another server (a database with
        # Better Auth's core tables only may be OWOX's, before its organization tables were created)
        from owox_idp.flavors.better_auth_rs import is_rs_port

        return not found.plugins.admin and not is_rs_port(found)

    # ---------------------------------------------------------------- idp doctor
    def evidence(self, probe: DatabaseProbe) -> str | None:
        # member rows of OWOX's organization, under Better Auth's default names (OWOX's server uses
        # them); a `member` table of another shape (the Rust port's `organization_id`) holds none
        members = (
            probe.count_where("member", "organizationId", ORG_ID)
            if "member" in probe.table_names() and "organizationId" in probe.columns("member")
            else 0
        )
        if not members:
            return None
        return (
            f"{members} member row(s) of organization {ORG_ID} show OWOX Data Marts' database "
            "(OWOX keeps roles there, not in user.role)"
        )

    def contradiction(self, probe: DatabaseProbe, layout: Layout) -> tuple[str, str] | None:
        tables = probe.table_names()
        has_admin_columns = {"role", "banned"} <= probe.columns(layout.table("user"))
        has_org = "organization" in tables and "member" in tables
        if has_admin_columns and not has_org:
            return (
                "the flavor is owox, but the database has the admin plugin's columns (user.role, "
                "user.banned) and no organization or member table: it is a Better Auth deployment "
                "with the admin plugin, not OWOX Data Marts'",
                "use --flavor better-auth (IDP_FLAVOR=better-auth)",
            )
        return super().contradiction(probe, layout)

    # ---------------------------------------------------------------- roles: the organization
    def ensure_organization(self, store: Store, first_user_id: str, now: datetime) -> None:
        """OWOX's organization, created as the server creates it for its first user."""
        if not store.members.organization_exists(ORG_ID):
            store.members.insert_organization(
                {
                    "id": ORG_ID,
                    "name": ORG_NAME,
                    "slug": ORG_SLUG,
                    "logo": None,
                    "createdAt": now,
                    "metadata": json.dumps(
                        {"isDefault": True, "createdBy": first_user_id}, separators=(",", ":")
                    ),
                }
            )

    def new_user_values(self, store: Store, role: str) -> dict[str, object]:
        del store, role  # the role is a member row, written by assign_new_roles
        return {}

    def assign_new_roles(self, store: Store, pairs: list[tuple[str, str]], now: datetime) -> None:
        if not pairs:
            return
        self.ensure_organization(store, pairs[0][0], now)
        store.members.insert_members(
            [
                store.members.with_id(
                    {"organizationId": ORG_ID, "userId": uid, "role": role, "createdAt": now}
                )
                for uid, role in pairs
            ]
        )

    def set_role(self, store: Store, user: User, role: str, now: datetime) -> None:
        self.ensure_organization(store, user.id, now)
        if store.members.update_member_role(user.id, ORG_ID, role) == 0:
            self.assign_new_roles(store, [(user.id, role)], now)

    def set_roles(
        self, store: Store, changes: list[tuple[User, str]], now: datetime
    ) -> list[dict[str, object]]:
        with_membership = [(u.id, role) for u, role in changes if u.role is not None]
        without = [(u.id, role) for u, role in changes if u.role is None]  # a user without one gets one
        self.assign_new_roles(store, without, now)
        store.members.update_member_roles(with_membership, ORG_ID)
        return []

    def organization(self, store: Store, user: User) -> str | None:
        return ORG_ID if store.members.member_rows(user.id, ORG_ID) else None

    # ---------------------------------------------------------------- bans: idp's emulation
    def ban(
        self,
        store: Store,
        user: User,
        *,
        reason: str | None,
        expires: datetime | None,
        now: datetime,
        reban: bool = False,
    ) -> BanOutcome:
        from owox_idp.models import OwoxBan

        del expires, reban  # no timed bans here (refused before); a re-ban is known from idp's table
        store.owox_bans.ensure_table()  # DDL first: MySQL commits implicitly around it
        # the server has no admin plugin: the guard refuses any session or member row for a banned id,
        # whatever route the server takes (a link it mails, an invitation, a role token, OAuth)
        store.owox_bans.ensure_guard()
        store.owox_bans.lock_user(user.id)
        existing = store.owox_bans.get(user.id)
        if existing is not None:
            return BanOutcome(existing.reason, existing.expires_at, changed=False)
        credential = store.users.get_credential(user.id)
        store.owox_bans.insert(
            OwoxBan(
                user_id=user.id,
                previous_role=user.role,
                password_hash=credential[1] if credential else None,
                reason=reason,
                expires_at=None,
                created_at=now,
            )
        )
        # no role (the app API refuses), no password (no sign-in); sessions and links: the caller
        store.members.delete_members(user.id)
        store.users.delete_credential(user.id)
        return BanOutcome(reason, None, changed=True)

    def unban(self, store: Store, user: User, now: datetime) -> UnbanOutcome:
        row = store.owox_bans.get(user.id)
        if row is None:
            return UnbanOutcome(False, user.role)
        store.owox_bans.delete(user.id)  # first: the guard refuses a member row while the ban row is there
        if row.previous_role:
            self.set_role(store, user, row.previous_role, now)
        if row.password_hash and store.users.get_credential(user.id) is None:
            store.users.store_password(user.id, row.password_hash, now)
        return UnbanOutcome(True, row.previous_role)

    def forget(self, store: Store, user: User) -> None:
        store.owox_bans.delete(user.id)


FLAVOR = OwoxFlavor()
