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
from typer.core import TyperGroup

from owox_idp import __version__
from owox_idp.errors import ExitCode, IdpError, UsageError

if TYPE_CHECKING:
    from owox_idp.api import Admin
    from owox_idp.config import Settings
    from owox_idp.output import Output

T = TypeVar("T")


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    """Help text in lines of at most `width`, paragraphs kept; a word is never cut, not even at a
    hyphen (`owox-idp`, a URL), where Click's own wrapping would."""
    import textwrap

    lines: list[str] = []
    for number, paragraph in enumerate(textwrap.dedent(text).strip().split("\n\n")):
        if number:
            lines.append("")
        lines += textwrap.wrap(
            " ".join(paragraph.split()),
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [indent]
    return lines


_ClickFormatter: Any = typer.Context.formatter_class  # Click's (vendored by Typer)


class HelpFormatter(_ClickFormatter):  # type: ignore[misc]
    """Click's help layout, with `_wrap`'s wrapping: at 80 columns no word is cut or dropped."""

    def write_text(self, text: str) -> None:
        self.write("\n".join(_wrap(text, self.width, " " * self.current_indent)) + "\n")

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first_col = min(max((len(first) for first, _ in rows), default=0), col_max) + col_spacing
        pad = " " * self.current_indent
        for first, second in rows:
            self.write(f"{pad}{first}")
            if not second:
                self.write("\n")
                continue
            if len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - len(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = _wrap(second, max(self.width - first_col - self.current_indent, 20))
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n" if line else "\n")


class IdpContext(typer.Context):
    formatter_class = HelpFormatter


class _FullHelp(TyperGroup):
    """A group whose list of commands shows each command's first sentence whole (wrapped), never cut
    with "..."; its commands format their help with `HelpFormatter`."""

    context_class = IdpContext

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for cmd in self.commands.values():
            cmd.context_class = IdpContext

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [
            (name, cmd.get_short_help_str(limit=10_000))
            for name in self.list_commands(ctx)
            if (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class SubGroup(_FullHelp):
    """`idp 2fa`, `idp api-key`."""


class IdpGroup(_FullHelp):
    """The top-level group: the options of the whole run (`--database-url`, `--config`, ...) are also
    accepted after the command name (`idp list-users --database-url X --json`). One place moves them in
    front of the command before Click parses anything; a value of the command's own options (the text
    after `--reason`, say) and everything after `--` are left where they are."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self._globals_first(ctx, args))

    def _globals_first(self, ctx: Any, args: list[str]) -> list[str]:
        # the run's options -> whether they take a value (not --version, --help, completion: eager)
        takes_value = _options(self, eager=False)
        front: list[str] = []
        i = 0
        while i < len(args) and args[i].startswith("-") and args[i] != "--":  # already in front
            name = args[i].split("=", 1)[0]
            step = 2 if takes_value.get(name) and "=" not in args[i] else 1
            front += args[i : i + step]
            i += step
        if i >= len(args) or args[i] == "--":
            return args
        command: Any = self
        rest: list[str] = []
        while i < len(args) and isinstance(command, TyperGroup):  # the command, and `2fa enable`
            found = command.get_command(ctx, args[i])
            rest.append(args[i])
            i += 1
            if found is None:
                return args  # not a command: Click says so, from the arguments as given
            command = found
        own = _options(command, eager=True)  # the command's options -> whether they take a value
        while i < len(args):
            arg = args[i]
            if arg == "--":
                rest += args[i:]
                break
            name = arg.split("=", 1)[0] if arg.startswith("--") else arg
            if name in takes_value and name not in own:
                step = 2 if takes_value[name] and "=" not in arg else 1
                front += args[i : i + step]
                i += step
                continue
            step = 2 if own.get(name) and "=" not in arg else 1
            rest += args[i : i + step]
            i += step
        return front + rest


def _options(command: Any, *, eager: bool) -> dict[str, bool]:
    """A command's option names -> whether the option takes a value; `eager=False` leaves out the
    eager ones (--version, --help, the completion options)."""
    names: dict[str, bool] = {}
    for param in getattr(command, "params", ()):
        if getattr(param, "param_type_name", None) != "option" or (param.is_eager and not eager):
            continue
        for name in (*param.opts, *param.secondary_opts):
            names[name] = not (param.is_flag or param.count)
    return names


app = typer.Typer(
    name="idp",
    cls=IdpGroup,
    add_completion=True,
    help="Administer a Better Auth identity database (OWOX Data Marts' IdP or any Better Auth server).\n\n"
    "The options below apply to the whole run; they may also follow the command name "
    "(idp list-users --database-url URL).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: importing Rich for it would double `idp --help`'s start-up
    context_settings={"help_option_names": ["-h", "--help"]},
)
twofa_app = typer.Typer(
    cls=SubGroup,
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


# the flavors of owox_idp.flavors.FLAVORS, written out: importing them here would slow `idp --help`
# (tests/cli/test_config_cli.py checks that this names them all)
FLAVOR_HELP = "owox (default), better-auth or better-auth-rs."


@app.callback()
def main_callback(
    ctx: typer.Context,
    flavor: Annotated[str | None, typer.Option("--flavor", help=FLAVOR_HELP, show_default=False)] = None,
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


def warn_session_cache(out: Output, admin: Admin, change: str = "revoke") -> None:
    """Sessions the server caches outside the database (IDP_SESSION_STORAGE=both/secondary) do not see
    the change until they expire: said after every command that revokes sessions or changes a role."""
    note = admin.deployment.session_cache_note(change)
    if note:
        out.warn(note)


PASSWORD_ATTEMPTS = 3


def _prompt_password(attempts: int = PASSWORD_ATTEMPTS) -> str:
    """The hidden prompt on a terminal: a password that breaks the length policy, or a repetition that
    differs, asks again, up to `attempts` times; then exit 5, as a bad password on stdin is."""
    import getpass

    from owox_idp.crypto.passwords import validate_password_length
    from owox_idp.errors import InvalidInput

    problem = ""
    for attempt in range(1, attempts + 1):
        first = getpass.getpass("New password: ", stream=sys.stderr)
        try:
            validate_password_length(first)
        except InvalidInput as exc:
            problem = exc.message
        else:
            if getpass.getpass("Repeat it: ", stream=sys.stderr) == first:
                return first
            problem = "the two passwords differ"
        if attempt < attempts:
            sys.stderr.write(f"{problem}; try again ({attempts - attempt} attempt(s) left).\n")
            sys.stderr.flush()
    raise InvalidInput(f"{problem} ({attempts} attempts); nothing was changed")


def _read_password() -> str:
    """A password from the hidden prompt (stdin is a terminal) or one read of stdin (a pipe: one try,
    the whole input without its final newline)."""
    if sys.stdin is not None and sys.stdin.isatty():
        return _prompt_password()
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
