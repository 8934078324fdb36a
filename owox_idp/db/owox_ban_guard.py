"""The owox-flavor ban guard: database triggers that refuse a `session` or `member` row (insert or update)
for a user id listed in idp's ban table `idp_owox_ban`.

Why triggers: OWOX Data Marts' server runs Better Auth 1.6 without the admin plugin, so nothing in it
reads a ban; it keeps magic-link sign-in open (`magicLink({disableSignUp: false})`,
packages/idp-better-auth/src/auth/auth-config.ts), lets a signed-in recipient accept an organization
invitation (the organization plugin's /organization/accept-invitation), and gives any signed-in user the
role of a valid role token (`GET /auth/magic-link-success/:role`, services/page-service.ts). Every one of
those ends in a `session` row (Better Auth's internalAdapter.createSession) or a `member` row (the
plugin's adapter, OWOX's own raw SQL in store/*DatabaseStore.ts). Refusing those two rows in the database
closes every route at once, including ones idp does not know about, and the server cannot bypass it.
Moving the identity aside (renaming the email) was rejected: the email would become a stranger's, and a
stranger with that email could then sign up publicly (sign-up is open) and accept the invitations
addressed to it.

This module only builds SQL text (no database access, no imports): `create_statements` and
`drop_statements` per dialect, both idempotent, and `installed_query` to see which guard triggers exist.

Concurrency. A ban that commits while the server is inserting a session must not leave that session
behind. SQLite has one writer at a time, so nothing can interleave. PostgreSQL (READ COMMITTED, the
server's default): the trigger first takes `FOR KEY SHARE` on the user's row and only then looks at the
ban table, in a new statement (so a new snapshot); `idp ban` must lock the user's row `FOR UPDATE` before it
inserts the ban row, so a concurrent trigger waits for the ban to commit and then sees it. MySQL/MariaDB
(InnoDB): the trigger reads the ban table with `LOCK IN SHARE MODE`, which waits for an uncommitted insert
of the same key; `idp ban` must insert the ban row before it deletes the sessions.

Privileges. SQLite: none. PostgreSQL: the trigger function is SECURITY DEFINER (owned by whoever runs
idp, with the search_path of that moment), so the server's role needs no grant on `idp_owox_ban`.
MySQL/MariaDB: CREATE TRIGGER needs the TRIGGER privilege on `session` and `member`; with binary logging
on it also needs SUPER unless `log_bin_trust_function_creators=1` (error 1419); the trigger runs as its
DEFINER (the account that created it), so that account must keep existing and keep SELECT on
`idp_owox_ban`, or every session insert fails for everyone.

The ban table must exist before the triggers and outlive them (a trigger that names a missing table
fails every insert): create the table, then the triggers; drop the triggers, then the table.
"""

from __future__ import annotations

from collections.abc import Mapping

BAN_TABLE = "idp_owox_ban"
FUNCTION = "idp_owox_ban_guard"
GUARDED_MODELS = ("session", "member")
EVENTS = ("insert", "update")
MESSAGE = "idp_owox_ban: this user is banned (idp unban lifts the ban)"
_DEFAULT_TABLES: Mapping[str, str] = {"user": "user", "session": "session", "member": "member"}


def _dialect(name: str) -> str:
    lowered = name.lower()
    if lowered in ("mysql", "mariadb"):
        return "mysql"
    if lowered in ("postgresql", "postgres"):
        return "postgresql"
    if lowered == "sqlite":
        return "sqlite"
    raise ValueError(f"no ban guard for dialect {name!r}")


def _q(dialect: str, name: str) -> str:
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def trigger_names(dialect: str, *, ban_table: str = BAN_TABLE) -> list[str]:
    """The guard's trigger names (named by the logical model): one per guarded model and event, or on
    PostgreSQL one per model covering both events."""
    if _dialect(dialect) == "postgresql":
        return [f"{ban_table}_{model}" for model in GUARDED_MODELS]
    return [f"{ban_table}_{model}_{event}" for model in GUARDED_MODELS for event in EVENTS]


