"""The user lifecycle commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from owox_idp.cli.common import (
    AfterOpt,
    CallbackUrlOpt,
    EmailArg,
    ForceOpt,
    JsonOpt,
    PasswordStdinOpt,
    ReasonOpt,
    TtlOpt,
    YesOpt,
    _confirm,
    _iso,
    _next_page,
    _read_password,
    _warn_ttl,
    app,
    command,
    warn_session_cache,
)

if TYPE_CHECKING:
    from owox_idp.api import Admin
    from owox_idp.output import Output
    from owox_idp.services.users import (
        AddUserResult,
        BanResult,
        BootstrapResult,
        DeleteResult,
        ResetResult,
        RoleResult,
        UpdateUserResult,
        UserDetails,
    )


# ----------------------------------------------------------------------------- users

FieldOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--field",
        help="NAME=VALUE: an additional column of the user table, written with the column's type "
        "(an empty VALUE is NULL); repeatable.",
        show_default=False,
    ),
]


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
    callback_url: CallbackUrlOpt = None,
    no_link: Annotated[
        bool,
        typer.Option("--no-link", help="With --password-stdin: issue no sign-in link (service accounts)."),
    ] = False,
    field: FieldOpt = None,
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create a user with a role and print a one-time magic link (and store a password if given)."""

    def call(admin: Admin, out: Output) -> AddUserResult:
        from owox_idp.errors import UsageError

        if no_link and not password_stdin:
            raise UsageError(
                "--no-link needs --password-stdin: without a password or a link the user could never sign in"
            )
        fields = _parse_fields(field or [])
        lifetime = admin.ttl(ttl)
        password = _read_password() if password_stdin else None
        result = admin.add_user(
            email,
            role=role,
            name=name,
            password=password,
            ttl=lifetime,
            if_missing=if_missing,
            callback_url=callback_url,
            no_link=no_link,
            reason=reason,
            fields=fields,
        )
        if result.created and result.magic_link:
            _warn_ttl(out, admin, lifetime)
        return result

    def render(out: Output, admin: Admin, result: AddUserResult) -> None:
        if not result.created:
            out.message(f"{result.email} already exists (role {result.role or '-'}); nothing changed.")
            return
        out.message(
            f"Created {result.email} with role {result.role}"
            + (" and a password." if result.has_password else ".")
        )
        if result.magic_link is None:
            out.message("No sign-in link was issued (--no-link): they sign in with the password.")
            return
        out.message(f"One-time sign-in link (expires {_iso(result.expires_at)}):")
        out.result(result.magic_link)

    command(ctx, call, render, json_=json_)


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
    unban: Annotated[
        bool,
        typer.Option(
            "--unban", help="Lift a ban of the admin (without it, a banned admin is refused: exit 8)."
        ),
    ] = False,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            help="NAME=VALUE: an additional column of the user table, written when the admin is "
            "created (an existing admin's are left as they are); repeatable.",
            show_default=False,
        ),
    ] = None,
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Make sure the primary admin exists and can get in; safe to run on every deploy."""

    def render(out: Output, admin: Admin, result: BootstrapResult) -> None:
        if result.unbanned:
            out.message(f"Lifted the ban of {result.email} (--unban).")
        if result.action == "unchanged":
            suffix = " (made admin)" if result.role_changed else ""
            out.message(f"{result.email} is an admin with a password{suffix}; nothing else to do.")
            return
        verb = "Created" if result.action == "created" else "Issued a new link for"
        out.message(
            f"{verb} admin {result.email}. One-time sign-in link (expires {_iso(result.expires_at)}):"
        )
        out.result(result.magic_link or "")

    command(
        ctx,
        lambda admin, out: admin.bootstrap_admin(
            email, ttl=ttl, lift_ban=unban, reason=reason, fields=_parse_fields(field or [])
        ),
        render,
        json_=json_,
    )


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
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Revoke sessions and pending links; set the given password, or remove it and print a new link."""

    def call(admin: Admin, out: Output) -> ResetResult:
        lifetime = admin.ttl(ttl)
        password = _read_password() if password_stdin else None
        _confirm(out, f"Reset the password of {email} and sign them out?", yes=yes, command="reset-password")
        result = admin.reset_password(
            email, password=password, keep_sessions=keep_sessions, ttl=lifetime, reason=reason
        )
        if not keep_sessions:
            warn_session_cache(out, admin)
        return result

    def render(out: Output, admin: Admin, result: ResetResult) -> None:
        out.message(
            f"Reset {result.email}: {result.sessions_revoked} session(s) and {result.links_revoked} pending link(s) revoked"
            + (
                f", and {result.impersonation_sessions_revoked} session(s) in which they impersonated someone."
                if result.impersonation_sessions_revoked
                else "."
            )
        )
        if result.password_set:
            out.message("The new password is set.")
        else:
            out.message(
                f"The password was removed. One-time sign-in link (expires {_iso(result.expires_at)}):"
            )
            out.result(result.magic_link or "")

    command(ctx, call, render, json_=json_)


