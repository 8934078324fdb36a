"""Every write command once, on a seeded database, and the locks another connection can hold."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from faultkit import Db
from idp_runner import IdpRunner


@dataclass(frozen=True)
class Write:
    name: str
    args: tuple[str, ...]
    stdin: bytes | None = None
    flavors: tuple[str, ...] = ("owox", "better-auth")
    updates: bool = False  # changes rows that exist (so that a row lock on them blocks it)
    bulk: bool = False  # commits in batches, then its audit entry in a transaction of its own
    late: str = "idp_audit"  # a table it writes last in its transaction (its audit entry, as a rule)


def writes(tmp_path: Path, flavor: str) -> list[Write]:
    """The write commands, each on a user of its own (so that they can run in any order)."""
    role = "editor" if flavor == "owox" else "admin"
    more = tmp_path / "more.csv"
    more.write_text("email,password\nimp1@example.com,\nimp2@example.com,a-long-password-2\n")
    found = [
        Write("add-user", ("add-user", "new@example.com")),
        Write("bootstrap-admin", ("bootstrap-admin", "boot@example.com")),
        Write("set-role", ("set-role", "role@example.com", role), updates=True),
        Write("ban", ("ban", "ban@example.com", "--yes"), updates=True),
        Write("delete-user", ("delete-user", "del@example.com", "--yes"), updates=True),
        Write("revoke-sessions", ("revoke-sessions", "sess@example.com", "--yes")),
        Write(
            "reset-password",
            ("reset-password", "pw@example.com", "--password-stdin", "--yes"),
            stdin=b"a-new-long-password\n",
            updates=True,
        ),
        Write("issue-link", ("issue-link", "link@example.com"), late="verification"),  # not audited
        Write(
            "update-user", ("update-user", "upd@example.com", "--name", "New Name"), updates=True, late="user"
        ),  # not audited
        Write("import", ("import", str(more), "--if-missing"), bulk=True),  # audited after its batches
        Write("2fa enable", ("2fa", "enable", "tfa@example.com"), flavors=("better-auth",), updates=True),
    ]
    return [w for w in found if flavor in w.flavors]


SEEDED = ("admin0", "role", "ban", "del", "sess", "pw", "link", "upd", "tfa")


def seed(idp: IdpRunner, tmp_path: Path) -> None:
    admin = "admin"
    src = tmp_path / "seed.csv"
    src.write_text(
        "email,role,password\n"
        + f"admin0@example.com,{admin},an-admin-password\n"
        + "".join(f"{u}@example.com,,{'a-long-password' if u == 'pw' else ''}\n" for u in SEEDED[1:])
    )
    r = idp("import", str(src))
    assert r.exit_code == 0, r.stderr


class Holder:
    """Another connection holding a lock: `table` (SQLite: the whole database), or `rows` of a table."""

    def __init__(self, dialect: str, sa_url: str, db_path: str | None) -> None:
        self.dialect = dialect
        self.sa_url = sa_url
        self.db_path = db_path

    @contextmanager
    def table(self, table: str) -> Iterator[None]:
        if self.dialect == "sqlite":
            assert self.db_path is not None
            conn = sqlite3.connect(self.db_path, isolation_level=None)
            conn.execute("BEGIN EXCLUSIVE")
            try:
                yield
            finally:
                conn.execute("ROLLBACK")
                conn.close()
            return
        engine = sa.create_engine(self.sa_url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            if self.dialect == "postgresql":
                conn.exec_driver_sql(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
            else:
                conn.exec_driver_sql(f"LOCK TABLES `{table}` WRITE")
            try:
                yield
            finally:
                if self.dialect == "mariadb":
                    conn.exec_driver_sql("UNLOCK TABLES")
                conn.rollback()
        engine.dispose()

    @contextmanager
    def rows(self, table: str) -> Iterator[None]:
        """Row locks (SELECT ... FOR UPDATE) on every row of `table` and of the tables that hang off it
        (member, account, twoFactor); SQLite has none: the database."""
        if self.dialect == "sqlite":
            with self.table(table):
                yield
            return
        engine = sa.create_engine(self.sa_url, poolclass=sa.pool.NullPool)
        q = "`" if self.dialect == "mariadb" else '"'
        found = set(sa.inspect(engine).get_table_names())
        with engine.connect() as conn:
            for name in (table, "member", "account", "twoFactor"):
                if name in found:
                    conn.exec_driver_sql(f"SELECT * FROM {q}{name}{q} FOR UPDATE").fetchall()
            try:
                yield
            finally:
                conn.rollback()
        engine.dispose()


def waiting(other: Db) -> int:
    """How many other connections wait for a lock now (PostgreSQL, MariaDB); SQLite cannot tell."""
    if other.dialect == "postgresql":
        return int(
            other.rows(
                "select count(*) as n from pg_stat_activity where datname = current_database() "
                "and wait_event_type = 'Lock'"
            )[0]["n"]
        )
    if other.dialect == "mariadb":
        tables = other.rows(
            "select count(*) as n from information_schema.processlist where db = database() "
            "and state like 'Waiting for table%'"
        )[0]["n"]
        rows = other.rows(
            "select count(*) as n from information_schema.innodb_trx where trx_state = 'LOCK WAIT'"
        )
        return int(tables) + int(rows[0]["n"])
    return 0
