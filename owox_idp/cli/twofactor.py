"""The two-factor commands: `idp 2fa enable`, `disable`, `status`, `unlock`, `backup-codes`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from owox_idp.cli.common import EmailArg, JsonOpt, ReasonOpt, YesOpt, _confirm, _iso, command, twofa_app

if TYPE_CHECKING:
    from owox_idp.api import Admin
    from owox_idp.output import Output
    from owox_idp.services.twofactor import (
        BackupCodesResult,
        DisableResult,
        EnrolResult,
        TwoFactorStatus,
        UnlockResult,
    )


@twofa_app.command("enable")
def enable_cmd(
    ctx: typer.Context,
    email: EmailArg,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Re-enrol a user who already has two-factor (the old app and codes stop working)."
        ),
    ] = False,
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Enrol a user in TOTP: prints a QR code (on a terminal), the otpauth URI and backup codes, once."""

    def render(out: Output, admin: Admin, result: EnrolResult) -> None:
        verb = "Re-enrolled" if result.replaced else "Enrolled"
        out.message(f"{verb} {result.email} in two-factor (TOTP); sign-in now asks for a code.")
        if out.stdout_tty:
            import shutil

            from owox_idp.cli.qr import fit_terminal

            size = shutil.get_terminal_size((80, 24))
            code = fit_terminal(result.otpauth_uri, color=out.color, columns=size.columns, lines=size.lines)
            if code is not None:
                out.message("Scan this QR code with an authenticator app:")
                out.result(code)
            else:
                out.message(
                    f"The QR code of this otpauth URI ({len(result.otpauth_uri)} characters) does not fit "
                    f"this {size.columns}x{size.lines} terminal, so none is shown: open the URI on the "
                    "phone, or type the secret into the authenticator app (TOTP, 6 digits, 30 s)."
                )
        out.result(f"otpauth URI:  {result.otpauth_uri}")
        out.result(f"secret:       {result.secret}")
        out.result("backup codes: " + " ".join(result.backup_codes))
        out.message("These are shown only once: hand them to the user over a safe channel.")

    command(
        ctx,
        lambda admin, out: admin.two_factor_enable(email, force=force, reason=reason),
        render,
        json_=json_,
    )


@twofa_app.command("disable")
def disable_cmd(
    ctx: typer.Context, email: EmailArg, yes: YesOpt = False, reason: ReasonOpt = None, json_: JsonOpt = False
) -> None:
    """Remove a user's two-factor enrolment and trusted devices (they sign in with the password alone)."""

    def call(admin: Admin, out: Output) -> DisableResult:
        from owox_idp.services import twofactor

        twofactor.ensure_supported(admin.deployment)  # before asking
        _confirm(out, f"Disable two-factor for {email}?", yes=yes, command="2fa disable")
        return admin.two_factor_disable(email, reason=reason)

    def render(out: Output, admin: Admin, result: DisableResult) -> None:
        if not result.changed:
            out.message(f"{result.email} has no two-factor enrolment; nothing to do.")
            return
        details = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in result.removed.items() if v)
        out.message(
            f"Disabled two-factor for {result.email}"
            + (f" (removed {details})" if details else "")
            + "; they can sign in with the password alone."
        )

    command(ctx, call, render, json_=json_)


@twofa_app.command("status")
def status_cmd(ctx: typer.Context, email: EmailArg, json_: JsonOpt = False) -> None:
    """Whether a user is enrolled, and whether the stored secret decrypts with the configured secret."""

    def call(admin: Admin, out: Output) -> TwoFactorStatus:
        from owox_idp.services import twofactor

        result = admin.two_factor_status(email)
        if json_:
            out.json(result.to_json())
        else:
            out.fields([(k.replace("_", " "), "-" if v is None else v) for k, v in result.to_json().items()])
            for note in result.notes:
                out.message(f"Note: {note}.")
        if result.problem:
            raise twofactor.EnrolmentUnreadable(result.email, result.problem)
        return result

    command(ctx, call)


@twofa_app.command("unlock")
def unlock_cmd(ctx: typer.Context, email: EmailArg, reason: ReasonOpt = None, json_: JsonOpt = False) -> None:
    """Lift a two-factor lock-out (too many wrong codes); the enrolment and backup codes stay."""

    def render(out: Output, admin: Admin, result: UnlockResult) -> None:
        if not result.changed:
            out.message(f"{result.email} is not locked out of two-factor; nothing changed.")
            return
        until = f" (locked until {_iso(result.locked_until)})" if result.locked_until else ""
        out.message(
            f"Unlocked two-factor for {result.email}{until}: {result.failed_verification_count or 0} failed "
            "attempt(s) forgotten; they can sign in with a code again."
        )

    command(ctx, lambda admin, out: admin.two_factor_unlock(email, reason=reason), render, json_=json_)


@twofa_app.command("backup-codes")
def backup_codes_cmd(
    ctx: typer.Context, email: EmailArg, reason: ReasonOpt = None, json_: JsonOpt = False
) -> None:
    """Replace a user's backup codes (the old ones stop working); prints the new ones, once."""

    def render(out: Output, admin: Admin, result: BackupCodesResult) -> None:
        out.message(
            f"New backup codes for {result.email}; the {result.replaced} unused old one(s) stop working:"
        )
        out.result("backup codes: " + " ".join(result.backup_codes))
        out.message("These are shown only once: hand them to the user over a safe channel.")

    command(ctx, lambda admin, out: admin.two_factor_backup_codes(email, reason=reason), render, json_=json_)
