"""`idp migrate`, `idp info` and `idp generate-secret`."""

from __future__ import annotations

import secrets as _secrets
from dataclasses import dataclass, field
from typing import Any

from owox_idp import __version__
from owox_idp.clock import now
from owox_idp.config import SETTING_KEYS, Settings, display_url, write_config_value
from owox_idp.context import Env, translate_db_error
from owox_idp.db.migrate import Plan, plan_migration
from owox_idp.errors import IdpError, Refused


@dataclass
class MigrateResult:
    statements: list[str]
    applied: bool
    plan: Plan

    def to_json(self) -> dict[str, Any]:
        return {"statements": self.statements, "applied": self.applied}


def plan(env: Env) -> Plan:
    """What `idp migrate` would run on this database now (nothing changes)."""
    with env.connection(write=False, create_file=False) as conn:
        return _plan(env, conn)


def idp_tables(env: Env) -> dict[str, list[str]]:
    """idp's own tables that `idp migrate` creates (after Better Auth's), with their statements."""
    from owox_idp.repository.audit import create_statements
    from owox_idp.repository.tables import AUDIT_TABLE

    return {AUDIT_TABLE: create_statements(env.tables(), env.dialect)}


def _plan(env: Env, conn: Any, *, indexes: bool = False) -> Plan:
    from owox_idp.db.schema import idp_indexes

    env.discover(conn)  # the layout found (or declared) is the one that is extended
    own = idp_tables(env)
    return env.deployment.flavor.migration_plan(
        conn,
        models=env.models,
        layout=env.layout,
        dialect=env.dialect,
        populated=env.store_on(conn).table_has_rows,
        extra_indexes=idp_indexes(env.models, env.layout) if indexes else None,
        idp_tables=own,
    )


def migrate(
    env: Env, *, dry_run: bool, confirm: Any = None, indexes: bool = False, force: bool = False
) -> MigrateResult:
    """Compute the plan and, unless `dry_run`, apply it in one transaction. `confirm(plan)` may veto.
    `indexes` adds idp's own indexes for fast listings (`idp migrate --indexes`). A database that is not
    this deployment's (another flavor's, another application's, Better Auth's under undeclared names)
    is refused, naming what was found; `force` accepts another application's tables beside ours."""
    from sqlalchemy.exc import DBAPIError

    from owox_idp.db.engine import dialect_of, sqlite_path

    url = env.settings.database_url
    env.check_dialect()
    if dry_run and dialect_of(url) == "sqlite" and not sqlite_path(url).exists():
        # nothing exists yet: the plan is the full schema, computed without creating the file
        from owox_idp.db.migrate import DbState
        from owox_idp.db.schema import idp_indexes

        p = plan_migration(
            state=DbState(),
            models=env.models,
            layout=env.layout,
            dialect="sqlite",
            populated=None,
            extra_indexes=idp_indexes(env.models, env.layout) if indexes else None,
            idp_tables=idp_tables(env),
        )
        return MigrateResult(p.statements, False, p)

    with env.connection(write=True, create_file=not dry_run) as conn:
        p = _plan(env, conn, indexes=indexes)
        dep = env.deployment
        problem = dep.flavor.foreign_database(dep)
        only_foreign = dep.discovery is not None and dep.discovery.empty and not dep.discovery.elsewhere
        if problem is not None and not (force and only_foreign):
            raise Refused(
                problem[0] + "; nothing was changed",
                hint=problem[1] + ("; `idp migrate --force` creates them anyway" if only_foreign else ""),
            )
        if p.unsafe:
            raise Refused(p.unsafe[0], hint="nothing was changed")
        if dry_run or p.empty:
            return MigrateResult(p.statements, False, p)
        if confirm is not None and not confirm(p):
            raise Refused("migration not confirmed; nothing was changed")
        try:
            for statement in p.statements:
                conn.exec_driver_sql(statement)
        except DBAPIError as exc:
            raise translate_db_error(exc) from None
        env.tables().audit_exists = None  # the audit table may exist now
    env.forget_discovery()  # the next command looks at the schema as it is now
    return MigrateResult(p.statements, True, p)


def generate_secret(settings_path: Any | None, *, write: bool, force: bool = False) -> tuple[str, str | None]:
    """A new 32-byte secret as 64 hex characters; with `write`, stored in the config file (0600). A
    secret already there is kept (exit 8) unless `force`: the server's two-factor rows and OWOX's role
    tokens depend on it."""
    value = _secrets.token_hex(32)
    if write and settings_path is not None:
        write_config_value(settings_path, "secret", value, replace=force)
        return value, str(settings_path)
    return value, None


@dataclass
class Info:
    data: dict[str, Any] = field(default_factory=dict)


def _redacted_setting(settings: Settings, key: str) -> Any:
    if key == "secret":
        if settings.secrets is None:
            return None
        if settings.secrets.current_version is not None:
            return f"[REDACTED] (versioned: {', '.join(str(v) for v, _ in settings.secrets.versions)})"
        return "[REDACTED]"
    if key == "database_url":
        return display_url(settings.database_url)
    value = getattr(settings, key)
    if isinstance(value, tuple):
        return ",".join(value)
    return value


