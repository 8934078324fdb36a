"""Better Auth in Rust (`better-auth-rs` 0.10, PostgreSQL only).

The port keeps Better Auth's ideas in its own database: plural snake_case tables (`users`, `sessions`,
...), a `users.metadata` JSONB whose `password_hash` is the only hash 0.x sign-in reads, sessions with
an `active` flag, argon2id passwords, a plain base32 TOTP secret with argon2id-hashed backup codes, a
single-string `users.role` of which only `"admin"` is admin, and no magic-link plugin. Every fact
below cites `github.com/better-auth-rs/better-auth-rs` at `0.10.x` @ bc6ebcd (identical to v0.10.0 for
these files); `tests/data/better_auth_rs/PORT.md` quotes the lines.

What differs from Better Auth, and where it is handled:
- schema: `db/schema_rs.py` (models and layout); `idp migrate` runs the port's own migration files
  (`db/migrate_rs.py`), plus idp's ban guard;
- passwords: argon2id with the port's parameters (`crypto/rs_port.py`), written to
  `users.metadata.password_hash` and to a `credential` account as the admin plugin does
  (`admin/handlers.rs:59-97`); the repository does both because the model has `metadata`;
- sessions: only `active = true` rows count (`database.rs:567`, `session.rs:59`), in the repository;
- two-factor: the port's format (`services/twofactor_rs.py`);
- bans: the admin columns, always with an explicit `ban_expires` (`database.rs:360-364` keeps a stale
  one otherwise), and idp's ban guard, because nothing in the port reads `banned` (PORT.md §6);
- links: none (PORT.md §8): a user gets a password or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from owox_idp.errors import InvalidInput
from owox_idp.flavors.base import BanOutcome
from owox_idp.flavors.better_auth import BetterAuthFlavor

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from owox_idp.config import Settings
    from owox_idp.db.discover import Discovery
    from owox_idp.db.migrate import Plan
    from owox_idp.db.schema import ExpectedIndex, Layout, Model, PluginSet
    from owox_idp.models import User
    from owox_idp.repository import Store

NO_LINK = "no link to print on this server: give a password with --password-stdin"
NO_LINK_HINT = (
    "the Rust port has no magic-link plugin, so a user signs in with a password (or the port's own "
    "forget-password email): `idp add-user EMAIL --password-stdin` or `idp reset-password EMAIL "
    "--password-stdin`"
)
GUARD_MISSING = (
    "idp's ban guard is not installed: the Rust port never reads users.banned, so a banned user with a "
    "password signs in again at once (the next `idp ban` installs the guard; see docs/compatibility.md)"
)

# verification rows the port keys on the user id (PORT.md §8: `2fa_otp:<id>`, `delete_user:<id>`,
# `change_email:<id>:<new email>`); with the email-keyed ones they go with the user on delete
_USER_ID_IDENTIFIERS = ("2fa_otp:{id}", "delete_user:{id}")
_USER_ID_PREFIXES = ("change_email:{id}:",)


def is_rs_port(found: Discovery) -> bool:
    """The port's tables: `users.metadata` and `sessions.active`, which Better Auth has not."""
    user_extra = {c.name for c in found.extra_columns.get("user", ())}
    session_extra = {c.name for c in found.extra_columns.get("session", ())}
    return "metadata" in user_extra and "active" in session_extra


