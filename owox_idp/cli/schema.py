"""`idp migrate`, `idp info`, `idp generate-secret`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from owox_idp.cli.common import Globals, JsonOpt, ReasonOpt, YesOpt, _confirm, _run, app, command

if TYPE_CHECKING:
    from owox_idp.api import Admin, Info
    from owox_idp.output import Output
    from owox_idp.services.schema import MigrateResult


# ----------------------------------------------------------------------------- schema


@app.command("migrate")
def migrate_cmd(
    ctx: typer.Context,
    sql: Annotated[bool, typer.Option("--sql", help="Print the statements and change nothing.")] = False,
    indexes: Annotated[
        bool,
        typer.Option(
            "--indexes",
            help="Also create idp's own indexes (idp_*) that make the newest-first listings fast.",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Create Better Auth's tables in a database that has another application's."
        ),
    ] = False,
    yes: YesOpt = False,
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create or extend the schema additively, exactly as Better Auth's own migration would."""

    def call(admin: Admin, out: Output) -> MigrateResult:
        def confirm(plan: Any) -> bool:
            if yes or json_ or sys.stdin is None or not sys.stdin.isatty():
                return True
            out.message("The migration will run:")
            for statement in plan.statements:
                out.message(f"  {statement};")
            _confirm(out, "Apply it?", yes=False, command="migrate")
            return True

        result = admin.migrate(dry_run=sql, confirm=confirm, indexes=indexes, force=force, reason=reason)
        for warning in result.plan.warnings:
            out.warn(warning)
        return result

    def render(out: Output, admin: Admin, result: MigrateResult) -> None:
        if sql:
            for statement in result.statements:
                out.result(statement + ";")
            if not result.statements:
                out.message("-- the schema is up to date")
            return
        if not result.statements:
            out.message("Nothing to do: the schema is up to date.")
        else:
            out.message(f"Applied {len(result.statements)} statement(s): " + _summary(result.plan))

    command(ctx, call, render, json_=json_)


def _summary(plan: Any) -> str:
    parts = []
    if plan.create_tables:
        parts.append("created tables " + ", ".join(plan.create_tables))
    if plan.add_columns:
        parts.append("added columns " + ", ".join(plan.add_columns))
    if plan.add_indexes:
        parts.append("created indexes " + ", ".join(plan.add_indexes))
    if plan.create_idp_tables:
        parts.append("created idp's own tables " + ", ".join(plan.create_idp_tables))
    return "; ".join(parts) + "."


@app.command("info")
def info_cmd(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Version, settings and their sources (secrets redacted), database, schema status, counts, warnings."""

    def render(out: Output, admin: Admin, info: Info) -> None:
        data = info.data
        out.result(f"idp {data['version']} (flavor {data['flavor']})")
        out.result("")
        out.result("Settings:")
        width = max(len(k) for k in data["settings"])
        for key, item in data["settings"].items():
            value = "" if item["value"] is None else item["value"]
            out.result(f"  {key:<{width}}  {value}    [{item['source']}]")
        db = data["database"]
        out.result("")
        out.result(
            f"Database: {db['dialect']} {db['url']} - "
            + ("reachable" if db["reachable"] else "NOT reachable")
        )
        if data["schema"]:
            out.result(f"Schema:   {data['schema']['status']}")
        if data["counts"]:
            out.result("")
            out.result("Counts:")
            for key, value in data["counts"].items():
                if isinstance(value, dict):
                    value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
                out.result(f"  {key.replace('_', ' ')}: {value}")
        for warning in data["warnings"]:
            out.warn(warning)

    def call(admin: Admin, out: Output) -> None:
        info = admin.info()
        if json_:
            out.json(info.to_json())
        else:
            render(out, admin, info)
        db = info.data["database"]
        if not db["reachable"] and info.data["schema"] is None:  # not a SQLite file still to be created
            from owox_idp.errors import DatabaseUnreachable

            raise DatabaseUnreachable(
                f"the database cannot be reached: {db.get('error') or 'no answer'}",
                hint="the report above shows the settings and where each came from",
            )

    command(ctx, call)


@app.command("generate-secret")
def generate_secret_cmd(
    ctx: typer.Context,
    write: Annotated[bool, typer.Option("--write", help="Store it in the config file (mode 0600).")] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="With --write: replace a secret that is already in the config file."),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Print a new 32-byte secret as 64 hex characters (Better Auth's `secret` format)."""

    def body(out: Output) -> None:
        from owox_idp.config import config_file_path
        from owox_idp.services import schema

        g: Globals = ctx.obj
        path = config_file_path(config_path=g.config, env_file=g.env_file)
        value, written = schema.generate_secret(path, write=write, force=force)
        if json_:
            out.json({"secret": value, "written_to": written})
        else:
            out.result(value)
        if written:
            out.message(f"Stored as `secret` in {written} (mode 0600). The server must use the same value.")
        else:
            out.message(
                "Set it as IDP_BETTER_AUTH_SECRET (OWOX) or BETTER_AUTH_SECRET on the server and for idp."
            )

    _run(body)
