"""The `idp` command line. Commands are thin: parse, open one transaction, call one service, render."""

from __future__ import annotations

import sys

from owox_idp.cli.common import app
from owox_idp.errors import ExitCode

# importing the command modules registers their commands on `app`
from owox_idp.cli import schema as _schema  # noqa: F401  isort: skip
from owox_idp.cli import users as _users  # noqa: F401  isort: skip
from owox_idp.cli import bulk as _bulk  # noqa: F401  isort: skip
from owox_idp.cli import sessions as _sessions  # noqa: F401  isort: skip
from owox_idp.cli import twofactor as _twofactor  # noqa: F401  isort: skip

__all__ = ["app", "main"]


def main() -> None:
    try:
        app(prog_name="idp")
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted\n")
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
