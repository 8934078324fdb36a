"""The `idp` command line. Commands are thin: parse, open one transaction, call one service, render.

This is the only module that imports typer. Errors become `Error: ...` on stderr and the documented
exit code in one place (`_run`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from owox_idp import __version__
from owox_idp.errors import ExitCode, IdpError, UsageError

if TYPE_CHECKING:
    from owox_idp.config import Settings
    from owox_idp.context import Env
    from owox_idp.output import Output

T = TypeVar("T")

app = typer.Typer(
    name="idp",
    help="Administer a Better Auth identity database (OWOX Data Marts' IdP or any Better Auth server).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
twofa_app = typer.Typer(help="Two-factor (TOTP) enrolment: enable or disable for a user.", no_args_is_help=True)
app.add_typer(twofa_app, name="2fa")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed without a terminal).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Allow leaving the deployment without an active admin.")]
EmailArg = Annotated[str, typer.Argument(help="The user's email (matched case-insensitively).", show_default=False)]
TtlOpt = Annotated[
    str | None,
    typer.Option("--ttl", help="Link lifetime: seconds or 30m, 12h, 7d (default: the configured TTL).", show_default=False),
]
PasswordStdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (a hidden prompt when stdin is a terminal).",
    ),
]


@dataclass
class Globals:
    flags: dict[str, str | None]
    config: Path | None
    env_file: Path | None


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"idp {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    flavor: Annotated[str | None, typer.Option("--flavor", help="owox (default) or better-auth.", show_default=False)] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="sqlite:///file.db, postgresql://... or mysql://...", show_default=False),
    ] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="The server's public URL.", show_default=False)] = None,
    server_version: Annotated[
        str | None, typer.Option("--server-version", help="Better Auth version: 1.4, 1.6 or 1.7.", show_default=False)
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML config file (default: ~/.config/owox-idp/config.toml).", show_default=False)
    ] = None,
    env_file: Annotated[
        Path | None, typer.Option("--env-file", "-e", help="A .env file (default: ./.env); never overrides the environment.", show_default=False)
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Administer a Better Auth identity database directly: users, roles, links, sessions, 2FA, schema."""
    del version
    ctx.obj = Globals(
        flags={"flavor": flavor, "database_url": database_url, "base_url": base_url, "server_version": server_version},
        config=config,
        env_file=env_file,
    )


# ----------------------------------------------------------------------------- plumbing


def _output() -> Output:
    from owox_idp.output import Output

    return Output.default()


def _settings(ctx: typer.Context, *, config_must_exist: bool = True) -> Settings:
    from owox_idp.config import load_settings

    g: Globals = ctx.obj
    return load_settings(
        flags=g.flags, env_file=g.env_file, config_path=g.config, config_must_exist=config_must_exist
    )


def _env(ctx: typer.Context) -> Env:
    from owox_idp.context import Env

    return Env(_settings(ctx))


def _exit(code: int) -> NoReturn:
    raise typer.Exit(code)


def _run(fn: Callable[[Output], None]) -> None:
    """Run a command body; the one place where errors turn into messages and exit codes."""
    out = _output()
    try:
        fn(out)
    except IdpError as exc:
        out.error(exc.message, exc.hint)
        _exit(int(exc.exit_code))
    except KeyboardInterrupt:
        out.error("interrupted; nothing was changed")
        _exit(int(ExitCode.INTERRUPTED))
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except Exception as exc:  # an unexpected failure: one line, no locals (they may hold secrets)
        if os.environ.get("IDP_DEBUG"):
            raise
        out.error(f"unexpected failure: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": "),
                  "set IDP_DEBUG=1 to see the traceback")
        _exit(int(ExitCode.FAILURE))


def _with_repo(env: Env, *, write: bool, body: Callable[[Any], T]) -> T:
    try:
        with env.repository(write=write) as repo:
            return body(repo)
    finally:
        env.close()


def _read_password(out: Output) -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        first = getpass.getpass("New password: ", stream=sys.stderr)
        second = getpass.getpass("Repeat it: ", stream=sys.stderr)
        if first != second:
            from owox_idp.errors import InvalidInput

            raise InvalidInput("the two passwords differ")
        return first
    data = sys.stdin.read() if sys.stdin is not None else ""
    if data.endswith("\r\n"):
        data = data[:-2]
    elif data.endswith("\n"):
        data = data[:-1]
    if not data:
        from owox_idp.errors import InvalidInput

        raise InvalidInput("no password on standard input (--password-stdin reads it from there)")
    del out
    return data


