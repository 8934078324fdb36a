"""`idp issue-link`: a new one-time sign-in link for one user, or for every user without a password."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from owox_idp.cli.common import (
    CallbackUrlOpt,
    JsonOpt,
    ReasonOpt,
    TtlOpt,
    _admin,
    _iso,
    _run,
    _warn_ttl,
    app,
)
from owox_idp.errors import UsageError

if TYPE_CHECKING:
    from owox_idp.api import Admin
    from owox_idp.output import Output


@app.command("issue-link")
def issue_link_cmd(
    ctx: typer.Context,
    email: Annotated[
        str | None,
        typer.Argument(help="The user's email (or --without-password for many users).", show_default=False),
    ] = None,
    without_password: Annotated[
        bool,
        typer.Option(
            "--without-password", help="Every user who has no password (banned users are passed over)."
        ),
    ] = False,
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            help="With --without-password: only users with this role (none: without one).",
            show_default=False,
        ),
    ] = None,
    links: Annotated[
        str | None,
        typer.Option(
            "--links",
            help="With --without-password: append email,magic_link,expires_at to this file, as "
            "`import --links` does (created 0600; - for stdout).",
            show_default=False,
        ),
    ] = None,
    ttl: TtlOpt = None,
    callback_url: CallbackUrlOpt = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="With --without-password: users per transaction.", min=1)
    ] = 500,
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Print a new one-time sign-in link without revoking anything (sessions, other links)."""

    def body(out: Output) -> None:
        if without_password == (email is not None):
            raise UsageError("give EMAIL, or --without-password for every user without a password")
        if email is not None and (role is not None or links is not None):
            raise UsageError("--role and --links go with --without-password")
        if without_password and links is None:
            raise UsageError(
                "--without-password writes the links to a file: give --links FILE (- for stdout)"
            )
        if links == "-" and json_:
            raise UsageError("--links - and --json both write to stdout: give --links a file")
        with _admin(ctx) as admin:
            if email is not None:
                _one(admin, out, email)
            else:
                _many(admin, out, links or "-")

    def _one(admin: Admin, out: Output, address: str) -> None:
        lifetime = admin.ttl(ttl)
        result = admin.issue_link(address, ttl=lifetime, callback_url=callback_url, reason=reason)
        _warn_ttl(out, admin, lifetime)
        for warning in result.warnings:
            out.warn(warning)
        if json_:
            out.json(result.to_json())
            return
        out.message(
            f"New one-time sign-in link for {result.email} (expires {_iso(result.expires_at)}); "
            "their sessions and other links are kept:"
        )
        out.result(result.magic_link)

    def _many(admin: Admin, out: Output, path: str) -> None:
        from owox_idp.cli.files import _LinksFile
        from owox_idp.services.links import ensure_links_verified

        lifetime = admin.ttl(ttl)
        ensure_links_verified(admin.deployment)  # before the file is created
        if admin.deployment.flavor.link_needs_secret:
            admin.settings.require_secrets()
        if role is not None and role.strip().lower() != "none":
            admin.deployment.normalize_role(role)
        links_file = _LinksFile(path, out)
        try:
            result = admin.issue_links_without_password(
                role=role,
                ttl=lifetime,
                callback_url=callback_url,
                batch_size=batch_size,
                on_batch=links_file.write,
                reason=reason,
            )
        finally:
            links_file.close()
        if json_:
            out.json(result.to_json())
        if path != "-":
            out.message(f"Wrote {result.issued} sign-in link(s) to {path} (mode 0600).")
        if result.issued:
            _warn_ttl(out, admin, lifetime)
        if result.banned_skipped:
            out.message(f"Passed over {result.banned_skipped} banned user(s) without a password.")

    _run(body)
