"""The user lifecycle commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from owox_idp.cli.common import (
    AfterOpt,
    EmailArg,
    ForceOpt,
    JsonOpt,
    PasswordStdinOpt,
    TtlOpt,
    YesOpt,
    _confirm,
    _env,
    _iso,
    _next_page,
    _no_offset_with_after,
    _read_password,
    _run,
    _ttl,
    _warn_ttl,
    _with_repo,
    app,
)
from owox_idp.errors import UsageError

if TYPE_CHECKING:
    from owox_idp.output import Output


# ----------------------------------------------------------------------------- users


@app.command("add-user")
def add_user_cmd(
    ctx: typer.Context,
    email: EmailArg,
    role: Annotated[
        str | None, typer.Option("--role", help="Role (default: the least privileged).", show_default=False)
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Display name (default: from the email).", show_default=False)
    ] = None,
    password_stdin: PasswordStdinOpt = False,
    ttl: TtlOpt = None,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="An existing user is not an error (nothing changes).")
    ] = False,
    callback_url: Annotated[
        str | None,
        typer.Option(
            "--callback-url", help="better-auth flavor: where the link lands (default /).", show_default=False
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Create a user with a role and print a one-time magic link (and store a password if given)."""

    def body(out: Output) -> None:
        from owox_idp.clock import now
        from owox_idp.services import users

        env = _env(ctx)
        lifetime = _ttl(env.settings, ttl)
        password = _read_password() if password_stdin else None
        result = _with_repo(
            env,
            write=True,
            body=lambda repo: users.add_user(
                repo,
                env.settings,
                email=email,
                role=role,
                name=name,
                password=password,
                ttl=lifetime,
                if_missing=if_missing,
                now=now(),
                callback_url=callback_url,
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
        out.message(
            f"Created {result.email} with role {result.role}"
            + (" and a password." if result.has_password else ".")
        )
        out.message(f"One-time sign-in link (expires {_iso(result.expires_at)}):")
        out.result(result.magic_link or "")

    _run(body)


@app.command("bootstrap-admin")
def bootstrap_admin_cmd(
    ctx: typer.Context,
    email: Annotated[
        str | None,
        typer.Argument(
            help="Admin email (default: IDP_BETTER_AUTH_PRIMARY_ADMIN_EMAIL).", show_default=False
        ),
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
            env,
            write=True,
            body=lambda repo: users.bootstrap_admin(
                repo, env.settings, email=target, ttl=lifetime, now=now()
            ),
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
        out.message(
            f"{verb} admin {result.email}. One-time sign-in link (expires {_iso(result.expires_at)}):"
        )
        out.result(result.magic_link or "")

    _run(body)


@app.command("reset-password")
def reset_password_cmd(
    ctx: typer.Context,
    email: EmailArg,
    password_stdin: PasswordStdinOpt = False,
    keep_sessions: Annotated[
        bool, typer.Option("--keep-sessions", help="Do not sign the user out everywhere.")
    ] = False,
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
        password = _read_password() if password_stdin else None
        _confirm(out, f"Reset the password of {email} and sign them out?", yes=yes, command="reset-password")
        result = _with_repo(
            env,
            write=True,
            body=lambda repo: users.reset_password(
                repo,
                env.settings,
                email=email,
                password=password,
                keep_sessions=keep_sessions,
                ttl=lifetime,
                now=now(),
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
            out.message(
                f"The password was removed. One-time sign-in link (expires {_iso(result.expires_at)}):"
            )
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
            env,
            write=True,
            body=lambda repo: users.set_role(
                repo, env.settings, email=email, role=role, force=force, now=now()
            ),
        )
        if json_:
            out.json(
                {
                    "user_id": result.user_id,
                    "email": result.email,
                    "role": result.role,
                    "previous_role": result.previous_role,
                }
            )
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
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (shown to admins).", show_default=False)
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires", help="better-auth flavor: lift the ban after 30m, 12h, 7d...", show_default=False
        ),
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
            env,
            write=True,
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
        result = _with_repo(
            env, write=True, body=lambda repo: users.unban(repo, env.settings, email=email, now=now())
        )
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
            env,
            write=True,
            body=lambda repo: users.delete_user(repo, env.settings, email=email, force=force, now=now()),
        )
        if json_:
            out.json(
                {
                    "user_id": result.user_id,
                    "email": result.email,
                    "deleted": result.deleted,
                    "removed": result.removed,
                }
            )
            return
        details = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in result.removed.items() if v)
        out.message(f"Deleted {result.email}" + (f" ({details})." if details else "."))

    _run(body)


def _user_json(user: Any) -> dict[str, Any]:
    record: dict[str, Any] = user.record()
    return record


@app.command("list-users")
def list_users_cmd(
    ctx: typer.Context,
    role: Annotated[
        str | None, typer.Option("--role", help="Only users with this role.", show_default=False)
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Substring of email or name.", show_default=False)
    ] = None,
    banned: Annotated[
        bool | None,
        typer.Option("--banned/--not-banned", help="Only banned (or not banned) users.", show_default=False),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", help="At most this many (default 100 on a terminal).", show_default=False),
    ] = None,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many.")] = 0,
    after: AfterOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List users, newest first."""

    def body(out: Output) -> None:
        from owox_idp.services import users

        _no_offset_with_after(after, offset)
        env = _env(ctx)
        page = limit if limit is not None else (100 if out.stdout_tty and not json_ else None)
        rows = _with_repo(
            env,
            write=False,
            body=lambda repo: users.list_users(
                repo,
                env.settings,
                role=role,
                search=search,
                banned=banned,
                limit=page,
                offset=offset,
                cursor=after,
            ),
        )
        next_page = _next_page(rows, page)
        if json_:
            out.json([_user_json(u) for u in rows])
            if next_page:
                out.message(next_page)
            return
        out.table(
            ["email", "name", "role", "password", "banned", "2fa", "created"],
            [
                [u.email, u.name, u.role or "-", u.has_password, u.banned, u.two_factor_enabled, u.created_at]
                for u in rows
            ],
        )
        if next_page:
            out.message(f"Showing {page}. {next_page}")

    _run(body)


@app.command("show-user")
def show_user_cmd(ctx: typer.Context, email: EmailArg, json_: JsonOpt = False) -> None:
    """One user in full: role, password, ban, two-factor, sessions, pending links, organization."""

    def body(out: Output) -> None:
        from owox_idp.clock import now
        from owox_idp.services import users

        env = _env(ctx)
        details = _with_repo(
            env, write=False, body=lambda repo: users.show_user(repo, env.settings, email=email, now=now())
        )
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
