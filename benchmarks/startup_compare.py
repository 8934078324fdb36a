"""Start-up of two checkouts side by side: median wall time of `idp --version`, `idp --help` and
`idp list-users` (100 users, SQLite, owox flavor), each checkout run by the console script of its own
virtual environment, the two alternating run by run (which goes first alternates too), so that the load
of a shared machine falls on both alike. Each checkout needs `.venv` with idp installed in it.

    git worktree add ../before <commit>; (cd ../before && python3 -m venv .venv && .venv/bin/pip install -e .)
    python benchmarks/startup_compare.py ../before . [--runs 41]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _common import header, idp_env, run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--runs", type=int, default=41)
    args = parser.parse_args()
    header("start-up, two checkouts alternating (median wall time)")
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    users = "email,role\n" + "".join(f"user{i}@example.com,editor\n" for i in range(100))
    with tempfile.TemporaryDirectory() as tmp:
        envs, idps = {}, {}
        for name, tree in trees.items():
            idps[name] = str(tree / ".venv" / "bin" / "idp")
            envs[name] = idp_env(f"sqlite:///{tmp}/{name}.db", flavor="owox")
            run([idps[name], "migrate", "--yes"], envs[name])
            run([idps[name], "import", "-"], envs[name], input=users.encode())
        commands = (["--version"], ["--help"], ["list-users"])
        times: dict[tuple[str, int], list[float]] = {(n, c): [] for n in trees for c in range(len(commands))}
        for name in trees:  # warm the page cache and write the .pyc files
            for command in commands:
                run([idps[name], *command], envs[name])
        for i in range(args.runs):
            for c, command in enumerate(commands):
                for name in list(trees) if i % 2 == 0 else list(trees)[::-1]:
                    start = time.perf_counter()
                    run([idps[name], *command], envs[name])
                    times[(name, c)].append(time.perf_counter() - start)
    print(f"   before: {trees['before']}\n   after:  {trees['after']}")
    for c, command in enumerate(commands):
        before = statistics.median(times[("before", c)])
        after = statistics.median(times[("after", c)])
        label = f"idp {' '.join(command)}"
        print(f"   {label:<16} before {before:.3f} s | after {after:.3f} s | ratio {after / before:.2f}x")


if __name__ == "__main__":
    main()
