"""The only package with SQL, split by concern. A `Store` is one transaction's view of the deployment's
database: every part shares its connection, and every table and column name comes from the layout.
Parts return the records of `owox_idp.models` (None when a row is missing) and never decide a rule.

    users          users and their accounts (passwords)        repository/users.py
    sessions       sessions                                   repository/sessions.py
    verifications  magic links, reset tokens, challenges      repository/verifications.py
    two_factor     the two-factor plugin's rows               repository/two_factor.py
    members        organization, member, invitation           repository/roles.py
    roles, bans    where the flavor keeps roles and bans, as SQL expressions
    owox_bans      idp's own table of what an OWOX ban took    repository/bans.py
    ban_guard      idp's trigger that makes a ban hold on the Rust port   repository/ban_guard.py
    api_keys       the api-key plugin's rows, idp_apikey_ban   repository/apikeys.py
    audit          idp's own audit trail (idp_audit)           repository/audit.py
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import literal, select
from sqlalchemy.engine import Connection

from owox_idp.repository.absent import AbsentSessions, AbsentVerifications
from owox_idp.repository.bans import BAN_STORAGES, OwoxBanTable
from owox_idp.repository.roles import ROLE_STORAGES, MembershipRepository
from owox_idp.repository.sessions import SessionRepository
from owox_idp.repository.tables import Tables
from owox_idp.repository.users import UserFilter, UserRepository
from owox_idp.repository.verifications import VerificationRepository

if TYPE_CHECKING:
    from owox_idp.deployment import Deployment
    from owox_idp.repository.apikeys import ApiKeyRepository
    from owox_idp.repository.audit import AuditLog
    from owox_idp.repository.ban_guard import BanGuard
    from owox_idp.repository.two_factor import TwoFactorRepository

__all__ = ["Store", "Tables", "UserFilter"]


class Store:
    def __init__(self, conn: Connection, deployment: Deployment, *, tables: Tables | None = None) -> None:
        self.conn = conn
        self.deployment = deployment
        self.t = tables or Tables(deployment.models, deployment.layout)
        self.roles = ROLE_STORAGES[deployment.flavor.role_storage](conn, self.t)
        self.bans = BAN_STORAGES[deployment.flavor.ban_storage](conn, self.t)
        self.users = UserRepository(conn, self.t, roles=self.roles, bans=self.bans)
        stored = {m.name for m in deployment.models}  # secondary storage only: no session/verification
        self.sessions = (SessionRepository if "session" in stored else AbsentSessions)(conn, self.t)
        self.verifications = (VerificationRepository if "verification" in stored else AbsentVerifications)(
            conn, self.t
        )
        self.members = MembershipRepository(conn, self.t)
        # one instance where the ban storage is idp's table, so that both see it once it is created
        self.owox_bans = self.bans if isinstance(self.bans, OwoxBanTable) else OwoxBanTable(conn, self.t)
        self._new_id = new_id = deployment.id_maker()
        for part in (self.users, self.sessions, self.verifications, self.members):
            part.new_id = new_id

    # The parts that most commands never touch are built (and their modules imported) on first use:
    # `idp list-users` needs none of them.

    @cached_property
    def two_factor(self) -> TwoFactorRepository:
        from owox_idp.repository.two_factor import TwoFactorRepository

        part = TwoFactorRepository(self.conn, self.t)
        part.new_id = self._new_id
        return part

    @cached_property
    def api_keys(self) -> ApiKeyRepository:
        from owox_idp.repository.apikeys import ApiKeyRepository

        part = ApiKeyRepository(self.conn, self.t)
        part.new_id = self._new_id
        return part

    @cached_property
    def ban_guard(self) -> BanGuard:
        from owox_idp.repository.ban_guard import BanGuard

        return BanGuard(self.conn, self.t)

    @cached_property
    def audit(self) -> AuditLog:
        from owox_idp.repository.audit import AuditLog

        return AuditLog(self.conn, self.t)

    def table_has_rows(self, table_name: str) -> bool:
        from sqlalchemy import table as sa_table

        stmt = select(literal(1)).select_from(sa_table(table_name)).limit(1)
        return self.conn.execute(stmt).first() is not None