def create_statements(
    dialect: str,
    *,
    tables: Mapping[str, str] | None = None,
    user_id_column: str = "userId",
    id_column: str = "id",
    ban_table: str = BAN_TABLE,
) -> list[str]:
    """The statements that install (or replace) the guard, in order. `tables` maps the logical models
    `user`, `session`, `member` to their table names; `user_id_column` is the `userId` column of
    `session`, `member` and the ban table; `id_column` is the user table's primary key."""
    d = _dialect(dialect)
    names = {**_DEFAULT_TABLES, **(tables or {})}
    uid, ban = _q(d, user_id_column), _q(d, ban_table)
    out: list[str] = []
    if d == "sqlite":
        for model in GUARDED_MODELS:
            for event in EVENTS:
                out.append(
                    f"CREATE TRIGGER IF NOT EXISTS {_q(d, f'{ban_table}_{model}_{event}')}"
                    f" BEFORE {event.upper()} ON {_q(d, names[model])} FOR EACH ROW"
                    f" WHEN EXISTS (SELECT 1 FROM {ban} WHERE {uid} = NEW.{uid})"
                    f" BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
                )
        return out
    if d == "postgresql":
        out.append(
            f"CREATE OR REPLACE FUNCTION {_q(d, FUNCTION)}() RETURNS trigger"
            " LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $idp_guard$\n"
            "BEGIN\n"
            # wait for a ban of this user that is being written (idp ban locks the row FOR UPDATE)
            f"  PERFORM 1 FROM {_q(d, names['user'])} WHERE {_q(d, id_column)} = NEW.{uid} FOR KEY SHARE;\n"
            f"  IF EXISTS (SELECT 1 FROM {ban} WHERE {uid} = NEW.{uid}) THEN\n"
            f"    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = '42501';\n"
            "  END IF;\n"
            "  RETURN NEW;\n"
            "END\n"
            "$idp_guard$"
        )
        for model in GUARDED_MODELS:
            name, table = _q(d, f"{ban_table}_{model}"), _q(d, names[model])
            out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            out.append(
                f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON {table}"
                f" FOR EACH ROW EXECUTE FUNCTION {_q(d, FUNCTION)}()"
            )
        return out
    for model in GUARDED_MODELS:
        for event in EVENTS:
            name = _q(d, f"{ban_table}_{model}_{event}")
            out.append(f"DROP TRIGGER IF EXISTS {name}")
            out.append(
                f"CREATE TRIGGER {name} BEFORE {event.upper()} ON {_q(d, names[model])} FOR EACH ROW\n"
                "BEGIN\n"
                "  DECLARE banned INT DEFAULT 0;\n"
                # a locking read: waits for an uncommitted ban of the same user instead of missing it
                f"  SELECT COUNT(*) INTO banned FROM {ban} WHERE {uid} = NEW.{uid} LOCK IN SHARE MODE;\n"
                "  IF banned > 0 THEN\n"
                f"    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{MESSAGE}';\n"
                "  END IF;\n"
                "END"
            )
    return out


def drop_statements(
    dialect: str, *, tables: Mapping[str, str] | None = None, ban_table: str = BAN_TABLE
) -> list[str]:
    """The statements that remove the guard (nothing else), in order; harmless when it is not there."""
    d = _dialect(dialect)
    names = {**_DEFAULT_TABLES, **(tables or {})}
    if d == "postgresql":
        out = [
            f"DROP TRIGGER IF EXISTS {_q(d, f'{ban_table}_{model}')} ON {_q(d, names[model])}"
            for model in GUARDED_MODELS
        ]
        return [*out, f"DROP FUNCTION IF EXISTS {_q(d, FUNCTION)}()"]
    return [
        f"DROP TRIGGER IF EXISTS {_q(d, f'{ban_table}_{model}_{event}')}"
        for model in GUARDED_MODELS
        for event in EVENTS
    ]


def installed_query(dialect: str, *, ban_table: str = BAN_TABLE) -> str:
    """A query whose rows' first column are the guard triggers present in the current database (for
    PostgreSQL one trigger per table covers both events; the names are `<ban_table>_<model>`)."""
    d = _dialect(dialect)
    pattern = ban_table.replace("_", "\\_") + "\\_%"
    if d == "sqlite":
        return f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '{pattern}' ESCAPE '\\'"
    if d == "postgresql":
        return (
            "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
            f" AND tgname LIKE '{pattern}'"
        )
    return (
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"
        f" AND TRIGGER_NAME LIKE '{pattern}'"
    )
