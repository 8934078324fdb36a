"""Issue 15's targets for `idp import` at scale, each with its anchor measured in the same run:

1. N passwordless users with links (`--links`), PostgreSQL: vs the real Better Auth server's admin
   create-user (2 keep-alive clients, `import_passwordless.server_rate`) and vs the database's floor,
   `INSERT ... SELECT generate_series` of the same rows (the user rows and two verification rows each,
   in one statement per table, on the same migrated schema). Targets: >= 50x the server, >= 20,000 users/s.
2. The same on SQLite: vs the server on SQLite (>= 50x) and vs a bare executemany of the same rows (one
   transaction per 500 users, prepared statements, no idp logic: for information).
3. Peak memory (RSS of the idp process) of the SQLite import of N users: < 150 MB for 1M.
4. N users from an Auth0 bulk export (NDJSON, `--from auth0`) vs the same rows in idp's own CSV, both
   with --links, on PostgreSQL: <= 1.2x the CSV's wall time.

idp's figures are the whole command (start-up, both passes over the file, every batch committed), in
the better-auth flavor. `uptime` is printed before and after: on a shared machine the load moves every
figure (the ratios are taken within one run).

    python benchmarks/import_million.py [--users 1000000] [--anchor-users 2000]
                                        [--parts postgresql,sqlite,auth0]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _common import Database, fresh_database, header, idp_command, idp_env, migrate, report
from import_passwordless import server_rate


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def write_csv(path: Path, users: int) -> None:
    with path.open("w") as out:
        out.write("email,name,role\n")
        for i in range(users):
            out.write(f"user{i}@example.com,User {i},user\n")


def write_auth0(path: Path, users: int) -> None:
    """Auth0's bulk user export (`"format": "json"`): one user a line, database users without hashes."""
    with path.open("w") as out:
        for i in range(users):
            out.write(
                json.dumps(
                    {
                        "user_id": f"auth0|{i:024x}",
                        "email": f"user{i}@example.com",
                        "email_verified": True,
                        "name": f"User {i}",
                        "created_at": "2024-01-02T03:04:05.678Z",
                        "identities": [
                            {
                                "connection": "Username-Password-Authentication",
                                "provider": "auth0",
                                "user_id": f"{i:024x}",
                                "isSocial": False,
                            }
                        ],
                    },
                    separators=(",", ":"),
                )
                + "\n"
            )


def idp_import(db: Database, src: Path, *extra: str) -> tuple[float, float]:
    """(seconds, peak RSS MB) of one `idp import SRC --links FILE`, measured on that process alone."""
    links = src.with_suffix(".links.csv")
    links.unlink(missing_ok=True)
    # stderr to a file: an export's per-row notes would fill a pipe nobody reads until the end
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*idp_command(), "import", str(src), "--links", str(links), *extra],
            env=idp_env(db.url),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"idp import failed: {err.read()[-2000:].decode(errors='replace')}")
    links.unlink(missing_ok=True)
    return seconds, usage.ru_maxrss / 1024


def postgres_floor(db: Database, users: int) -> float:
    """Seconds for the database alone to insert the same rows: users and two link rows each, with ids
    in idp's time-ordered shape (an ordered prefix, then random symbols) and random tokens."""
    import psycopg

    with psycopg.connect(db.url) as conn:
        start = time.perf_counter()
        conn.execute(
            'INSERT INTO "user" (id, name, email, "emailVerified", image, "createdAt", "updatedAt", role) '
            "SELECT lpad(i::text, 9, '0') || left(md5(i::text), 23), 'User ' || i, 'user' || i || '@example.com', true, null, now(), now(), "
            "'user' FROM generate_series(0, %s - 1) AS i",
            (users,),
        )
        conn.execute(
            'INSERT INTO verification (id, identifier, value, "expiresAt", "createdAt", "updatedAt") '
            "SELECT lpad(i::text, 9, '0') || left(md5('v' || i::text), 23), CASE WHEN i %% 2 = 0 THEN '' ELSE 'magic-link:' END || "
            'md5(\'t\' || (i / 2)::text), \'{"type":"magic-link","email":"user\' || (i / 2) || '
            "'@example.com\"}', now() + interval '1 hour', now(), now() "
            "FROM generate_series(0, 2 * %s - 1) AS i",
            (users,),
        )
        conn.commit()
        return time.perf_counter() - start


