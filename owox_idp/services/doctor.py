"""`idp doctor`: every check of a deployment, each `ok`, `warn` or `fail` with one line and a hint.

The checks are the things operators tripped over: another application's database or the other
flavor's (said as what was found, never "run migrate"), a relative SQLite path from an env file in
another directory, a secret that does not decrypt the stored two-factor secrets, no active admin, a link
lifetime beyond OWOX's role token, a database file others can read, sessions that seem to live outside
the database. `CHECKS` lists them in order; each is a function of the `Doctor` context, so a new one is
a function and a line. Checks that need the database are left out when it cannot be reached (the
`database` check says why).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from owox_idp.errors import IdpError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from owox_idp.config import Settings
    from owox_idp.context import Env
    from owox_idp.db.migrate import Plan
    from owox_idp.models import TwoFactorRow
    from owox_idp.repository import Store
    from owox_idp.repository.probe import DatabaseProbe

Status = Literal["ok", "warn", "fail"]
SERVER_TIMEOUT = 5.0  # seconds: a CI gate must not hang on a dead host
TWO_FACTOR_SAMPLE = 200  # rows whose secret is tried (all of them on most deployments)
NEW_DEPLOYMENT = timedelta(days=1)  # younger than this, no session rows is not a sign of anything


@dataclass
class Check:
    name: str
    status: Status
    message: str
    hint: str | None = None
    data: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "hint": self.hint,
        }
        if self.data is not None:
            out |= self.data
        return out


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    def to_json(self) -> dict[str, Any]:
        return {"checks": [c.to_json() for c in self.checks], "ok": self.ok}


def settings_failed(message: str, hint: str | None) -> DoctorReport:
    """The report when the settings themselves do not load (no other check can run)."""
    fallback = "fix the setting the message names (flag, environment, .env or config file)"
    return DoctorReport([Check("settings", "fail", message, hint or fallback)])


# ----------------------------------------------------------------------------- the context


@dataclass
class Doctor:
    env: Env
    now: datetime
    server: bool
    conn: Connection | None = None
    store: Store | None = None
    probe: DatabaseProbe | None = None
    plan: Plan | None = None
    flavor_ok: bool = True  # the database looks like this deployment's (else schema says nothing)
    error: str = ""  # why the database cannot be reached

    @property
    def settings(self) -> Settings:
        return self.env.settings


def _source_kind(source: str) -> str:
    """`declared` (a flag, the environment, a file) or `default`; `detected` once discovery lands."""
    lowered = source.lower()
    if lowered.startswith("default") or lowered.endswith(" flavor") or lowered.startswith("default ("):
        return "default"
    return "declared"


def check_deployment(d: Doctor) -> list[Check]:
    """The deployment's parts and where each came from. Issue 10's discovery adds `detected` parts here
    (layout, id format, dates, plugins): each is one more entry of `parts`."""
    s, dep = d.settings, d.env.deployment
    src = s.sources
    parts = [
        {"part": "flavor", "value": dep.name, "source": _source_kind(src.get("flavor", "default"))},
        {
            "part": "server_version",
            "value": s.server_version,
            "source": _source_kind(src.get("server_version", "default")),
        },
        {
            "part": "plugins",
            "value": ",".join(dep.plugins.names),
            "source": _source_kind(src.get("plugins", "default")),
        },
        {"part": "layout", "value": dep.layout.name, "source": "default"},
        {"part": "base_path", "value": s.base_path, "source": _source_kind(src.get("base_path", "default"))},
        {
            "part": "password_hash",
            "value": s.password_hash,
            "source": _source_kind(src.get("password_hash", "default")),
        },
    ]
    shown = "; ".join(f"{p['part']} {p['value'] or '-'} ({p['source']})" for p in parts)
    return [Check("deployment", "ok", shown, None, {"parts": parts})]


def check_settings_files(d: Doctor) -> list[Check]:
    """Settings read from a file in another directory: a relative SQLite path there is resolved against
    that file's directory (config.py), which the server may not do."""
    s = d.settings
    source = s.sources.get("database_url", "")
    if "relative to" in source:
        return [
            Check(
                "settings-files",
                "warn",
                f"the SQLite path came from {source}: idp opens {display_path(s.database_url)}",
                "make the path absolute in that file, so that idp and the server (which resolves it "
                "against its own working directory) open the same file",
            )
        ]
    files = sorted({v for v in s.sources.values() if v.startswith((".env ", "config "))})
    elsewhere = [f for f in files if _file_dir(f) not in (None, Path.cwd().resolve())]
    if elsewhere:
        return [
            Check(
                "settings-files",
                "ok",
                "settings read from a file in another directory: " + "; ".join(elsewhere),
            )
        ]
    return [Check("settings-files", "ok", "no setting depends on the current directory")]


