"""Any Better Auth server with the admin plugin (and two-factor / magic-link where those are used).

Roles are the admin plugin's `user.role` (several comma-joined); a ban is its `banned`, `banReason` and
`banExpires` columns, which the server checks at every sign-in; the printed link is Better Auth's own
`<baseURL><basePath>/magic-link/verify`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

from owox_idp.flavors.base import BanOutcome, Flavor, FlavorName, UnbanOutcome

if TYPE_CHECKING:
    from owox_idp.config import Settings
    from owox_idp.db.discover import Discovery
    from owox_idp.db.schema import PluginSet
    from owox_idp.models import User
    from owox_idp.repository import Store


class BetterAuthFlavor(Flavor):
    name: ClassVar[FlavorName] = "better-auth"
    description = "a Better Auth server with the admin plugin"

    default_magic_link_ttl = 300  # Better Auth's magicLink expiresIn default
    default_server_version = "1.7"

    role_storage = "column"
    ban_storage = "admin-plugin"

    def plugins(self, *, server_version: str, organization: bool) -> PluginSet:
        from owox_idp.db.schema import PluginSet

        return PluginSet(
            admin=True,
            two_factor=True,
            organization=organization,
            two_factor_v14=server_version in ("1.4", "1.5"),  # 1.6 added verified and the lock columns
            server_version=server_version,
        )

    def link_url(self, settings: Settings, token: str, role: str | None, *, callback_url: str | None) -> str:
        del role  # the role is on the user row already
        callback = callback_url or "/"
        return (
            f"{settings.magic_link_base}/magic-link/verify?token={token}"
            f"&callbackURL={quote(callback, safe='-_.!~*()')}"
        )

    def looks_like(self, found: Discovery) -> bool:
        # the admin plugin's columns, or at least not OWOX's organization-only shape; not the Rust port's
        from owox_idp.flavors.better_auth_rs import is_rs_port

        return (found.plugins.admin or "member" not in found.tables) and not is_rs_port(found)

    def _require_admin_plugin(self, store: Store, what: str) -> None:
        if not store.deployment.plugins.admin:
            from owox_idp.errors import ConfigError

            raise ConfigError(
                f"{what} needs Better Auth's admin plugin, and this deployment does not have it (no "
                "role/banned columns on the user table): the server would not enforce it",
                hint="enable the admin plugin on the server, then declare it (IDP_PLUGINS=...,admin) "
                "and run `idp migrate`",
            )

    def new_user_values(self, store: Store, role: str) -> dict[str, object]:
        values: dict[str, object] = {}
        if store.users.has_column("role"):
            values["role"] = role
        if store.users.has_column("banned"):
            values["banned"] = False
        if store.users.has_column("twoFactorEnabled"):
            values["twoFactorEnabled"] = False
        return values

    def assign_new_roles(self, store: Store, pairs: list[tuple[str, str]], now: datetime) -> None:
        del store, pairs, now  # the role is on the new user row

    def set_role(self, store: Store, user: User, role: str, now: datetime) -> None:
        self._require_admin_plugin(store, "a role")
        store.users.update(user.id, {"role": role, "updatedAt": now})

    def set_roles(
        self, store: Store, changes: list[tuple[User, str]], now: datetime
    ) -> list[dict[str, object]]:
        del store, now
        return [{"id": u.id, "role": role} for u, role in changes]

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
        self._require_admin_plugin(store, "a ban")
        if reban:  # keep the reason and the expiry in force unless new ones are given
            new_reason = reason if reason is not None else user.ban_reason
            new_expires = expires if expires is not None else user.ban_expires
            if (new_reason, new_expires) == (user.ban_reason, user.ban_expires):
                return BanOutcome(new_reason, new_expires, changed=False)
            store.users.update(
                user.id, {"banReason": new_reason, "banExpires": new_expires, "updatedAt": now}
            )
            return BanOutcome(new_reason, new_expires, changed=True)
        ban_reason = reason or "No reason"  # what the admin plugin's banUser stores without one
        store.users.update(
            user.id, {"banned": True, "banReason": ban_reason, "banExpires": expires, "updatedAt": now}
        )
        return BanOutcome(ban_reason, expires, changed=True)

    def unban(self, store: Store, user: User, now: datetime) -> UnbanOutcome:
        if not user.banned:
            return UnbanOutcome(False, user.role)
        store.users.update(
            user.id, {"banned": False, "banReason": None, "banExpires": None, "updatedAt": now}
        )
        return UnbanOutcome(True, user.role)

    def forget(self, store: Store, user: User) -> None:
        del store, user  # everything is on rows that delete-user removes


FLAVOR = BetterAuthFlavor()
