"""The two-factor commands: `idp 2fa enable`, `idp 2fa disable`, `idp 2fa status`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from owox_idp.cli.common import EmailArg, JsonOpt, YesOpt, _confirm, _env, _run, _with_repo, twofa_app

if TYPE_CHECKING:
    from owox_idp.output import Output


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
    json_: JsonOpt = False,
) -> None:
    """Enrol a user in TOTP: prints a QR code (on a terminal), the otpauth URI and backup codes, once."""

    def body(out: Output) -> None:
        from owox_idp.clock import now
        from owox_idp.services import twofactor

        env = _env(ctx)
        twofactor.ensure_supported(env.settings)  # before touching the database
        env.settings.require_secrets()
        result = _with_repo(
            env,
            write=True,
            body=lambda repo: twofactor.enable(repo, env.settings, email=email, force=force, now=now()),
        )
        if json_:
            out.json(
                {
                    "user_id": result.user_id,
                    "email": result.email,
                    "otpauth_uri": result.otpauth_uri,
                    "secret": result.secret,
                    "backup_codes": result.backup_codes,
                    "replaced": result.replaced,
                }
            )
            return
        verb = "Re-enrolled" if result.replaced else "Enrolled"
        out.message(f"{verb} {result.email} in two-factor (TOTP); sign-in now asks for a code.")
        if out.stdout_tty:
            from owox_idp.crypto.qr import render_terminal

            out.message("Scan this QR code with an authenticator app:")
            out.result(render_terminal(result.otpauth_uri, color=out.color))
        out.result(f"otpauth URI:  {result.otpauth_uri}")
        out.result(f"secret:       {result.secret}")
        out.result("backup codes: " + " ".join(result.backup_codes))
        out.message("These are shown only once: hand them to the user over a safe channel.")

    _run(body)


@twofa_app.command("disable")
def disable_cmd(ctx: typer.Context, email: EmailArg, yes: YesOpt = False, json_: JsonOpt = False) -> None:
    """Remove a user's two-factor enrolment and trusted devices (they sign in with the password alone)."""

    def body(out: Output) -> None:
        from owox_idp.clock import now
        from owox_idp.services import twofactor

        env = _env(ctx)
        twofactor.ensure_supported(env.settings)  # before touching the database
        _confirm(out, f"Disable two-factor for {email}?", yes=yes, command="2fa disable")
        result = _with_repo(
            env, write=True, body=lambda repo: twofactor.disable(repo, env.settings, email=email, now=now())
        )
        if json_:
            out.json(
                {
                    "user_id": result.user_id,
                    "email": result.email,
                    "two_factor_enabled": False,
                    "changed": result.changed,
                    "removed": result.removed,
                }
            )
            return
        if not result.changed:
            out.message(f"{result.email} has no two-factor enrolment; nothing to do.")
            return
        details = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in result.removed.items() if v)
        out.message(
            f"Disabled two-factor for {result.email}"
            + (f" (removed {details})" if details else "")
            + "; they can sign in with the password alone."
        )

    _run(body)


@twofa_app.command("status")
def status_cmd(ctx: typer.Context, email: EmailArg, json_: JsonOpt = False) -> None:
    """Whether a user is enrolled, and whether the stored secret decrypts with the configured secret."""

    def body(out: Output) -> None:
        from owox_idp.clock import now
        from owox_idp.services import twofactor

        env = _env(ctx)
        twofactor.ensure_supported(env.settings)  # before touching the database
        result = _with_repo(
            env, write=False, body=lambda repo: twofactor.status(repo, env.settings, email=email, now=now())
        )
        data = {
            "user_id": result.user_id,
            "email": result.email,
            "two_factor_enabled": result.two_factor_enabled,
            "enrolled": result.enrolled,
            "verified": result.verified,
            "secret_decrypts": result.secret_decrypts,
            "backup_codes_remaining": result.backup_codes_remaining,
            "failed_verification_count": result.failed_verification_count,
            "locked_until": result.locked_until,
        }
        if json_:
            out.json(data)
        else:
            out.fields([(k.replace("_", " "), "-" if v is None else v) for k, v in data.items()])
            for note in result.notes:
                out.message(f"Note: {note}.")
        if result.problem:
            raise twofactor.EnrolmentUnreadable(result.email, result.problem)

    _run(body)
