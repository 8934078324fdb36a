"""The api-key plugin's table (`apikey`) as `Model` values, per Better Auth version, in the plugin's
column order, plus the values the plugin's create endpoint writes that the schema does not carry.

Sources (npm tarballs):
- 1.6 / 1.7: `@better-auth/api-key` 1.6.25 and 1.7.5 (the newest published for 1.7; it runs on
  better-auth 1.7.25), `dist/index.mjs`, region `src/schema.ts` (`apiKeySchema`); identical in both.
  The owner is `referenceId`, a plain indexed string with no foreign key (a user id, or an organization
  id under `references: "organization"`), and `configId` names the plugin configuration.
- 1.4: `better-auth` 1.4.22 `dist/plugins/api-key/schema.mjs`: `userId` references `user.id` with
  `onDelete: "cascade"`; no `configId`.

Neither `createdAt` nor `updatedAt` has a default (the plugin always writes both), so the migration
gives them no `DEFAULT CURRENT_TIMESTAMP`. The static defaults (`enabled`, `requestCount`, ...) are not
in the DDL either: Better Auth's `getMigrations` only emits a static default when it *adds* a column to
an existing table (better-auth 1.7.25 `dist/db/get-migration.mjs`, `hasStaticColumnDefault`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from owox_idp.db.schema import Field, Model

APIKEY_MODEL = "apikey"  # API_KEY_TABLE_NAME

_COUNTERS_AND_DATES = (
    Field("refillInterval", "number", required=False),
    Field("refillAmount", "number", required=False),
    Field("lastRefillAt", "date", required=False),
    Field("enabled", "boolean", required=False),
    Field("rateLimitEnabled", "boolean", required=False),
    Field("rateLimitTimeWindow", "number", required=False),
    Field("rateLimitMax", "number", required=False),
    Field("requestCount", "number", required=False),
    Field("remaining", "number", required=False),
    Field("lastRequest", "date", required=False),
    Field("expiresAt", "date", required=False),
    Field("createdAt", "date"),
    Field("updatedAt", "date"),
    Field("permissions", "string", required=False),
    Field("metadata", "string", required=False),
)

APIKEY_16 = Model(
    APIKEY_MODEL,
    (
        Field("configId", "string", index=True),
        Field("name", "string", required=False),
        Field("start", "string", required=False),
        Field("referenceId", "string", index=True),
        Field("prefix", "string", required=False),
        Field("key", "string", index=True),
        *_COUNTERS_AND_DATES,
    ),
)

APIKEY_14 = Model(
    APIKEY_MODEL,
    (
        Field("name", "string", required=False),
        Field("start", "string", required=False),
        Field("prefix", "string", required=False),
        Field("key", "string", index=True),
        Field("userId", "string", references="user", index=True),
        *_COUNTERS_AND_DATES,
    ),
)

_MODELS: Mapping[str, Model] = MappingProxyType(
    {"1.4": APIKEY_14, "1.5": APIKEY_16, "1.6": APIKEY_16, "1.7": APIKEY_16}
)


def apikey_models(server_version: str) -> tuple[Model, ...]:
    """The tables the api-key plugin adds for that server version (for `models_for`)."""
    try:
        return (_MODELS[server_version],)
    except KeyError:
        raise ValueError(f"no api-key schema for Better Auth {server_version!r}") from None


def owner_field(server_version: str) -> str:
    """The column holding the owning user's id: `userId` in 1.4, `referenceId` from 1.5 on."""
    return "userId" if server_version == "1.4" else "referenceId"


# What createApiKey writes with the plugin's default options (`apiKey()` option defaults in
# `src/index.ts`, the `data` object in `src/routes/create-api-key.ts`), besides id, name, start, prefix,
# key, owner, expiresAt, createdAt, updatedAt, permissions and metadata. `configId` is 1.5+ only. With
# these a key allows 10 verifications, then refuses until 24 h pass without one (the window restarts
# from `lastRequest`, `evaluateRateLimit`).
DEFAULT_CONFIG_ID = "default"
DEFAULT_RATE_LIMIT_TIME_WINDOW_MS = 86_400_000  # rateLimit.timeWindow: 1000 * 60 * 60 * 24
DEFAULT_RATE_LIMIT_MAX = 10  # rateLimit.maxRequests
CREATE_DEFAULTS: Mapping[str, object] = MappingProxyType(
    {
        "enabled": True,
        "rateLimitEnabled": True,
        "rateLimitTimeWindow": DEFAULT_RATE_LIMIT_TIME_WINDOW_MS,
        "rateLimitMax": DEFAULT_RATE_LIMIT_MAX,
        "requestCount": 0,
        "remaining": None,
        "refillAmount": None,
        "refillInterval": None,
        "lastRefillAt": None,
        "lastRequest": None,
    }
)
