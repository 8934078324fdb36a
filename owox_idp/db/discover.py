"""What a Better Auth deployment's database looks like: read the catalog once, then match it.

`read_catalog(conn)` reads every table of the current schema with its columns in one catalog query
(this runs on every command). `discover(catalog, models, declared)` is pure: it matches Better Auth's
logical models (db.schema, camelCase field names) against the catalog and says which physical names,
id format, date and boolean storage, plugins and additional columns the deployment has, what does not
match, and whether it is empty. What was declared (settings) wins over what is guessed, and a
contradiction between the two stops the run (ConfigError, exit 6) naming both sides.

The layouts it knows, and where they come from:

- Better Auth's own migration (Kysely, `npx auth migrate`): camelCase tables and columns, singular
  (`twoFactor`); PG timestamptz, MySQL timestamp(3), SQLite `date` holding ISO text.
- Drizzle, as Better Auth's CLI generates it (generators/drizzle.ts, `convertToSnakeCase`): snake_case
  tables and columns (`two_factor`, `email_verified`); PG `timestamp` without time zone, MySQL
  timestamp(3) and varchar(36) ids, SQLite `integer` dates (see below).
- Prisma, from the CLI's schema.prisma: `@@map` keeps Better Auth's table names, columns camelCase; PG
  `timestamp(3)` without time zone, MySQL `datetime(3)` and `varchar(191)`. Hand-written Prisma schemas
  without `@@map` name the tables after the models (`User`, `TwoFactor`).
- `usePlural`: Better Auth appends "s" to the model name (core/db/adapter initGetModelName), before
  Drizzle's snake_case (`twoFactors` -> `two_factors`).

SQLite integer dates (Drizzle's `integer(..., { mode })`): the column type is `integer` either way, so
the rule is:
1. any integer date column whose default multiplies by 1000 (`cast(unixepoch('subsecond') * 1000 as
   integer)`, what the CLI writes since 1.3.x for mode `timestamp_ms`) -> every integer date of the
   deployment is milliseconds;
2. a default in seconds (`unixepoch()`, `strftime('%s', ...)`) -> seconds;
3. no default at all (CLI <= 1.3.4 wrote mode `timestamp`, seconds, with no database default): decided
   from data when `samples` are given (`read_date_samples`: one value >= 1e11 is milliseconds, since
   1e11 seconds is the year 5138 and 1e11 ms is 1973), else seconds, with a note that it was inferred.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from owox_idp.db.schema import DateColumn, Field, Layout, Model, PluginSet, models_for
from owox_idp.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

IdFormat = Literal["text", "uuid", "serial"]
DateStorage = Literal["timestamptz", "timestamp", "datetime", "text", "int-seconds", "int-ms"]
Casing = Literal["camel", "snake"]
Source = Literal["detected", "declared", "default"]

# --------------------------------------------------------------------------------------------------
# The catalog


@dataclass(frozen=True)
class CatalogColumn:
    name: str
    type: str  # normalized: text, varchar, char, uuid, integer, bigint, boolean, timestamptz, timestamp, ...
    raw_type: str  # as the catalog spells it: "timestamp(3) without time zone", "tinyint(1)", "varchar(36)"
    nullable: bool
    default: str | None  # the default expression as the database shows it, None when there is none
    identity: bool  # PG identity or serial, MySQL auto_increment, SQLite INTEGER PRIMARY KEY (rowid)


@dataclass(frozen=True)
class CatalogTable:
    name: str
    columns: tuple[CatalogColumn, ...]

    def column(self, name: str) -> CatalogColumn | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    @property
    def column_names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns)


@dataclass(frozen=True)
class Catalog:
    dialect: str  # postgresql | mysql | sqlite
    schema: str  # PG current_schema(), MySQL DATABASE(), SQLite "main"
    tables: Mapping[str, CatalogTable]
    # PG only, read only when the current schema has no table at all: "schema.table" of tables elsewhere
    # named like Better Auth's (database.schemaName puts them in another schema)
    elsewhere: tuple[str, ...] = ()


_PG_CATALOG = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity <> ''
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname, a.attnum
"""
_PG_ELSEWHERE = """
SELECT current_schema(), n.nspname, c.relname
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND lower(c.relname) IN :names
ORDER BY n.nspname, c.relname
"""
_MYSQL_CATALOG = """
SELECT c.table_schema, c.table_name, c.column_name, c.column_type, c.is_nullable, c.column_default, c.extra
FROM information_schema.columns c
JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = DATABASE() AND t.table_type = 'BASE TABLE'
ORDER BY c.table_name, c.ordinal_position
"""
_SQLITE_CATALOG = """
SELECT m.name, p.name, p.type, p."notnull", p.dflt_value, p.pk
FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
ORDER BY m.name, p.cid
"""


