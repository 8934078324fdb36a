"""The deployment: one description, built once per run, of everything that differs between the Better
Auth databases idp administers — the flavor's rules, the plugin set, the schema layout (table and
column names) — so that commands ask it instead of deciding for themselves.

Today the layout is Better Auth's default (Kysely's camelCase, singular tables); what the database shows
of itself (other layouts, id formats, date storage) will be added here, and every command gets it for
free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from owox_idp.db.schema import DEFAULT_LAYOUT, Layout, Model, PluginSet, plugin_set
from owox_idp.flavors import Flavor

if TYPE_CHECKING:
    from owox_idp.config import Settings


@dataclass(frozen=True)
class Deployment:
    settings: Settings
    flavor: Flavor
    plugins: PluginSet
    layout: Layout = DEFAULT_LAYOUT
    models: tuple[Model, ...] = field(default=())

    @classmethod
    def from_settings(cls, settings: Settings, *, layout: Layout | None = None) -> Deployment:
        flavor = settings.rules
        if settings.plugins is not None:  # declared (IDP_PLUGINS)
            plugins = plugin_set(settings.plugins, server_version=settings.server_version)
        else:
            plugins = flavor.plugins(
                server_version=settings.server_version, organization=settings.organization
            )
        return cls(settings, flavor, plugins, layout or flavor.default_layout(), flavor.models(plugins))

    @property
    def dialect(self) -> str:
        from owox_idp.db.engine import dialect_of

        return dialect_of(self.settings.database_url)

    @property
    def name(self) -> str:
        return self.flavor.name

    # roles, as the validation and the last-admin rule need them
    @property
    def roles(self) -> tuple[str, ...]:
        return self.settings.roles

    @property
    def admin_roles(self) -> tuple[str, ...]:
        return self.settings.admin_roles

    @property
    def admin_user_ids(self) -> tuple[str, ...]:
        return self.settings.admin_user_ids

    @property
    def default_role(self) -> str:
        return self.settings.default_role

    def normalize_role(self, role: str) -> str:
        from owox_idp.validation import normalize_role

        return normalize_role(role, allowed=self.roles, multiple=self.flavor.multiple_roles, flavor=self.name)

    def has_admin_role(self, role: str | None) -> bool:
        from owox_idp.validation import has_admin_role

        return has_admin_role(role, self.admin_roles)

    def is_admin(self, user_id: str, role: str | None) -> bool:
        return self.has_admin_role(role) or user_id in self.admin_user_ids
