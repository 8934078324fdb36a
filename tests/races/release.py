"""Run the real `idp` CLI once a barrier file exists: `python release.py BARRIER ARGS...`.

The race suite starts N of these, lets each import everything `idp` needs at start-up (that takes far
longer than the command itself), and then creates the barrier file, so that the N commands reach the
database together instead of one after another.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path


def main() -> None:
    barrier = Path(sys.argv[1])
    sys.argv = ["idp", *sys.argv[2:]]
    import sqlalchemy  # noqa: F401  (the imports every command makes, before the start line)

    import owox_idp.cli

    for name in ("psycopg", "pymysql"):
        with contextlib.suppress(ImportError):
            __import__(name)
    (barrier.parent / f"{barrier.name}.ready.{os.getpid()}").touch()
    deadline = time.monotonic() + 120
    while not barrier.exists():
        if time.monotonic() > deadline:
            sys.exit("release.py: the barrier was never released")
        time.sleep(0.002)
    owox_idp.cli.main()


if __name__ == "__main__":
    main()