def _file_dir(source: str) -> Path | None:
    if "(" in source and source.endswith(")"):  # ".env NAME (/path/.env)"
        return Path(source.rsplit("(", 1)[1].rstrip(")").split(",")[0]).expanduser().resolve().parent
    if source.startswith("config "):
        return Path(source.removeprefix("config ")).expanduser().resolve().parent
    return None


def display_path(url: str) -> str:
    from owox_idp.db.engine import sqlite_path

    return str(sqlite_path(url))


def check_secret(d: Doctor) -> list[Check]:
    s, flavor = d.settings, d.env.deployment.flavor
    if not flavor.uses_secret:
        # the Rust port: no links, and its two-factor rows are not encrypted (PORT.md §7, §8)
        return [Check("secret", "ok", f"not needed: the {flavor.name} flavor signs and encrypts nothing")]
    if s.secrets is None:
        status: Status = "fail" if flavor.link_needs_secret else "warn"
        return [
            Check(
                "secret",
                status,
                "no secret configured"
                + (": OWOX's sign-in links cannot be issued" if flavor.link_needs_secret else ""),
                "set the server's secret (IDP_BETTER_AUTH_SECRET, BETTER_AUTH_SECRET); "
                "`idp generate-secret` makes a new one",
            )
        ]
    if len(s.secrets.current) < 32:
        return [Check("secret", "warn", "the secret is shorter than 32 characters", "use 32 bytes or more")]
    return [Check("secret", "ok", "a secret is configured")]


def check_link_lifetime(d: Doctor) -> list[Check]:
    s, limit = d.settings, d.env.deployment.flavor.link_lifetime_limit
    if not d.env.deployment.flavor.issues_links:
        return [
            Check("link-lifetime", "ok", "no sign-in links on this server: users sign in with a password")
        ]
    if limit is not None and s.magic_link_ttl > limit:
        return [
            Check(
                "link-lifetime",
                "fail",
                f"sign-in links live {s.magic_link_ttl}s ({s.sources.get('magic_link_ttl', 'default')}) but "
                f"OWOX's role token expires after {limit}s: a link opened later signs in without the role",
                f"set IDP_BETTER_AUTH_MAGIC_LINK_TTL to {limit} or less",
            )
        ]
    return [Check("link-lifetime", "ok", f"sign-in links live {s.magic_link_ttl}s")]


def _mode_check(name: str, path: Path, what: str) -> Check | None:
    if not path.exists():
        return None
    mode = path.stat().st_mode & 0o777
    if mode & 0o004:
        return Check(
            name,
            "fail",
            f"{what} {path} is readable by every user of this machine (mode {mode:o})",
            f"chmod 600 {path}",
        )
    if mode & 0o070:
        return Check(name, "warn", f"{what} {path} is open to its group (mode {mode:o})", f"chmod 600 {path}")
    return None


def check_file_permissions(d: Doctor) -> list[Check]:
    from owox_idp.db.engine import dialect_of, sqlite_path

    out: list[Check] = []
    s = d.settings
    if dialect_of(s.database_url) == "sqlite":
        base = sqlite_path(s.database_url)
        for path, what in ((base, "the database file"), (Path(f"{base}-wal"), "the database's WAL file")):
            found = _mode_check("file-permissions", path, what)
            if found is not None:
                out.append(found)
    found = _mode_check("file-permissions", s.config_path, "the config file")
    if found is not None:
        out.append(found)
    if not out:
        out.append(Check("file-permissions", "ok", "no database or config file is readable by others"))
    return out


