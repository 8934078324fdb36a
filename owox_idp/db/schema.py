"""Better Auth's logical schema, the plugin sets of each flavor, and the physical names (the layout).

Everything about which tables and columns exist is data here. Queries never spell a table or column
name: they ask the layout, so that other layouts (Drizzle's snake_case, renamed models, ...) are a new
`Layout` value, not a rewrite.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

FieldType = Literal["string", "boolean", "date", "number", "json"]  # json: the Rust port's jsonb (schema_rs)


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    required: bool = True
    unique: bool = False
    index: bool = False
    sortable: bool = False
    references: str | None = None  # logical model whose `id` this field points at
    date_default: bool = False  # the field has a function default (`() => new Date()`)


@dataclass(frozen=True)
class Model:
    name: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name}.{name}")


def _f(name: str, type_: FieldType, **kw: object) -> Field:
    return Field(name, type_, **kw)  # type: ignore[arg-type]


# Core tables (packages/core/src/db/get-tables.ts), in Better Auth's own column order.
_USER_CORE = (
    _f("name", "string", sortable=True),
    _f("email", "string", unique=True),
    _f("emailVerified", "boolean"),
    _f("image", "string", required=False),
    _f("createdAt", "date", date_default=True),
    _f("updatedAt", "date", date_default=True),
)
_SESSION_CORE = (
    _f("expiresAt", "date"),
    _f("token", "string", unique=True),
    _f("createdAt", "date", date_default=True),
    _f("updatedAt", "date"),
    _f("ipAddress", "string", required=False),
    _f("userAgent", "string", required=False),
    _f("userId", "string", references="user", index=True),
)
_ACCOUNT_CORE = (
    _f("accountId", "string"),
    _f("providerId", "string"),
    _f("userId", "string", references="user", index=True),
    _f("accessToken", "string", required=False),
    _f("refreshToken", "string", required=False),
    _f("idToken", "string", required=False),
    _f("accessTokenExpiresAt", "date", required=False),
    _f("refreshTokenExpiresAt", "date", required=False),
    _f("scope", "string", required=False),
    _f("password", "string", required=False),
    _f("createdAt", "date", date_default=True),
    _f("updatedAt", "date"),
)
_VERIFICATION_CORE = (
    _f("identifier", "string", index=True),
    _f("value", "string"),
    _f("expiresAt", "date"),
    _f("createdAt", "date", date_default=True),
    _f("updatedAt", "date", date_default=True),
)

# admin plugin (plugins/admin/schema.ts)
_ADMIN_USER = (
    _f("role", "string", required=False),
    _f("banned", "boolean", required=False),
    _f("banReason", "string", required=False),
    _f("banExpires", "date", required=False),
)
_ADMIN_SESSION = (_f("impersonatedBy", "string", required=False),)

# two-factor plugin (plugins/two-factor/schema.ts)
_TWO_FACTOR_USER = (_f("twoFactorEnabled", "boolean", required=False),)
_TWO_FACTOR_14 = (
    _f("secret", "string", index=True),
    _f("backupCodes", "string"),
    _f("userId", "string", references="user", index=True),
)
_TWO_FACTOR_16 = (
    *_TWO_FACTOR_14,
    _f("verified", "boolean", required=False),
    _f("failedVerificationCount", "number", required=False),
    _f("lockedUntil", "date", required=False),
)

# organization plugin (no teams, no dynamic access control)
_ORG_SESSION = (_f("activeOrganizationId", "string", required=False),)
_ORGANIZATION = (
    _f("name", "string", sortable=True),
    _f("slug", "string", unique=True),
    _f("logo", "string", required=False),
    _f("createdAt", "date"),
    _f("metadata", "string", required=False),
)
_MEMBER = (
    _f("organizationId", "string", references="organization", index=True),
    _f("userId", "string", references="user", index=True),
    _f("role", "string", sortable=True),
    _f("createdAt", "date"),
)
_INVITATION = (
    _f("organizationId", "string", references="organization", index=True),
    _f("email", "string", index=True, sortable=True),
    _f("role", "string", required=False, sortable=True),
    _f("status", "string", sortable=True),
    _f("expiresAt", "date"),
    _f("createdAt", "date", date_default=True),
    _f("inviterId", "string", references="user"),
)


@dataclass(frozen=True)
class PluginSet:
    admin: bool = False
    two_factor: bool = False
    organization: bool = False
    two_factor_v14: bool = False  # Better Auth 1.4's twoFactor table has only four columns
    magic_link: bool = True  # no table of its own: whether the server verifies magic links
    api_key: bool = False
    server_version: str = "1.7"  # the plugins' tables differ between versions (api-key: 1.4 vs 1.5+)

    @property
    def names(self) -> tuple[str, ...]:
        """The declared names (IDP_PLUGINS) of the plugins in the set."""
        flags = {
            "admin": self.admin,
            "two-factor": self.two_factor,
            "organization": self.organization,
            "magic-link": self.magic_link,
            "api-key": self.api_key,
        }
        return tuple(name for name, on in flags.items() if on)


PLUGIN_NAMES = ("admin", "two-factor", "organization", "magic-link", "api-key")


def plugin_set(names: Iterable[str], *, server_version: str) -> PluginSet:
    """The plugin set of declared plugin names (IDP_PLUGINS); unknown names are the caller's to refuse."""
    chosen = set(names)
    return PluginSet(
        admin="admin" in chosen,
        two_factor="two-factor" in chosen,
        organization="organization" in chosen,
        two_factor_v14=server_version in ("1.4", "1.5"),  # 1.6 added verified and the lock columns
        magic_link="magic-link" in chosen,
        api_key="api-key" in chosen,
        server_version=server_version,
    )


