"""Users and their accounts (the `credential` account holds the password)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, RowMapping

from owox_idp.errors import DatabaseBusy, UserExists
from owox_idp.models import User
from owox_idp.repository.bans import BanStore
from owox_idp.repository.base import Part, escape_like, placeholder
from owox_idp.repository.roles import RoleStore
from owox_idp.repository.tables import Tables

CREDENTIAL = "credential"
PASSWORD_HASH_KEY = "password_hash"  # the Rust port's users.metadata key (crates/core/src/entity.rs:32)
ADMIN_LOCK_KEY = 4_711_031_337  # pg_advisory_xact_lock key of `lock_admins`
WRITE_LOCK_INFO = "idp_write_lock"  # Connection.info key: the write lock is held
# MySQL's named locks belong to the whole server, not to a database: the name carries the database, so
# that idp runs on two databases of one server (two deployments, two test databases) do not wait for each
# other. A lock name is at most 64 characters; a database name can be 64 alone, so a longer name is cut
# (two databases that share the first 53 characters then share a lock: slower, never wrong).
MYSQL_LOCK_NAME = "LEFT(CONCAT('idp_admins:', DATABASE()), 64)"


Sort = Literal["created", "email", "name"]  # the orders of list-users --sort


@dataclass(frozen=True)
class UserFilter:
    role: str | None = None
    search: str | None = None
    banned: bool | None = None
    limit: int | None = None
    offset: int = 0
    after: tuple[datetime, str] | None = None  # keyset cursor: (createdAt, id) of the last row seen
    verified: bool | None = None
    no_role: bool = False  # only users without a role (OWOX: no member row in the organization)
    sort: Sort = "created"
    ascending: bool = False


class UserRepository(Part):
    def __init__(self, conn: Connection, tables: Tables, *, roles: RoleStore, bans: BanStore) -> None:
        super().__init__(conn, tables)
        self.roles = roles
        self.bans = bans

    def has_column(self, field: str) -> bool:
        return field in self.t["user"].c

    @property
    def _in_metadata(self) -> bool:
        """The Rust port keeps the hash sign-in reads in `users.metadata.password_hash` (entity.rs:32,
        56-60) and never reads `accounts.password`; its admin plugin writes both (admin/handlers.rs:59-97)."""
        return "metadata" in self.t["user"].c

    def _password_present(self, u: Any) -> ColumnElement[bool]:
        """SQL: the user has a password the server verifies."""
        if self._in_metadata:
            stored = u.c.metadata[PASSWORD_HASH_KEY].as_string()
            return and_(stored.is_not(None), stored != "")
        a = self.t["account"]
        return exists().where(
            a.c.userId == u.c.id,
            a.c.providerId == CREDENTIAL,
            a.c.password.is_not(None),
            a.c.password != "",
        )

    # ------------------------------------------------------------------ reading users
    def _select(self) -> Any:
        u = self.t["user"]
        has_password = self._password_present(u).label("has_password")
        cols: list[Any] = [
            u.c.id,
            u.c.name,
            u.c.email,
            u.c.emailVerified,
            u.c.createdAt,
            u.c.updatedAt,
            has_password,
            self.roles.role_column(u),
            *self.bans.columns(u),
        ]
        if "twoFactorEnabled" in u.c:
            cols.append(u.c.twoFactorEnabled)
        return select(*cols).select_from(u)

    @staticmethod
    def _to_user(row: RowMapping) -> User:
        return User(
            id=str(row["id"]),  # serial ids are integers in the database, strings everywhere in idp
            name=row["name"],
            email=row["email"],
            email_verified=bool(row["emailVerified"]),
            created_at=row["createdAt"],
            updated_at=row["updatedAt"],
            role=row.get("role"),
            banned=bool(row.get("banned") or False),
            ban_reason=row.get("banReason"),
            ban_expires=row.get("banExpires"),
            two_factor_enabled=bool(row.get("twoFactorEnabled") or False),
            has_password=bool(row["has_password"]),
        )

    def find_by_email(self, email: str) -> User | None:
        u = self.t["user"]
        stmt = self._select()
        row = self.conn.execute(stmt.where(u.c.email == email.lower())).mappings().first()
        if row is None:  # rows written by other tools may keep mixed case
            row = (
                self.conn.execute(stmt.where(func.lower(u.c.email) == email.lower()).order_by(u.c.createdAt))
                .mappings()
                .first()
            )
        return self._to_user(row) if row else None

    def find_by_id(self, user_id: str) -> User | None:
        u = self.t["user"]
        row = self.conn.execute(self._select().where(u.c.id == user_id)).mappings().first()
        return self._to_user(row) if row else None

    def _conditions(self, flt: UserFilter) -> list[ColumnElement[bool]]:
        u = self.t["user"]
        conds: list[ColumnElement[bool]] = []
        if flt.search:
            pattern = f"%{escape_like(flt.search.lower())}%"
            conds.append(
                or_(
                    func.lower(u.c.email).like(pattern, escape="\\"),
                    func.lower(u.c.name).like(pattern, escape="\\"),
                )
            )
        if flt.role is not None:
            conds.append(self.roles.has_role(u, flt.role))
        if flt.no_role:
            conds.append(self.roles.has_no_role(u))
        if flt.banned is not None:
            conds.append(self.bans.banned(u) if flt.banned else self.bans.not_banned(u))
        if flt.verified is not None:
            conds.append(u.c.emailVerified == flt.verified)
        return conds

    def query(self, flt: UserFilter) -> list[User]:
        u = self.t["user"]
        stmt = self._select()
        conds = self._conditions(flt)
        if flt.after is not None:
            conds += self.after(u, flt.after, ascending=flt.ascending)
        if conds:
            stmt = stmt.where(and_(*conds))
        key = {"created": u.c.createdAt, "email": u.c.email, "name": u.c.name}[flt.sort]
        if flt.ascending:
            stmt = stmt.order_by(key.asc(), u.c.id.asc())
        else:
            stmt = stmt.order_by(key.desc(), u.c.id.desc())
        if flt.limit is not None:
            stmt = stmt.limit(flt.limit)
        if flt.offset:
            stmt = stmt.offset(flt.offset)
        return [self._to_user(r) for r in self.conn.execute(stmt).mappings()]

    def count_matching(self, flt: UserFilter) -> int:
        """How many users match the filter's conditions (its paging is ignored)."""
        u = self.t["user"]
        stmt = select(func.count()).select_from(u)
        conds = self._conditions(flt)
        if conds:
            stmt = stmt.where(and_(*conds))
        return int(self.conn.execute(stmt).scalar_one())

    def by_emails(self, emails: Sequence[str], *, chunk: int = 500) -> dict[str, User]:
        """Existing users whose stored email is one of `emails` (lower-case), keyed by lower-case email;
        one query per `chunk` emails, on the unique index."""
        u = self.t["user"]
        # the emails are a parameter, not part of the statement: SQLAlchemy's statement cache would
        # otherwise keep every chunk's emails alive (a streamed import's memory grew with its size)
        stmt = self._select().where(u.c.email.in_(bindparam("emails", expanding=True)))
        found: dict[str, User] = {}
        hits = self._stored_emails(emails, chunk=chunk)  # usually none: only those are read whole
        for start in range(0, len(hits), chunk):
            for row in self.conn.execute(stmt, {"emails": hits[start : start + chunk]}).mappings():
                user = self._to_user(row)
                found.setdefault(user.email.lower(), user)
        return found

    def _stored_emails(self, emails: Sequence[str], *, chunk: int) -> list[str]:
        """Which of `emails` are stored exactly so: one lean query on the unique index per `chunk`
        emails, sent as the driver's own statement (an import asks this for every batch, and
        SQLAlchemy's compiling of a 500-value IN cost more than the lookup)."""
        u = self.t["user"]
        dialect = self.conn.dialect
        quote = dialect.identifier_preparer
        target, column = quote.format_table(u), quote.quote(u.c.email.name)
        found: list[str] = []
        postgresql = dialect.name == "postgresql"
        if postgresql:
            # A table an import is filling has never been analysed: PostgreSQL then plans a sequential
            # scan for 2,000 emails (18 ms at 100,000 users, growing with the table) instead of 2,000
            # probes of the unique index (8 ms). Only these statements, only this transaction.
            self.conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for start in range(0, len(emails), chunk):
            part = list(emails[start : start + chunk])
            if postgresql:  # one array parameter instead of one per email
                sql = f"SELECT {column} FROM {target} WHERE {column} = ANY(%(emails)s::text[])"
                rows = self.conn.exec_driver_sql(sql, {"emails": part})
            else:
                marks = ", ".join([placeholder(dialect)] * len(part))
                rows = self.conn.exec_driver_sql(
                    f"SELECT {column} FROM {target} WHERE {column} IN ({marks})", tuple(part)
                )
            found += [r[0] for r in rows]
        if postgresql:
            self.conn.exec_driver_sql("SET LOCAL enable_seqscan = DEFAULT")
        return found

    def with_mixed_case_email(self) -> list[User]:
        """Users whose stored email has upper-case letters (written by other tools): one scan."""
        u = self.t["user"]
        stmt = self._select().where(u.c.email != func.lower(u.c.email))
        return [self._to_user(r) for r in self.conn.execute(stmt).mappings()]

    def after_id(self, after_id: str | None, *, limit: int, role: str | None) -> list[User]:
        """One keyset page of users in primary-key order: constant memory, never an OFFSET."""
        u = self.t["user"]
        stmt = self._select()
        if after_id is not None:
            stmt = stmt.where(u.c.id > after_id)
        if role is not None:
            stmt = stmt.where(self.roles.has_role(u, role))
        stmt = stmt.order_by(u.c.id).limit(limit)
        return [self._to_user(r) for r in self.conn.execute(stmt).mappings()]

    def page_without_password(
        self, after_id: str | None, *, limit: int, role: str | None, no_role: bool = False
    ) -> list[User]:
        """One keyset page (primary-key order) of users without a password, banned ones included (the
        caller decides about them)."""
        u = self.t["user"]
        a = self.t["account"]
        no_password = ~exists().where(
            a.c.userId == u.c.id, a.c.providerId == CREDENTIAL, a.c.password.is_not(None), a.c.password != ""
        )
        stmt = self._select().where(no_password)
        if after_id is not None:
            stmt = stmt.where(u.c.id > after_id)
        if role is not None:
            stmt = stmt.where(self.roles.has_role(u, role))
        if no_role:
            stmt = stmt.where(self.roles.has_no_role(u))
        stmt = stmt.order_by(u.c.id).limit(limit)
        return [self._to_user(r) for r in self.conn.execute(stmt).mappings()]

    def image(self, user_id: str) -> str | None:
        u = self.t["user"]
        value = self.conn.execute(select(u.c.image).where(u.c.id == user_id)).scalar()
        return None if value is None else str(value)

    def email_taken(self, email: str, *, other_than: str) -> bool:
        """Whether another user's stored email is `email` (compared lower-case, as rows of other tools
        may keep mixed case)."""
        u = self.t["user"]
        stmt = select(u.c.id).where(func.lower(u.c.email) == email.lower(), u.c.id != other_than).limit(1)
        return self.conn.execute(stmt).first() is not None

    # ------------------------------------------------------------------ additional columns
    def catalog_table(self) -> Any:
        """The user table as the database's catalog shows it (every column, with its type), or None."""
        from owox_idp.db.discover import read_catalog

        return read_catalog(self.conn).tables.get(self.t["user"].name)

    def update_columns(self, user_id: str, values: dict[str, tuple[Any, Any]]) -> None:
        """Write columns the layout does not model: {physical name: (value, SQLAlchemy type)}."""
        from sqlalchemy import column, table

        if not values:
            return
        u = self.t["user"]
        extra = table(u.name, column(u.c.id.name), *(column(n, type_) for n, (_, type_) in values.items()))
        self.conn.execute(
            update(extra)
            .where(extra.c[u.c.id.name] == user_id)
            .values({extra.c[n]: value for n, (value, _) in values.items()})
        )

    def column_values(self, user_id: str, columns: dict[str, Any]) -> dict[str, Any]:
        """Columns the layout does not model, read back: {physical name: SQLAlchemy type} -> values."""
        from sqlalchemy import column, table

        if not columns:
            return {}
        u = self.t["user"]
        extra = table(u.name, column(u.c.id.name), *(column(n, t) for n, t in columns.items()))
        row = (
            self.conn.execute(select(*(extra.c[n] for n in columns)).where(extra.c[u.c.id.name] == user_id))
            .mappings()
            .first()
        )
        return dict(row) if row else {}

    # ------------------------------------------------------------------ writing users
    def insert(self, values: dict[str, Any], typed: dict[str, tuple[Any, Any]] | None = None) -> str:
        """Insert a user; returns its id (the database's, when it generates ids). `typed`: columns the
        layout does not model, {physical name: (value, SQLAlchemy type)}, bound with that type."""
        from sqlalchemy import literal
        from sqlalchemy.exc import IntegrityError

        values = dict(values)
        for name, (value, type_) in (typed or {}).items():
            values[name] = literal(value, type_)
        try:
            result = self.conn.execute(insert(self.t["user"]).values(**values))
        except IntegrityError:  # another process created the same email a moment ago
            raise UserExists(str(values.get("email"))) from None
        if "id" in values:
            return str(values["id"])
        key = result.inserted_primary_key
        assert key is not None
        return str(key[0])

    def insert_many(self, rows: Sequence[dict[str, Any]]) -> list[str]:
        """Insert users in one executemany; returns their ids in order (one insert each when the database
        generates ids, to read them back on every dialect)."""
        if not rows:
            return []
        if all("id" in r for r in rows):
            self.insert_rows("user", rows)
            return [str(r["id"]) for r in rows]
        return [self.insert(r) for r in rows]

    def update(self, user_id: str, values: dict[str, Any]) -> None:
        u = self.t["user"]
        self.conn.execute(update(u).where(u.c.id == user_id).values(**values))

    def update_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Update many users in one executemany; each row holds `id` and the same other keys."""
        if not rows:
            return
        u = self.t["user"]
        keys = [k for k in rows[0] if k != "id"]
        stmt = (
            update(u)
            .where(u.c.id == bindparam("b_id"))
            .values({u.c[k]: bindparam(f"b_{k}", type_=u.c[k].type) for k in keys})
        )
        self.conn.execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in rows])

    def delete(self, user_id: str) -> int:
        u = self.t["user"]
        return self.conn.execute(delete(u).where(u.c.id == user_id)).rowcount

    # ------------------------------------------------------------------ counts
    def count(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(self.t["user"])).scalar_one())

    def count_by_role(self) -> dict[str | None, int]:
        stmt = self.roles.count_by_role(self.t["user"])
        return {r[0]: int(r[1]) for r in self.conn.execute(stmt)}

    def count_banned(self) -> int:
        u = self.t["user"]
        stmt = select(func.count()).select_from(u).where(self.bans.banned(u))
        return int(self.conn.execute(stmt).scalar_one())

    def count_without_password(self) -> int:
        u = self.t["user"]
        cond = ~self._password_present(u)
        return int(self.conn.execute(select(func.count()).select_from(u).where(cond)).scalar_one())

    def count_without_role(self) -> int:
        u = self.t["user"]
        stmt = select(func.count()).select_from(u).where(self.roles.has_no_role(u))
        return int(self.conn.execute(stmt).scalar_one())

    def count_two_factor(self) -> int:
        u = self.t["user"]
        if "twoFactorEnabled" not in u.c:
            return 0
        stmt = select(func.count()).select_from(u).where(u.c.twoFactorEnabled == True)  # noqa: E712
        return int(self.conn.execute(stmt).scalar_one())

    # ------------------------------------------------------------------ admins
    @property
    def locked(self) -> bool:
        """This connection holds the write lock (kept in the connection's info: the lock belongs to the
        connection's transaction, not to one repository object)."""
        return bool(self.conn.info.get(WRITE_LOCK_INFO))

    def lock_admins(self) -> None:
        """The write lock: serialise idp's write transactions, so that two runs at once cannot each see
        the other's state and together leave no admin, two `member` rows, two password accounts, two
        two-factor rows or a second organization (the schema prevents none of these). `Env.store` takes
        it first in every write transaction (before any read, so that MySQL's snapshot comes after it);
        a second call in the same transaction does nothing. SQLite: BEGIN IMMEDIATE already serialises
        writers; PostgreSQL: a transaction advisory lock (released by COMMIT/ROLLBACK, so it holds
        behind a transaction-mode pooler such as PgBouncer); MySQL: a named lock held by this
        connection, released by `release_admin_lock`."""
        if self.locked:
            return
        dialect = self.conn.dialect.name
        if dialect == "postgresql":
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADMIN_LOCK_KEY})
        elif dialect == "mysql":
            # as long as any other lock wait (IDP_LOCK_TIMEOUT, the session's lock_wait_timeout)
            got = self.conn.execute(
                text(f"SELECT GET_LOCK({MYSQL_LOCK_NAME}, @@session.lock_wait_timeout)")
            ).scalar()
            if got != 1:
                raise DatabaseBusy("database busy: another idp command holds the write lock; try again")
        self.conn.info[WRITE_LOCK_INFO] = True

    def release_admin_lock(self) -> None:
        """After the transaction: MySQL's named lock belongs to the connection, give it back (PostgreSQL's
        went with the transaction)."""
        if self.conn.info.pop(WRITE_LOCK_INFO, False) and self.conn.dialect.name == "mysql":
            self.conn.execute(text(f"SELECT RELEASE_LOCK({MYSQL_LOCK_NAME})"))
            self.conn.commit()  # the statement began a transaction of its own

    def active_admin_ids(self, admin_roles: Sequence[str], admin_user_ids: Sequence[str] = ()) -> list[str]:
        """Ids of users who are admins — by an admin role, or listed in the server's `adminUserIds` —
        and not banned."""
        u = self.t["user"]
        role_cond = or_(*(self.roles.has_role(u, r) for r in admin_roles), u.c.id.in_(list(admin_user_ids)))
        stmt = select(u.c.id, self.roles.role_column(u)).where(role_cond, self.bans.not_banned(u))
        # the SQL match is a prefilter: MySQL's collations compare 'Admin ' equal to 'admin' (case and
        # trailing spaces), the server compares exactly, and so does the final check here
        wanted = set(admin_roles)
        return [
            row[0]
            for row in self.conn.execute(stmt)
            if row[0] in admin_user_ids or any(part in wanted for part in (row[1] or "").split(","))
        ]

    # ------------------------------------------------------------------ accounts
    def get_credential(self, user_id: str) -> tuple[str, str | None] | None:
        a = self.t["account"]
        row = self.conn.execute(
            select(a.c.id, a.c.password).where(a.c.userId == user_id, a.c.providerId == CREDENTIAL)
        ).first()
        return (row[0], row[1]) if row else None

    def _metadata_password(self, user_id: str, password_hash: str | None, now: datetime) -> int:
        """Set (or, with None, remove) `metadata.password_hash`, keeping every other key, as the port's
        set-user-password and reset do (admin/handlers.rs:361-371, password_management/handlers.rs:140-145).
        Returns 1 when a hash was there before."""
        u = self.t["user"]
        row = self.conn.execute(select(u.c.metadata).where(u.c.id == user_id).with_for_update()).first()
        if row is None:
            return 0
        metadata = dict(row[0] or {}) if isinstance(row[0], dict) else {}
        had = 1 if metadata.get(PASSWORD_HASH_KEY) else 0
        if password_hash is None:
            if PASSWORD_HASH_KEY not in metadata:
                return 0
            metadata.pop(PASSWORD_HASH_KEY)
        else:
            metadata[PASSWORD_HASH_KEY] = password_hash
        self.conn.execute(update(u).where(u.c.id == user_id).values(metadata=metadata, updatedAt=now))
        return had

    def store_password(self, user_id: str, password_hash: str, now: datetime) -> None:
        """Set the user's password on their credential account, creating the account when missing (and in
        `metadata.password_hash` where the model has it)."""
        if self._in_metadata:
            self._metadata_password(user_id, password_hash, now)
        existing = self.get_credential(user_id)
        a = self.t["account"]
        if existing is None:
            self.conn.execute(insert(a).values(**self.credential_rows([(user_id, password_hash)], now)[0]))
        else:
            self.conn.execute(
                update(a).where(a.c.id == existing[0]).values(password=password_hash, updatedAt=now)
            )

    def credential_rows(self, pairs: Sequence[tuple[str, str]], now: datetime) -> list[dict[str, Any]]:
        """The account rows that give new users (user id, password hash) their password (for bulk)."""
        return [
            self.with_id(
                {
                    "accountId": user_id,
                    "providerId": CREDENTIAL,
                    "userId": user_id,
                    "password": password_hash,
                    "createdAt": now,
                    "updatedAt": now,
                }
            )
            for user_id, password_hash in pairs
        ]

    def store_passwords(self, pairs: Sequence[tuple[str, str]], now: datetime) -> None:
        """Give new users (user id, password hash) their password in bulk: the credential accounts, and
        `metadata = {"password_hash": ...}` where the model has it (new rows hold `{}`)."""
        self.insert_rows("account", self.credential_rows(pairs, now))
        if self._in_metadata and pairs:
            self.update_many([{"id": uid, "metadata": {PASSWORD_HASH_KEY: h}} for uid, h in pairs])

    def delete_credential(self, user_id: str) -> int:
        a = self.t["account"]
        removed = self.conn.execute(
            delete(a).where(a.c.userId == user_id, a.c.providerId == CREDENTIAL)
        ).rowcount
        if self._in_metadata:
            from owox_idp.clock import now

            removed = max(removed, self._metadata_password(user_id, None, now()))
        return removed

    def delete_accounts(self, user_id: str) -> int:
        a = self.t["account"]
        return self.conn.execute(delete(a).where(a.c.userId == user_id)).rowcount