def check_database(d: Doctor) -> list[Check]:
    from owox_idp.config import display_url
    from owox_idp.db.engine import dialect_of, sqlite_path

    s = d.settings
    shown = display_url(s.database_url)
    if dialect_of(s.database_url) == "sqlite" and not sqlite_path(s.database_url).exists():
        return [
            Check(
                "database",
                "fail",
                f"the SQLite file {sqlite_path(s.database_url)} does not exist "
                f"(database from {s.sources.get('database_url', 'default')})",
                "check the path; on a new deployment `idp migrate` creates it",
            )
        ]
    if d.conn is None:
        return [
            Check(
                "database",
                "fail",
                f"cannot reach {shown}: {d.error}",
                "check the database URL and that the server is up (`idp info` shows where the URL came from)",
            )
        ]
    return [Check("database", "ok", f"{d.env.dialect} {shown} answers")]


def check_flavor(d: Doctor) -> list[Check]:
    """Whether the database is this flavor's Better Auth database, from what it holds."""
    assert d.probe is not None
    dep = d.env.deployment
    layout = dep.layout
    tables = d.probe.table_names()
    core = [layout.table(m) for m in ("user", "session", "account", "verification")]
    present = [t for t in core if t in tables]
    own = {t for t in tables if t.startswith("idp_")}
    others = sorted(tables - set(core) - own)
    if not tables - own:
        d.flavor_ok = True
        return [Check("flavor", "ok", "the database is empty: nothing to contradict the flavor", None)]
    if not present:
        d.flavor_ok = False
        sample = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        return [
            Check(
                "flavor",
                "fail",
                f"no Better Auth table (user, session, account, verification) in this database; it holds "
                f"{len(others)} other table(s): {sample}. It looks like another application's database",
                "check the database URL (`idp info` shows where it came from)",
            )
        ]
    contradiction = dep.flavor.contradiction(d.probe, layout)  # another flavor's database
    if contradiction is not None:
        d.flavor_ok = False
        return [Check("flavor", "fail", *contradiction)]
    if len(present) < len(core):
        missing = sorted(set(core) - set(present))
        d.flavor_ok = False
        return [
            Check(
                "flavor",
                "fail",
                f"only part of Better Auth's core tables exist ({', '.join(present)}; missing "
                f"{', '.join(missing)}): an incomplete or foreign schema",
                "check the database URL; if this is a Better Auth database, compare it with `idp migrate --sql`",
            )
        ]
    return [Check("flavor", "ok", f"Better Auth's tables, consistent with the {dep.name} flavor")]


def check_schema(d: Doctor) -> list[Check]:
    assert d.plan is not None
    p = d.plan
    if not d.flavor_ok:
        return []  # the flavor check said what the database is; "run migrate" would be wrong advice
    if p.unsafe:
        return [Check("schema", "fail", p.unsafe[0], "see docs/commands/migrate.md")]
    if len(p.create_tables) == len(d.env.models):
        return [Check("schema", "fail", "the database has no Better Auth schema yet", "run `idp migrate`")]
    if p.schema_behind:
        missing = p.create_tables + p.add_columns
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        return [
            Check(
                "schema",
                "fail",
                f"the schema is behind the {d.env.deployment.name} flavor's (missing: {shown})",
                "run `idp migrate` (it only adds)",
            )
        ]
    out = []
    if p.add_indexes:
        out.append(
            Check(
                "schema",
                "warn",
                f"indexes missing: {', '.join(p.add_indexes)}",
                "run `idp migrate` to create them",
            )
        )
    else:
        out.append(Check("schema", "ok", "the schema is up to date"))
    for warning in p.warnings:
        out.append(Check("schema", "warn", warning, None))
    return out


def check_audit(d: Doctor) -> list[Check]:
    assert d.plan is not None
    if not d.flavor_ok:
        return []
    if d.plan.create_idp_tables:
        return [
            Check(
                "audit",
                "warn",
                "idp's audit table idp_audit does not exist: changes made with idp are not recorded",
                "run `idp migrate` (the server and its migration ignore the table)",
            )
        ]
    return [Check("audit", "ok", "idp's audit trail (idp_audit) is in place")]