class BetterAuthRsFlavor(BetterAuthFlavor):
    name = "better-auth-rs"
    description = "Better Auth in Rust (better-auth-rs 0.10, PostgreSQL)"

    # `"admin"` only: `user.role().unwrap_or("user") == config.admin_role` (admin/mod.rs:92-93); the
    # role is one string, never split (a comma-joined "admin,user" is not admin)
    multiple_roles = False
    honours_admin_user_ids = False  # 0.x has no adminUserIds
    detects_plugins = False  # the port's migrations create every table at once
    discovers_layout = False  # its own schema (db/schema_rs.py), not Better Auth's under other names
    supported_dialects = ("postgresql",)  # the sqlx-postgres adapter is the only SQL one (database.rs:42)
    fixed_password_hash = "argon2id"  # password.rs:49-56; sign-in verifies nothing else (77-83)
    default_totp_issuer = "BetterAuth"  # TwoFactorConfig default (two_factor.rs:23-34)
    uses_secret = False  # no links, and the 2FA rows are not encrypted (PORT.md §7)
    issues_links = False  # no magic-link plugin in 0.10 (PORT.md §8)
    two_factor_format = "rs-port"
    doctor_check = (
        "ban-guard",
        "idp's ban guard refuses new sessions of banned users",
        "`idp ban` installs it with the first ban",
    )
    api_keys_unavailable = (
        "idp does not create or list the Rust port's API keys: its api_keys table is not Better Auth's "
        "api-key plugin (a ban still disables a user's keys, and unban restores them)",
        "manage the port's keys through the server's own API-key endpoints",
    )
    revocation_notes = (
        "the port deletes what idp deleted: a revoked session's token is refused at once (database.rs:565-577)",
    )
    ban_notes: ClassVar[tuple[str, ...]] = (
        "the Rust port itself never checks a ban at sign-in: idp's ban guard (a trigger on sessions) "
        "refuses every new session while the ban holds, so sign-in fails with a server error instead "
        "of a session (docs/compatibility.md)",
    )

    def looks_like(self, found: Discovery) -> bool:
        return is_rs_port(found)

    def plugins(self, *, server_version: str, organization: bool) -> PluginSet:
        from owox_idp.db.schema import PluginSet

        del organization  # the port's tables are its own (schema_rs); organizations are not administered
        return PluginSet(admin=True, two_factor=True, magic_link=False, server_version=server_version)

    def models(self, plugins: PluginSet) -> tuple[Model, ...]:
        from owox_idp.db.schema_rs import RS_MODELS

        del plugins  # the port's migrations create every table at once
        return RS_MODELS

    def default_layout(self) -> Layout:
        from owox_idp.db.schema_rs import RS_LAYOUT

        return RS_LAYOUT

    def migration_plan(
        self,
        conn: Connection,
        *,
        models: tuple[Model, ...],
        layout: Layout,
        dialect: str,
        populated: Callable[[str], bool] | None,
        extra_indexes: list[ExpectedIndex] | None = None,
        idp_tables: Mapping[str, list[str]] | None = None,
    ) -> Plan:
        from owox_idp.db.migrate_rs import plan_rs_migration

        del models, layout, populated, extra_indexes  # the port's files, not DDL from models
        return plan_rs_migration(conn, dialect, idp_tables)

    def password_hasher(self, settings: Settings) -> Callable[[str], str]:
        from owox_idp.crypto.rs_port import hash_password

        del settings  # the port's Argon2::default(), whatever IDP_PASSWORD_HASH says
        return hash_password

    def id_maker(self) -> Callable[[], str]:
        from owox_idp.crypto.rs_port import new_id

        return new_id  # Uuid::new_v4().to_string() (database.rs:217, 530, 688, 840, 1386)

    def link_url(self, settings: Settings, token: str, role: str | None, *, callback_url: str | None) -> str:
        del settings, token, role, callback_url
        raise InvalidInput(NO_LINK, hint=NO_LINK_HINT)

    def new_user_values(self, store: Store, role: str) -> dict[str, object]:
        # create_user writes role and metadata; banned and two_factor_enabled are NOT NULL with
        # defaults (migrations/001:3-19, database.rs:216-253): written explicitly, as the same values
        del store
        return {
            "role": role,
            "banned": False,
            "twoFactorEnabled": False,
            "metadata": {},
            "username": None,
            "displayUsername": None,
        }

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
        # the guard first: without it the ban would not stop the next sign-in (PORT.md §6)
        if not store.ban_guard.installed():
            store.ban_guard.install()
        if reban:
            return super().ban(store, user, reason=reason, expires=expires, now=now, reban=True)
        # banned, the reason and ban_expires, always all three: update_user writes ban_expires only
        # when given (database.rs:360-364), so a stale expiry of an earlier ban would otherwise stay
        ban_reason = reason or "No reason"
        store.users.update(
            user.id, {"banned": True, "banReason": ban_reason, "banExpires": expires, "updatedAt": now}
        )
        return BanOutcome(ban_reason, expires, changed=True)

    def forget(self, store: Store, user: User) -> None:
        """The port's own rows that are keyed on the email or the user id and do not cascade: reset and
        email-verification tokens (`identifier = <email>`, PORT.md §8) would otherwise apply to the next
        user with that email (`password_management/handlers.rs:331-333`)."""
        identifiers = [user.email, *(i.format(id=user.id) for i in _USER_ID_IDENTIFIERS)]
        store.verifications.delete_by_identifier(identifiers)
        for prefix in _USER_ID_PREFIXES:
            store.verifications.delete_by_identifier_prefix(prefix.format(id=user.id))

    def warnings(self, store: Store) -> list[str]:
        return [] if store.ban_guard.installed() else [GUARD_MISSING]


FLAVOR = BetterAuthRsFlavor()
