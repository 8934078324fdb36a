"""Where a user's role is read from, as SQL: the admin plugin's `user.role` column, or a `member` row of
OWOX's organization; and the membership tables themselves (organization, member, invitation).

The flavor names the storage (`Flavor.role_storage`); `ROLE_STORAGES` maps it to the class here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)

from owox_idp.repository.base import Part

OWOX_ORG_ID = "owox_data_marts_organization"


class ColumnRoles(Part):
    """`user.role`, several roles comma-joined without spaces (the admin plugin)."""

    def role_column(self, u: Table) -> Any:
        if "role" not in u.c:  # no admin plugin: nobody has a role
            return literal(None).label("role")
        return u.c.role.label("role")

    def has_role(self, u: Table, role: str) -> ColumnElement[bool]:
        if "role" not in u.c:
            return false()
        return or_(
            u.c.role == role,
            u.c.role.like(f"{role},%"),
            u.c.role.like(f"%,{role}"),
            u.c.role.like(f"%,{role},%"),
        )

    def has_no_role(self, u: Table) -> ColumnElement[bool]:
        if "role" not in u.c:
            return ~false()
        return or_(u.c.role.is_(None), u.c.role == "")

    def count_by_role(self, u: Table) -> Any:
        if "role" not in u.c:
            return select(literal(None).label("role"), func.count()).select_from(u)
        return select(u.c.role, func.count()).group_by(u.c.role)


class MemberRoles(Part):
    """The role of the user's `member` row in OWOX's organization (the oldest, if there are several)."""

    org_id = OWOX_ORG_ID

    def role_column(self, u: Table) -> Any:
        m = self.t["member"]
        return (
            select(m.c.role)
            .where(m.c.userId == u.c.id, m.c.organizationId == self.org_id)
            .order_by(m.c.createdAt)
            .limit(1)
            .scalar_subquery()
            .label("role")
        )

    def has_role(self, u: Table, role: str) -> ColumnElement[bool]:
        m = self.t["member"]
        return exists().where(m.c.userId == u.c.id, m.c.organizationId == self.org_id, m.c.role == role)

    def has_no_role(self, u: Table) -> ColumnElement[bool]:
        m = self.t["member"]
        return ~exists().where(m.c.userId == u.c.id, m.c.organizationId == self.org_id)

    def count_by_role(self, u: Table) -> Any:
        m = self.t["member"]
        role = (
            select(m.c.role)
            .where(m.c.userId == u.c.id, m.c.organizationId == self.org_id)
            .limit(1)
            .scalar_subquery()
        )
        return select(role.label("role"), func.count()).select_from(u).group_by(text("1"))


RoleStore = ColumnRoles | MemberRoles
ROLE_STORAGES: dict[str, type[ColumnRoles] | type[MemberRoles]] = {
    "column": ColumnRoles,
    "member": MemberRoles,
}


class MembershipRepository(Part):
    """The organization plugin's tables: organization, member, invitation."""

    @property
    def present(self) -> bool:
        return self.t.has("member")

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

    def insert_members(self, rows: Sequence[dict[str, Any]]) -> None:
        self.insert_rows("member", rows)

    def update_member_role(self, user_id: str, org_id: str, role: str) -> int:
        m = self.t["member"]
        return self.conn.execute(
            update(m).where(m.c.userId == user_id, m.c.organizationId == org_id).values(role=role)
        ).rowcount

    def update_member_roles(self, pairs: Sequence[tuple[str, str]], org_id: str) -> None:
        """Set the role of many (user id, role) memberships of `org_id` in one executemany."""
        if not pairs:
            return
        m = self.t["member"]
        stmt = (
            update(m)
            .where(m.c.userId == bindparam("b_user"), m.c.organizationId == org_id)
            .values(role=bindparam("b_role"))
        )
        self.conn.execute(stmt, [{"b_user": user_id, "b_role": role} for user_id, role in pairs])

    def delete_members(self, user_id: str) -> int:
        m = self.t["member"]
        return self.conn.execute(delete(m).where(m.c.userId == user_id)).rowcount

    def delete_invitations_to(self, email: str) -> int:
        """Invitations addressed to the email: accepted by whoever signs up with it next."""
        i = self.t["invitation"]
        return self.conn.execute(delete(i).where(func.lower(i.c.email) == email.lower())).rowcount

    def delete_invitations_by_inviter(self, user_id: str) -> int:
        i = self.t["invitation"]
        return self.conn.execute(delete(i).where(i.c.inviterId == user_id)).rowcount