def _schema_ready(d: Doctor) -> bool:
    return d.flavor_ok and d.plan is not None and not d.plan.schema_behind


def check_admins(d: Doctor) -> list[Check]:
    if not _schema_ready(d):
        return []
    assert d.store is not None
    dep = d.env.deployment
    admins = d.store.users.active_admin_ids(dep.admin_roles, dep.admin_user_ids)
    if not admins:
        return [
            Check(
                "admins",
                "fail",
                "there is no active admin: nobody can administer the deployment from the server",
                "`idp bootstrap-admin EMAIL` creates one (or makes an existing user admin)",
            )
        ]
    return [Check("admins", "ok", f"{len(admins)} active admin(s)")]


def check_two_factor(d: Doctor) -> list[Check]:
    if not _schema_ready(d):
        return []
    assert d.store is not None
    from owox_idp.crypto.symmetric import DecryptionError, decrypt

    rows = d.store.two_factor.sample(TWO_FACTOR_SAMPLE)
    if not rows:
        return []
    if d.env.deployment.flavor.two_factor_format == "rs-port":
        return _check_rs_two_factor(d, rows)
    secrets = d.settings.secrets
    if secrets is None:
        return [
            Check(
                "two-factor-secrets",
                "fail",
                f"{len(rows)} two-factor enrolment(s) are stored but no secret is configured to read them",
                "configure the server's secret (BETTER_AUTH_SECRET / BETTER_AUTH_SECRETS)",
            )
        ]
    bad = 0
    for row in rows:
        try:
            decrypt(row.secret, secrets)
        except DecryptionError:
            bad += 1
    if bad:
        return [
            Check(
                "two-factor-secrets",
                "fail",
                f"{bad} of {len(rows)} stored two-factor secret(s) do not decrypt with the configured secret: "
                "idp is not using the server's secret (or the server's was rotated without BETTER_AUTH_SECRETS)",
                "use the server's secret; for rotated secrets give every version in BETTER_AUTH_SECRETS",
            )
        ]
    return [
        Check("two-factor-secrets", "ok", f"the secret decrypts the {len(rows)} stored two-factor secret(s)")
    ]


def _check_rs_two_factor(d: Doctor, rows: list[TwoFactorRow]) -> list[Check]:
    """The Rust port's rows: a plain base32 secret and argon2 backup codes, nothing encrypted
    (services/twofactor_rs.py). A row the port cannot use is a 500 at that user's second step."""
    assert d.store is not None
    from owox_idp.services.twofactor_rs import backup_codes_left, secret_problem

    bad: list[str] = []
    for row in rows:
        problem = secret_problem(row.secret) or backup_codes_left(row)[1]
        if problem is not None:
            user = d.store.users.find_by_id(row.user_id)
            bad.append(f"{user.email if user is not None else row.user_id}: {problem}")
    if bad:
        return [
            Check(
                "two-factor-secrets",
                "fail",
                f"{len(bad)} of {len(rows)} stored two-factor row(s) cannot be used by the port: "
                + "; ".join(bad[:3])
                + (f" and {len(bad) - 3} more" if len(bad) > 3 else ""),
                "`idp 2fa enable EMAIL --force` re-enrols the user in the port's format",
            )
        ]
    return [
        Check(
            "two-factor-secrets", "ok", f"the {len(rows)} stored two-factor row(s) are in the port's format"
        )
    ]


def check_flavor_warnings(d: Doctor) -> list[Check]:
    """What the flavor itself says about this database (the Rust port: whether idp's ban guard is in)."""
    flavor = d.env.deployment.flavor
    if not _schema_ready(d) or flavor.doctor_check is None:
        return []
    assert d.store is not None
    name, fine, hint = flavor.doctor_check
    warnings = flavor.warnings(d.store)
    if warnings:
        return [Check(name, "warn", w, hint) for w in warnings]
    return [Check(name, "ok", fine)]


