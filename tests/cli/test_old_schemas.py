"""Databases created by older Better Auth versions (additive migrations keep the old types)."""

from __future__ import annotations

import sqlalchemy as sa
from idp_runner import IdpRunner

# Better Auth 1.3.x on MySQL: datetime (second precision, no default), plain text strings, no indexes
OLD_MYSQL = [
    "create table `user` (`id` varchar(36) not null primary key, `name` text not null, `email` varchar(255) not null unique, `emailVerified` boolean not null, `image` text, `createdAt` datetime not null, `updatedAt` datetime not null)",
    "create table `session` (`id` varchar(36) not null primary key, `expiresAt` datetime not null, `token` varchar(255) not null unique, `createdAt` datetime not null, `updatedAt` datetime not null, `ipAddress` text, `userAgent` text, `userId` varchar(36) not null references `user` (`id`))",
    "create table `account` (`id` varchar(36) not null primary key, `accountId` text not null, `providerId` text not null, `userId` varchar(36) not null references `user` (`id`), `accessToken` text, `refreshToken` text, `idToken` text, `accessTokenExpiresAt` datetime, `refreshTokenExpiresAt` datetime, `scope` text, `password` text, `createdAt` datetime not null, `updatedAt` datetime not null)",
    "create table `verification` (`id` varchar(36) not null primary key, `identifier` text not null, `value` text not null, `expiresAt` datetime not null, `createdAt` datetime, `updatedAt` datetime)",
    "insert into `user` (`id`, `name`, `email`, `emailVerified`, `createdAt`, `updatedAt`) values ('olduser0000000000000000000000001', 'Old Admin', 'old@example.com', 1, '2025-09-01 10:00:00', '2025-09-01 10:00:00')",
]


def test_mysql_schema_from_better_auth_1_3(idp_mariadb: IdpRunner) -> None:
    idp = idp_mariadb
    engine = sa.create_engine(idp.db.sa_url)
    with engine.begin() as conn:
        for statement in OLD_MYSQL:
            conn.exec_driver_sql(statement)
    engine.dispose()
    r = idp("migrate", "--sql")
    assert r.exit_code == 0, r.stderr
    # the organization tables are created; nothing existing is altered
    assert "alter table" not in r.stdout.lower().replace("alter table `session` add column", "")
    assert "create table `organization`" in r.stdout
    assert "drop" not in r.stdout.lower()
    idp.migrate()
    assert idp("set-role", "old@example.com", "admin").exit_code == 0
    shown = idp("show-user", "old@example.com", "--json").json()
    assert shown["created_at"] == "2025-09-01T10:00:00.000Z" and shown["role"] == "admin"
    assert idp("add-user", "new@example.com", "--json").exit_code == 0
    emails = [u["email"] for u in idp("list-users", "--json").json()]
    assert emails == ["new@example.com", "old@example.com"]


def test_sqlite_without_indexes_gets_them(idp_sqlite: IdpRunner) -> None:
    idp_sqlite.migrate()
    engine = sa.create_engine(idp_sqlite.db.sa_url)
    with engine.begin() as conn:
        for name in ("session_userId_idx", "account_userId_idx", "verification_identifier_idx"):
            conn.exec_driver_sql(f'drop index "{name}"')
    engine.dispose()
    info = idp_sqlite("info", "--json").json()
    assert info["schema"]["status"] == "indexes-missing"
    assert idp_sqlite("list-users").exit_code == 0  # missing indexes do not block commands
    r = idp_sqlite("migrate", "--sql")
    assert len(r.stdout.splitlines()) == 3 and all(
        s.startswith("create index") for s in r.stdout.splitlines()
    )
