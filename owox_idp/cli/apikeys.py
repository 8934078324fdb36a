"""The API key commands (Better Auth's api-key plugin): `idp api-key create`, `list`, `revoke`.

Kept light at import time: every command module is imported on each `idp` start-up, so the services,
the crypto and SQLAlchemy are imported inside the command bodies only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from owox_idp.cli.common import (
    EmailArg,
    JsonOpt,
    ReasonOpt,
    SubGroup,
    YesOpt,
    _confirm,
    _iso,
    app,
    command,
)

if TYPE_CHECKING:
    from owox_idp.api import Admin
    from owox_idp.output import Output
    from owox_idp.services.apikeys import ApiKeyCreated, ApiKeyRevokeResult, ApiKeyView

apikey_app = typer.Typer(
    cls=SubGroup,
    help="API keys of Better Auth's api-key plugin: create (printed once), list, revoke.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(apikey_app, name="api-key")


@apikey_app.command("create")
def create_cmd(
    ctx: typer.Context,
    email: EmailArg,
    name: Annotated[
        str, typer.Option("--name", help="The key's name (1 to 32 characters).", show_default=False)
    ],
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            help="Lifetime: 1 to 365 days, as seconds or 12h, 30d, 52w (default: never expires).",
            show_default=False,
        ),
    ] = None,
    prefix: Annotated[
        str | None,
        typer.Option(
            "--prefix",
            help="Put before the key verbatim, e.g. sk_ (letters, digits, _ and -; default: none).",
            show_default=False,
        ),
    ] = None,
    permissions: Annotated[
        str | None,
        typer.Option(
            "--permissions",
            help='What the key may do, as JSON: {"files": ["read", "write"]} (default: none).',
            show_default=False,
        ),
    ] = None,
    metadata: Annotated[
        str | None,
        typer.Option("--metadata", help="A JSON object kept with the key.", show_default=False),
    ] = None,
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create an API key for a user and print it, once, on stdout (only its hash is stored)."""

    def call(admin: Admin, out: Output) -> ApiKeyCreated:
        del out
        return admin.api_key_create(
            email,
            name=name,
            expires=expires,
            prefix=prefix,
            permissions=permissions,
            metadata=metadata,
            reason=reason,
        )

    def render(out: Output, admin: Admin, result: ApiKeyCreated) -> None:
        row = result.view.row
        until = f"expires {_iso(row.expires_at)}" if row.expires_at else "never expires"
        out.message(f"Created API key {row.id} ({row.name}) for {row.email}; it {until}.")
        out.result(result.key)
        out.message("The key is shown only once: hand it over on a safe channel.")

    command(ctx, call, render, json_=json_)


@apikey_app.command("list")
def list_cmd(
    ctx: typer.Context,
    email: Annotated[
        str | None,
        typer.Argument(help="Only this user's keys (default: everyone's).", show_default=False),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include expired keys.")] = False,
    json_: JsonOpt = False,
) -> None:
    """List API keys, newest first; never the key itself, only its first characters and prefix."""

    def render(out: Output, admin: Admin, rows: list[ApiKeyView]) -> None:
        columns = ["id", "name", "start", "prefix", "email", "enabled", "expires", "created"]
        table = []
        for view in rows:
            r = view.row
            table.append(
                [
                    r.id,
                    r.name,
                    f"{r.start}…" if r.start else None,
                    r.prefix,
                    r.email or f"({r.user_id})",
                    r.enabled is not False,
                    ("expired " if view.expired else "") + (_iso(r.expires_at) if r.expires_at else "never"),
                    r.created_at,
                ]
            )
        out.table(columns, table, no_wrap=("id", "email"), cut_first=("name",))

    command(ctx, lambda admin, out: admin.api_key_list(email, include_expired=all_), render, json_=json_)


@apikey_app.command("revoke")
def revoke_cmd(
    ctx: typer.Context,
    key_id: Annotated[
        str | None,
        typer.Argument(metavar="ID", help="The key's id (from `idp api-key list`).", show_default=False),
    ] = None,
    all_of: Annotated[
        str | None,
        typer.Option(
            "--all",
            metavar="EMAIL",
            help="Revoke every key of the user with this email.",
            show_default=False,
        ),
    ] = None,
    yes: YesOpt = False,
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Revoke (delete) one API key, or every key of a user with --all EMAIL; the server refuses it at once."""

    def call(admin: Admin, out: Output) -> ApiKeyRevokeResult:
        from owox_idp.errors import UsageError
        from owox_idp.services import apikeys

        if (key_id is None) == (all_of is None):
            raise UsageError("give a key id, or --all EMAIL (not both)")
        apikeys.ensure_supported(admin.deployment)  # before asking
        what = f"API key {key_id}" if key_id is not None else f"every API key of {all_of}"
        _confirm(out, f"Revoke {what}?", yes=yes, command="api-key revoke")
        return admin.api_key_revoke(key_id, email=all_of, reason=reason)

    def render(out: Output, admin: Admin, result: ApiKeyRevokeResult) -> None:
        if key_id is not None:
            out.message(f"Revoked API key {key_id}" + (f" of {result.email}." if result.email else "."))
        else:
            out.message(f"Revoked {result.revoked} API key(s) of {result.email}.")

    command(ctx, call, render, json_=json_)
