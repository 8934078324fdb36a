"""Start-up: median wall time of `idp --help`, `idp --version` and `idp list-users` (100 users, SQLite)
against the anchor `python -c "import typer"`, all run by this interpreter directly (no shim).
Target: within 2x of the anchor. Also prints where list-users' import time goes.

    python benchmarks/startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import defaultdict

from _common import fresh_database, header, idp_command, idp_env, median_wall, migrate, report, run


def import_breakdown(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Seconds of import time per top-level package (python -X importtime), for one run of `cmd`."""
    script = cmd[0] if cmd[0] != sys.executable else None
    argv = [sys.executable, "-X", "importtime", *([script] if script else cmd[1:3]), *cmd[(1 if script else 3) :]]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    totals: dict[str, float] = defaultdict(float)
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if m and not m.group(3):  # top-level imports only: their cumulative time includes the children
            totals[m.group(4).split(".")[0]] += int(m.group(2)) / 1e6
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    header("start-up (median wall time)")
    idp = idp_command()
    with fresh_database("sqlite") as db:
        env = idp_env(db.url, flavor="owox")
        migrate(db, flavor="owox")
        users = "email,role\n" + "".join(f"user{i}@example.com,editor\n" for i in range(100))
        run([*idp, "import", "-"], env, input=users.encode())
        anchor = median_wall([sys.executable, "-c", "import typer"], env, args.runs)
        floor = median_wall([sys.executable, "-c", "pass"], env, args.runs)
        print(f"   (python -c pass: {floor:.3f} s)")
        for label, extra in (
            ("idp --help", ["--help"]),
            ("idp --version", ["--version"]),
            ("idp list-users (100 users, SQLite)", ["list-users"]),
            ("idp list-users --json (100 users, SQLite)", ["list-users", "--json"]),
        ):
            t = median_wall([*idp, *extra], env, args.runs)
            report(label, t, "s", 'python -c "import typer"', anchor, t / anchor, "<= 2x")
        print("   import time of `idp list-users` by top-level package (one run, seconds):")
        for name, seconds in list(import_breakdown([*idp, "list-users"], env).items())[:8]:
            print(f"     {name:<28} {seconds:.3f}")


if __name__ == "__main__":
    main()
