"""The Rust port's schema (better-auth-rs 0.10, PostgreSQL) as data: its tables as logical models and
the layout that names them as the port does.

Field names are Better Auth's logical camelCase where a column means the same (`emailVerified`,
`createdAt`, `banExpires`, ...), so that the repository's queries serve both; the port's own columns
keep their meaning under a camelCase name (`metadata`, `active`, `username`, `displayUsername`). The
layout maps them to the port's plural snake_case tables and columns: the defaults of its `Auth*Meta`
traits (`crates/core/src/entity.rs:227-605`), which are also what its migrations create
(`migrations/001…005`, copied verbatim in `owox_idp/db/rs_migrations/`). Renamed tables or columns
(`#[auth(table=…, column=…)]`) are not supported. Nullability is the migrations' own (`name`, `email`
and `role` are nullable there).

Only the tables idp reads or writes are models; the others (organization, member, invitation,
passkeys) exist in a port database, reference `users(id) ON DELETE CASCADE`, and go with the user on
delete. `api_keys` is a model so that a ban can disable the user's keys (the port's key check reads
only the key's `enabled`, `api_key/mod.rs:591-593`); the `api-key` commands stay refused in this
flavor (no api-key plugin is declared).
"""

from __future__ import annotations

import re

from owox_idp.db.schema import Field, FieldType, Layout, Model


def _f(name: str, type_: FieldType, *, required: bool = True, references: str | None = None) -> Field:
    return Field(name, type_, required=required, references=references)


# migrations/001_create_core_tables.sql:3-19
RS_USER = Model(
    "user",
    (
        _f("name", "string", required=False),
        _f("email", "string", required=False),
        _f("emailVerified", "boolean"),
        _f("image", "string", required=False),
        _f("username", "string", required=False),
        _f("displayUsername", "string", required=False),
        _f("twoFactorEnabled", "boolean"),
        _f("role", "string", required=False),
        _f("banned", "boolean"),
        _f("banReason", "string", required=False),
        _f("banExpires", "date", required=False),
        _f("metadata", "json"),  # {"password_hash": ...} is where 0.x sign-in reads the hash
        _f("createdAt", "date"),
        _f("updatedAt", "date"),
    ),
)
# 001:21-33
RS_SESSION = Model(
    "session",
    (
        _f("expiresAt", "date"),
        _f("token", "string"),
        _f("ipAddress", "string", required=False),
        _f("userAgent", "string", required=False),
        _f("userId", "string", references="user"),
        _f("impersonatedBy", "string", required=False),
        _f("activeOrganizationId", "string", required=False),
        _f("active", "boolean"),  # every lookup adds `AND active = true` (database.rs:567)
        _f("createdAt", "date"),
        _f("updatedAt", "date"),
    ),
)
# 001:35-50
RS_ACCOUNT = Model(
    "account",
    (
        _f("accountId", "string"),
        _f("providerId", "string"),
        _f("userId", "string", references="user"),
        _f("accessToken", "string", required=False),
        _f("refreshToken", "string", required=False),
        _f("idToken", "string", required=False),
        _f("accessTokenExpiresAt", "date", required=False),
        _f("refreshTokenExpiresAt", "date", required=False),
        _f("scope", "string", required=False),
        _f("password", "string", required=False),
        _f("createdAt", "date"),
        _f("updatedAt", "date"),
    ),
)
# 001:52-59
RS_VERIFICATION = Model(
    "verification",
    (
        _f("identifier", "string"),
        _f("value", "string"),
        _f("expiresAt", "date"),
        _f("createdAt", "date"),
        _f("updatedAt", "date"),
    ),
)
# 003_create_two_factor_table.sql:2-10 (backup_codes is nullable TEXT, no `verified` column)
RS_TWO_FACTOR = Model(
    "twoFactor",
    (
        _f("secret", "string"),
        _f("backupCodes", "string", required=False),
        _f("userId", "string", references="user"),
        _f("createdAt", "date"),
        _f("updatedAt", "date"),
    ),
)

# 004_create_api_key_table.sql:2-24: the columns of Better Auth 1.4's `apikey` (owner `userId`), in
# snake_case, under the logical model name the api-key repository uses
RS_API_KEY = Model(
    "apikey",
    (
        _f("name", "string", required=False),
        _f("start", "string", required=False),
        _f("prefix", "string", required=False),
        _f("key", "string"),
        _f("userId", "string", references="user"),
        _f("refillInterval", "number", required=False),
        _f("refillAmount", "number", required=False),
        _f("lastRefillAt", "date", required=False),
        _f("enabled", "boolean"),
        _f("rateLimitEnabled", "boolean"),
        _f("rateLimitTimeWindow", "number", required=False),
        _f("rateLimitMax", "number", required=False),
        _f("requestCount", "number", required=False),
        _f("remaining", "number", required=False),
        _f("lastRequest", "date", required=False),
        _f("expiresAt", "date", required=False),
        _f("createdAt", "date"),
        _f("updatedAt", "date"),
        _f("permissions", "string", required=False),
        _f("metadata", "string", required=False),
    ),
)

RS_MODELS: tuple[Model, ...] = (RS_USER, RS_SESSION, RS_ACCOUNT, RS_VERIFICATION, RS_TWO_FACTOR, RS_API_KEY)


def snake(name: str) -> str:
    """`emailVerified` -> `email_verified`, as the port's columns are named."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# entity.rs: `fn table()` of each Auth*Meta trait ("users" at 228-230, "sessions", "accounts",
# "verifications", "two_factor")
RS_TABLES = {
    "user": "users",
    "session": "sessions",
    "account": "accounts",
    "verification": "verifications",
    "twoFactor": "two_factor",
    "apikey": "api_keys",
}

RS_LAYOUT = Layout(
    name="better-auth-rs",
    tables=RS_TABLES,
    columns={(m.name, f.name): snake(f.name) for m in RS_MODELS for f in m.fields},
)

# Every table the port's migrations create, by file (what `idp migrate` runs on an empty database).
RS_MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("001_create_core_tables.sql", ("users", "sessions", "accounts", "verifications")),
    ("002_create_organization_tables.sql", ("organization", "member", "invitation")),
    ("003_create_two_factor_table.sql", ("two_factor",)),
    ("004_create_api_key_table.sql", ("api_keys",)),
    ("005_create_passkey_table.sql", ("passkeys",)),
)
BAN_GUARD_FILE = "ban_guard.sql"
BAN_GUARD_TRIGGER = "idp_ban_guard"  # on "sessions"; see ban_guard.sql


def migration_sql(file_name: str) -> str:
    """The text of one of the port's migration files (or idp's ban guard), shipped as package data."""
    from importlib.resources import files

    return files("owox_idp.db").joinpath("rs_migrations", file_name).read_text(encoding="utf-8")
