"""The operator's toolbox: `idp doctor`, `idp check-user`, `idp audit`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from owox_idp.cli.common import EmailArg, JsonOpt, _run, _settings, app, command
from owox_idp.errors import CheckFailed, ConfigError

if TYPE_CHECKING:
    from owox_idp.api import Admin
    from owox_idp.output import Output
    from owox_idp.services.audit import AuditEntry
    from owox_idp.services.checkuser import CheckUserResult
    from owox_idp.services.doctor import DoctorReport

_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


@app.command("doctor")
def doctor_cmd(
    ctx: typer.Context,
    server: Annotated[
        bool, typer.Option("--server", help="Also ask the server itself (<base URL><base path>/ok).")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Check the deployment: every check ok / warn / fail with a hint; exit 9 on any fail (for CI)."""

    def body(out: Output) -> None:
        from owox_idp.api import Admin
        from owox_idp.services.doctor import settings_failed

        try:
            settings = _settings(ctx)
        except ConfigError as exc:
            report = settings_failed(exc.message, exc.hint)
        else:
            with Admin(settings) as admin:
                report = admin.doctor(server=server)
        _show(out, report, json_=json_)
        if not report.ok:
            names = ", ".join(dict.fromkeys(c.name for c in report.failed))
            raise CheckFailed(f"{len(report.failed)} check(s) failed: {names}")

    _run(body)


def _show(out: Output, report: DoctorReport, *, json_: bool) -> None:
    if json_:
        out.json(report.to_json())
        return
    for check in report.checks:
        out.result(f"{_MARK[check.status]}  {check.name}: {check.message}")
        if check.hint and check.status != "ok":
            out.result(f"      hint: {check.hint}")
    counts = {s: sum(c.status == s for c in report.checks) for s in ("ok", "warn", "fail")}
    out.message(f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failed.")


@app.command("check-user")
def check_user_cmd(
    ctx: typer.Context,
    email: EmailArg,
    require_verified: Annotated[
        bool,
        typer.Option(
            "--require-verified",
            help="The server sets emailAndPassword.requireEmailVerification (better-auth flavor).",
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Can this user sign in now, by which ways, and every reason they cannot; exit 9 when they cannot."""

    def call(admin: Admin, out: Output) -> None:
        result = admin.check_user(email, require_verified=require_verified)
        if json_:
            out.json(result.to_json())
        else:
            _verdict(out, result)
        if not result.can_sign_in:
            raise CheckFailed(f"{result.email} cannot sign in")

    command(ctx, call)


def _verdict(out: Output, r: CheckUserResult) -> None:
    if r.can_sign_in:
        out.result(f"{r.email} can sign in: " + ", ".join(r.ways))
    else:
        out.result(f"{r.email} cannot sign in" + (f" (has: {', '.join(r.ways)})" if r.ways else ""))
    for reason in r.reasons:
        out.result(f"  - {reason.message}")
        if reason.fix:
            out.result(f"    fix: {reason.fix}")


@app.command("audit")
def audit_cmd(
    ctx: typer.Context,
    user: Annotated[
        str | None, typer.Option("--user", help="Only the entries about this user.", show_default=False)
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only newer entries: 30m, 12h, 7d, or a date (2025-01-31).", show_default=False
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", help="At most this many (default 100 on a terminal).", show_default=False),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """idp's record of every change it made: when, who (OS user@host), command, target, outcome, reason."""

    def call(admin: Admin, out: Output) -> list[AuditEntry]:
        page = limit if limit is not None else (100 if out.stdout_tty and not json_ else None)
        return admin.audit(user=user, since=since, limit=page)

    def render(out: Output, admin: Admin, rows: list[AuditEntry]) -> None:
        out.table(
            ["at", "actor", "command", "target", "outcome", "reason", "detail"],
            [[e.at, e.actor, e.command, e.target, e.outcome, e.reason, e.detail] for e in rows],
            no_wrap=("target",),
            cut_first=("detail", "reason", "actor"),
        )

    command(ctx, call, render, json_=json_)