def read_catalog(conn: Connection) -> Catalog:
    """Every table of the current schema with its columns, in one catalog query (two on an empty
    PostgreSQL schema, to say where Better Auth's tables are instead)."""
    from sqlalchemy import bindparam, text

    dialect = conn.dialect.name
    columns: dict[str, list[CatalogColumn]] = {}
    if dialect == "postgresql":
        rows = conn.execute(text(_PG_CATALOG)).all()
        schema = str(rows[0][0]) if rows else ""
        for _, table, name, raw, notnull, default, identity in rows:
            default = None if default is None else str(default)
            is_identity = bool(identity) or (default is not None and default.startswith("nextval("))
            columns.setdefault(str(table), []).append(
                CatalogColumn(
                    str(name), normalize_type(dialect, str(raw)), str(raw), not notnull, default, is_identity
                )
            )
        elsewhere: tuple[str, ...] = ()
        if not rows:
            names = sorted({n.lower() for m in _ALL_MODELS for n in _table_candidates(m.name, Declared())})
            stmt = text(_PG_ELSEWHERE).bindparams(bindparam("names", expanding=True))
            found = conn.execute(stmt, {"names": names}).all()
            if found:
                schema = str(found[0][0] or "")
                elsewhere = tuple(f"{s}.{t}" for _, s, t in found if s != schema)
            else:
                schema = str(conn.execute(text("SELECT current_schema()")).scalar() or "")
        return Catalog(dialect, schema, _tables(columns), elsewhere)
    if dialect == "mysql":
        rows = conn.execute(text(_MYSQL_CATALOG)).all()
        schema = str(rows[0][0]) if rows else str(conn.execute(text("SELECT DATABASE()")).scalar() or "")
        for _, table, name, raw, nullable, default, extra in rows:
            raw_s = _s(raw)
            columns.setdefault(_s(table), []).append(
                CatalogColumn(
                    _s(name),
                    normalize_type(dialect, raw_s),
                    raw_s,
                    _s(nullable).upper() == "YES",
                    _mysql_default(default),
                    "auto_increment" in _s(extra).lower(),
                )
            )
        return Catalog(dialect, schema, _tables(columns))
    rows = conn.execute(text(_SQLITE_CATALOG)).all()
    pk_count: dict[str, int] = {}
    for table, _, _, _, _, pk in rows:
        if pk:
            pk_count[str(table)] = pk_count.get(str(table), 0) + 1
    for table, name, raw, notnull, default, pk in rows:
        raw_s = str(raw or "")
        # an INTEGER PRIMARY KEY alone is the rowid: the database assigns it (sqlite.org/lang_createtable)
        rowid = bool(pk) and pk_count.get(str(table)) == 1 and raw_s.strip().upper() == "INTEGER"
        columns.setdefault(str(table), []).append(
            CatalogColumn(
                str(name),
                normalize_type(dialect, raw_s),
                raw_s,
                not notnull and not rowid,
                None if default is None else str(default),
                rowid,
            )
        )
    return Catalog(dialect, "main", _tables(columns))


