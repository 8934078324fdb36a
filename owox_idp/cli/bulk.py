"""`idp import`, `idp export`, `idp cleanup`: many users or rows at once."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from owox_idp.cli.common import (
    CallbackUrlOpt,
    JsonOpt,
    ReasonOpt,
    TtlOpt,
    _admin,
    _run,
    _warn_ttl,
    app,
    command,
    stdout_closed,
    warn_unrecorded,
)
from owox_idp.cli.files import _LinksFile, _open_private
from owox_idp.errors import IdpError, Interrupted, OperationalError, UsageError

if TYPE_CHECKING:
    from owox_idp.api import Admin
    from owox_idp.output import Output
    from owox_idp.services.cleanup import CleanupResult
    from owox_idp.services.importing import ImportSummary, RowResult

FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="csv or jsonl (default: from the file name, else from its content).",
        show_default=False,
    ),
]


class _ImportReport:
    """Renders the import as it goes: failed rows, a progress bar on a terminal, JSON lines, links."""

    def __init__(self, out: Output, *, json_: bool, links: _LinksFile | None) -> None:
        from owox_idp.services.importing import ImportSummary

        self.out = out
        self.json = json_
        self.links = links
        self.summary = ImportSummary()
        self._progress: Any = None
        self._task: Any = None
        self._shown: set[int] = set()  # lines whose failure `validated` showed

    def validated(self, failed: Sequence[RowResult], to_write: int) -> None:
        self._shown.update(r.line for r in failed)
        if not self.json:
            for r in failed:
                self.out.message(f"line {r.line}: {r.error}")
        if self.out.stderr_tty and to_write:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            console = Console(file=self.out.stderr, no_color="NO_COLOR" in os.environ)
            self._progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("importing", total=to_write)

    def done(self, results: Sequence[RowResult]) -> None:
        from owox_idp.output import to_json

        # called before the batch commits: the links first (an error rolls the batch back), then the
        # --json lines (a closed stdout rolls it back too), then the counts
        if self.links is not None:
            self.links.write(results)
        if self.json:
            for r in results:
                self.out.stdout.write(to_json(_row_json(r)) + "\n")
            self.out.stdout.flush()
        written = 0
        for r in results:
            self.summary.count(r)
            written += r.action in ("created", "updated")
            if self.json:
                continue  # its JSON line was written above, before the commit
            elif r.action == "failed" and r.line not in self._shown:
                # found while writing (a streamed import checks duplicates and existing users per batch)
                self.out.message(f"line {r.line}: {r.error}")
            elif r.note and r.action != "failed" and r.note not in ("exists", "unchanged"):
                self.out.message(f"line {r.line}: {r.note}")
        if self._progress is not None:
            self._progress.advance(self._task, written)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _row_json(r: RowResult) -> dict[str, Any]:
    return {
        "line": r.line,
        "email": r.email,
        "action": r.action,
        "role": r.role,
        "user_id": r.user_id,
        "has_password": r.has_password,
        "link_issued": r.magic_link is not None,
        "error": r.error,
        "note": r.note,
    }


def _summary_line(s: ImportSummary, *, dry_run: bool) -> str:
    if dry_run:
        return (
            f"Dry run: would create {s.created}, update {s.updated}, skip {s.skipped}; "
            f"{s.failed} failed. Nothing was written."
        )
    return f"Created {s.created}, updated {s.updated}, skipped {s.skipped}, failed {s.failed}."


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Annotated[
        str,
        typer.Argument(
            help="CSV with a header, or JSON Lines (or, with --from, the provider's export); - reads stdin.",
            show_default=False,
        ),
    ],
    fmt: FormatOpt = None,
    provider: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Read another identity provider's user export: auth0, supabase, firebase, clerk or "
            "keycloak (docs/import-from-providers.md).",
            show_default=False,
        ),
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            help="Role of the users whose row (or export) carries none (default: the deployment's).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate every row and report; write nothing.")
    ] = False,
    if_missing: Annotated[bool, typer.Option("--if-missing", help="Skip users that already exist.")] = False,
    update: Annotated[
        bool, typer.Option("--update", help="Update the name and role of users that already exist.")
    ] = False,
    links: Annotated[
        str | None,
        typer.Option(
            "--links",
            help="Issue a sign-in link to each new user without a password and append "
            "email,magic_link,expires_at to this file (created 0600; - for stdout).",
            show_default=False,
        ),
    ] = None,
    ttl: TtlOpt = None,
    callback_url: CallbackUrlOpt = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Users per transaction (at most 64 passwords to hash).", min=1)
    ] = 2000,  # importing.DEFAULT_BATCH_SIZE
    force: Annotated[
        bool, typer.Option("--force", help="Allow an --update that leaves no active admin.")
    ] = False,
    reason: ReasonOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON result per row on stdout.")] = False,
) -> None:
    """Create users from a CSV or JSON Lines file: validated first, then written in batches."""

    def body(out: Output) -> None:
        with _admin(ctx) as admin:
            _import(admin, out)

    def _import(admin: Admin, out: Output) -> None:
        from owox_idp.services import importing

        if if_missing and update:
            raise UsageError("use --if-missing or --update, not both")
        if links == "-" and json_:
            raise UsageError("--links - and --json both write to stdout: give --links a file")
        lifetime = admin.ttl(ttl)
        source: Any
        if file == "-":  # read once, into memory (a pipe cannot be read twice)
            stream: Any = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
            source = list(
                importing.stream_rows(
                    stream,
                    name="standard input",
                    fmt=fmt,
                    provider=provider,
                    scheme=admin.settings.password_hash,
                    default_role=role,
                )
            )
        else:  # read twice (validate, then write), never held
            source = importing.file_source(
                file, fmt=fmt, provider=provider, scheme=admin.settings.password_hash, default_role=role
            )
        options = importing.ImportOptions(
            mode="if-missing" if if_missing else ("update" if update else "create"),
            dry_run=dry_run,
            links=links is not None,
            ttl=lifetime,
            callback_url=callback_url,
            batch_size=batch_size,
            force=force,
        )
        links_file: _LinksFile | None = None
        report = _ImportReport(out, json_=json_, links=None)
        try:
            links_file = _LinksFile(links, out) if links is not None and not dry_run else None
            report.links = links_file
            summary = admin.import_users(
                source,
                options=options,
                report=report,
                reason=reason,
                source_name=file,
                provider=provider,
            )
        except BrokenPipeError:  # `idp import --json | head -1`: the batch in hand is rolled back
            stdout_closed()
            report.stop()
            _partial(out, report.summary)
            raise OperationalError(
                "standard output was closed: the import stopped, and the batch whose results could not "
                "be written was rolled back with its links",
                hint="re-run the same command with --if-missing to finish",
            ) from None
        except KeyboardInterrupt:
            report.stop()
            _partial(out, report.summary)
            raise Interrupted(
                "import interrupted; every committed batch holds complete users",
                hint="re-run the same command with --if-missing to finish",
            ) from None
        except IdpError:
            report.stop()
            _partial(out, report.summary)
            raise
        finally:
            report.stop()
            if links_file is not None:
                links_file.close()
        out.message(_summary_line(summary, dry_run=dry_run))
        warn_unrecorded(out, admin)
        if links_file is not None and links_file.count and links != "-":
            out.message(f"Wrote {links_file.count} sign-in link(s) to {links} (mode 0600).")
            _warn_ttl(out, admin, lifetime)
        if summary.without_access and not dry_run:
            way = (
                "with `idp reset-password EMAIL`, or import with --links FILE."
                if admin.deployment.flavor.issues_links
                else "with `idp reset-password EMAIL --password-stdin` (this server has no sign-in links)."
            )
            out.message(
                f"{summary.without_access} new user(s) have neither a password nor a link: give each one "
                + way
            )
        if summary.failed:
            from owox_idp.errors import InvalidInput

            raise InvalidInput(
                f"{summary.failed} row(s) failed", hint="fix those lines and re-run with --if-missing"
            )

    _run(body)


def _partial(out: Output, summary: ImportSummary) -> None:
    if summary.created or summary.updated:
        out.message(
            f"Committed before stopping: created {summary.created}, updated {summary.updated} "
            "(complete users, with their role)."
        )
    else:
        out.message("Nothing was committed.")


def _csv_cell(value: Any) -> str:
    from datetime import datetime

    from owox_idp.clock import iso

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value) or ""
    return str(value)


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    role: Annotated[
        str | None, typer.Option("--role", help="Only users with this role.", show_default=False)
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to this file (created new, 0600) instead of stdout.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace the --output file if it exists (never through a symlink)."),
    ] = False,
) -> None:
    """Every user with role, verified, password yes/no, banned, two-factor and dates; never a hash."""

    def body(out: Output) -> None:
        with _admin(ctx) as admin:
            _export(admin, out)

    def _export(admin: Admin, out: Output) -> None:
        import csv

        from owox_idp.output import csv_safe, to_json
        from owox_idp.services import exporting

        if fmt not in exporting.FORMATS:
            raise UsageError(f"unknown --format {fmt!r}: use csv or jsonl")
        users = admin.export_users(role=role)
        target: IO[str] = (
            _open_private(str(output), append=False, overwrite=force, what="export file")
            if output
            else out.stdout
        )
        count = 0
        try:
            writer = csv.writer(target, lineterminator="\n") if fmt == "csv" else None
            if writer is not None:
                writer.writerow(exporting.EXPORT_COLUMNS)
            for user in users:
                record = exporting.export_record(user)
                if writer is not None:
                    # a cell starting with = + - @ would run as a formula in a spreadsheet (OWASP)
                    writer.writerow([csv_safe(_csv_cell(record[k])) for k in exporting.EXPORT_COLUMNS])
                else:
                    target.write(to_json(record) + "\n")
                count += 1
            target.flush()
        except BrokenPipeError:  # `idp export | head`: the reader has all it wants
            stdout_closed()
            return
        finally:
            users.close()
            if output:
                target.close()
        out.message(f"Exported {count} user(s)" + (f" to {output}." if output else "."))

    _run(body)


@app.command("cleanup")
def cleanup_cmd(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
    audit_older_than: Annotated[
        str | None,
        typer.Option(
            "--audit-older-than",
            help="Also delete audit entries older than this (e.g. 365d); without it the trail is kept.",
            show_default=False,
        ),
    ] = None,
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Delete expired sessions and expired verification rows (magic links, reset tokens)."""

    def render(out: Output, admin: Admin, result: CleanupResult) -> None:
        verb = "Deleted" if result.deleted else "Would delete"
        out.message(
            f"{verb} {result.expired_sessions} expired session(s) and "
            f"{result.expired_verifications} expired verification row(s)"
            + (f" and {result.audit_entries} audit entr(ies)." if result.audit_entries is not None else ".")
        )

    command(
        ctx,
        lambda admin, out: admin.cleanup(dry_run=dry_run, audit_older_than=audit_older_than, reason=reason),
        render,
        json_=json_,
    )