def models_for(plugins: PluginSet) -> tuple[Model, ...]:
    """The tables Better Auth's migration creates for this plugin set, in its order."""
    user = list(_USER_CORE)
    session = list(_SESSION_CORE)
    if plugins.admin:
        user += _ADMIN_USER
        session += _ADMIN_SESSION
    if plugins.two_factor:
        user += _TWO_FACTOR_USER
    if plugins.organization:
        session += _ORG_SESSION
    models = [
        Model("user", tuple(user)),
        Model("session", tuple(session)),
        Model("account", _ACCOUNT_CORE),
        Model("verification", _VERIFICATION_CORE),
    ]
    if plugins.two_factor:
        models.append(Model("twoFactor", _TWO_FACTOR_14 if plugins.two_factor_v14 else _TWO_FACTOR_16))
    if plugins.organization:
        models += [
            Model("organization", _ORGANIZATION),
            Model("member", _MEMBER),
            Model("invitation", _INVITATION),
        ]
    if plugins.api_key:
        from owox_idp.db.apikey_schema import apikey_models

        models += apikey_models(plugins.server_version)
    return tuple(models)


@dataclass(frozen=True)
class DateColumn:
    """How `idp migrate` declares a date column it adds to a deployment whose dates are not stored as
    Better Auth's Kysely migration stores them (db/discover.py `new_date_column`): the type of the
    deployment's own date columns (Drizzle's SQLite `integer`, Prisma's `timestamp(3)`), and the
    default of fields that default to now, written as a UTC instant in that storage."""

    type: str
    default: str | None = None  # `default ...` for fields that default to now; None: no database default
    default_on_add: bool = True  # False: ALTER TABLE ADD COLUMN refuses it (SQLite, non-constant)


@dataclass(frozen=True)
class Layout:
    """Physical names. Better Auth's default (Kysely / `auth migrate`) layout is the identity mapping.
    `dates`: how new date columns are declared when the deployment's dates differ from Kysely's."""

    name: str = "better-auth"
    tables: Mapping[str, str] = field(default_factory=dict)
    columns: Mapping[tuple[str, str], str] = field(default_factory=dict)
    dates: DateColumn | None = None

    def table(self, model: str) -> str:
        return self.tables.get(model, model)

    def column(self, model: str, field_name: str) -> str:
        return self.columns.get((model, field_name), field_name)


DEFAULT_LAYOUT = Layout()


def index_name(table: str, column: str) -> str:
    """Better Auth's name for a field index (getDatabaseFieldIndexName, non-unique)."""
    return f"{table}_{column}_idx"


@dataclass(frozen=True)
class ExpectedIndex:
    table: str
    name: str
    columns: tuple[str, ...]
    unique: bool = False


def expected_indexes(models: Iterable[Model], layout: Layout) -> list[ExpectedIndex]:
    out: list[ExpectedIndex] = []
    for model in models:
        table = layout.table(model.name)
        for f in model.fields:
            if f.index and not f.unique:
                column = layout.column(model.name, f.name)
                out.append(ExpectedIndex(table, index_name(table, column), (column,)))
    return out


# idp's own indexes, created only by `idp migrate --indexes` (opt-in, additive): the newest-first
# listings and their keyset paging (`ORDER BY createdAt DESC, id DESC`). The `idp_` prefix marks them as
# ours; Better Auth's migration only looks for the indexes it declares, so these never make it want a
# change.
IDP_INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("user", ("createdAt", "id")),
    ("session", ("createdAt", "id")),
)


def idp_indexes(models: Iterable[Model], layout: Layout) -> list[ExpectedIndex]:
    present = {m.name for m in models}
    out: list[ExpectedIndex] = []
    for model, fields in IDP_INDEXES:
        if model in present:
            table = layout.table(model)
            columns = tuple(layout.column(model, f) for f in fields)
            out.append(ExpectedIndex(table, f"idp_{table}_{'_'.join(columns)}_idx", columns))
    return out
