"""SQLAlchemy tables for the deployment's models, named by its layout, and idp's own tables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Index, Integer, MetaData, String, Table

from owox_idp.db.schema import Layout, Model
from owox_idp.db.types import BABool, BADate, SerialId, UuidId

if TYPE_CHECKING:
    from owox_idp.db.discover import ExtraColumn

OWOX_BAN_TABLE = "idp_owox_ban"
AUDIT_TABLE = "idp_audit"


def _sa_type(field_type: str, storage: str | None = None) -> Any:
    if field_type == "date":
        return BADate(storage)
    if field_type == "boolean":
        return BABool()
    if field_type == "number":
        return Integer()
    if field_type == "json":  # values are dicts; jsonb on PostgreSQL (the Rust port's users.metadata)
        from sqlalchemy import JSON
        from sqlalchemy.dialects.postgresql import JSONB

        return JSON().with_variant(JSONB(), "postgresql")
    return String()


def _id_type(id_format: str, dialect: str) -> Any:
    """Ids and the columns that reference them: uuid columns on PostgreSQL (generateId: "uuid"), integers
    for database-generated ids (generateId: "serial"), text otherwise."""
    if id_format == "uuid" and dialect == "postgresql":
        return UuidId()
    if id_format == "serial":
        return SerialId()
    return String()


def _extra_type(column: ExtraColumn) -> Any:
    kind = column.type
    if kind in ("integer", "bigint", "smallint", "int", "numeric", "real", "double precision"):
        return Integer()
    if kind == "boolean":
        return BABool()
    if kind in ("timestamptz", "timestamp", "datetime", "date"):
        return BADate("timestamp" if kind == "timestamp" else None)
    return String()


class Tables:
    """Tables keyed by logical model name; each column's key is the logical field name, its name the
    layout's physical one, so that queries say `t["user"].c.emailVerified` whatever the layout."""

    def __init__(
        self,
        models: Iterable[Model],
        layout: Layout,
        *,
        id_format: str = "text",
        dialect: str = "",
        date_storage: Mapping[tuple[str, str], str] | None = None,
        extra_user_columns: Sequence[ExtraColumn] = (),
    ) -> None:
        self.layout = layout
        self.metadata = MetaData()
        # a table is built on first use: a command touches two or three of the deployment's tables
        self.by_model: dict[str, Table] = {}
        self._models = {model.name: model for model in models}
        self._dates = date_storage or {}
        self._id_type = _id_type(id_format, dialect)
        self._extra_user_columns = extra_user_columns
        self.audit_exists: bool | None = None  # learnt once per run (repository/audit.py)

    def _build(self, model: Model) -> Table:
        layout, id_type = self.layout, self._id_type
        cols = [Column(layout.column(model.name, "id"), id_type, primary_key=True, key="id")]
        for f in model.fields:
            kind = id_type if f.references else _sa_type(f.type, self._dates.get((model.name, f.name)))
            cols.append(Column(layout.column(model.name, f.name), kind, key=f.name))
        if model.name == "user":
            taken = {c.name for c in cols}
            cols += [
                Column(c.name, _extra_type(c), key=c.name)
                for c in self._extra_user_columns
                if c.name not in taken
            ]
        return Table(layout.table(model.name), self.metadata, *cols)

    @cached_property
    def owox_ban(self) -> Table:
        """idp's own: what an OWOX ban took away (see owox_idp.flavors.owox)."""
        return Table(
            OWOX_BAN_TABLE,
            self.metadata,
            Column("userId", String(191), primary_key=True, key="userId"),
            Column("previousRole", String(255), key="previousRole"),
            Column("passwordHash", String(512), key="passwordHash"),
            Column("reason", String(1000), key="reason"),
            Column("expiresAt", BADate(), key="expiresAt"),
            Column("createdAt", BADate(), key="createdAt"),
        )

    @cached_property
    def audit(self) -> Table:
        """idp's own: the audit trail of every change idp made (repository/audit.py). Created by
        `idp migrate`; Better Auth's migration only looks at its own models' tables, so it never
        touches (or reports) this one. No column ever holds a password, token, link or secret."""
        return Table(
            AUDIT_TABLE,
            self.metadata,
            Column("id", Integer(), primary_key=True, autoincrement=True, key="id"),
            Column("at", BADate(), nullable=False, key="at"),
            Column("actor", String(255), nullable=False, key="actor"),
            Column("command", String(64), nullable=False, key="command"),
            Column("target", String(320), key="target"),
            Column("userId", String(191), key="userId"),
            Column("outcome", String(32), nullable=False, key="outcome"),
            Column("exitCode", Integer(), nullable=False, key="exitCode"),
            Column("reason", String(1000), key="reason"),
            Column("detail", String(1000), key="detail"),
            Index("idp_audit_at_idx", "at"),
        )

    def has(self, model: str) -> bool:
        return model in self._models

    def __getitem__(self, model: str) -> Table:
        table = self.by_model.get(model)
        if table is None:
            table = self.by_model[model] = self._build(self._models[model])
        return table