@app.command("set-role")
def set_role_cmd(
    ctx: typer.Context,
    email: EmailArg,
    role: Annotated[str, typer.Argument(help="The new role.", show_default=False)],
    force: ForceOpt = False,
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change a user's role (refused for the last admin unless --force)."""

    def render(out: Output, admin: Admin, result: RoleResult) -> None:
        if result.previous_role == result.role:
            out.message(f"{result.email} already has role {result.role}; nothing changed.")
        else:
            out.message(f"{result.email}: role {result.previous_role or '(none)'} -> {result.role}")

    def call(admin: Admin, out: Output) -> RoleResult:
        result = admin.set_role(email, role, force=force, reason=reason)
        if result.previous_role != result.role:
            warn_session_cache(out, admin, "role")
        return result

    command(ctx, call, render, json_=json_)


@app.command("ban")
def ban_cmd(
    ctx: typer.Context,
    email: EmailArg,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason", help="Why (shown to admins; also kept in the audit trail).", show_default=False
        ),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            help="better-auth flavor: lift the ban after a while (30m, 12h, 7d).",
            show_default=False,
        ),
    ] = None,
    force: ForceOpt = False,
    yes: YesOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Block sign-in and revoke every way in (sessions, pending links); `idp unban` undoes it."""

    def call(admin: Admin, out: Output) -> BanResult:
        from owox_idp.validation import parse_duration

        expires_in = parse_duration(expires, what="--expires") if expires else None
        _confirm(out, f"Ban {email} and sign them out everywhere?", yes=yes, command="ban")
        result = admin.ban(email, reason=reason, expires=expires_in, force=force)
        warn_session_cache(out, admin)
        return result

    def render(out: Output, admin: Admin, result: BanResult) -> None:
        until = f" until {_iso(result.ban_expires)}" if result.ban_expires else ""
        revoked = f"{result.sessions_revoked} session(s) revoked"
        if result.impersonation_sessions_revoked:
            revoked += f", and {result.impersonation_sessions_revoked} in which they impersonated someone"
        if result.api_keys_disabled:
            revoked += f"; {result.api_keys_disabled} API key(s) disabled"
        if result.already_banned or not result.changed:
            what = "updated the ban" if result.changed else "nothing changed"
            out.message(f"{result.email} was already banned{until}; {what}; {revoked}.")
        else:
            out.message(f"Banned {result.email}{until}; {revoked}.")
        for note in admin.deployment.flavor.ban_notes:
            out.message(f"Note: {note}.")

    command(ctx, call, render, json_=json_)


@app.command("unban")
def unban_cmd(ctx: typer.Context, email: EmailArg, reason: ReasonOpt = None, json_: JsonOpt = False) -> None:
    """Lift a ban (in the owox flavor, the previous role and password come back)."""

    def render(out: Output, admin: Admin, result: BanResult) -> None:
        if result.changed:
            out.message(f"Unbanned {result.email}" + (f" (role {result.role})." if result.role else "."))
            if result.api_keys_enabled:
                out.message(f"Enabled again the {result.api_keys_enabled} API key(s) the ban disabled.")
        else:
            out.message(f"{result.email} is not banned; nothing changed.")

    command(ctx, lambda admin, out: admin.unban(email, reason=reason), render, json_=json_)


@app.command("delete-user")
def delete_user_cmd(
    ctx: typer.Context,
    email: EmailArg,
    yes: YesOpt = False,
    force: ForceOpt = False,
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Delete a user and everything that belongs to them (sessions, accounts, role, 2FA, links)."""

    def call(admin: Admin, out: Output) -> DeleteResult:
        _confirm(out, f"Delete {email} and everything that belongs to them?", yes=yes, command="delete-user")
        result = admin.delete_user(email, force=force, reason=reason)
        warn_session_cache(out, admin, "delete")
        return result

    def render(out: Output, admin: Admin, result: DeleteResult) -> None:
        details = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in result.removed.items() if v)
        out.message(f"Deleted {result.email}" + (f" ({details})." if details else "."))

    command(ctx, call, render, json_=json_)


