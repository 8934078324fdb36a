"""The only module with SQL. Every table and column name comes from the layout; methods return the
records of `models.py` (None when a row is missing) and never decide a rule."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, RowMapping

from owox_idp.db.schema import Layout, Model
from owox_idp.db.types import BABool, BADate
from owox_idp.errors import DatabaseUnreachable, UserExists
from owox_idp.models import OwoxBan, Session, TwoFactorRow, User, Verification

OWOX_ORG_ID = "owox_data_marts_organization"
OWOX_ORG_NAME = "OWOX Data Marts"
OWOX_ORG_SLUG = "owox-data-marts"
OWOX_BAN_TABLE = "idp_owox_ban"
CREDENTIAL = "credential"
ADMIN_LOCK_KEY = 4_711_031_337  # pg_advisory_xact_lock key of `lock_admins`


def _sa_type(field_type: str) -> Any:
    if field_type == "date":
        return BADate()
    if field_type == "boolean":
        return BABool()
    if field_type == "number":
        return Integer()
    return String()


class Tables:
    """SQLAlchemy tables for the expected models, keyed by logical model name; `c(model, field)` is the
    column for a logical field."""

    def __init__(self, models: Iterable[Model], layout: Layout) -> None:
        self.layout = layout
        self.metadata = MetaData()
        self.by_model: dict[str, Table] = {}
        for model in models:
            cols = [Column(layout.column(model.name, "id"), String(), primary_key=True, key="id")]
            for f in model.fields:
                cols.append(Column(layout.column(model.name, f.name), _sa_type(f.type), key=f.name))
            self.by_model[model.name] = Table(layout.table(model.name), self.metadata, *cols)
        self.owox_ban = Table(
            OWOX_BAN_TABLE,
            self.metadata,
            Column("userId", String(191), primary_key=True, key="userId"),
            Column("previousRole", String(255), key="previousRole"),
            Column("passwordHash", String(512), key="passwordHash"),
            Column("reason", String(1000), key="reason"),
            Column("expiresAt", BADate(), key="expiresAt"),
            Column("createdAt", BADate(), key="createdAt"),
        )

    def has(self, model: str) -> bool:
        return model in self.by_model

    def __getitem__(self, model: str) -> Table:
        return self.by_model[model]


@dataclass(frozen=True)
class UserFilter:
    role: str | None = None
    search: str | None = None
    banned: bool | None = None
    limit: int | None = None
    offset: int = 0
    after: tuple[datetime, str] | None = None  # keyset cursor: (createdAt, id) of the last row seen


class Repository:
    def __init__(self, conn: Connection, tables: Tables, *, flavor: str) -> None:
        self.conn = conn
        self.t = tables
        self.owox = flavor == "owox"
        self._ban_table_known: bool | None = None

    # ------------------------------------------------------------------ users
    def _user_select(self) -> Any:
        u = self.t["user"]
        a = self.t["account"]
        has_password = (
            exists()
            .where(
                a.c.userId == u.c.id,
                a.c.providerId == CREDENTIAL,
                a.c.password.is_not(None),
                a.c.password != "",
            )
            .label("has_password")
        )
        cols: list[Any] = [
            u.c.id,
            u.c.name,
            u.c.email,
            u.c.emailVerified,
            u.c.createdAt,
            u.c.updatedAt,
            has_password,
        ]
        if self.owox:
            m = self.t["member"]
            role = (
                select(m.c.role)
                .where(m.c.userId == u.c.id, m.c.organizationId == OWOX_ORG_ID)
                .order_by(m.c.createdAt)
                .limit(1)
                .scalar_subquery()
                .label("role")
            )
            cols.append(role)
        else:
            cols += [u.c.role, u.c.banned, u.c.banReason, u.c.banExpires]
            if "twoFactorEnabled" in u.c:
                cols.append(u.c.twoFactorEnabled)
        return select(*cols).select_from(u)

    def _to_user(self, row: RowMapping) -> User:
        banned = bool(row.get("banned") or False)
        if self.owox:
            banned = bool(row.get("owox_banned") or False)
        return User(
            id=row["id"],
            name=row["name"],
            email=row["email"],
            email_verified=bool(row["emailVerified"]),
            created_at=row["createdAt"],
            updated_at=row["updatedAt"],
            role=row.get("role"),
            banned=banned,
            ban_reason=row.get("banReason"),
            ban_expires=row.get("banExpires"),
            two_factor_enabled=bool(row.get("twoFactorEnabled") or False),
            has_password=bool(row["has_password"]),
        )

    def _with_owox_ban(self, stmt: Any) -> Any:
        if not self.owox or not self.owox_ban_table_exists():
            return stmt
        b = self.t.owox_ban
        u = self.t["user"]
        return stmt.add_columns(
            exists().where(b.c.userId == u.c.id).label("owox_banned"),
            select(b.c.reason).where(b.c.userId == u.c.id).scalar_subquery().label("banReason"),
            select(b.c.expiresAt).where(b.c.userId == u.c.id).scalar_subquery().label("banExpires"),
        )

    def find_user_by_email(self, email: str) -> User | None:
        u = self.t["user"]
        stmt = self._with_owox_ban(self._user_select())
        row = self.conn.execute(stmt.where(u.c.email == email.lower())).mappings().first()
        if row is None:  # rows written by other tools may keep mixed case
            row = (
                self.conn.execute(stmt.where(func.lower(u.c.email) == email.lower()).order_by(u.c.createdAt))
                .mappings()
                .first()
            )
        return self._to_user(row) if row else None

    def find_user_by_id(self, user_id: str) -> User | None:
        u = self.t["user"]
        stmt = self._with_owox_ban(self._user_select()).where(u.c.id == user_id)
        row = self.conn.execute(stmt).mappings().first()
        return self._to_user(row) if row else None

    def list_users(self, flt: UserFilter) -> list[User]:
        u = self.t["user"]
        stmt = self._with_owox_ban(self._user_select())
        conds: list[ColumnElement[bool]] = []
        if flt.search:
            pattern = f"%{flt.search.lower()}%"
            conds.append(or_(func.lower(u.c.email).like(pattern), func.lower(u.c.name).like(pattern)))
        if flt.role is not None:
            conds.append(self._role_condition(flt.role))
        if flt.banned is not None:
            cond = self._banned_condition()
            conds.append(cond if flt.banned else ~cond)
        if flt.after is not None:
            conds += self._after(u, flt.after)
        if conds:
            stmt = stmt.where(and_(*conds))
        stmt = stmt.order_by(u.c.createdAt.desc(), u.c.id.desc())
        if flt.limit is not None:
            stmt = stmt.limit(flt.limit)
        if flt.offset:
            stmt = stmt.offset(flt.offset)
        return [self._to_user(r) for r in self.conn.execute(stmt).mappings()]

    def _role_condition(self, role: str) -> ColumnElement[bool]:
        u = self.t["user"]
        if self.owox:
            m = self.t["member"]
            return exists().where(m.c.userId == u.c.id, m.c.organizationId == OWOX_ORG_ID, m.c.role == role)
        # several roles are comma-joined without spaces
        return or_(
            u.c.role == role,
            u.c.role.like(f"{role},%"),
            u.c.role.like(f"%,{role}"),
            u.c.role.like(f"%,{role},%"),
        )

    def _banned_condition(self) -> ColumnElement[bool]:
        u = self.t["user"]
        if self.owox:
            if not self.owox_ban_table_exists():
                return literal(False) == literal(True)
            b = self.t.owox_ban
            return exists().where(b.c.userId == u.c.id)
        return u.c.banned == True  # noqa: E712 - SQL comparison

    def insert_user(self, values: dict[str, Any]) -> None:
        from sqlalchemy.exc import IntegrityError

        try:
            self.conn.execute(insert(self.t["user"]).values(**values))
        except IntegrityError:  # another process created the same email a moment ago
            raise UserExists(str(values.get("email"))) from None

    def update_user(self, user_id: str, values: dict[str, Any]) -> None:
        u = self.t["user"]
        self.conn.execute(update(u).where(u.c.id == user_id).values(**values))

    def delete_user(self, user_id: str) -> int:
        u = self.t["user"]
        return self.conn.execute(delete(u).where(u.c.id == user_id)).rowcount

    def count_users(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(self.t["user"])).scalar_one())

    def count_users_by_role(self) -> dict[str | None, int]:
        u = self.t["user"]
        if self.owox:
            m = self.t["member"]
            role = (
                select(m.c.role)
                .where(m.c.userId == u.c.id, m.c.organizationId == OWOX_ORG_ID)
                .limit(1)
                .scalar_subquery()
            )
            stmt = select(role.label("role"), func.count()).select_from(u).group_by(text("1"))
        else:
            stmt = select(u.c.role, func.count()).group_by(u.c.role)
        return {r[0]: int(r[1]) for r in self.conn.execute(stmt)}

    def count_banned(self) -> int:
        u = self.t["user"]
        return int(
            self.conn.execute(
                select(func.count()).select_from(u).where(self._banned_condition())
            ).scalar_one()
        )

    def count_without_password(self) -> int:
        u = self.t["user"]
        a = self.t["account"]
        cond = ~exists().where(
            a.c.userId == u.c.id, a.c.providerId == CREDENTIAL, a.c.password.is_not(None), a.c.password != ""
        )
        return int(self.conn.execute(select(func.count()).select_from(u).where(cond)).scalar_one())

    def count_without_role(self) -> int:
        u = self.t["user"]
        if self.owox:
            m = self.t["member"]
            cond = ~exists().where(m.c.userId == u.c.id, m.c.organizationId == OWOX_ORG_ID)
        else:
            cond = or_(u.c.role.is_(None), u.c.role == "")
        return int(self.conn.execute(select(func.count()).select_from(u).where(cond)).scalar_one())

    def count_two_factor(self) -> int:
        u = self.t["user"]
        if "twoFactorEnabled" not in u.c:
            return 0
        stmt = select(func.count()).select_from(u).where(u.c.twoFactorEnabled == True)  # noqa: E712
        return int(self.conn.execute(stmt).scalar_one())

    def lock_admins(self) -> None:
        """Serialise the commands that may remove an admin, so that two of them running at once cannot
        each see the other admin and together leave none. Taken first in the transaction (before any
        read, so that MySQL's snapshot comes after it). SQLite: BEGIN IMMEDIATE already serialises
        writers; PostgreSQL: a transaction advisory lock; MySQL: a named lock held by this connection."""
        dialect = self.conn.dialect.name
        if dialect == "postgresql":
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADMIN_LOCK_KEY})
        elif dialect == "mysql":
            got = self.conn.execute(text("SELECT GET_LOCK('idp_admins', 30)")).scalar()
            if got != 1:
                raise DatabaseUnreachable("another idp command kept the admin lock for 30 s; try again")

    def active_admin_ids(self, admin_roles: Sequence[str], admin_user_ids: Sequence[str] = ()) -> list[str]:
        """Ids of users who are admins — by an admin role, or listed in the server's `adminUserIds` —
        and not banned."""
        u = self.t["user"]
        role_cond = or_(*(self._role_condition(r) for r in admin_roles), u.c.id.in_(list(admin_user_ids)))
        if self.owox:
            not_banned = ~self._banned_condition()
        else:
            not_banned = or_(u.c.banned.is_(None), u.c.banned == False)  # noqa: E712 - SQL comparison
        stmt = select(u.c.id).where(role_cond, not_banned)
        return [r[0] for r in self.conn.execute(stmt)]

    # ---------------------------------------------------------------- accounts
    def get_credential(self, user_id: str) -> tuple[str, str | None] | None:
        a = self.t["account"]
        row = self.conn.execute(
            select(a.c.id, a.c.password).where(a.c.userId == user_id, a.c.providerId == CREDENTIAL)
        ).first()
        return (row[0], row[1]) if row else None

    def insert_account(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(self.t["account"]).values(**values))

    def update_credential(self, account_id: str, password: str, now: datetime) -> None:
        a = self.t["account"]
        self.conn.execute(update(a).where(a.c.id == account_id).values(password=password, updatedAt=now))

    def delete_credential(self, user_id: str) -> int:
        a = self.t["account"]
        return self.conn.execute(
            delete(a).where(a.c.userId == user_id, a.c.providerId == CREDENTIAL)
        ).rowcount

    def delete_accounts(self, user_id: str) -> int:
        a = self.t["account"]
        return self.conn.execute(delete(a).where(a.c.userId == user_id)).rowcount

    # ---------------------------------------------------------------- sessions
    def _session_select(self) -> Any:
        s = self.t["session"]
        u = self.t["user"]
        cols: list[Any] = [
            s.c.id,
            s.c.userId,
            u.c.email,
            s.c.token,
            s.c.createdAt,
            s.c.expiresAt,
            s.c.ipAddress,
            s.c.userAgent,
        ]
        cols.append(s.c.impersonatedBy if "impersonatedBy" in s.c else literal(None).label("impersonatedBy"))
        return select(*cols).select_from(s.outerjoin(u, u.c.id == s.c.userId))

    @staticmethod
    def _to_session(row: RowMapping) -> Session:
        return Session(
            id=row["id"],
            user_id=row["userId"],
            email=row["email"],
            token=row["token"],
            created_at=row["createdAt"],
            expires_at=row["expiresAt"],
            ip_address=row["ipAddress"],
            user_agent=row["userAgent"],
            impersonated_by=row["impersonatedBy"],
        )

    def _after(self, table: Table, cursor: tuple[datetime, str]) -> list[ColumnElement[bool]]:
        """Keyset paging, newest first: the rows strictly after (createdAt, id) of the last row seen."""
        created = self._keyset_date(cursor[0])
        return [
            table.c.createdAt <= created,  # the range bound an index on (createdAt, id) can use
            or_(table.c.createdAt < created, table.c.id < cursor[1]),
        ]

    def list_sessions(
        self,
        *,
        user_id: str | None,
        active_after: datetime | None,
        limit: int | None,
        offset: int = 0,
        after: tuple[datetime, str] | None = None,
    ) -> list[Session]:
        s = self.t["session"]
        stmt = self._session_select()
        if after is not None:
            stmt = stmt.where(*self._after(s, after))
        if user_id is not None:
            stmt = stmt.where(s.c.userId == user_id)
        if active_after is not None:
            stmt = stmt.where(s.c.expiresAt > active_after)
        stmt = stmt.order_by(s.c.createdAt.desc(), s.c.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        if offset:
            stmt = stmt.offset(offset)
        return [self._to_session(r) for r in self.conn.execute(stmt).mappings()]

    def count_sessions(self, *, user_id: str | None = None, active_after: datetime | None = None) -> int:
        s = self.t["session"]
        stmt = select(func.count()).select_from(s)
        if user_id is not None:
            stmt = stmt.where(s.c.userId == user_id)
        if active_after is not None:
            stmt = stmt.where(s.c.expiresAt > active_after)
        return int(self.conn.execute(stmt).scalar_one())

    def delete_sessions(self, user_id: str) -> int:
        s = self.t["session"]
        return self.conn.execute(delete(s).where(s.c.userId == user_id)).rowcount

    def delete_session(self, user_id: str, session_id: str) -> int:
        s = self.t["session"]
        return self.conn.execute(delete(s).where(s.c.userId == user_id, s.c.id == session_id)).rowcount

    # ------------------------------------------------------------ verification
    def insert_verification(
        self, *, id: str, identifier: str, value: str, expires_at: datetime, now: datetime
    ) -> None:
        self.conn.execute(
            insert(self.t["verification"]).values(
                id=id, identifier=identifier, value=value, expiresAt=expires_at, createdAt=now, updatedAt=now
            )
        )

    def verifications_mentioning(self, needle: str) -> list[Verification]:
        """Rows whose value contains `needle` (case-insensitive); callers parse and filter exactly."""
        v = self.t["verification"]
        stmt = select(v.c.id, v.c.identifier, v.c.value, v.c.expiresAt, v.c.createdAt).where(
            func.lower(v.c.value).like(f"%{_escape_like(needle.lower())}%", escape="\\")
        )
        return [
            Verification(r.id, r.identifier, r.value, r.expiresAt, r.createdAt)
            for r in self.conn.execute(stmt)
        ]

    def verifications_for_user_id(self, user_id: str) -> list[Verification]:
        """Rows whose value is the user's id: reset-password tokens, trusted devices, 2FA challenges."""
        v = self.t["verification"]
        stmt = select(v.c.id, v.c.identifier, v.c.value, v.c.expiresAt, v.c.createdAt).where(
            v.c.value == user_id
        )
        return [
            Verification(r.id, r.identifier, r.value, r.expiresAt, r.createdAt)
            for r in self.conn.execute(stmt)
        ]

    def delete_verifications(self, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        v = self.t["verification"]
        return self.conn.execute(delete(v).where(v.c.id.in_(list(ids)))).rowcount

    def count_verifications(
        self, *, expired_before: datetime | None = None, live_after: datetime | None = None
    ) -> int:
        v = self.t["verification"]
        stmt = select(func.count()).select_from(v)
        if expired_before is not None:
            stmt = stmt.where(v.c.expiresAt <= expired_before)
        if live_after is not None:
            stmt = stmt.where(v.c.expiresAt > live_after)
        return int(self.conn.execute(stmt).scalar_one())

    def iter_verifications(self, *, live_after: datetime | None) -> Iterator[Verification]:
        v = self.t["verification"]
        stmt = select(v.c.id, v.c.identifier, v.c.value, v.c.expiresAt, v.c.createdAt)
        if live_after is not None:
            stmt = stmt.where(v.c.expiresAt > live_after)
        for r in self.conn.execute(stmt):
            yield Verification(r.id, r.identifier, r.value, r.expiresAt, r.createdAt)

    # ------------------------------------------------------ organization (owox)
    def organization_exists(self, org_id: str) -> bool:
        o = self.t["organization"]
        return self.conn.execute(select(o.c.id).where(o.c.id == org_id)).first() is not None

    def insert_organization(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(self.t["organization"]).values(**values))

    def member_rows(self, user_id: str, org_id: str) -> list[tuple[str, str]]:
        m = self.t["member"]
        rows = self.conn.execute(
            select(m.c.id, m.c.role).where(m.c.userId == user_id, m.c.organizationId == org_id)
        )
        return [(r[0], r[1]) for r in rows]

    def insert_member(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(self.t["member"]).values(**values))

    def update_member_role(self, user_id: str, org_id: str, role: str) -> int:
        m = self.t["member"]
        return self.conn.execute(
            update(m).where(m.c.userId == user_id, m.c.organizationId == org_id).values(role=role)
        ).rowcount

    def delete_members(self, user_id: str) -> int:
        m = self.t["member"]
        return self.conn.execute(delete(m).where(m.c.userId == user_id)).rowcount

    def delete_invitations_by_inviter(self, user_id: str) -> int:
        i = self.t["invitation"]
        return self.conn.execute(delete(i).where(i.c.inviterId == user_id)).rowcount

    # ------------------------------------------------------------- owox bans
    def owox_ban_table_exists(self) -> bool:
        if self._ban_table_known is None:
            from sqlalchemy import inspect

            self._ban_table_known = inspect(self.conn).has_table(OWOX_BAN_TABLE)
        return self._ban_table_known

    def ensure_owox_ban_table(self) -> None:
        if not self.owox_ban_table_exists():
            self.t.owox_ban.create(self.conn, checkfirst=True)
            self._ban_table_known = True

    def get_owox_ban(self, user_id: str) -> OwoxBan | None:
        if not self.owox_ban_table_exists():
            return None
        b = self.t.owox_ban
        row = self.conn.execute(select(b).where(b.c.userId == user_id)).mappings().first()
        if row is None:
            return None
        return OwoxBan(
            user_id=row["userId"],
            previous_role=row["previousRole"],
            password_hash=row["passwordHash"],
            reason=row["reason"],
            expires_at=row["expiresAt"],
            created_at=row["createdAt"],
        )

    def insert_owox_ban(self, ban: OwoxBan) -> None:
        self.conn.execute(
            insert(self.t.owox_ban).values(
                userId=ban.user_id,
                previousRole=ban.previous_role,
                passwordHash=ban.password_hash,
                reason=ban.reason,
                expiresAt=ban.expires_at,
                createdAt=ban.created_at,
            )
        )

    def delete_owox_ban(self, user_id: str) -> int:
        if not self.owox_ban_table_exists():
            return 0
        b = self.t.owox_ban
        return self.conn.execute(delete(b).where(b.c.userId == user_id)).rowcount

    # ------------------------------------------------------------- two-factor
    def get_two_factor(self, user_id: str) -> TwoFactorRow | None:
        if not self.t.has("twoFactor"):
            return None
        tf = self.t["twoFactor"]
        cols = [tf.c.id, tf.c.userId, tf.c.secret, tf.c.backupCodes]
        if "verified" in tf.c:
            cols.append(tf.c.verified)
        row = self.conn.execute(select(*cols).where(tf.c.userId == user_id)).mappings().first()
        if row is None:
            return None
        return TwoFactorRow(row["id"], row["userId"], row["secret"], row["backupCodes"], row.get("verified"))

    def insert_two_factor(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(self.t["twoFactor"]).values(**values))

    def delete_two_factor(self, user_id: str) -> int:
        if not self.t.has("twoFactor"):
            return 0
        tf = self.t["twoFactor"]
        return self.conn.execute(delete(tf).where(tf.c.userId == user_id)).rowcount

    # ------------------------------------------------------------------ misc
    def table_has_rows(self, table_name: str) -> bool:
        from sqlalchemy import table as sa_table

        return (
            self.conn.execute(select(literal(1)).select_from(sa_table(table_name)).limit(1)).first()
            is not None
        )

    # ---- sessions & two-factor (issue 5)
    def find_session(self, session_id: str) -> Session | None:
        s = self.t["session"]
        row = self.conn.execute(self._session_select().where(s.c.id == session_id)).mappings().first()
        return self._to_session(row) if row else None

    def get_two_factor_lock(self, user_id: str) -> tuple[int | None, datetime | None] | None:
        """(failedVerificationCount, lockedUntil) of the user's twoFactor row; None without a row or
        on a server version without those columns (Better Auth 1.4)."""
        if not self.t.has("twoFactor"):
            return None
        tf = self.t["twoFactor"]
        if "failedVerificationCount" not in tf.c or "lockedUntil" not in tf.c:
            return None
        row = self.conn.execute(
            select(tf.c.failedVerificationCount, tf.c.lockedUntil).where(tf.c.userId == user_id)
        ).first()
        return (row[0], row[1]) if row else None

    def delete_verifications_by_identifier(self, identifiers: Sequence[str]) -> int:
        if not identifiers:
            return 0
        v = self.t["verification"]
        return self.conn.execute(delete(v).where(v.c.identifier.in_(list(identifiers)))).rowcount

    # ---- bulk (issue 6)
    def users_by_emails(self, emails: Sequence[str], *, chunk: int = 500) -> dict[str, User]:
        """Existing users whose stored email is one of `emails` (lower-case), keyed by lower-case email;
        one query per `chunk` emails, on the unique index."""
        u = self.t["user"]
        base = self._with_owox_ban(self._user_select())
        found: dict[str, User] = {}
        for start in range(0, len(emails), chunk):
            part = list(emails[start : start + chunk])
            for row in self.conn.execute(base.where(u.c.email.in_(part))).mappings():
                user = self._to_user(row)
                found.setdefault(user.email.lower(), user)
        return found

    def users_with_mixed_case_email(self) -> list[User]:
        """Users whose stored email has upper-case letters (written by other tools): one scan."""
        u = self.t["user"]
        stmt = self._with_owox_ban(self._user_select()).where(u.c.email != func.lower(u.c.email))
        return [self._to_user(r) for r in self.conn.execute(stmt).mappings()]

    def insert_rows(self, model: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert many rows of one table in one statement execution (executemany); every row has the
        same keys (logical field names)."""
        if rows:
            self.conn.execute(insert(self.t[model]), list(rows))

    def update_users_by_id(self, rows: Sequence[dict[str, Any]]) -> None:
        """Update many users in one executemany; each row holds `id` and the same other keys."""
        from sqlalchemy import bindparam

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

    def update_member_roles(self, pairs: Sequence[tuple[str, str]], org_id: str) -> None:
        """Set the role of many (user id, role) memberships of `org_id` in one executemany."""
        from sqlalchemy import bindparam

        if not pairs:
            return
        m = self.t["member"]
        stmt = (
            update(m)
            .where(m.c.userId == bindparam("b_user"), m.c.organizationId == org_id)
            .values(role=bindparam("b_role"))
        )
        self.conn.execute(stmt, [{"b_user": user_id, "b_role": role} for user_id, role in pairs])

    def json_verification_values(self) -> list[tuple[str, str]]:
        """(id, value) of every verification row whose value is a JSON object (magic links)."""
        v = self.t["verification"]
        stmt = select(v.c.id, v.c.value).where(v.c.value.like("{%"))
        return [(r[0], r[1]) for r in self.conn.execute(stmt)]

    def users_after_id(self, after_id: str | None, *, limit: int, role: str | None) -> list[User]:
        """One keyset page of users in primary-key order: constant memory, never an OFFSET."""
        u = self.t["user"]
        stmt = self._with_owox_ban(self._user_select())
        if after_id is not None:
            stmt = stmt.where(u.c.id > after_id)
        if role is not None:
            stmt = stmt.where(self._role_condition(role))
        stmt = stmt.order_by(u.c.id).limit(limit)
        return [self._to_user(r) for r in self.conn.execute(stmt).mappings()]

    def count_expired(self, model: str, before: datetime) -> int:
        t = self.t[model]
        stmt = select(func.count()).select_from(t).where(t.c.expiresAt < before)
        return int(self.conn.execute(stmt).scalar_one())

    def expired_ids(self, model: str, before: datetime, *, limit: int) -> list[str]:
        t = self.t[model]
        stmt = select(t.c.id).where(t.c.expiresAt < before).limit(limit)
        return [r[0] for r in self.conn.execute(stmt)]

    def delete_by_ids(self, model: str, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        t = self.t[model]
        return int(self.conn.execute(delete(t).where(t.c.id.in_(list(ids)))).rowcount)

    def _keyset_date(self, value: datetime) -> Any:
        """A bound date for keyset comparisons at the column's full precision (PostgreSQL keeps
        microseconds that BADate would round away)."""
        if self.conn.dialect.name == "postgresql":
            from sqlalchemy import DateTime

            return literal(value, DateTime(timezone=True))
        return literal(value, BADate())


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
