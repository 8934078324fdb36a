"""The deployment: one description, built once per run, of everything that differs between the Better
Auth databases idp administers — the flavor's rules, the plugin set, the schema layout (table and
column names), the id format, how dates are stored, the additional user columns, and what the
database cannot show (token and session storage) — so that commands ask it instead of deciding.

It is built in two steps: `from_settings` (what is declared, and the flavor's defaults), then, on the
first connection, `refined(discovery)` with what the database shows of itself (owox_idp.db.discover).
Every part remembers where it came from: `detected`, `declared` or `default` (`sources`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from owox_idp.db.schema import DEFAULT_LAYOUT, Layout, Model, PluginSet, plugin_set
from owox_idp.errors import ConfigError
from owox_idp.flavors import Flavor

if TYPE_CHECKING:
    from owox_idp.config import Settings
    from owox_idp.db.discover import DateStorage, Declared, Discovery, ExtraColumn, IdFormat


@dataclass(frozen=True)
class Deployment:
    settings: Settings
    flavor: Flavor
    plugins: PluginSet
    layout: Layout = DEFAULT_LAYOUT
    models: tuple[Model, ...] = field(default=())
    id_format: IdFormat = "text"
    date_storage: Mapping[tuple[str, str], DateStorage] = field(default_factory=dict)
    extra_user_columns: tuple[ExtraColumn, ...] = ()
    discovery: Discovery | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, *, layout: Layout | None = None) -> Deployment:
        flavor = settings.rules
        if settings.plugins is not None:  # declared (IDP_PLUGINS)
            plugins = plugin_set(settings.plugins, server_version=settings.server_version)
            plugins_source = "declared"
        else:
            plugins = flavor.plugins(
                server_version=settings.server_version, organization=settings.organization
            )
            plugins_source = "default"
        sources = {
            "flavor": "declared" if settings.sources.get("flavor", "default") != "default" else "default",
            "tables": "declared" if settings.model_names or settings.use_plural is not None else "default",
            "casing": "declared" if settings.casing else "default",
            "id_format": "declared" if settings.id_format else "default",
            "date_storage": "default",
            "plugins": plugins_source,
            "magic_link_token_storage": _source(settings, "magic_link_store_token"),
            "session_storage": _source(settings, "session_storage"),
            "password_hash": _source(settings, "password_hash"),
            "additional_user_fields": "declared" if settings.user_fields else "default",
        }
        return cls(
            settings,
            flavor,
            plugins,
            layout or flavor.default_layout(),
            _stored_models(flavor.models(plugins), settings),
            id_format=settings.id_format or "text",
            sources=sources,
        )

    def declared(self) -> Declared:
        from owox_idp.db.discover import Declared

        s = self.settings
        return Declared(
            model_names=dict(s.model_names),
            fields={k: dict(v) for k, v in s.field_names.items()},
            casing=s.casing,
            use_plural=s.use_plural,
            id_format=s.id_format,
        )

    def refined(self, discovery: Discovery) -> Deployment:
        """This deployment with what the database shows: the layout, id format, date storage, plugins
        (unless declared, and unless the flavor fixes them) and additional user columns."""
        sources = dict(self.sources)
        plugins = self.plugins
        if discovery.empty or not self.flavor.discovers_layout:
            # nothing to detect: what is declared, or the flavor's defaults, is what migrate creates
            layout = (
                discovery.layout if self.settings.model_names or self.settings.use_plural else self.layout
            )
            return replace(self, layout=layout, discovery=discovery, sources=sources)
        if self.settings.plugins is None and self.flavor.detects_plugins:
            found = discovery.plugins
            plugins = replace(
                found,
                magic_link=self.plugins.magic_link,
                api_key=discovery.api_key,
                server_version=self.settings.server_version,
                two_factor_v14=self._two_factor_v14(found.two_factor_v14),
            )
            sources["plugins"] = "detected"
        for part in ("tables", "casing", "id_format", "date_storage"):
            sources[part] = discovery.sources.get(part, sources.get(part, "default"))
        extra = discovery.extra_user_columns
        if extra:
            sources["additional_user_fields"] = "detected"
        return replace(
            self,
            plugins=plugins,
            models=_stored_models(self.flavor.models(plugins), self.settings),
            layout=discovery.layout,
            id_format=discovery.id_format,
            date_storage=dict(discovery.date_storage),
            extra_user_columns=tuple(extra),
            discovery=discovery,
            sources=sources,
        )

    def _two_factor_v14(self, found: bool) -> bool:
        """Whether the twoFactor table has 1.4/1.5's four columns. A declared server version decides
        (a 1.6+ server queries `verified` and the lock-out columns, and refuses every request without
        them, so `migrate` must add them); otherwise what the table shows."""
        version = self.settings.server_version
        if self.settings.sources.get("server_version", "default") != "default":
            return version in ("1.4", "1.5")
        return found or version in ("1.4", "1.5")

    @property
    def dialect(self) -> str:
        from owox_idp.db.engine import dialect_of

        return dialect_of(self.settings.database_url)

    @property
    def name(self) -> str:
        return self.flavor.name

    # ------------------------------------------------------------------ ids
    def id_maker(self) -> Callable[[], str | None]:
        """The function that makes new row ids in the deployment's format (asked once, called for every
        row); it returns None when the database generates the id (serial)."""
        if self.id_format == "serial":
            return _no_id
        if self.id_format == "uuid":
            return _uuid_text
        return self.flavor.id_maker()  # the server's own text ids

    def new_id(self) -> str | None:
        """A new row id in the deployment's format; None when the database generates it (serial)."""
        return self.id_maker()()

    def with_id(self, values: dict[str, Any]) -> dict[str, Any]:
        """`values` with a new `id` first, unless the database generates it."""
        new = self.new_id()
        return values if new is None else {"id": new, **values}

    # ------------------------------------------------------------------ additional user fields
    def additional_user_values(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Values of the additional user columns for a new user: `--field NAME=VALUE`, else the declared
        default ([user.fields]); a required column without either is an error naming both settings."""
        given = dict(given or {})
        defaults = dict(self.settings.user_fields)
        columns = {c.name: c for c in self.extra_user_columns}
        unknown = [k for k in given if k not in columns and k not in defaults]
        if unknown:
            known = ", ".join(sorted(columns)) or "none"
            from owox_idp.errors import InvalidInput

            raise InvalidInput(
                f"unknown field {unknown[0]!r}: the user table's additional columns are {known}"
            )
        values: dict[str, Any] = {}
        for name, column in columns.items():
            if name in given:
                values[name] = given[name]
            elif name in defaults:
                values[name] = defaults[name]
            elif column.blocks_insert:
                raise ConfigError(
                    f"the user table has a required column {name!r} ({column.type}) that idp cannot fill",
                    hint=f"give it with --field {name}=VALUE, or set its default (the server's defaultValue) "
                    f'in the config file: [user.fields] {name} = "..."',
                )
        return values

    # ------------------------------------------------------------------ roles
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

    # ------------------------------------------------------------------ what the database cannot show
    def require_database_sessions(self, what: str) -> None:
        """Sessions kept only in secondary storage (Redis) are beyond idp's reach: say so, write nothing."""
        if self.settings.session_storage == "secondary":
            raise ConfigError(
                f"{what} is not possible here: the server keeps sessions in secondary storage only "
                "(IDP_SESSION_STORAGE=secondary), which idp cannot read or change",
                hint="sign the user out through the server's API (revokeUserSessions), or clear them in the "
                "secondary storage; see docs/sessions-and-revocation.md",
            )

    def require_database_verifications(self, what: str) -> None:
        if self.settings.session_storage == "secondary":
            raise ConfigError(
                f"{what} is not possible here: with secondary storage only (IDP_SESSION_STORAGE=secondary) "
                "the server keeps verification rows (magic links) there too, so a link idp writes to the "
                "database is never found",
                hint="create the link through the server's API (signInMagicLink) instead",
            )

    def session_cache_note(self, change: str = "revoke") -> str | None:
        """What a change in the database cannot reach on this deployment, if anything: the copies of
        sessions (with their user, role included) that the server keeps in secondary storage.
        `change`: "revoke" (sessions deleted), "role" (the user's role changed), "delete" (user deleted)."""
        storage = self.settings.session_storage
        if storage == "database":
            return None
        where = (
            "the server also keeps sessions in secondary storage (IDP_SESSION_STORAGE=both)"
            if storage == "both"
            else "the server keeps sessions in secondary storage only (IDP_SESSION_STORAGE=secondary)"
        )
        if change == "role":
            return f"{where}: sessions signed in before keep the old role until they expire"
        if change == "delete" or storage == "secondary":
            return f"{where}: the user's sessions there live until they expire"
        return f"{where}: the database rows are deleted, and the cached copies live until they expire"

    def description(self) -> dict[str, Any]:
        """The deployment as `idp info` and `idp doctor` show it: each part with its source."""
        s = self.settings
        found = self.discovery
        parts: dict[str, Any] = {
            "flavor": self.name,
            "tables": {m.name: self.layout.table(m.name) for m in self.models},
            "casing": found.casing if found is not None and found.casing else (s.casing or "camel"),
            "id_format": self.id_format,
            "date_storage": sorted(set(self.date_storage.values())) or ["default"],
            "plugins": list(self.plugins.names),
            "magic_link_token_storage": s.magic_link_store_token,
            "session_storage": s.session_storage,
            "password_hash": s.password_hash,
            "additional_user_fields": [c.name for c in self.extra_user_columns],
        }
        if found is not None:
            parts["origin"] = found.origin or None
        return {
            key: {
                "value": value,
                "source": self.sources.get(key, "detected" if key == "origin" else "default"),
            }
            for key, value in parts.items()
        }


def _stored_models(models: tuple[Model, ...], settings: Settings) -> tuple[Model, ...]:
    """The models whose tables the server has. With secondary storage only, Better Auth's schema has no
    `session` and no `verification` table (get-tables.ts: both live in the secondary storage), so their
    absence is the deployment's shape, not a schema to migrate."""
    if settings.session_storage != "secondary":
        return models
    return tuple(m for m in models if m.name not in ("session", "verification"))


def _source(settings: Settings, key: str) -> str:
    return "default" if settings.sources.get(key, "default").startswith("default") else "declared"


def _no_id() -> None:
    return None


def _uuid_text() -> str:
    # Better Auth's generateId: "uuid" is crypto.randomUUID() (version 4); a version 7 is the same
    # type and text form, time-ordered (see crypto.random.ordered_id)
    from owox_idp.crypto.random import ordered_uuid

    return ordered_uuid()
