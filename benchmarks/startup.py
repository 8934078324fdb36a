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

from _common import fresh_database, header, idp_command, idp_env, median_wall, migrate, report, run


def import_breakdown(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Seconds spent importing each package (python -X importtime, one run): the cumulative time of the
    package's own import line, wherever it first happens (so the figures nest: owox_idp includes what
    its modules import)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *cmd], env=env, capture_output=True, text=True)
    totals: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$", line)
        if m and "." not in m.group(4) and not m.group(4).startswith("_"):
            totals[m.group(4)] = totals.get(m.group(4), 0.0) + int(m.group(2)) / 1e6
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


# What the two start-up changes proposed for files this benchmark's author does not own would do,
# emulated without editing them: TYPER_USE_RICH=0 has the effect of `rich_markup_mode=None` on the
# Typer apps (plain Click help instead of Rich panels), and the wrapper below applies the proposed
# `gc` settings of owox_idp/cli/__init__.py (fewer collections while modules load, none at exit).
GC_WRAPPER = (
    "import gc, sys; gc.set_threshold(100_000, 50, 50)\n"
    "from owox_idp.cli import main\n"
    "try:\n    main()\nfinally:\n    gc.freeze()\n"
)


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
        print("   what-if (changes proposed in files owned by others, emulated here):")
        plain_help = {**env, "TYPER_USE_RICH": "0"}
        t = median_wall([*idp, "--help"], plain_help, args.runs)
        report(
            "idp --help, plain Click help", t, "s", 'python -c "import typer"', anchor, t / anchor, "<= 2x"
        )
        for label, extra, extra_env in (
            ("idp --help, plain help + gc settings", ["--help"], plain_help),
            ("idp list-users, gc settings", ["list-users"], env),
        ):
            cmd = [sys.executable, "-c", GC_WRAPPER, *extra]
            t = median_wall(cmd, extra_env, args.runs)
            report(label, t, "s", 'python -c "import typer"', anchor, t / anchor, "<= 2x")
        print("   import time of `idp list-users` by package (one run, seconds; nested figures):")
        script = idp[0] if len(idp) == 1 else None
        argv = [script, "list-users"] if script else ["-m", "owox_idp", "list-users"]
        for name, seconds in list(import_breakdown(argv, env).items())[:10]:
            print(f"     {name:<28} {seconds:.3f}")


if __name__ == "__main__":
    main()