def sqlite_floor(db: Database, users: int, batch: int = 500) -> float:
    """Seconds for a bare executemany of the same rows, one transaction per `batch` users: ids in idp's
    time-ordered shape (an ordered prefix, then random symbols), random tokens, SQLite's default cache."""
    import secrets

    counter = iter(range(10**9))

    def new_id() -> str:
        return f"{next(counter):09d}" + secrets.token_hex(12)[:23]

    conn = sqlite3.connect(db.node_url, isolation_level=None)
    now = "2026-12-01T00:00:00.000Z"
    later = "2026-12-01T01:00:00.000Z"

    def chunks() -> Iterator[tuple[list[tuple[object, ...]], list[tuple[object, ...]]]]:
        for start in range(0, users, batch):
            people, links = [], []
            for i in range(start, min(users, start + batch)):
                people.append((new_id(), f"User {i}", f"user{i}@example.com", 1, now, now, "user"))
                token = secrets.token_hex(16)
                value = f'{{"type":"magic-link","email":"user{i}@example.com"}}'
                links.append((new_id(), token, value, later, now, now))
                links.append((new_id(), "magic-link:" + token, value, later, now, now))
            yield people, links

    start = time.perf_counter()
    for people, links in chunks():
        conn.execute("BEGIN")
        conn.executemany(
            'INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt", role) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            people,
        )
        conn.executemany(
            'INSERT INTO verification (id, identifier, value, "expiresAt", "createdAt", "updatedAt") '
            "VALUES (?, ?, ?, ?, ?, ?)",
            links,
        )
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--anchor-users", type=int, default=2_000)
    parser.add_argument("--parts", default="postgresql,sqlite,auth0")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    n = args.users
    header(f"import {n:,} passwordless users with links (users/s, higher is better)")
    print(f"   load average at start: {load()}")
    with tempfile.TemporaryDirectory(prefix="idp-bench-") as tmp:
        csv_file = Path(tmp) / "users.csv"
        write_csv(csv_file, n)
        for dialect in ("postgresql", "sqlite"):
            if dialect not in parts:
                continue
            anchor = server_rate(dialect, args.anchor_users)
            with fresh_database(dialect) as db:
                migrate(db)
                seconds, peak = idp_import(db, csv_file)
            ours = n / seconds
            report(
                f"idp import {n:,}, {dialect}",
                ours,
                "users/s",
                "Better Auth admin create-user x2 clients",
                anchor,
                ours / anchor,
                ">= 50x",
            )
            with fresh_database(dialect) as db:
                migrate(db)
                floor = n / (postgres_floor(db, n) if dialect == "postgresql" else sqlite_floor(db, n))
            what = (
                "INSERT ... SELECT generate_series, same rows"
                if dialect == "postgresql"
                else "bare executemany, same rows, a transaction per 500"
            )
            report(f"idp import {n:,}, {dialect}", ours, "users/s", what, floor, ours / floor, ">= 0x")
            if dialect == "postgresql":
                print(f"   absolute target >= 20,000 users/s: {'meets' if ours >= 20_000 else 'MISSES'}")
            print(f"   peak RSS of that idp import: {peak:,.1f} MB (target < 150 MB for 1M rows)")
            print(f"   load average now: {load()}")
        if "auth0" in parts:
            auth0 = Path(tmp) / "auth0.json"
            write_auth0(auth0, n)
            with fresh_database("postgresql") as db:
                migrate(db)
                own, _ = idp_import(db, csv_file)
            with fresh_database("postgresql") as db:
                migrate(db)
                theirs, peak = idp_import(db, auth0, "--from", "auth0")
            report(
                f"idp import --from auth0 of {n:,}, postgresql",
                theirs,
                "s",
                "the same rows in idp's CSV",
                own,
                theirs / own,
                "<= 1.2x",
            )
            print(f"   peak RSS of the Auth0 import: {peak:,.1f} MB; load average now: {load()}")


if __name__ == "__main__":
    main()
