"""The `idp` command line. Commands are thin: parse, open one transaction, call one service, render."""

from __future__ import annotations

import gc
import inspect
import sys

import typer

# A short-lived CLI: the garbage collector's many passes while SQLAlchemy and friends import cost a
# third of start-up, and there is nothing to collect yet.
gc.set_threshold(100_000, 50, 50)

from owox_idp.cli.common import app  # noqa: E402
from owox_idp.errors import ExitCode  # noqa: E402

# importing the command modules registers their commands on `app`
from owox_idp.cli import schema as _schema  # noqa: E402,F401  isort: skip
from owox_idp.cli import users as _users  # noqa: E402,F401  isort: skip
from owox_idp.cli import bulk as _bulk  # noqa: E402,F401  isort: skip
from owox_idp.cli import sessions as _sessions  # noqa: E402,F401  isort: skip
from owox_idp.cli import twofactor as _twofactor  # noqa: E402,F401  isort: skip
from owox_idp.cli import links as _links  # noqa: E402,F401  isort: skip
from owox_idp.cli import apikeys as _apikeys  # noqa: E402,F401  isort: skip
from owox_idp.cli import toolbox as _toolbox  # noqa: E402,F401  isort: skip

__all__ = ["app", "main"]


def main() -> None:
    gc.freeze()  # what is loaded now lives as long as the process: keep it out of collections
    try:
        only_what_runs(app, sys.argv[1:])(prog_name="idp")
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted\n")
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
    finally:
        # what the command imported (SQLAlchemy, the driver) lives until exit too: without this, the
        # interpreter's collection at shutdown walks all of it (about 0.05 s of `idp list-users`)
        gc.freeze()


def only_what_runs(group: typer.Typer, args: list[str]) -> typer.Typer:
    """`group` with only the command that `args` run. Typer turns every registered command into a
    Click command before it parses anything (signatures, annotations, converters): with 35 commands
    that was most of `idp --version`'s and `idp list-users`' start-up. The command is the first
    argument that is not an option of the whole run (nor such an option's value); without one (`idp`,
    `idp --help`), with a name that is no command (Click then says so, with suggestions) or during
    shell completion, the whole group is built as before. `--version` before any command builds none."""
    import copy
    import os

    if any(k.startswith("_IDP_COMPLETE") for k in os.environ):
        return group
    takes_value = _global_options(group)
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        if args[i] in ("--help", "-h"):
            return listed_only(group)
        if args[i] == "--version":
            name = None
            break
        i += 2 if takes_value.get(args[i], False) else 1
    else:
        if i >= len(args):
            return listed_only(group)  # `idp` alone prints the help
        if args[i] == "--":
            return group
        name = args[i]
    pruned = copy.copy(group)
    pruned.registered_commands = [c for c in group.registered_commands if _name(c) == name]
    pruned.registered_groups = [g for g in group.registered_groups if g.name == name]
    if name is not None and not pruned.registered_commands and not pruned.registered_groups:
        return group
    return pruned


def listed_only(group: typer.Typer) -> typer.Typer:
    """`group` for printing its help: every command keeps its name, help text and flags (hidden,
    deprecated) but gets a callback without parameters, so that Typer does not read the signatures and
    evaluate the annotations of 30 commands (most of `idp --help`'s run) only to list their names and
    first sentences. The whole run's options (the group's callback) are built as before."""
    import copy

    def _no_parameters() -> None:  # pragma: no cover - a listed command is never run
        raise AssertionError("a command built for the help listing was run")

    stubs = []
    for command in group.registered_commands:
        stub = copy.copy(command)
        stub.name = _name(command)
        if stub.help is None:
            stub.help = inspect.getdoc(command.callback)
        stub.callback = _no_parameters
        stubs.append(stub)
    groups = []
    for info in group.registered_groups:
        sub = copy.copy(info)
        if info.typer_instance is not None:
            sub.typer_instance = listed_only(info.typer_instance)
        groups.append(sub)
    listed = copy.copy(group)
    listed.registered_commands = stubs
    listed.registered_groups = groups
    return listed


def _name(command: typer.models.CommandInfo) -> str | None:
    """The command's name as Typer gives it (its own name, or its function's)."""
    from typer.main import get_command_name

    if command.name:
        return command.name
    return None if command.callback is None else get_command_name(command.callback.__name__)


def _global_options(group: typer.Typer) -> dict[str, bool]:
    """The options of the whole run (the group's callback) -> whether they take a value."""
    import typing

    callback = group.registered_callback.callback if group.registered_callback else None
    if callback is None:
        return {}
    options: dict[str, bool] = {}
    for hint in typing.get_type_hints(callback, include_extras=True).values():
        for meta in getattr(hint, "__metadata__", ()):
            if isinstance(meta, typer.models.OptionInfo):
                flag = typing.get_args(hint)[0] is bool
                # in `Annotated[..., typer.Option("--name", "-n")]` the first name is the "default"
                decls = [*(meta.param_decls or ())]
                if isinstance(meta.default, str) and meta.default.startswith("-"):
                    decls.append(meta.default)
                for decl in decls:
                    options[decl] = not flag
    return options
