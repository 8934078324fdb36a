"""The session commands: list-sessions, revoke-sessions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from owox_idp.cli.common import (
    AfterOpt,
    EmailArg,
    JsonOpt,
    ReasonOpt,
    YesOpt,
    _confirm,
    _next_page,
    app,
    command,
    warn_session_cache,
)

if TYPE_CHECKING:
    from owox_idp.api import Admin
    from owox_idp.output import Output
    from owox_idp.services.sessions import RevokeResult, SessionView

REVOCATION_NOTE = (
    "a server with a session cookie cache keeps revoked sessions alive until the cache expires "
    "(5 min by default); see docs/sessions-and-revocation.md"
)


@app.command("list-sessions")
def list_sessions_cmd(
    ctx: typer.Context,
    email: Annotated[
        str | None,
        typer.Argument(help="Only this user's sessions (default: everyone's).", show_default=False),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include expired sessions.")] = False,
    limit: Annotated[
        int | None,
        typer.Option("--limit", help="At most this many (default 100 on a terminal).", show_default=False),
    ] = None,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many.")] = 0,
    after: AfterOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List active sessions, newest first (expired ones too with --all); tokens show a prefix only."""

    page: int | None = None

    def call(admin: Admin, out: Output) -> list[SessionView]:
        nonlocal page
        page = limit if limit is not None else (100 if out.stdout_tty and not json_ else None)
        rows = admin.list_sessions(email, include_expired=all_, limit=page, offset=offset, after=after)
        if json_ and (next_page := _next_page(rows, page)):
            out.message(next_page)
        return rows

    def render(out: Output, admin: Admin, rows: list[SessionView]) -> None:
        next_page = _next_page(rows, page)
        cells: dict[str, Callable[[Any], Any]] = {
            "id": lambda s: s.id,
            "email": lambda s: s.email or "-",
            "created": lambda s: s.created_at,
            "expires": lambda s: s.expires_at,
            "ip": lambda s: s.ip_address,
            "user agent": lambda s: s.user_agent,
            "impersonated by": lambda s: s.impersonated_by,
            "token": lambda s: f"{s.token_prefix}…",
        }
        if all_:
            cells["active"] = lambda s: s.active
        if out.stdout_tty:  # people: leave out what says nothing (pipes keep every column, for scripts)
            if email is not None:
                del cells["email"]
            if not any(s.impersonated_by for s in rows):
                del cells["impersonated by"]
        table = [[cell(s) for cell in cells.values()] for s in rows]
        columns = list(cells)
        out.table(columns, table, no_wrap=("id", "email"), cut_first=("user agent", "impersonated by", "ip"))
        if next_page:
            out.message(f"Showing {page}. {next_page}")

    command(ctx, call, render, json_=json_)


@app.command("revoke-sessions")
def revoke_sessions_cmd(
    ctx: typer.Context,
    email: EmailArg,
    session_id: Annotated[
        str | None,
        typer.Option(
            "--session-id", help="Revoke only this session (see list-sessions).", show_default=False
        ),
    ] = None,
    yes: YesOpt = False,
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Sign a user out: delete one or all of their sessions."""

    def call(admin: Admin, out: Output) -> RevokeResult:
        what = f"session {session_id} of {email}" if session_id else f"every session of {email}"
        _confirm(out, f"Revoke {what}?", yes=yes, command="revoke-sessions")
        result = admin.revoke_sessions(email, session_id=session_id, reason=reason)
        warn_session_cache(out, admin)
        return result

    def render(out: Output, admin: Admin, result: RevokeResult) -> None:
        if result.revoked == 0 and not result.impersonation_sessions_revoked:
            out.message(f"{result.email} has no sessions; nothing to do.")
            return
        out.message(f"Revoked {result.revoked} session(s) of {result.email}.")
        if result.impersonation_sessions_revoked:
            out.message(
                f"Also revoked {result.impersonation_sessions_revoked} session(s) in which they impersonated someone."
            )
        out.message(f"Note: {REVOCATION_NOTE}.")
        for note in admin.deployment.flavor.revocation_notes:
            out.message(f"Note: {note}.")

    command(ctx, call, render, json_=json_)