@app.command("list-users")
def list_users_cmd(
    ctx: typer.Context,
    role: Annotated[
        str | None,
        typer.Option(
            "--role", help="Only users with this role (none: users without one).", show_default=False
        ),
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Substring of email or name.", show_default=False)
    ] = None,
    banned: Annotated[
        bool | None,
        typer.Option("--banned/--not-banned", help="Only banned (or not banned) users.", show_default=False),
    ] = None,
    verified: Annotated[
        bool | None,
        typer.Option(
            "--verified/--unverified",
            help="Only users whose email is (or is not) verified.",
            show_default=False,
        ),
    ] = None,
    sort: Annotated[str, typer.Option("--sort", help="created, email or name.")] = "created",
    asc: Annotated[
        bool, typer.Option("--asc", help="Ascending (default: descending, newest first).")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option("--limit", help="At most this many (default 100 on a terminal).", show_default=False),
    ] = None,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many.")] = 0,
    after: AfterOpt = None,
    count: Annotated[
        bool, typer.Option("--count", help="Print only how many users match (paging is ignored).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the emails, one a line.")] = False,
    json_: JsonOpt = False,
) -> None:
    """List users, newest first."""
    page: int | None = None

    def call(admin: Admin, out: Output) -> Any:
        nonlocal page
        from owox_idp.errors import UsageError

        if count and quiet:
            raise UsageError("use --count or --quiet, not both")
        if quiet and json_:
            raise UsageError("use --quiet or --json, not both")
        if count:
            total = admin.count_users(role=role, search=search, banned=banned, verified=verified)
            return {"count": total}
        default_page = 100 if out.stdout_tty and not json_ and not quiet else None
        page = limit if limit is not None else default_page
        rows = admin.list_users(
            role=role,
            search=search,
            banned=banned,
            verified=verified,
            limit=page,
            offset=offset,
            after=after,
            sort=sort,
            ascending=asc,
        )
        if (json_ or quiet) and (next_page := _next(rows)):
            out.message(next_page)
        return rows

    def _next(rows: list[Any]) -> str | None:
        if sort == "created":
            return _next_page(rows, page)
        if page is None or len(rows) < page:
            return None
        return f"Next page: --offset {offset + page}"

    def render(out: Output, admin: Admin, rows: Any) -> None:
        if count:
            out.result(str(rows["count"]))
            return
        if quiet:
            for u in rows:
                out.result(u.email)
            return
        out.table(
            ["email", "name", "role", "password", "banned", "2fa", "created"],
            [
                [u.email, u.name, u.role or "-", u.has_password, u.banned, u.two_factor_enabled, u.created_at]
                for u in rows
            ],
            no_wrap=("email",),
            cut_first=("name",),
        )
        if next_page := _next(rows):
            out.message(f"Showing {page}. {next_page}")

    command(ctx, call, render, json_=json_)


@app.command("update-user")
def update_user_cmd(
    ctx: typer.Context,
    email: EmailArg,
    name: Annotated[str | None, typer.Option("--name", help="The display name.", show_default=False)] = None,
    new_email: Annotated[
        str | None,
        typer.Option(
            "--email", help="A new email (lower-cased; refused if another user has it).", show_default=False
        ),
    ] = None,
    verified: Annotated[
        bool | None,
        typer.Option("--verified/--unverified", help="Mark the email verified (or not).", show_default=False),
    ] = None,
    image: Annotated[
        str | None, typer.Option("--image", help="The profile image URL ('' clears it).", show_default=False)
    ] = None,
    field: FieldOpt = None,
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Edit a user's name, email, verified flag, image or additional fields; prints the user record."""

    def call(admin: Admin, out: Output) -> UpdateUserResult:
        from owox_idp.errors import UsageError

        fields = _parse_fields(field or [])
        if name is None and new_email is None and verified is None and image is None and not fields:
            raise UsageError(
                "nothing to change: give --name, --email, --verified/--unverified, --image or --field"
            )
        return admin.update_user(
            email,
            name=name,
            new_email=new_email,
            verified=verified,
            image=image,
            fields=fields,
            reason=reason,
        )

    def render(out: Output, admin: Admin, result: UpdateUserResult) -> None:
        if not result.changed:
            out.message(f"{result.user.email}: nothing changed.")
        else:
            what = ", ".join(c.replace("_", " ") for c in result.changed)
            out.message(f"Updated {result.user.email}: {what}.")
            if result.previous_email:
                out.message(
                    f"The email changed from {result.previous_email}; "
                    f"{result.links_revoked} pending link(s) of the old address revoked."
                )
        out.fields(
            [
                (k.replace("_", " "), "-" if v is None else v)
                for k, v in result.to_json().items()
                if k not in ("changed", "previous_email", "links_revoked", "fields")
            ]
            + [(k, "-" if v is None else v) for k, v in result.to_json()["fields"].items()]
        )

    command(ctx, call, render, json_=json_)


def _parse_fields(items: list[str]) -> dict[str, Any]:
    from owox_idp.errors import UsageError

    fields: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--field {item!r}: expected NAME=VALUE")
        if key in fields:
            raise UsageError(f"--field {key} is given twice")
        fields[key] = value
    return fields


@app.command("show-user")
def show_user_cmd(ctx: typer.Context, email: EmailArg, json_: JsonOpt = False) -> None:
    """One user in full: role, password, ban, two-factor, sessions, pending links, organization."""

    def render(out: Output, admin: Admin, details: UserDetails) -> None:
        out.fields([(k.replace("_", " "), v) for k, v in details.to_json().items()])

    command(ctx, lambda admin, out: admin.show_user(email), render, json_=json_)
