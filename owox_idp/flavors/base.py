"""What a flavor is: the rules that differ between the servers a Better Auth database can belong to.

A flavor is one module with one `Flavor` subclass. Its class attributes are data (defaults, which
storage holds roles and bans, what the server offers); its methods are the few procedures whose steps
differ (how a role is written, how a ban is made to hold, how a sign-in link is built). Everything
else a command does is the same for every flavor and lives in the services. Adding a flavor is a new
module here and a line in `owox_idp.flavors.FLAVORS`, not new `if`s in the commands.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from owox_idp.config import Settings
    from owox_idp.db.discover import Discovery
    from owox_idp.db.migrate import Plan
    from owox_idp.db.schema import ExpectedIndex, Layout, Model, PluginSet
    from owox_idp.deployment import Deployment
    from owox_idp.models import User
    from owox_idp.repository import Store
    from owox_idp.repository.probe import DatabaseProbe

FlavorName = Literal["owox", "better-auth", "better-auth-rs"]
RoleStorage = Literal["member", "column"]  # OWOX's organization membership, or the admin plugin's user.role
BanStorage = Literal["owox-emulation", "admin-plugin"]


@dataclass(frozen=True)
class BanOutcome:
    """What a ban did: the reason and expiry now in force, and whether anything changed."""

    reason: str | None
    expires: datetime | None
    changed: bool


@dataclass(frozen=True)
class UnbanOutcome:
    changed: bool
    role: str | None  # the role the user has after the unban (given back, in OWOX's emulation)


class Flavor(ABC):
    name: ClassVar[FlavorName]
    description: ClassVar[str]

    # --- configuration: defaults, and what the flavor fixes so that settings cannot change it
    fixed_base_path: ClassVar[str | None] = None  # None: IDP_BETTER_AUTH_BASE_PATH decides
    default_base_path: ClassVar[str] = "/api/auth"
    default_magic_link_ttl: ClassVar[int]
    default_server_version: ClassVar[str]
    fixed_roles: ClassVar[tuple[tuple[str, ...], tuple[str, ...]] | None] = None  # (roles, admin roles)
    default_roles: ClassVar[tuple[str, ...]] = ("admin", "user")
    default_admin_roles: ClassVar[tuple[str, ...]] = ("admin",)
    organization_required: ClassVar[bool] = False
    honours_admin_user_ids: ClassVar[bool] = True  # the server's `adminUserIds` admin option
    detects_plugins: ClassVar[bool] = True  # False: the server's plugin set is fixed (OWOX's)
    discovers_layout: ClassVar[bool] = True  # False: the server's own schema, whatever the database says

    # --- rules
    role_storage: ClassVar[RoleStorage]
    ban_storage: ClassVar[BanStorage]
    multiple_roles: ClassVar[bool] = True  # several roles comma-joined in one user
    timed_bans: ClassVar[bool] = True
    link_needs_secret: ClassVar[bool] = False  # the printed link carries something signed with it
    link_lifetime_limit: ClassVar[int | None] = None  # beyond it, a link signs in without the role
    frozen_while_banned: ClassVar[bool] = False  # the ban took the role/password away: refuse edits
    warn_users_without_role: ClassVar[bool] = False  # a user with no role still sees something
    revocation_notes: ClassVar[tuple[str, ...]] = ()  # what revoking sessions cannot reach
    two_factor_unavailable: ClassVar[tuple[str, str] | None] = None  # (message, hint) when 2FA is not offered
    api_keys_unavailable: ClassVar[tuple[str, str] | None] = None  # (message, hint): no declaring helps
    # `idp doctor`'s check of what `warnings()` says: (check name, the line when all is well, the hint
    # with each warning); None: the flavor's warnings are not a doctor check
    doctor_check: ClassVar[tuple[str, str, str] | None] = None
    # --- what the server's code fixes that settings cannot change (the Rust port: see better_auth_rs.py)
    supported_dialects: ClassVar[tuple[str, ...] | None] = None  # None: every dialect idp supports
    fixed_password_hash: ClassVar[str | None] = None  # None: IDP_PASSWORD_HASH decides
    default_totp_issuer: ClassVar[str] = "Better Auth"
    uses_secret: ClassVar[bool] = True  # links or two-factor rows need the server's secret
    issues_links: ClassVar[bool] = True  # False: no magic links (link_url refuses); a password is the way in
    two_factor_format: ClassVar[str] = "better-auth"  # key of services.twofactor.FORMATS
    ban_notes: ClassVar[tuple[str, ...]] = ()  # what a ban does and does not stop, said after each ban

    @abstractmethod
    def plugins(self, *, server_version: str, organization: bool) -> PluginSet:
        """The plugin set the server runs by default (IDP_PLUGINS declares another)."""

    def models(self, plugins: PluginSet) -> tuple[Model, ...]:
        """The tables and columns the server expects (logical names)."""
        from owox_idp.db.schema import models_for

        return models_for(plugins)

    def default_layout(self) -> Layout:
        """The physical names the server uses when nothing else is found or declared."""
        from owox_idp.db.schema import DEFAULT_LAYOUT

        return DEFAULT_LAYOUT

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
        """What `idp migrate` would run on this database: Better Auth's additive migration, computed
        from the models (db/migrate.py), then idp's own tables (`idp_tables`). A server whose schema idp
        cannot write from models (the Rust port's own migration files) plans its own."""
        from owox_idp.db.migrate import introspect, plan_migration

        tables = [layout.table(m.name) for m in models] + list(idp_tables or {})
        state = introspect(conn, tables, with_indexes=True)
        return plan_migration(
            state=state,
            models=models,
            layout=layout,
            dialect=dialect,
            populated=populated,
            extra_indexes=extra_indexes,
            idp_tables=idp_tables,
        )

    def password_hasher(self, settings: Settings) -> Callable[[str], str]:
        """The function that hashes a password as the server verifies it; picklable (bulk imports run it
        in worker processes). Better Auth: IDP_PASSWORD_HASH's scheme (crypto/passwords.py)."""
        from functools import partial

        from owox_idp.crypto.passwords import hash_password

        return partial(hash_password, scheme=settings.password_hash)

    def id_maker(self) -> Callable[[], str]:
        """The function that makes a row id in the server's format (Better Auth's 32-character
        `generateId`, alphanumeric), time-ordered (`crypto.random.ordered_id`): asked once, then called
        for every row (an import makes three ids a user)."""
        from owox_idp.crypto.random import ordered_id

        return ordered_id

    def new_id(self) -> str:
        """A new row id as the server makes them."""
        return self.id_maker()()

    def warnings(self, store: Store) -> list[str]:
        """What `idp info` should say about this deployment beyond the common checks."""
        del store
        return []

    @abstractmethod
    def link_url(self, settings: Settings, token: str, role: str | None, *, callback_url: str | None) -> str:
        """The URL to print for a magic-link token (fails before anything is written if it cannot)."""

    @abstractmethod
    def new_user_values(self, store: Store, role: str) -> dict[str, object]:
        """Columns of a new user row that hold the flavor's role and ban state."""

    @abstractmethod
    def assign_new_roles(self, store: Store, pairs: list[tuple[str, str]], now: datetime) -> None:
        """Give new users (user id, role) their role where it does not live on the user row."""

    @abstractmethod
    def set_role(self, store: Store, user: User, role: str, now: datetime) -> None:
        """Change an existing user's role."""

    @abstractmethod
    def set_roles(
        self, store: Store, changes: list[tuple[User, str]], now: datetime
    ) -> list[dict[str, object]]:
        """Change many users' roles (import --update); returns the user-row changes left to the caller
        (a list of {"id", "role"}) when the role lives on the user row."""

    @abstractmethod
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
        """Make the ban hold on this server (sessions and links are revoked by the caller). On a
        `reban` (the user is banned already) keep what is there except what is given anew."""

    @abstractmethod
    def unban(self, store: Store, user: User, now: datetime) -> UnbanOutcome:
        """Undo `ban` exactly."""

    @abstractmethod
    def forget(self, store: Store, user: User) -> None:
        """Remove what the flavor keeps about a user who is being deleted."""

    # ------------------------------------------------------------------ recognising a database
    def discovery_models(self) -> tuple[Model, ...] | None:
        """The logical models to look for in the database (None: every plugin Better Auth has)."""
        return None

    @abstractmethod
    def looks_like(self, found: Discovery) -> bool:
        """Whether a database with these tables plausibly belongs to this flavor's server."""

    def foreign_database(self, dep: Deployment) -> tuple[str, str] | None:
        """(message, hint) when the database is not this deployment's to administer: another flavor's,
        another application's, or Better Auth's under names idp was not told. None when it is (maybe
        merely behind, which `idp migrate` fixes)."""
        from owox_idp.flavors import FLAVORS

        found = dep.discovery
        if found is None:
            return None
        if found.empty:
            if found.elsewhere:
                where = ", ".join(found.elsewhere[:4])
                return (
                    f"no Better Auth table in schema {found.schema!r}, but there are some elsewhere: {where}",
                    "point idp at that schema: add ?schema=<schema> to the database URL",
                )
            ours = {dep.layout.table(m.name) for m in dep.models}
            if found.foreign_tables and not ours & set(found.foreign_tables):  # none is ours, even half-made
                shown = ", ".join(found.foreign_tables[:6]) + (
                    " ..." if len(found.foreign_tables) > 6 else ""
                )
                return (
                    f"this database has no Better Auth tables; it has another application's: {shown}",
                    "check IDP_DATABASE_URL; `idp migrate` would add Better Auth's tables beside them",
                )
            return None
        if not self.discovers_layout:  # its own schema: its migration planner says what else it finds
            return None
        for unmatched in found.unmatched:
            model = unmatched.looks_like
            if model is not None and model not in found.tables:
                return (
                    f"table {unmatched.table!r} looks like Better Auth's {model} table, under a name idp "
                    f"was not told ({unmatched.reason})",
                    f"declare it: IDP_MODEL_NAMES={model}={unmatched.table} (and [schema.fields.{model}] "
                    "for renamed columns)",
                )
        if dep.settings.plugins is None and not self.looks_like(found):
            for other in FLAVORS.values():
                if other is not self and other.looks_like(found):
                    return (
                        f"this database looks like {other.description}, not {self.description} "
                        f"(the {self.name} flavor)",
                        f"use --flavor {other.name} (IDP_FLAVOR={other.name}), or declare the server's "
                        "plugins with IDP_PLUGINS if this is right",
                    )
        return None

    def evidence(self, probe: DatabaseProbe) -> str | None:
        """What the database holds that only this flavor's server writes, said as found, strong enough to
        tell a user of another flavor that the database is not theirs (`idp doctor`). None: nothing."""
        del probe
        return None

    def contradiction(self, probe: DatabaseProbe, layout: Layout) -> tuple[str, str] | None:
        """(message, hint) when what the database holds says it belongs to another flavor's server:
        another flavor's `evidence` (`idp doctor`'s flavor check). None: nothing contradicts this one."""
        del layout
        from owox_idp.flavors import FLAVORS

        for other in FLAVORS.values():
            found = other.evidence(probe) if other is not self else None
            if found:
                return (
                    f"the flavor is {self.name}, but {found}",
                    f"use --flavor {other.name} (IDP_FLAVOR={other.name})",
                )
        return None

    def organization(self, store: Store, user: User) -> str | None:
        """The organization the user belongs to, where the flavor has one."""
        del store, user
        return None