def _confirm(out: Output, question: str, *, yes: bool, command: str) -> None:
    if yes:
        return
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError(f"{command} changes data and needs confirmation: pass --yes when not on a terminal")
    out.stderr.write(f"{question} [y/N] ")
    out.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        from owox_idp.errors import Refused

        raise Refused("not confirmed; nothing was changed")


def _ttl(settings: Settings, ttl: str | None) -> int:
    from owox_idp.validation import parse_duration

    return parse_duration(ttl, what="--ttl") if ttl else settings.magic_link_ttl


def _warn_ttl(out: Output, settings: Settings, ttl: int) -> None:
    from owox_idp.config import ROLE_TOKEN_LIFETIME

    if settings.is_owox and ttl > ROLE_TOKEN_LIFETIME:
        out.warn(
            f"the link lives {ttl}s but OWOX's role token expires after {ROLE_TOKEN_LIFETIME}s: "
            "opened later, it signs the user in without applying the role (the role is already stored)"
        )


# ----------------------------------------------------------------------------- schema


@app.command("migrate")
def migrate_cmd(
    ctx: typer.Context,
    sql: Annotated[bool, typer.Option("--sql", help="Print the statements and change nothing.")] = False,
    yes: YesOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Create or extend the schema additively, exactly as Better Auth's own migration would."""

    def body(out: Output) -> None:
        from owox_idp.services import schema

        env = _env(ctx)

        def confirm(plan: Any) -> bool:
            if yes or json_ or sys.stdin is None or not sys.stdin.isatty():
                return True
            out.message("The migration will run:")
            for statement in plan.statements:
                out.message(f"  {statement};")
            _confirm(out, "Apply it?", yes=False, command="migrate")
            return True

        try:
            result = schema.migrate(env, dry_run=sql, confirm=confirm)
        finally:
            env.close()
        for warning in result.plan.warnings:
            out.warn(warning)
        if json_:
            out.json({"statements": result.statements, "applied": result.applied})
            return
        if sql:
            for statement in result.statements:
                out.result(statement + ";")
            if not result.statements:
                out.message("-- the schema is up to date")
            return
        if not result.statements:
            out.message("Nothing to do: the schema is up to date.")
        else:
            out.message(f"Applied {len(result.statements)} statement(s): " + _summary(result.plan))

    _run(body)


def _summary(plan: Any) -> str:
    parts = []
    if plan.create_tables:
        parts.append("created tables " + ", ".join(plan.create_tables))
    if plan.add_columns:
        parts.append("added columns " + ", ".join(plan.add_columns))
    if plan.add_indexes:
        parts.append("created indexes " + ", ".join(plan.add_indexes))
    return "; ".join(parts) + "."


@app.command("info")
def info_cmd(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Version, settings and their sources (secrets redacted), database, schema status, counts, warnings."""

    def body(out: Output) -> None:
        from owox_idp.services import schema

        env = _env(ctx)
        try:
            data = schema.info(env)
        finally:
            env.close()
        if json_:
            out.json(data)
            return
        out.result(f"idp {data['version']} (flavor {data['flavor']})")
        out.result("")
        out.result("Settings:")
        width = max(len(k) for k in data["settings"])
        for key, item in data["settings"].items():
            value = "" if item["value"] is None else item["value"]
            out.result(f"  {key:<{width}}  {value}    [{item['source']}]")
        db = data["database"]
        out.result("")
        out.result(f"Database: {db['dialect']} {db['url']} - " + ("reachable" if db["reachable"] else "NOT reachable"))
        if data["schema"]:
            out.result(f"Schema:   {data['schema']['status']}")
        if data["counts"]:
            out.result("")
            out.result("Counts:")
            for key, value in data["counts"].items():
                if isinstance(value, dict):
                    value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
                out.result(f"  {key.replace('_', ' ')}: {value}")
        for warning in data["warnings"]:
            out.warn(warning)

    _run(body)


@app.command("generate-secret")
def generate_secret_cmd(
    ctx: typer.Context,
    write: Annotated[bool, typer.Option("--write", help="Store it in the config file (mode 0600).")] = False,
    json_: JsonOpt = False,
) -> None:
    """Print a new 32-byte secret as 64 hex characters (Better Auth's `secret` format)."""

    def body(out: Output) -> None:
        from owox_idp.config import default_config_path
        from owox_idp.services import schema

        g: Globals = ctx.obj
        path = g.config or (Path(os.environ["IDP_CONFIG"]) if os.environ.get("IDP_CONFIG") else default_config_path())
        value, written = schema.generate_secret(path, write=write)
        if json_:
            out.json({"secret": value, "written_to": written})
        else:
            out.result(value)
        if written:
            out.message(f"Stored as `secret` in {written} (mode 0600). The server must use the same value.")
        else:
            out.message("Set it as IDP_BETTER_AUTH_SECRET (OWOX) or BETTER_AUTH_SECRET on the server and for idp.")

    _run(body)


# ----------------------------------------------------------------------------- users


@app.command("add-user")
def add_user_cmd(
    ctx: typer.Context,
    email: EmailArg,
    role: Annotated[str | None, typer.Option("--role", help="Role (default: the least privileged).", show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name (default: from the email).", show_default=False)] = None,
    password_stdin: PasswordStdinOpt = False,
    ttl: TtlOpt = None,
    if_missing: Annotated[bool, typer.Option("--if-missing", help="An existing user is not an error (nothing changes).")] = False,
    callback_url: Annotated[
        str | None, typer.Option("--callback-url", help="better-auth flavor: where the link lands (default /).", show_default=False)
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Create a user with a role and print a one-time magic link (and store a password if given)."""

    def body(out: Output) -> None:
        from owox_idp.clock import now
        from owox_idp.services import users

        env = _env(ctx)
        lifetime = _ttl(env.settings, ttl)
        password = _read_password(out) if password_stdin else None
        result = _with_repo(
            env,
            write=True,
            body=lambda repo: users.add_user(
                repo, env.settings, email=email, role=role, name=name, password=password, ttl=lifetime,
                if_missing=if_missing, now=now(), callback_url=callback_url,
            ),
        )
        if result.created:
            _warn_ttl(out, env.settings, lifetime)
        if json_:
            out.json(
                {
                    "user_id": result.user_id,
                    "email": result.email,
                    "role": result.role,
                    "created": result.created,
                    "has_password": result.has_password,
                    "magic_link": result.magic_link,
                    "expires_at": result.expires_at,
                }
            )
            return
        if not result.created:
            out.message(f"{result.email} already exists (role {result.role or '-'}); nothing changed.")
            return
        out.message(f"Created {result.email} with role {result.role}" + (" and a password." if result.has_password else "."))
        out.message(f"One-time sign-in link (expires {_iso(result.expires_at)}):")
        out.result(result.magic_link or "")

    _run(body)


def _iso(value: Any) -> str:
    from owox_idp.clock import iso

    return iso(value) or "-"


@app.command("bootstrap-admin")
def bootstrap_admin_cmd(
    ctx: typer.Context,
    email: Annotated[
        str | None,
        typer.Argument(help="Admin email (default: IDP_BETTER_AUTH_PRIMARY_ADMIN_EMAIL).", show_default=False),
    ] = None,
    ttl: TtlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Make sure the primary admin exists and can get in; safe to run on every deploy."""

    def body(out: Output) -> None:
        from owox_idp.clock import now
        from owox_idp.services import users

        env = _env(ctx)
        target = email or env.settings.primary_admin_email
        if not target:
            raise UsageError("no email: pass EMAIL or set IDP_BETTER_AUTH_PRIMARY_ADMIN_EMAIL")
        lifetime = _ttl(env.settings, ttl)
        result = _with_repo(
            env, write=True,
            body=lambda repo: users.bootstrap_admin(repo, env.settings, email=target, ttl=lifetime, now=now()),
        )
        if json_:
            out.json(
                {
                    "user_id": result.user_id,
                    "email": result.email,
                    "action": result.action,
                    "role_changed": result.role_changed,
                    "magic_link": result.magic_link,
                    "expires_at": result.expires_at,
                }
            )
            return
        if result.action == "unchanged":
            suffix = " (made admin)" if result.role_changed else ""
            out.message(f"{result.email} is an admin with a password{suffix}; nothing else to do.")
            return
        verb = "Created" if result.action == "created" else "Issued a new link for"
        out.message(f"{verb} admin {result.email}. One-time sign-in link (expires {_iso(result.expires_at)}):")
        out.result(result.magic_link or "")

    _run(body)


@app.command("reset-password")
def reset_password_cmd(
    ctx: typer.Context,
    email: EmailArg,
    password_stdin: PasswordStdinOpt = False,
    keep_sessions: Annotated[bool, typer.Option("--keep-sessions", help="Do not sign the user out everywhere.")] = False,
    ttl: TtlOpt = None,
    yes: YesOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Revoke sessions and pending links; set the given password, or remove it and print a new link."""

    def body(out: Output) -> None:
        from owox_idp.clock import now
        from owox_idp.services import users

        env = _env(ctx)
        lifetime = _ttl(env.settings, ttl)
        password = _read_password(out) if password_stdin else None
        _confirm(out, f"Reset the password of {email} and sign them out?", yes=yes, command="reset-password")
        result = _with_repo(
            env, write=True,
            body=lambda repo: users.reset_password(
                repo, env.settings, email=email, password=password, keep_sessions=keep_sessions, ttl=lifetime, now=now()
            ),
        )
        if json_:
            out.json(
                {
                    "user_id": result.user_id,
                    "email": result.email,
                    "sessions_revoked": result.sessions_revoked,
                    "links_revoked": result.links_revoked,
                    "password_set": result.password_set,
                    "magic_link": result.magic_link,
                    "expires_at": result.expires_at,
                }
            )
            return
        out.message(
            f"Reset {result.email}: {result.sessions_revoked} session(s) and {result.links_revoked} pending link(s) revoked."
        )
        if result.password_set:
            out.message("The new password is set.")
        else:
            out.message(f"The password was removed. One-time sign-in link (expires {_iso(result.expires_at)}):")
            out.result(result.magic_link or "")

    _run(body)


@app.command("set-role")
def set_role_cmd(
    ctx: typer.Context,
    email: EmailArg,
    role: Annotated[str, typer.Argument(help="The new role.", show_default=False)],
    force: ForceOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Change a user's role (refused for the last admin unless --force)."""

    def body(out: Output) -> None:
        from owox_idp.clock import now
        from owox_idp.services import users

        env = _env(ctx)
        result = _with_repo(
            env, write=True,
            body=lambda repo: users.set_role(repo, env.settings, email=email, role=role, force=force, now=now()),
        )
        if json_:
            out.json({"user_id": result.user_id, "email": result.email, "role": result.role, "previous_role": result.previous_role})
            return
        if result.previous_role == result.role:
            out.message(f"{result.email} already has role {result.role}; nothing changed.")
        else:
            out.message(f"{result.email}: role {result.previous_role or '(none)'} -> {result.role}")

    _run(body)


def _ban_json(result: Any) -> dict[str, Any]:
    return {
        "user_id": result.user_id,
        "email": result.email,
        "banned": result.banned,
        "ban_reason": result.ban_reason,
        "ban_expires": result.ban_expires,
        "sessions_revoked": result.sessions_revoked,
        "changed": result.changed,
    }


@app.command("ban")
def ban_cmd(
    ctx: typer.Context,
    email: EmailArg,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (shown to admins).", show_default=False)] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="better-auth flavor: lift the ban after 30m, 12h, 7d...", show_default=False)
    ] = None,
    force: ForceOpt = False,
    yes: YesOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Block sign-in and revoke every way in (sessions, pending links); `idp unban` undoes it."""

    def body(out: Output) -> None:
        from owox_idp.clock import now
        from owox_idp.services import users
        from owox_idp.validation import parse_duration

        env = _env(ctx)
        expires_in = parse_duration(expires, what="--expires") if expires else None
        _confirm(out, f"Ban {email} and sign them out everywhere?", yes=yes, command="ban")
        result = _with_repo(
            env, write=True,
            body=lambda repo: users.ban(
                repo, env.settings, email=email, reason=reason, expires_in=expires_in, force=force, now=now()
            ),
        )
        if json_:
            out.json(_ban_json(result))
            return
        if not result.changed:
            out.message(f"{result.email} is already banned; nothing changed.")
            return
        until = f" until {_iso(result.ban_expires)}" if result.ban_expires else ""
        out.message(f"Banned {result.email}{until}; {result.sessions_revoked} session(s) revoked.")

    _run(body)


@app.command("unban")
def unban_cmd(ctx: typer.Context, email: EmailArg, json_: JsonOpt = False) -> None:
    """Lift a ban (in the owox flavor, the previous role and password come back)."""

    def body(out: Output) -> None:
        from owox_idp.clock import now
        from owox_idp.services import users

        env = _env(ctx)
        result = _with_repo(env, write=True, body=lambda repo: users.unban(repo, env.settings, email=email, now=now()))
        if json_:
            out.json(_ban_json(result))
            return
        if result.changed:
            out.message(f"Unbanned {result.email}" + (f" (role {result.role})." if result.role else "."))
        else:
            out.message(f"{result.email} is not banned; nothing changed.")

    _run(body)


@app.command("delete-user")
def delete_user_cmd(
    ctx: typer.Context, email: EmailArg, yes: YesOpt = False, force: ForceOpt = False, json_: JsonOpt = False
) -> None:
    """Delete a user and everything that belongs to them (sessions, accounts, role, 2FA, links)."""

    def body(out: Output) -> None:
        from owox_idp.clock import now
        from owox_idp.services import users

        env = _env(ctx)
        _confirm(out, f"Delete {email} and everything that belongs to them?", yes=yes, command="delete-user")
        result = _with_repo(
            env, write=True, body=lambda repo: users.delete_user(repo, env.settings, email=email, force=force, now=now())
        )
        if json_:
            out.json({"user_id": result.user_id, "email": result.email, "deleted": result.deleted, "removed": result.removed})
            return
        details = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in result.removed.items() if v)
        out.message(f"Deleted {result.email}" + (f" ({details})." if details else "."))

    _run(body)


def _user_json(user: Any) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "email_verified": user.email_verified,
        "has_password": user.has_password,
        "banned": user.banned,
        "two_factor_enabled": user.two_factor_enabled,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


@app.command("list-users")
def list_users_cmd(
    ctx: typer.Context,
    role: Annotated[str | None, typer.Option("--role", help="Only users with this role.", show_default=False)] = None,
    search: Annotated[str | None, typer.Option("--search", help="Substring of email or name.", show_default=False)] = None,
    banned: Annotated[bool | None, typer.Option("--banned/--not-banned", help="Only banned (or not banned) users.", show_default=False)] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many (default 100 on a terminal).", show_default=False)] = None,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many.")] = 0,
    json_: JsonOpt = False,
) -> None:
    """List users, newest first."""

    def body(out: Output) -> None:
        from owox_idp.services import users

        env = _env(ctx)
        page = limit if limit is not None else (100 if out.stdout_tty and not json_ else None)
        rows = _with_repo(
            env, write=False,
            body=lambda repo: users.list_users(
                repo, env.settings, role=role, search=search, banned=banned, limit=page, offset=offset
            ),
        )
        if json_:
            out.json([_user_json(u) for u in rows])
            return
        out.table(
            ["email", "name", "role", "password", "banned", "2fa", "created"],
            [[u.email, u.name, u.role or "-", u.has_password, u.banned, u.two_factor_enabled, u.created_at] for u in rows],
        )
        if out.stdout_tty and page is not None and len(rows) == page:
            out.message(f"Showing {page}; use --offset {offset + page} for more, or --limit.")

    _run(body)


@app.command("show-user")
def show_user_cmd(ctx: typer.Context, email: EmailArg, json_: JsonOpt = False) -> None:
    """One user in full: role, password, ban, two-factor, sessions, pending links, organization."""

    def body(out: Output) -> None:
        from owox_idp.clock import now
        from owox_idp.services import users

        env = _env(ctx)
        details = _with_repo(env, write=False, body=lambda repo: users.show_user(repo, env.settings, email=email, now=now()))
        u = details.user
        data = _user_json(u) | {
            "ban_reason": u.ban_reason,
            "ban_expires": u.ban_expires,
            "sessions": details.sessions,
            "active_sessions": details.active_sessions,
            "pending_links": details.pending_links,
            "organization": details.organization,
        }
        if json_:
            out.json(data)
            return
        out.fields([(k.replace("_", " "), v) for k, v in data.items()])

    _run(body)


def main() -> None:
    try:
        app(prog_name="idp")
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted\n")
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