def check_sessions(d: Doctor) -> list[Check]:
    """Sessions outside the database (secondaryStorage): only said when something points at it — users
    with a password for a while and not one session row, ever (expired rows stay until cleanup)."""
    if not _schema_ready(d):
        return []
    assert d.store is not None
    users = d.store.users
    if d.store.sessions.count() > 0:
        return [Check("sessions", "ok", "sessions are stored in the database")]
    with_password = users.count() - users.count_without_password()
    oldest = _oldest_user(d)
    if with_password and oldest is not None and d.now - oldest > NEW_DEPLOYMENT:
        return [
            Check(
                "sessions",
                "warn",
                f"not one session row, although {with_password} user(s) with a password exist since "
                f"{oldest.date().isoformat()}: the server may keep sessions in secondary storage (e.g. Redis), "
                "which idp cannot list or revoke",
                "see docs/sessions-and-revocation.md",
            )
        ]
    return [Check("sessions", "ok", "no sign of sessions outside the database")]


def _oldest_user(d: Doctor) -> datetime | None:
    assert d.store is not None and d.probe is not None
    return d.probe.earliest(d.store.t["user"].c.createdAt)


def check_server(d: Doctor) -> list[Check]:
    """`--server`: ask the server itself (`<base URL><base path>/ok`, Better Auth's health endpoint)."""
    if not d.server:
        return []
    import urllib.error
    import urllib.request

    s = d.settings
    url = s.base_url.rstrip("/") + s.base_path + "/ok"
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "idp-doctor"})
    try:
        with urllib.request.urlopen(request, timeout=SERVER_TIMEOUT) as response:
            status, body = response.status, response.read(4096)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, b""
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return [
            Check(
                "server",
                "fail",
                f"the server does not answer at {url}: {reason}",
                "check the base URL (IDP_BETTER_AUTH_BASE_URL) and that the server is running",
            )
        ]
    try:
        ok = status == 200 and json.loads(body or b"null") == {"ok": True}
    except ValueError:
        ok = False
    if not ok:
        return [
            Check(
                "server",
                "fail",
                f'{url} answered HTTP {status} without Better Auth\'s {{"ok": true}}: the base URL or base '
                "path does not lead to this Better Auth server",
                f"check IDP_BETTER_AUTH_BASE_URL and the base path ({s.base_path})",
            )
        ]
    return [Check("server", "ok", f"the server answers at {url}")]


# the checks that need the database's schema: skipped when the database cannot be reached
DATABASE_CHECKS: tuple[Callable[[Doctor], list[Check]], ...] = (
    check_flavor,
    check_schema,
    check_audit,
    check_admins,
    check_two_factor,
    check_flavor_warnings,
    check_sessions,
)
CHECKS: tuple[Callable[[Doctor], list[Check]], ...] = (
    check_deployment,
    check_settings_files,
    check_secret,
    check_link_lifetime,
    check_file_permissions,
    check_database,
    *DATABASE_CHECKS,
    check_server,
)


def run(env: Env, *, server: bool, now: datetime) -> DoctorReport:
    from owox_idp.db.engine import dialect_of, sqlite_path
    from owox_idp.repository.probe import DatabaseProbe
    from owox_idp.services.schema import _plan

    d = Doctor(env, now, server)
    report = DoctorReport()
    url = env.settings.database_url
    missing_file = dialect_of(url) == "sqlite" and not sqlite_path(url).exists()
    try:
        if missing_file:
            raise _NoDatabase()
        with env.connection(write=False, create_file=False) as conn:
            d.conn = conn
            d.store = env.store_on(conn)
            d.probe = DatabaseProbe(conn)
            d.plan = _plan(env, conn)
            _run_checks(d, report, with_database=True)
            return report
    except _NoDatabase:
        pass
    except IdpError as exc:
        d.error = exc.message
    d.conn = d.store = d.probe = None
    report.checks.clear()
    _run_checks(d, report, with_database=False)
    return report


def _run_checks(d: Doctor, report: DoctorReport, *, with_database: bool) -> None:
    for check in CHECKS:
        if check in DATABASE_CHECKS and not with_database:
            continue
        report.checks.extend(check(d))


class _NoDatabase(Exception):
    pass
