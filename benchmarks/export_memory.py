"""`idp export --format jsonl` of 1,000,000 users (SQLite by default): peak RSS of the idp process
(target < 150 MB, whatever the number of users) and rows/s. The anchor is the same command's peak RSS
on 1,000 users: constant memory means the two stay close.

    python benchmarks/export_memory.py [--dialect sqlite|postgresql] [--users 1000000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from _common import fresh_database, header, idp_command, idp_env, migrate, report, seed_users_and_sessions


def export_once(db_url: str, out: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one `idp export` run, measured on that child process alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*idp_command(), "export", "--format", "jsonl", "--output", str(out)],
        env=idp_env(db_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"idp export failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dialect", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--users", type=int, default=1_000_000)
    args = parser.parse_args()
    header(f"idp export --format jsonl, {args.dialect} (peak RSS, MB; lower is better)")
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for count in (1_000, args.users):
            with fresh_database(args.dialect) as db:
                migrate(db)
                seed_users_and_sessions(db, count, 1)
                out = Path(tmp) / f"users-{count}.jsonl"
                seconds, rss = export_once(db.url, out)
                lines = sum(1 for _ in out.open("rb"))  # one JSON object per user
                if lines != count:
                    raise SystemExit(f"exported {lines:,} users, expected {count:,}")
                results[count] = (seconds, rss, lines)
                print(
                    f"   {count:,} users: {seconds:.1f} s, {lines / seconds:,.0f} rows/s, peak RSS {rss:.1f} MB"
                )
        small, big = results[1_000], results[args.users]
        report(
            f"idp export of {args.users:,} users, peak RSS",
            big[1],
            "MB",
            "the same export of 1,000 users",
            small[1],
            big[1] / small[1],
            "<= 1.2x",
        )
        print(
            f"   target: < 150 MB -> {'meets' if big[1] < 150 else 'MISSES'}; {big[2] / big[0]:,.0f} rows/s"
        )


if __name__ == "__main__":
    main()