def _s(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return value.decode()
    return "" if value is None else str(value)


def _mysql_default(value: object) -> str | None:
    # MariaDB shows "no default" of a nullable column as the expression NULL, and quotes literals
    # ('free'); MySQL 8 shows SQL NULL and the bare literal.
    if value is None:
        return None
    text = _s(value)
    return None if text.upper() == "NULL" else text


def _tables(columns: Mapping[str, list[CatalogColumn]]) -> dict[str, CatalogTable]:
    return {name: CatalogTable(name, tuple(cols)) for name, cols in columns.items()}


def normalize_type(dialect: str, raw: str) -> str:
    t = raw.strip().lower()
    if dialect == "postgresql":
        if t.startswith("timestamp"):
            return "timestamptz" if "with time zone" in t else "timestamp"
        if t.startswith("character varying"):
            return "varchar"
        if t.startswith("character"):
            return "char"
        base = t.split("(")[0].strip()
        return {"int4": "integer", "int": "integer", "int8": "bigint", "bool": "boolean"}.get(base, base)
    if dialect == "mysql":
        if t.startswith("tinyint(1)") or t in ("bool", "boolean"):
            return "boolean"  # MySQL's BOOLEAN is tinyint(1)
        base = t.split("(")[0].split()[0] if t else ""
        return {"int": "integer", "mediumtext": "text", "longtext": "text"}.get(base, base)
    base = t.split("(")[0].strip()
    return {"int": "integer"}.get(base, base)


# --------------------------------------------------------------------------------------------------
# What can be declared


@dataclass(frozen=True)
class Declared:
    """What settings say about the deployment (IDP_MODEL_NAMES, IDP_USE_PLURAL, IDP_CASING, [schema.fields],
    IDP_ID_FORMAT). None / empty means "not declared": discover from the database."""

    model_names: Mapping[str, str] = field(default_factory=dict)  # logical model -> table
    fields: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # model -> {field: column}
    casing: Casing | None = None
    use_plural: bool | None = None
    id_format: IdFormat | None = None


# --------------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True)
class ExtraColumn:
    """A column Better Auth's schema does not have (an additional field, another plugin's column)."""

    name: str
    type: str
    required: bool  # NOT NULL
    has_default: bool

    @property
    def blocks_insert(self) -> bool:
        """Required and without default: an INSERT that does not name it fails."""
        return self.required and not self.has_default


@dataclass(frozen=True)
class Unmatched:
    table: str
    looks_like: str | None  # the logical model it resembles, None for another application's table
    reason: str


@dataclass(frozen=True)
class Discovery:
    dialect: str
    schema: str
    empty: bool  # no Better Auth table at all (nor one that looks like it)
    layout: Layout
    origin: str  # better-auth (Kysely), drizzle, prisma, custom, or "" when empty
    tables: Mapping[str, str]  # logical model -> table, for the models found
    casing: Casing | None  # of the columns; None when mixed or nothing tells
    use_plural: bool | None
    id_format: IdFormat
    date_storage: Mapping[tuple[str, str], DateStorage]  # (model, field) -> storage, found columns only
    boolean_storage: str | None  # boolean (PG), tinyint (MySQL), integer (SQLite)
    plugins: PluginSet
    api_key: bool
    extra_columns: Mapping[str, tuple[ExtraColumn, ...]]  # model -> columns not in Better Auth's schema
    missing_columns: tuple[str, ...]  # "model.field" of found tables
    unmatched: tuple[Unmatched, ...]
    elsewhere: tuple[str, ...]  # PG: "schema.table" outside the current schema (when it is empty)
    notes: tuple[str, ...]  # what was inferred rather than seen, and inconsistencies worth a warning
    sources: Mapping[str, Source]  # per part: tables, use_plural, casing, id_format, date_storage, plugins
    catalog: Catalog | None = None  # what it was discovered from (the schema check reuses it)

    @property
    def extra_user_columns(self) -> tuple[ExtraColumn, ...]:
        return self.extra_columns.get("user", ())

    @property
    def foreign_tables(self) -> tuple[str, ...]:
        return tuple(u.table for u in self.unmatched if u.looks_like is None)


# --------------------------------------------------------------------------------------------------
# Knowledge about names


# The api-key plugin (@better-auth/api-key 1.7.5, src/schema.ts); before 1.5 the owner was `userId`
# (better-auth/plugins/api-key). Only used to detect it: idp does not create its table.
def _af(name: str, type_: str, required: bool = False) -> Field:
    return Field(name, type_, required=required)  # type: ignore[arg-type]


API_KEY_MODEL = Model(
    "apikey",
    (
        _af("configId", "string"),
        _af("name", "string"),
        _af("start", "string"),
        _af("referenceId", "string"),
        _af("userId", "string"),
        _af("prefix", "string"),
        _af("key", "string", True),
        _af("refillInterval", "number"),
        _af("refillAmount", "number"),
        _af("lastRefillAt", "date"),
        _af("enabled", "boolean"),
        _af("rateLimitEnabled", "boolean"),
        _af("rateLimitTimeWindow", "number"),
        _af("rateLimitMax", "number"),
        _af("requestCount", "number"),
        _af("remaining", "number"),
        _af("lastRequest", "date"),
        _af("expiresAt", "date"),
        _af("createdAt", "date", True),
        _af("updatedAt", "date", True),
        _af("permissions", "string"),
        _af("metadata", "string"),
    ),
)

ALL_PLUGINS = PluginSet(admin=True, two_factor=True, organization=True)
_ALL_MODELS = (*models_for(ALL_PLUGINS), API_KEY_MODEL)

# Columns without which a table of that name is not Better Auth's (another application's `account`).
_SIGNATURE = {
    "user": ("email",),
    "session": ("token", "userId"),
    "account": ("providerId", "userId"),
    "verification": ("identifier", "value"),
    "twoFactor": ("secret", "backupCodes"),
    "organization": ("slug",),
    "member": ("organizationId", "userId"),
    "invitation": ("organizationId", "inviterId"),
    "apikey": ("key",),
}
_CORE = ("user", "session", "account", "verification")
# Migration bookkeeping of the tools that create these schemas: the origin when names do not tell.
_TOOL_TABLES = {"__drizzle_migrations": "drizzle", "_prisma_migrations": "prisma"}


def snake(name: str) -> str:
    """Drizzle's table/column name for a Better Auth name (CLI generators/drizzle.ts convertToSnakeCase)."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _table_candidates(model: str, declared: Declared) -> list[str]:
    """Physical names a model may have, most likely first."""
    if model in declared.model_names:
        return [declared.model_names[model]]
    plurals = [declared.use_plural] if declared.use_plural is not None else [False, True]
    out: list[str] = []
    for plural in plurals:
        base = model + ("s" if plural else "")
        forms = [base, snake(base), _pascal(base)]
        if declared.casing == "camel":
            forms = [base, _pascal(base)]
        elif declared.casing == "snake":
            forms = [snake(base)]
        for f in forms:
            if f not in out:
                out.append(f)
    return out


def _column_candidates(model: str, field_name: str, declared: Declared) -> list[str]:
    override = declared.fields.get(model, {}).get(field_name)
    if override:
        return [override]
    if declared.casing == "camel":
        return [field_name]
    if declared.casing == "snake":
        return [snake(field_name)]
    return [field_name] if snake(field_name) == field_name else [field_name, snake(field_name)]


def _lookup_table(catalog: Catalog, name: str) -> CatalogTable | None:
    table = catalog.tables.get(name)
    if table is None and catalog.dialect == "sqlite":  # SQLite's names are case-insensitive
        for other in catalog.tables.values():
            if other.name.lower() == name.lower():
                return other
    return table


# --------------------------------------------------------------------------------------------------
# Matching


@dataclass
class _Match:
    model: Model
    table: CatalogTable
    columns: dict[str, str]  # logical field (incl. id) -> column
    camel_votes: int = 0
    snake_votes: int = 0


def _match_columns(model: Model, table: CatalogTable, declared: Declared) -> _Match:
    match = _Match(model, table, {})
    present = table.column_names
    for name in ("id", *(f.name for f in model.fields)):
        for candidate in _column_candidates(model.name, name, declared):
            if candidate in present:
                match.columns[name] = candidate
                if snake(name) != name and name not in declared.fields.get(model.name, {}):
                    if candidate == name:
                        match.camel_votes += 1
                    else:
                        match.snake_votes += 1
                break
    return match


def _is_model(model: Model, match: _Match) -> bool:
    return all(f in match.columns for f in _SIGNATURE.get(model.name, ()))


def _resemblance(model: Model, table: CatalogTable) -> float:
    """The share of the model's fields present under some casing (for tables under unknown names)."""
    if not model.fields:
        return 0.0
    present = {c.lower() for c in table.column_names}
    hits = sum(1 for f in model.fields if f.name.lower() in present or snake(f.name) in present)
    return hits / len(model.fields)


def _declared_table(model: str, declared: Declared) -> str:
    if model in declared.model_names:
        return repr(declared.model_names[model])
    return " or ".join(repr(n) for n in _table_candidates(model, declared)) or "nothing"


def _match_tables(
    catalog: Catalog, models: list[Model], declared: Declared, notes: list[str]
) -> tuple[dict[str, _Match], list[Unmatched], set[str]]:
    matches: dict[str, _Match] = {}
    unmatched: list[Unmatched] = []
    claimed: set[str] = set()
    for model in models:
        found: list[_Match] = []
        for name in _table_candidates(model.name, declared):
            table = _lookup_table(catalog, name)
            if table is None or table.name in claimed or any(f.table.name == table.name for f in found):
                continue
            m = _match_columns(model, table, declared)
            if _is_model(model, m):
                found.append(m)
                continue
            lacking = ", ".join(f for f in _SIGNATURE.get(model.name, ()) if f not in m.columns)
            unmatched.append(
                Unmatched(
                    table.name, None, f"named like Better Auth's {model.name} table but has no {lacking}"
                )
            )
            claimed.add(table.name)
        if not found:
            continue
        if len(found) > 1:
            found.sort(key=lambda m: len(m.columns), reverse=True)
            notes.append(
                f"more than one table could be Better Auth's {model.name}: "
                f"{', '.join(m.table.name for m in found)}; using {found[0].table.name} (declare it to choose)"
            )
        matches[model.name] = found[0]
        claimed.add(found[0].table.name)
    return matches, unmatched, claimed


def discover(
    catalog: Catalog,
    models: Iterable[Model] | None = None,
    declared: Declared | None = None,
    *,
    samples: Mapping[tuple[str, str], int | None] | None = None,
) -> Discovery:
    """Match Better Auth's logical `models` (default: every plugin idp knows, and api-key) against the
    catalog. `samples` are values of integer date columns (read_date_samples) when the catalog alone
    cannot tell seconds from milliseconds. Raises ConfigError when `declared` contradicts the database."""
    declared = declared or Declared()
    model_list = list(models) if models is not None else list(models_for(ALL_PLUGINS))
    if not any(m.name == "apikey" for m in model_list):
        model_list.append(API_KEY_MODEL)
    notes: list[str] = []
    contradictions: list[str] = []
    matches, unmatched, claimed = _match_tables(catalog, model_list, declared, notes)
    if declared.model_names or declared.use_plural is not None or declared.casing is not None:
        # what the database shows without the naming declarations: a model found there under another
        # name than the declared one is a contradiction, not a missing table
        free, _, _ = _match_tables(catalog, model_list, Declared(fields=declared.fields), [])
        for name, m in free.items():
            bound = matches.get(name)
            if bound is None:
                contradictions.append(
                    f"the {name} table is declared as {_declared_table(name, declared)}, but the database "
                    f"has no such table; it has {m.table.name!r}"
                )
            elif bound.table.name != m.table.name:
                notes.append(
                    f"both {bound.table.name} (declared) and {m.table.name} exist; using the declared one"
                )

    # tables under no known name
    for table in catalog.tables.values():
        if table.name in claimed or table.name in _TOOL_TABLES:
            continue
        best_model, best_score = None, 0.0
        for model in model_list:
            if model.name in matches:
                continue
            score = _resemblance(model, table)
            if score > best_score:
                best_model, best_score = model, score
        if best_model is not None and best_score >= 0.6:
            unmatched.append(
                Unmatched(
                    table.name,
                    best_model.name,
                    f"has {round(best_score * 100)}% of the columns of Better Auth's {best_model.name} table "
                    f"under a name idp does not expect: declare it (IDP_MODEL_NAMES {best_model.name}="
                    f"{table.name})",
                )
            )
        else:
            unmatched.append(Unmatched(table.name, None, "not a Better Auth table"))

    # declared fields that are not there while the default name is (matched without the field
    # declarations, since a declared column that is missing can hide the whole table)
    if declared.fields:
        plain, _, _ = _match_tables(catalog, model_list, replace(declared, fields={}), [])
        for model_name, overrides in declared.fields.items():
            fm = plain.get(model_name)
            if fm is None:
                continue
            for field_name, column in overrides.items():
                if column in fm.table.column_names:
                    continue
                alternatives = [c for c in (field_name, snake(field_name)) if c in fm.table.column_names]
                if alternatives:
                    contradictions.append(
                        f"{model_name}.{field_name} is declared as column {column!r}, but table "
                        f"{fm.table.name!r} has no such column; it has {alternatives[0]!r}"
                    )

    # plural and casing of the deployment
    plural_seen = {m.table.name.lower() in _plural_forms(name) for name, m in matches.items()}
    use_plural = plural_seen.pop() if len(plural_seen) == 1 else None
    if len(plural_seen) > 1:
        notes.append("some tables are plural and some are not")
    camel = sum(m.camel_votes for m in matches.values())
    snake_ = sum(m.snake_votes for m in matches.values())
    casing: Casing | None = "camel" if camel and not snake_ else "snake" if snake_ and not camel else None
    if camel and snake_:
        notes.append(f"columns are partly camelCase ({camel}) and partly snake_case ({snake_})")
    if declared.casing is not None and matches:
        free, _, _ = _match_tables(catalog, model_list, Declared(fields=declared.fields), [])
        c2 = sum(m.camel_votes for m in free.values())
        s2 = sum(m.snake_votes for m in free.values())
        actual = "camel" if c2 and not s2 else "snake" if s2 and not c2 else None
        if actual and actual != declared.casing:
            contradictions.append(f"casing is declared {declared.casing}, but the columns found are {actual}")
    core_found = [m for m in _CORE if m in matches]
    empty = not matches and not any(u.looks_like for u in unmatched)

    # id format
    id_format, id_source = _id_format(catalog, matches, declared, contradictions)

    if contradictions:
        raise ConfigError(
            "the declared deployment contradicts the database: " + "; ".join(contradictions),
            hint="fix the setting or point idp at the right database",
        )

    # dates and booleans
    date_storage, date_notes = _date_storage(catalog, matches, samples)
    notes += date_notes
    boolean_storage = None
    user = matches.get("user")
    if user is not None and "emailVerified" in user.columns:
        col = user.table.column(user.columns["emailVerified"])
        boolean_storage = col.type if col else None

    # plugins
    plugins, api_key, plugin_notes = _plugins(matches)
    notes += plugin_notes

    # extra and missing columns
    known = {m.name: {"id", *(f.name for f in m.fields)} for m in _ALL_MODELS}
    # missing: what the detected plugins need (of the newest Better Auth: a 1.4 twoFactor lacks columns)
    expected = {
        m.name: {f.name for f in m.fields}
        for m in models_for(PluginSet(plugins.admin, plugins.two_factor, plugins.organization))
    }
    extra: dict[str, tuple[ExtraColumn, ...]] = {}
    missing: list[str] = []
    for name, m in matches.items():
        mapped = set(m.columns.values())
        # a column that is another known field of this model under the other casing is not "extra"
        also_known = {c for f in known.get(name, set()) for c in (f, snake(f))}
        extras = tuple(
            ExtraColumn(c.name, c.type, not c.nullable, c.default is not None or c.identity)
            for c in m.table.columns
            if c.name not in mapped and c.name not in also_known
        )
        if extras:
            extra[name] = extras
        for f in m.model.fields:
            if f.name not in m.columns and f.name in expected.get(name, set()):
                missing.append(f"{name}.{f.name}")
        if "id" not in m.columns:
            missing.append(f"{name}.id")

    # origin
    origin = _origin(catalog, matches, casing) if matches else ""
    if matches and len(core_found) < len(_CORE):
        notes.append(f"Better Auth's core tables missing: {', '.join(m for m in _CORE if m not in matches)}")

    layout = _layout(origin, matches, model_list, declared, casing, use_plural)
    dates = new_date_column(catalog, matches, date_storage)
    if dates is not None:
        layout = replace(layout, dates=dates)
    sources: dict[str, Source] = {
        "tables": _src(bool(matches), bool(declared.model_names)),
        "use_plural": _src(use_plural is not None, declared.use_plural is not None),
        "casing": _src(casing is not None, declared.casing is not None),
        "id_format": id_source,
        "date_storage": "detected" if date_storage else "default",
        "plugins": "detected" if matches else "default",
    }
    return Discovery(
        dialect=catalog.dialect,
        schema=catalog.schema,
        empty=empty,
        layout=layout,
        origin=origin,
        tables={name: m.table.name for name, m in matches.items()},
        casing=casing if casing is not None else (declared.casing if not matches else None),
        use_plural=use_plural if use_plural is not None else declared.use_plural,
        id_format=id_format,
        date_storage=date_storage,
        boolean_storage=boolean_storage,
        plugins=plugins,
        api_key=api_key,
        extra_columns=extra,
        missing_columns=tuple(missing),
        unmatched=tuple(unmatched),
        elsewhere=catalog.elsewhere,
        notes=tuple(notes),
        sources=sources,
        catalog=catalog,
    )


def _src(detected: bool, declared: bool) -> Source:
    return "detected" if detected else "declared" if declared else "default"


def _plural_forms(model: str) -> set[str]:
    base = model + "s"
    return {base.lower(), snake(base)}


def _id_format(
    catalog: Catalog, matches: Mapping[str, _Match], declared: Declared, contradictions: list[str]
) -> tuple[IdFormat, Source]:
    user = matches.get("user") or next(iter(matches.values()), None)
    if user is None or "id" not in user.columns:
        return (declared.id_format or "text"), ("declared" if declared.id_format else "default")
    col = user.table.column(user.columns["id"])
    assert col is not None
    found: IdFormat | None
    if col.type in ("integer", "bigint", "smallint", "int"):
        found = "serial"
    elif col.type == "uuid":
        found = "uuid"
    else:
        found = "text"
    if declared.id_format is None:
        return found, "detected"
    # uuid ids are varchar(36)/text on MySQL and SQLite: a text column is compatible with declared uuid
    compatible = declared.id_format == found or (
        declared.id_format == "uuid" and found == "text" and catalog.dialect != "postgresql"
    )
    if not compatible:
        contradictions.append(
            f"the id format is declared {declared.id_format}, but {user.table.name}.{col.name} is "
            f"{col.raw_type} ({found})"
        )
    return declared.id_format, "declared"


_MS_DEFAULT = re.compile(r"\*\s*1000")
_SECONDS_DEFAULT = re.compile(r"unixepoch\(\s*\)|strftime\(\s*'%s'", re.I)


def _date_storage(
    catalog: Catalog, matches: Mapping[str, _Match], samples: Mapping[tuple[str, str], int | None] | None
) -> tuple[dict[tuple[str, str], DateStorage], list[str]]:
    out: dict[tuple[str, str], DateStorage] = {}
    notes: list[str] = []
    integer_cols: list[tuple[str, str, CatalogColumn]] = []
    for name, m in matches.items():
        for f in m.model.fields:
            if f.type != "date" or f.name not in m.columns:
                continue
            col = m.table.column(m.columns[f.name])
            assert col is not None
            if catalog.dialect == "postgresql":
                out[(name, f.name)] = "timestamptz" if col.type == "timestamptz" else "timestamp"
            elif catalog.dialect == "mysql":
                out[(name, f.name)] = "datetime" if col.type == "datetime" else "timestamp"
            elif col.type in ("integer", "int", "bigint"):
                integer_cols.append((name, f.name, col))
            else:
                out[(name, f.name)] = "text"  # Kysely's `date`: Better Auth writes toISOString() text
    if integer_cols:
        unit = _integer_unit(integer_cols, samples)
        if unit is None:
            unit = "int-seconds"
            notes.append(
                "SQLite dates are integers without a default that tells seconds from milliseconds, and no "
                "row tells either: assumed seconds (Drizzle mode 'timestamp', Better Auth CLI <= 1.3)"
            )
        for name, fname, _ in integer_cols:
            out[(name, fname)] = unit
    return out, notes


# "now" as a UTC instant in each storage that Better Auth's Kysely migration does not use
_NOW = {
    "timestamp": "default (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')",  # PG without time zone: UTC wall clock
    "datetime": "default CURRENT_TIMESTAMP(3)",  # MySQL datetime: idp's session time zone is UTC
    "int-ms": "default (cast(unixepoch('subsecond') * 1000 as integer))",  # what Drizzle's CLI writes
    "int-seconds": "default (unixepoch())",
}


def new_date_column(
    catalog: Catalog, matches: Mapping[str, _Match], storage: Mapping[tuple[str, str], DateStorage]
) -> DateColumn | None:
    """How a date column added to this deployment is declared: like its own date columns (the type of
    the first one found in the most common storage), None when that is Kysely's (timestamptz, MySQL
    timestamp, SQLite text) or nothing tells. A column added in another type would mix storages in one
    deployment (a Kysely `date` text column among Drizzle's integers)."""
    if not storage:
        return None
    counts: dict[DateStorage, int] = {}
    for value in storage.values():
        counts[value] = counts.get(value, 0) + 1
    common = max(counts, key=lambda s: counts[s])
    if common not in _NOW:
        return None
    for (model, fname), value in storage.items():
        if value == common:
            col = matches[model].table.column(matches[model].columns[fname])
            assert col is not None
            raw = "integer" if common.startswith("int-") else col.raw_type
            # SQLite refuses a non-constant default in ALTER TABLE ADD COLUMN
            return DateColumn(raw, _NOW[common], default_on_add=catalog.dialect != "sqlite")
    return None


def _integer_unit(
    cols: list[tuple[str, str, CatalogColumn]], samples: Mapping[tuple[str, str], int | None] | None
) -> DateStorage | None:
    for _, _, col in cols:
        if col.default and _MS_DEFAULT.search(col.default):
            return "int-ms"
    for _, _, col in cols:
        if col.default and _SECONDS_DEFAULT.search(col.default):
            return "int-seconds"
    for value in (samples or {}).values():
        if value is not None:
            return "int-ms" if abs(value) >= 100_000_000_000 else "int-seconds"
    return None


def read_date_samples(conn: Connection, discovery: Discovery) -> dict[tuple[str, str], int | None]:
    """The largest value of each integer date column of the user table (one query), for `discover(...,
    samples=...)` when the catalog cannot tell seconds from milliseconds."""
    from sqlalchemy import text

    cols = [k for k, v in discovery.date_storage.items() if k[0] == "user" and v.startswith("int-")]
    if not cols:
        return {}
    q = conn.dialect.identifier_preparer.quote
    table = q(discovery.layout.table("user"))
    select = ", ".join(f"max({q(discovery.layout.column('user', f))})" for _, f in cols)
    row = conn.execute(text(f"SELECT {select} FROM {table}")).one()
    return {key: (None if v is None else int(v)) for key, v in zip(cols, row, strict=True)}


def _plugins(matches: Mapping[str, _Match]) -> tuple[PluginSet, bool, list[str]]:
    notes: list[str] = []
    user = matches.get("user")
    session = matches.get("session")
    user_cols = user.columns if user else {}
    session_cols = session.columns if session else {}
    admin_cols = [f in user_cols for f in ("role", "banned", "banReason", "banExpires")]
    admin = all(admin_cols)
    if any(admin_cols) and not admin:
        notes.append("the admin plugin's user columns are only partly there")
    two_factor = "twoFactor" in matches and "twoFactorEnabled" in user_cols
    if user is not None and ("twoFactor" in matches) != ("twoFactorEnabled" in user_cols):
        notes.append("the two-factor plugin is only partly there (table twoFactor or user.twoFactorEnabled)")
    tf = matches.get("twoFactor")
    v14 = bool(tf) and not any(f in tf.columns for f in ("verified", "lockedUntil")) if tf else False
    organization = all(m in matches for m in ("organization", "member", "invitation"))
    if organization and session is not None and "activeOrganizationId" not in session_cols:
        notes.append("the organization plugin's session.activeOrganizationId is missing")
    if not organization and any(m in matches for m in ("organization", "member", "invitation")):
        notes.append("the organization plugin's tables are only partly there")
    plugins = PluginSet(admin=admin, two_factor=two_factor, organization=organization, two_factor_v14=v14)
    return plugins, "apikey" in matches, notes


def _origin(catalog: Catalog, matches: Mapping[str, _Match], casing: Casing | None) -> str:
    for table, tool in _TOOL_TABLES.items():
        if table in catalog.tables:
            return tool
    user = matches.get("user")
    date_col = None
    if user is not None and "createdAt" in user.columns:
        date_col = user.table.column(user.columns["createdAt"])
    pascal = any(m.table.name == _pascal(name) and name != _pascal(name) for name, m in matches.items())
    if casing == "snake":
        return "drizzle"
    if date_col is not None:
        raw = date_col.raw_type.lower()
        if catalog.dialect == "postgresql" and raw.startswith("timestamp(3) without"):
            return "prisma"
        if catalog.dialect == "mysql" and raw.startswith("datetime(3)"):
            return "prisma"
        if pascal:
            return "prisma"
        if catalog.dialect == "postgresql" and date_col.type == "timestamptz":
            return "better-auth" if _default_names(matches) else "custom"
        if catalog.dialect == "mysql" and raw.startswith("timestamp(3)"):
            return "better-auth" if _default_names(matches) else "custom"
        if catalog.dialect == "sqlite" and date_col.type == "date":
            return "better-auth" if _default_names(matches) else "custom"
    return "custom"


def _default_names(matches: Mapping[str, _Match]) -> bool:
    return all(
        m.table.name in (name, name + "s") and all(k == v for k, v in m.columns.items())
        for name, m in matches.items()
    )


def _layout(
    origin: str,
    matches: Mapping[str, _Match],
    models: Iterable[Model],
    declared: Declared,
    casing: Casing | None,
    use_plural: bool | None,
) -> Layout:
    """Physical names for every model: found ones as found, the others in the deployment's convention
    (so that `idp migrate` extends the layout it has instead of adding default-named tables)."""
    plural = use_plural if use_plural is not None else bool(declared.use_plural)
    col_casing = casing or declared.casing or "camel"
    # the tables' style shows only on names that differ between styles (twoFactor, or User); else it
    # follows the columns (Drizzle converts both, its `camelCase: true` neither)
    table_style: str | None = None
    for name, m in matches.items():
        base = name + ("s" if plural else "")
        if m.table.name == _pascal(base) and base != _pascal(base):
            table_style = "pascal"
        elif m.table.name == snake(base) and base != snake(base):
            table_style = "snake"
        elif m.table.name == base and (base != snake(base) or base != _pascal(base)):
            table_style = table_style or ("camel" if base != snake(base) else None)
    if table_style is None:
        table_style = "snake" if col_casing == "snake" else "camel"
    tables: dict[str, str] = {}
    columns: dict[tuple[str, str], str] = {}
    for model in models:
        found = matches.get(model.name)
        if found is not None:
            table = found.table.name
        elif model.name in declared.model_names:
            table = declared.model_names[model.name]
        else:
            base = model.name + ("s" if plural else "")
            table = {"camel": base, "snake": snake(base), "pascal": _pascal(base)}[table_style]
        if table != model.name:
            tables[model.name] = table
        for name in ("id", *(f.name for f in model.fields)):
            if found is not None and name in found.columns:
                column = found.columns[name]
            elif name in declared.fields.get(model.name, {}):
                column = declared.fields[model.name][name]
            else:
                column = snake(name) if col_casing == "snake" else name
            if column != name:
                columns[(model.name, name)] = column
    return Layout(name=origin or "better-auth", tables=tables, columns=columns)
