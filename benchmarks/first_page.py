"""First page (100, newest first) of `list-users` and `list-sessions` on 1,000,000 users and 1,000,000
sessions, SQLite and PostgreSQL, after `idp migrate --indexes`, against the anchor: the real Better Auth
server's admin list-users sorted by createdAt (GET /admin/list-users?sortBy=createdAt&
sortDirection=desc&limit=100) on the same database as Better Auth's own migration leaves it (before
idp's indexes; the server's figure with them is printed too, since they speed up its query as well).
Target: idp >= 10x faster.

idp's figure is the command's own work once the interpreter is up (settings, connect, schema check, the
query, rows to records), median of repeated calls in one process: that is what the server's request
latency measures too (the server is up, its code is loaded). The full `idp list-users` wall time,
start-up included, is printed for information, as is the first page without idp's indexes.

    python benchmarks/first_page.py [--dialect sqlite|postgresql|both] [--users 1000000]
                                    [--sessions 1000000] [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from _common import (
    Server,
    fresh_database,
    header,
    idp_command,
    idp_env,
    median_wall,
    migrate,
    report,
    seed_users_and_sessions,
)


def in_process(db_url: str, runs: int) -> tuple[float, float]:
    """Median seconds for the first page of list-users and of list-sessions, as the commands do it."""
    os.environ.update(idp_env(db_url))
    from owox_idp.clock import now
    from owox_idp.config import load_settings
    from owox_idp.context import Env
    from owox_idp.services import sessions, users

    def users_page() -> int:
        env = Env.from_settings(load_settings())
        try:
            with env.store(write=False) as store:
                rows = users.list_users(store, limit=100)
        finally:
            env.close()
        return len(rows)

    def sessions_page() -> int:
        env = Env.from_settings(load_settings())
        try:
            with env.store(write=False) as store:
                rows = sessions.list_sessions(store, limit=100, now=now())
        finally:
            env.close()
        return len(rows)

    def median(fn: Callable[[], int]) -> float:
        assert fn() == 100
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    return median(users_page), median(sessions_page)


def breakdown(db_url: str, runs: int) -> dict[str, float]:
    """Where list-users' first page spends its time (median ms per phase), to show what is left."""
    os.environ.update(idp_env(db_url))
    from owox_idp.config import load_settings
    from owox_idp.context import Env, check_schema
    from owox_idp.db.engine import connect
    from owox_idp.services import users

    phases: dict[str, list[float]] = {"connect": [], "schema check": [], "query and records": []}
    if env_dialect(db_url) == "postgresql":
        phases["what-if: schema check as one catalog query"] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        env = Env.from_settings(load_settings())
        conn = connect(env.engine(), write=False)
        t1 = time.perf_counter()
        with conn.begin():
            check_schema(conn, env)
            t2 = time.perf_counter()
            users.list_users(env.store_on(conn), limit=100)
            t3 = time.perf_counter()
            measured = [t1 - t0, t2 - t1, t3 - t2]
            if len(phases) == 4:  # what one query on the catalog (instead of reflection) would cost
                tables = [env.layout.table(m.name) for m in env.models]
                conn.exec_driver_sql(
                    "select c.relname, a.attname, a.attnotnull, a.atthasdef from pg_attribute a "
                    "join pg_class c on c.oid = a.attrelid "
                    "where c.relnamespace = current_schema()::regnamespace and c.relname = any(%(t)s) "
                    "and a.attnum > 0 and not a.attisdropped",
                    {"t": tables},
                ).fetchall()
                measured.append(time.perf_counter() - t3)
        conn.close()
        env.close()
        for key, value in zip(phases, measured, strict=True):
            phases[key].append(value * 1000)
    return {key: statistics.median(values) for key, values in phases.items()}


def env_dialect(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def server_latency(server: Server, runs: int) -> float:
    conn = server.connection()
    path = "/api/auth/admin/list-users?limit=100&sortBy=createdAt&sortDirection=desc"
    status, _, body = server.request(conn, "GET", path)
    if status != 200 or body.count(b'"email"') != 100:
        raise SystemExit(f"admin list-users failed: {status} {body[:300]!r}")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        server.request(conn, "GET", path)
        times.append(time.perf_counter() - start)
    conn.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dialect", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    header(f"first page of 100, newest first, on {args.users:,} users / {args.sessions:,} sessions (ms)")
    for dialect in ("sqlite", "postgresql") if args.dialect == "both" else (args.dialect,):
        with fresh_database(dialect) as db:
            migrate(db)
            seed_users_and_sessions(db, args.users, args.sessions)
            before_users, before_sessions = in_process(db.url, 3)
            with Server(db) as server:  # the server on the schema Better Auth itself creates
                server.sign_in_admin()
                anchor = server_latency(server, args.runs)
            start = time.perf_counter()
            migrate(db, indexes=True)
            print(f"   {dialect}: idp migrate --indexes took {time.perf_counter() - start:.1f} s")
            with Server(db) as server:  # idp's indexes serve the server's query too
                server.sign_in_admin()
                anchor_indexed = server_latency(server, args.runs)
            users_s, sessions_s = in_process(db.url, args.runs)
            idp = idp_command()
            env = idp_env(db.url)
            cli_users = median_wall([*idp, "list-users", "--limit", "100", "--json"], env, 5)
            cli_sessions = median_wall([*idp, "list-sessions", "--limit", "100", "--json"], env, 5)
            name = "Better Auth admin list-users sortBy=createdAt"
            for label, value in (("list-users", users_s), ("list-sessions", sessions_s)):
                report(
                    f"idp {label} first page, {dialect}",
                    value * 1000,
                    "ms",
                    name,
                    anchor * 1000,
                    anchor / value,
                    ">= 10x",
                )
            parts = ", ".join(f"{k} {v:.1f} ms" for k, v in breakdown(db.url, args.runs).items())
            print(f"   {dialect}: list-users first page by phase: {parts}")
            print(
                f"   for information, {dialect}: without idp's indexes list-users {before_users * 1000:,.1f} ms, "
                f"list-sessions {before_sessions * 1000:,.1f} ms; the server with idp's indexes "
                f"{anchor_indexed * 1000:,.1f} ms (ratio {anchor_indexed / users_s:.1f}x); whole command with "
                f"start-up: list-users {cli_users * 1000:,.0f} ms, list-sessions {cli_sessions * 1000:,.0f} ms"
            )


if __name__ == "__main__":
    main()
