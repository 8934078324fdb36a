"""Start-up of the API key commands: median wall time of `idp api-key create` and `idp api-key list` (one
user, 20 keys, SQLite, the api-key plugin declared) against the anchor `python -c "import typer,
sqlalchemy"` (the two libraries every data command needs), all run by this interpreter directly (no
shim). Target: within 1.3x of the anchor. `idp list-users` on the same database is printed for
comparison. Also prints where `api-key create`'s import time goes.

    python benchmarks/apikey_startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
from collections.abc import Sequence

from _common import fresh_database, header, idp_command, idp_env, median_wall, report, run
from startup import import_breakdown

PLUGINS = "admin,two-factor,magic-link,api-key"
ANCHOR = 'python -c "import typer, sqlalchemy"'


def cpu(cmd: Sequence[str], env: dict[str, str]) -> float:
    """User + system CPU seconds of one run: less moved than wall time by other load on the machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(list(cmd), env=env, capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_cpu(cmd: Sequence[str], env: dict[str, str], runs: int) -> float:
    cpu(cmd, env)
    return statistics.median(cpu(cmd, env) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    header("api-key start-up (median wall time)")
    idp = idp_command()
    with fresh_database("sqlite") as db:
        env = idp_env(db.url, IDP_PLUGINS=PLUGINS)
        # an installed package has its .pyc files (pip compiles them); with PYTHONDONTWRITEBYTECODE set in
        # the shell, an editable install would compile owox_idp from source on every run (about 0.25 s)
        # while typer and SQLAlchemy load theirs: let the warm-up runs write them
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        run([*idp, "migrate", "--yes"], env)
        run([*idp, "add-user", "ci@example.com"], env)
        for i in range(20):
            run([*idp, "api-key", "create", "ci@example.com", "--name", f"seed {i}"], env)
        anchor = median_wall([sys.executable, "-c", "import typer, sqlalchemy"], env, args.runs)
        floor = median_wall([sys.executable, "-c", "pass"], env, args.runs)
        print(f"   (python -c pass: {floor:.3f} s)")
        create = ["api-key", "create", "ci@example.com", "--name", "bench", "--expires", "30d"]
        for label, extra in (
            ("idp api-key create (SQLite)", create),
            ("idp api-key create --json (SQLite)", [*create, "--json"]),
            ("idp api-key list (20 keys, SQLite)", ["api-key", "list"]),
            ("idp api-key list --json (20 keys, SQLite)", ["api-key", "list", "--json"]),
        ):
            t = median_wall([*idp, *extra], env, args.runs)
            report(label, t, "s", ANCHOR, anchor, t / anchor, "<= 1.3x")
        t = median_wall([*idp, "list-users"], env, args.runs)  # for comparison: another data command
        print(f"   (idp list-users, 1 user, same database: {t:.3f} s, {t / anchor:.2f}x the anchor)")
        print("   CPU time (user + system, median), the same commands:")
        anchor_cpu = median_cpu([sys.executable, "-c", "import typer, sqlalchemy"], env, args.runs)
        for label, extra in (
            ("idp api-key create, CPU", create),
            ("idp api-key list, CPU", ["api-key", "list"]),
        ):
            t = median_cpu([*idp, *extra], env, args.runs)
            report(label, t, "s", ANCHOR, anchor_cpu, t / anchor_cpu, "<= 1.3x")
        print("   import time of `idp api-key create` by package (one run, seconds; nested figures):")
        argv = [idp[0], *create] if len(idp) == 1 else ["-m", "owox_idp", *create]
        for name, seconds in list(import_breakdown(argv, env).items())[:10]:
            print(f"     {name:<28} {seconds:.3f}")


if __name__ == "__main__":
    main()
