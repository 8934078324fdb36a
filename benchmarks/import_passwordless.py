"""Import 10,000 passwordless users with `idp import` (SQLite and PostgreSQL) against the anchor: the
real Better Auth server's admin create-user without a password, driven by 2 concurrent clients (HTTP
keep-alive), on the same kind of database. Target: idp >= 10x the server's users/s.

idp's figure is the whole command's wall time (start-up, validation, every batch committed), in the
better-auth flavor (the anchor's server profile); the owox flavor is printed for information. Both
with --links (a sign-in link per user), which the server does not do.

    python benchmarks/import_passwordless.py [--dialect sqlite|postgresql|both] [--users 10000]
                                             [--anchor-users 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from _common import Server, fresh_database, header, idp_command, idp_env, migrate, report, wall


def idp_rate(dialect: str, users: int, flavor: str) -> float:
    with fresh_database(dialect) as db, tempfile.TemporaryDirectory() as tmp:
        migrate(db, flavor=flavor)
        role = "editor" if flavor == "owox" else "user"
        src = Path(tmp) / "users.csv"
        src.write_text(
            "email,name,role\n" + "".join(f"user{i}@example.com,User {i},{role}\n" for i in range(users))
        )
        seconds = wall(
            [*idp_command(), "import", str(src), "--links", str(Path(tmp) / "links.csv")],
            idp_env(db.url, flavor),
        )
        return users / seconds


def server_rate(dialect: str, users: int, clients: int = 2) -> float:
    with fresh_database(dialect) as db:
        migrate(db)
        with Server(db) as server:
            server.sign_in_admin()
            errors: list[str] = []

            def client(offset: int) -> None:
                conn = server.connection()
                for i in range(offset, users, clients):
                    status, _, body = server.request(
                        conn,
                        "POST",
                        "/api/auth/admin/create-user",
                        {"email": f"user{i}@example.com", "name": f"User {i}", "role": "user"},
                    )
                    if status != 200:
                        errors.append(f"{status} {body[:200]!r}")
                        return
                conn.close()

            # warm-up: the first requests compile code paths and open the pool
            warm = server.connection()
            for i in range(20):
                server.request(
                    warm,
                    "POST",
                    "/api/auth/admin/create-user",
                    {"email": f"warm{i}@example.com", "name": "w"},
                )
            warm.close()
            threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.perf_counter() - start
            if errors:
                raise SystemExit(f"the server refused a create-user: {errors[0]}")
            return users / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dialect", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--anchor-users", type=int, default=2_000)
    args = parser.parse_args()
    header(f"import {args.users:,} passwordless users (users/s, higher is better)")
    for dialect in ("sqlite", "postgresql") if args.dialect == "both" else (args.dialect,):
        anchor = server_rate(dialect, args.anchor_users)
        ours = idp_rate(dialect, args.users, "better-auth")
        report(
            f"idp import, better-auth flavor, {dialect}",
            ours,
            "users/s",
            "Better Auth admin create-user x2 clients",
            anchor,
            ours / anchor,
            ">= 10x",
        )
        owox = idp_rate(dialect, args.users, "owox")
        report(
            f"idp import, owox flavor, {dialect}",
            owox,
            "users/s",
            "Better Auth admin create-user x2 clients",
            anchor,
            owox / anchor,
            ">= 10x",
        )


if __name__ == "__main__":
    main()