def info(env: Env) -> dict[str, Any]:
    """Everything an operator needs to see at once; never a secret or a database password."""
    s = env.settings
    warnings: list[str] = []
    out: dict[str, Any] = {
        "version": __version__,
        "flavor": s.flavor,
        "settings": {
            key: {"value": _redacted_setting(s, key), "source": s.sources.get(key, "default")}
            for key in SETTING_KEYS
        },
        "config_file": str(s.config_path),
        "database": {"dialect": env.dialect, "url": display_url(s.database_url), "reachable": False},
        "schema": None,
        "counts": None,
        "warnings": warnings,
    }
    flavor = env.deployment.flavor
    if s.secrets is None:
        if flavor.uses_secret:
            warnings.append("no secret configured: magic links (owox) and two-factor cannot be issued")
    elif len(s.secrets.current) < 32:
        warnings.append("the secret is shorter than 32 characters (Better Auth warns about it too)")
    limit = env.deployment.flavor.link_lifetime_limit
    if limit is not None and s.magic_link_ttl > limit:
        warnings.append(
            f"magic link lifetime {s.magic_link_ttl}s exceeds OWOX's role token lifetime ({limit}s):"
            " a link opened after an hour signs the user in without a role"
        )
    if s.base_url.startswith("http://localhost") and flavor.issues_links:
        warnings.append(f"base URL is {s.base_url}: links will only open on the server's own machine")
    if s.config_path.exists():
        mode = s.config_path.stat().st_mode & 0o777
        if mode & 0o077:
            warnings.append(
                f"config file {s.config_path} is readable by others (mode {mode:o}); use chmod 600"
            )

    try:
        from owox_idp.db.engine import dialect_of, sqlite_path

        if dialect_of(s.database_url) == "sqlite" and not sqlite_path(s.database_url).exists():
            out["database"]["error"] = "the database file does not exist yet"
            out["schema"] = {"status": "missing", "missing": [], "pending_statements": None}
            warnings.append("the database does not exist: run `idp migrate`")
            return out
        with env.connection(write=False) as conn:
            out["database"]["reachable"] = True
            p = _plan(env, conn)
            out["deployment"] = env.deployment.description()
            problem = env.deployment.flavor.foreign_database(env.deployment)
            if problem is not None:
                warnings.append(f"{problem[0]} ({problem[1]})")
            status = (
                "missing"
                if {env.layout.table(m.name) for m in env.models} <= set(p.create_tables)
                else ("behind" if p.schema_behind else ("indexes-missing" if p.add_indexes else "up-to-date"))
            )
            out["schema"] = {
                "status": status,
                "missing": p.create_tables + p.add_columns,
                "missing_indexes": p.add_indexes,
                "missing_idp_tables": p.create_idp_tables,
                "pending_statements": len(p.statements),
                "warnings": p.warnings,
            }
            warnings += p.unsafe + p.warnings
            if p.create_idp_tables and status != "missing":
                warnings.append(
                    f"idp's audit table ({', '.join(p.create_idp_tables)}) does not exist: changes are not "
                    "recorded until `idp migrate` creates it"
                )
            if p.schema_behind:
                warnings.append("the schema is missing or out of date: run `idp migrate`")
            else:
                out["counts"] = _counts(env, conn)
                counts = out["counts"]
                if counts["sessions"] == 0 and counts["users"] > counts["users_without_password"]:
                    warnings.append(
                        "no sessions in the database: if users are signed in, the server keeps sessions in "
                        "secondary storage (e.g. Redis), which idp cannot list or revoke "
                        "(see docs/sessions-and-revocation.md)"
                    )
                warnings += env.deployment.flavor.warnings(env.store_on(conn))
                if out["counts"]["admins"] == 0:
                    warnings.append("there is no active admin: create one with `idp bootstrap-admin EMAIL`")
                if env.deployment.flavor.warn_users_without_role and out["counts"]["users_without_role"]:
                    warnings.append(
                        f"{out['counts']['users_without_role']} user(s) have no role: in OWOX they can still "
                        "read the user dashboard (see `idp list-users`)"
                    )
    except IdpError as exc:
        out["database"]["error"] = exc.message
        warnings.append(f"database: {exc.message}")
    return out


def _counts(env: Env, conn: Any) -> dict[str, Any]:
    from owox_idp.services.links import count_links

    store = env.store_on(conn)
    current = now()
    by_role = store.users.count_by_role()
    pending, expired = count_links(store, current)
    return {
        "users": store.users.count(),
        "users_by_role": {
            ("(none)" if k is None else k): v for k, v in sorted(by_role.items(), key=lambda i: str(i[0]))
        },
        "admins": len(store.users.active_admin_ids(env.settings.admin_roles, env.settings.admin_user_ids)),
        "banned": store.users.count_banned(),
        "users_without_password": store.users.count_without_password(),
        "users_without_role": store.users.count_without_role(),
        "two_factor_enabled": store.users.count_two_factor(),
        "sessions": store.sessions.count(),
        "active_sessions": store.sessions.count(active_after=current),
        "pending_links": pending,
        "expired_links": expired,
        "expired_verifications": store.verifications.count(expired_before=current),
    }
