"""The `idp` command line. Commands are thin: parse, open one transaction, call one service, render."""

from __future__ import annotations

import gc
import sys

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
        app(prog_name="idp")
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted\n")
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
