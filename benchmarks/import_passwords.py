"""Import 1,000 users with passwords (`idp import`, SQLite) against the anchor: the scrypt floor on all
cores, i.e. `hashlib.scrypt` with Better Auth's parameters (N=16384, r=16, p=1, dkLen=64) in one process
per core, with nothing else to do. Target: idp >= 0.9x the floor's rate.

idp's figure is the whole command's wall time (start-up, validation, hashing, every batch committed).

    python benchmarks/import_passwords.py [--users 1000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from _common import fresh_database, header, idp_command, idp_env, migrate, report, wall


def _scrypt(i: int) -> str:
    salt = os.urandom(16).hex()
    key = hashlib.scrypt(
        f"password-{i:06d}".encode(),
        salt=salt.encode(),
        n=16384,
        r=16,
        p=1,
        dklen=64,
        maxmem=64 * 1024 * 1024,
    )
    return f"{salt}:{key.hex()}"


def floor_rate(count: int) -> float:
    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=cores) as pool:
        list(pool.map(_scrypt, range(cores)))  # start the workers before the clock
        start = time.perf_counter()
        list(pool.map(_scrypt, range(count), chunksize=max(1, count // (cores * 8))))
        return count / (time.perf_counter() - start)


def idp_rate(count: int) -> float:
    with fresh_database("sqlite") as db, tempfile.TemporaryDirectory() as tmp:
        migrate(db)
        src = Path(tmp) / "users.csv"
        src.write_text(
            "email,password\n" + "".join(f"user{i}@example.com,password-{i:06d}\n" for i in range(count))
        )
        seconds = wall([*idp_command(), "import", str(src)], idp_env(db.url))
        return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    args = parser.parse_args()
    header(f"import {args.users:,} users with passwords (users/s, higher is better)")
    floor = floor_rate(args.users)
    ours = idp_rate(args.users)
    report(
        "idp import with passwords, SQLite",
        ours,
        "users/s",
        f"scrypt floor on {os.cpu_count()} cores",
        floor,
        ours / floor,
        ">= 0.9x",
    )


if __name__ == "__main__":
    main()
