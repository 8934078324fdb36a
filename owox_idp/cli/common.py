"""Shared plumbing of the `idp` commands: the Typer app, global options, and `run`, the one place
where errors become `Error: ...` on stderr and the documented exit code.

The `owox_idp.cli` package is the only place that imports typer.
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
    from owox_idp.api import Admin
    from owox_idp.config import Settings
    from owox_idp.output import Output

T = TypeVar("T")

app = typer.Typer(
    name="idp",
    help="Administer a Better Auth identity database (OWOX Data Marts' IdP or any Better Auth server).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: importing Rich for it would double `idp --help`'s start-up
    context_settings={"help_option_names": ["-h", "--help"]},
)
twofa_app = typer.Typer(
    help="Two-factor (TOTP): enable, disable or check a user's enrolment.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(twofa_app, name="2fa")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
YesOpt = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed without a terminal).")
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Allow leaving the deployment without an active admin.")
]
EmailArg = Annotated[
    str, typer.Argument(help="The user's email (matched case-insensitively).", show_default=False)
]
TtlOpt = Annotated[
    str | None,
    typer.Option(
        "--ttl",
        help="Link lifetime: seconds or 30m, 12h, 7d (default: the configured TTL).",
        show_default=False,
    ),
]
CallbackUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--callback-url",
        help="better-auth flavor: where a sign-in link lands (default /).",
        show_default=False,
    ),
]
AfterOpt = Annotated[
    str | None,
    typer.Option(
        "--after",
        help="Keyset paging: continue after this cursor (printed on stderr after a full page).",
        show_default=False,
    ),
]
ReasonOpt = Annotated[
    str | None,
    typer.Option(
        "--reason",
        help="Why: kept in idp's audit trail (`idp audit`). Never put a secret here.",
        show_default=False,
    ),
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
    flavor: Annotated[
        str | None, typer.Option("--flavor", help="owox (default) or better-auth.", show_default=False)
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", help="sqlite:///file.db, postgresql://... or mysql://...", show_default=False
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="The server's public URL.", show_default=False)
    ] = None,
    server_version: Annotated[
        str | None,
        typer.Option("--server-version", help="Better Auth version: 1.4, 1.6 or 1.7.", show_default=False),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="TOML config file (default: ~/.config/owox-idp/config.toml).", show_default=False
        ),
    ] = None,
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            "-e",
            help="A .env file (default: ./.env); never overrides the environment.",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Administer a Better Auth identity database directly: users, roles, links, sessions, 2FA, schema."""
    del version
    ctx.obj = Globals(
        flags={
            "flavor": flavor,
            "database_url": database_url,
            "base_url": base_url,
            "server_version": server_version,
        },
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


def _admin(ctx: typer.Context) -> Admin:
    from owox_idp.api import Admin

    return Admin(_settings(ctx))


def _exit(code: int) -> NoReturn:
    raise typer.Exit(code)


def _run(fn: Callable[[Output], None]) -> None:
    """Run a command body; the one place where errors turn into messages and exit codes."""
    out = _output()
    try:
        fn(out)
        out.stdout.flush()  # a closed stdout shows here, not in Python's flush at exit
    except BrokenPipeError:  # `idp list-users | head -1`, `| grep -q`: the reader has all it wants
        stdout_closed()
        _exit(int(ExitCode.OK))
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
        out.error(
            f"unexpected failure: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(
                ": "
            ),
            "set IDP_DEBUG=1 to see the traceback",
        )
        _exit(int(ExitCode.FAILURE))


def stdout_closed() -> None:
    """The reader of stdout went away: send what is still buffered (and anything printed later) to
    /dev/null, so that neither the rest of the command nor Python's flush at exit fails again."""
    import contextlib

    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def to_json_value(result: Any) -> Any:
    """A result's `--json` form: `to_json()` of a result, a list of them, or plain data."""
    if isinstance(result, list):
        return [to_json_value(r) for r in result]
    to_json = getattr(result, "to_json", None)
    return to_json() if callable(to_json) else result


def command(
    ctx: typer.Context,
    call: Callable[[Admin, Output], T],
    render: Callable[[Output, Admin, T], None] | None = None,
    *,
    json_: bool = False,
) -> None:
    """The body of every data command: open the deployment, make one `Admin` call, then print its JSON
    (`--json`) or let `render` show it to people. Errors become messages and exit codes in `_run`."""

    def body(out: Output) -> None:
        with _admin(ctx) as admin:
            result = call(admin, out)
            if json_:
                out.json(to_json_value(result))
            elif render is not None:
                render(out, admin, result)
            warn_unrecorded(out, admin)

    _run(body)


def warn_unrecorded(out: Output, admin: Admin) -> None:
    """A change that could not go into the audit trail (idp_audit does not exist yet) says so."""
    if admin.unrecorded:
        out.warn("this change is not in the audit trail: run `idp migrate` to create idp's table idp_audit")


def _read_password() -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        first = getpass.getpass("New password: ", stream=sys.stderr)
        second = getpass.getpass("Repeat it: ", stream=sys.stderr)
        if first != second:
            from owox_idp.errors import InvalidInput

            raise InvalidInput("the two passwords differ")
        return first
    try:
        data = sys.stdin.read() if sys.stdin is not None else ""
    except UnicodeDecodeError:  # never show any of it
        from owox_idp.errors import InvalidInput

        raise InvalidInput("the password on standard input is not UTF-8 text") from None
    if data.endswith("\r\n"):
        data = data[:-2]
    elif data.endswith("\n"):
        data = data[:-1]
    if not data:
        from owox_idp.errors import InvalidInput

        raise InvalidInput("no password on standard input (--password-stdin reads it from there)")
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


def _warn_ttl(out: Output, admin: Admin, ttl: int) -> None:
    limit = admin.deployment.flavor.link_lifetime_limit
    if limit is not None and ttl > limit:
        out.warn(
            f"the link lives {ttl}s but OWOX's role token expires after {limit}s: "
            "opened later, it signs the user in without applying the role (the role is already stored)"
        )


def _iso(value: Any) -> str:
    from owox_idp.clock import iso

    return iso(value) or "-"


def _next_page(rows: Any, page: int | None) -> str | None:
    """`Next page: --after <cursor>` after a full page of a newest-first listing, else None."""
    if page is None or not rows or len(rows) < page:
        return None
    from owox_idp.services.users import page_cursor

    return f"Next page: --after {page_cursor(rows[-1].created_at, rows[-1].id)}"


def _no_offset_with_after(after: str | None, offset: int) -> None:
    if after is not None and offset:
        raise UsageError("use --after or --offset, not both")
