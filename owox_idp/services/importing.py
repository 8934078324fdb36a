"""`idp import`: create (or update) many users from the rows of `reading.read_rows`.

It validates every row first (emails, roles, passwords, hashes, existing users), then writes in
batches: each batch is one transaction holding complete users (user row, role, password, link) written
with one executemany per table. An interrupted run leaves no half-written user, and re-running the same
file with `--if-missing` finishes the job. Passwords are hashed on all cores, ahead of the batch that
needs them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from owox_idp.clock import now as clock_now
from owox_idp.errors import InvalidInput, Refused, UsageError
from owox_idp.services.hashing import ParallelHasher
from owox_idp.services.links import LinkMaker
from owox_idp.services.reading import IMPORT_COLUMNS, InputRow
from owox_idp.validation import normalize_email

if TYPE_CHECKING:
    from owox_idp.context import Env
    from owox_idp.deployment import Deployment
    from owox_idp.models import User
    from owox_idp.repository import Store

__all__ = ["IMPORT_COLUMNS", "ImportOptions", "ImportReport", "ImportSummary", "RowResult", "import_users"]

Mode = Literal["create", "if-missing", "update"]
Action = Literal["created", "updated", "skipped", "failed"]
MODES: tuple[Mode, ...] = ("create", "if-missing", "update")
DEFAULT_BATCH_SIZE = 500
# a batch with passwords is closed after this many hashes, so that progress moves and a Ctrl-C loses
# little work; the hashing itself runs ahead of the batches, so smaller batches cost no throughput
PASSWORD_BATCH = 64
# test-only fault injection (documented in docs/commands/import.md): "kill@N" kills the process with
# SIGKILL, "interrupt@N" raises KeyboardInterrupt, inside batch N after its user rows are inserted
FAULT_ENV = "IDP_TEST_IMPORT_FAULT"

_ARGON2ID = re.compile(r"\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}")


@dataclass
class RowResult:
    """What happened (or, in a dry run, would happen) to one row."""

    line: int
    email: str | None
    action: Action
    role: str | None = None
    user_id: str | None = None
    has_password: bool = False
    error: str | None = None
    note: str | None = None
    magic_link: str | None = None  # never printed: only written to the --links file
    expires_at: datetime | None = None


@dataclass(frozen=True)
class ImportOptions:
    mode: Mode = "create"
    dry_run: bool = False
    links: bool = False  # issue a magic link to every created user without a password
    ttl: int = 3600
    callback_url: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    force: bool = False  # allow an --update that leaves no active admin


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    links: int = 0
    without_access: int = 0  # created with neither a password nor a link
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "failed": self.failed,
            "links": self.links,
            "without_access": self.without_access,
            "dry_run": self.dry_run,
        }

    def count(self, result: RowResult) -> None:
        if result.action == "created":
            self.created += 1
            if result.magic_link:
                self.links += 1
            elif not result.has_password:
                self.without_access += 1
        elif result.action == "updated":
            self.updated += 1
        elif result.action == "skipped":
            self.skipped += 1
        else:
            self.failed += 1


class ImportReport(Protocol):
    """How the command hears about progress. `validated` comes once, before anything is written, with the
    rows that failed and the number of rows to write; `done` comes with each batch, inside its transaction
    and before it commits, with the results of every row up to it, in file order (each row exactly once):
    what `done` writes (the links file) is out before the batch is in, and an exception from `done` rolls
    the batch back and stops the import."""

    def validated(self, failed: Sequence[RowResult], to_write: int) -> None: ...

    def done(self, results: Sequence[RowResult]) -> None: ...


@dataclass
class _Row:
    result: RowResult
    name: str | None = None
    role: str | None = None
    password: str | None = None
    password_hash: str | None = None
    existing: User | None = None
    changes: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.result.action != "failed"

    def fail(self, message: str) -> None:
        self.result.action = "failed"
        self.result.error = message


def _check_hash(dep: Deployment, value: str) -> str | None:
    from owox_idp.crypto.passwords import identify_hash

    scheme = identify_hash(value)
    if scheme is None:
        return (
            "password_hash is not a hash the server verifies: expected Better Auth's scrypt form "
            "<32 hex>:<128 hex> (lower-case), argon2id with IDP_PASSWORD_HASH=argon2id, or bcrypt with "
            "IDP_PASSWORD_HASH=bcrypt"
        )
    if scheme != dep.settings.password_hash:
        return (
            f"password_hash is {'an' if scheme[0] in 'aeiou' else 'a'} {scheme} hash but the server verifies "
            f"{dep.settings.password_hash} "
            "(IDP_PASSWORD_HASH)"
        )
    if scheme == "argon2id" and not _ARGON2ID.fullmatch(value):
        return "password_hash is not a well-formed argon2id hash"
    return None


def _check_row(row: InputRow, dep: Deployment, seen: dict[str, int]) -> _Row:
    """Everything that can be checked without the database."""
    from owox_idp.crypto.passwords import validate_password_length

    raw_email = (row.fields.get("email") or "").strip()
    checked = _Row(RowResult(row.line, raw_email.lower() or None, "created"))
    if row.error:
        checked.fail(row.error)
        return checked
    if not raw_email:
        checked.fail("no email")
        return checked
    try:
        email = normalize_email(raw_email)
        checked.result.email = email
        role_text = (row.fields.get("role") or "").strip()
        checked.role = dep.normalize_role(role_text) if role_text else None
        checked.name = (row.fields.get("name") or "").strip() or None
        checked.password = row.fields.get("password") or None
        checked.password_hash = (row.fields.get("password_hash") or "").strip() or None
        if checked.password is not None:
            validate_password_length(checked.password)
    except InvalidInput as exc:
        checked.fail(exc.message)
        return checked
    if email in seen:
        checked.fail(f"duplicate: {email} is also on line {seen[email]}")
        return checked
    seen[email] = row.line
    if checked.password is not None and checked.password_hash is not None:
        checked.fail("give password or password_hash, not both")
    elif checked.password_hash is not None and (problem := _check_hash(dep, checked.password_hash)):
        checked.fail(problem)
    return checked


def _plan(store: Store, rows: list[_Row], options: ImportOptions) -> None:
    """Decide each valid row's action against the database (one query per 500 emails)."""
    valid = [r for r in rows if r.ok]
    emails = [r.result.email for r in valid if r.result.email]
    dep = store.deployment
    existing = store.users.by_emails(emails)
    for mixed in store.users.with_mixed_case_email():  # rows other tools wrote with upper-case letters
        existing.setdefault(mixed.email.lower(), mixed)
    for row in valid:
        user = existing.get(row.result.email or "")
        result = row.result
        if user is None:
            row.role = row.role or dep.default_role
            result.role = row.role
            result.has_password = row.password is not None or row.password_hash is not None
            continue
        row.existing = user
        result.user_id, result.role, result.has_password = user.id, user.role, user.has_password
        if options.mode == "if-missing":
            result.action, result.note = "skipped", "exists"
        elif options.mode == "update":
            _plan_update(row, user, dep)
        else:
            row.fail(
                f"{user.email} already exists (--if-missing skips existing users, --update updates them)"
            )
    if options.mode == "update":
        _guard_admins(store, rows, force=options.force)


def _plan_update(row: _Row, user: User, dep: Deployment) -> None:
    result = row.result
    if row.name is not None and row.name != user.name:
        row.changes["name"] = row.name
    if row.role is not None and row.role != user.role:
        if dep.flavor.frozen_while_banned and user.banned:
            row.fail(f"{user.email} is banned: unban them before changing their role")
            return
        row.changes["role"] = row.role
        result.role = row.role
    if row.password is not None or row.password_hash is not None:
        result.note = "password ignored: import never changes an existing user's password"
    if row.changes:
        result.action = "updated"
    else:
        result.action = "skipped"
        result.note = result.note or "unchanged"


def _guard_admins(store: Store, rows: list[_Row], *, force: bool) -> None:
    """Refuse an --update that would leave the deployment with no active admin (unless --force)."""
    dep = store.deployment
    demotes = [
        r
        for r in rows
        if r.ok
        and r.existing is not None
        and "role" in r.changes
        and dep.has_admin_role(r.existing.role)
        and not dep.has_admin_role(r.changes["role"])
    ]
    if force or not demotes:
        return
    admins: set[str] = set(store.users.active_admin_ids(dep.admin_roles, dep.admin_user_ids))
    remaining = admins - {r.existing.id for r in demotes if r.existing is not None}
    gains = any(
        r.ok and dep.has_admin_role(r.role) and (r.existing is None or not r.existing.banned)
        for r in rows
        if r.existing is None or "role" in r.changes
    )
    if admins and not remaining and not gains:
        raise Refused(
            "the import would leave the deployment without an active admin "
            f"(line {demotes[-1].result.line} demotes the last one); nothing was written",
            hint="keep an admin in the file, make another user admin first, or pass --force",
        )


def _demotes(row: _Row, dep: Deployment) -> bool:
    """The row takes an admin role away from an existing user."""
    return (
        row.ok
        and row.result.action == "updated"
        and row.existing is not None
        and "role" in row.changes
        and dep.has_admin_role(row.existing.role)
        and not dep.has_admin_role(row.changes["role"])
    )


def _guard_batch(store: Store, batch: list[_Row]) -> None:
    """The last-admin rule for one batch that demotes admins, checked against the database as it is now,
    under the admin lock that set-role, ban and delete-user take (so a concurrent demotion cannot pass
    it at the same time); the batch is refused (rolled back) if it would leave no active admin."""
    from owox_idp.services.users import _test_pause

    dep = store.deployment
    store.users.lock_admins()
    admins = set(store.users.active_admin_ids(dep.admin_roles, dep.admin_user_ids))
    _test_pause()
    # a user listed in the server's adminUserIds stays an admin whatever their role
    demoted = {r.existing.id for r in batch if r.existing is not None and _demotes(r, dep)}
    demoted -= set(dep.admin_user_ids)
    if admins and not admins - demoted:
        line = max(r.result.line for r in batch if r.existing is not None and r.existing.id in demoted)
        raise Refused(
            "the import would leave the deployment without an active admin "
            f"(line {line} demotes the last one); the rows before it are written, it and the rest are not",
            hint="keep an admin in the file, make another user admin first, or pass --force",
        )


def _recheck_created(store: Store, batch: list[_Row], options: ImportOptions) -> None:
    """Under the write lock (taken first in every write transaction), the batch's new users checked
    again: another run (an overlapping import, an add-user) may have created one since the plan. Such a
    row becomes what the plan would have made of it: skipped with --if-missing, failed otherwise (an
    --update of a user that appeared meanwhile is not guessed at: it fails, and a re-run updates it)."""
    created = [r for r in batch if r.result.action == "created"]
    if not created:
        return
    now_there = store.users.by_emails([r.result.email or "" for r in created])
    for row in created:
        user = now_there.get(row.result.email or "")
        if user is None:
            continue
        row.existing = user
        result = row.result
        result.user_id, result.role, result.has_password = user.id, user.role, user.has_password
        if options.mode == "if-missing":
            result.action, result.note = "skipped", "exists"
        else:
            row.fail(
                f"{user.email} already exists: another run created it while this import ran "
                "(--if-missing skips existing users, --update updates them)"
            )
    batch[:] = [r for r in batch if r.result.action in ("created", "updated")]


def _prior_links(store: Store, emails: set[str]) -> dict[str, list[str]]:
    """Ids of the magic-link rows (any version's form, live or expired) already issued to these emails:
    one pass over the verification table instead of a LIKE scan per user."""
    from owox_idp.services.links import link_email

    found: dict[str, list[str]] = {}
    for row_id, value in store.verifications.json_values():
        email = link_email(value)
        if email is not None and email in emails:
            found.setdefault(email, []).append(row_id)
    return found


def _fault(batch_number: int) -> None:
    """Test-only: simulate Ctrl-C or `kill -9` in the middle of a batch (see FAULT_ENV)."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    kind, _, number = spec.partition("@")
    if number.strip() != str(batch_number):
        return
    if kind == "kill":
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "interrupt":
        raise KeyboardInterrupt


def _write_batch(
    store: Store,
    batch: list[_Row],
    *,
    hashes: dict[int, str],
    prior_links: dict[str, list[str]],
    link_maker: LinkMaker | None,
    now: datetime,
    number: int,
) -> None:
    """Write one batch of complete users inside the caller's transaction: one executemany per table."""
    from owox_idp.services.users import new_user_row

    flavor = store.deployment.flavor
    created = [r for r in batch if r.result.action == "created"]
    updated = [r for r in batch if r.result.action == "updated"]
    user_rows: list[dict[str, Any]] = [
        new_user_row(store, email=row.result.email or "", name=row.name, role=row.role or "", now=now)
        for row in created
    ]
    for row, user_id in zip(created, store.users.insert_many(user_rows), strict=True):
        row.result.user_id = user_id
    _fault(number)

    flavor.assign_new_roles(store, [(r.result.user_id or "", r.role or "") for r in created], now)
    store.users.store_passwords(
        [
            (row.result.user_id or "", hashes.get(row.result.line) or row.password_hash or "")
            for row in created
            if row.password is not None or row.password_hash is not None
        ],
        now,
    )
    store.verifications.delete([i for row in created for i in prior_links.get(row.result.email or "", ())])
    if link_maker is not None:
        link_rows: list[dict[str, Any]] = []
        for row in created:
            if row.password is None and row.password_hash is None:
                url, expires, rows = link_maker.issue(row.result.email or "", row.role, now)
                row.result.magic_link, row.result.expires_at = url, expires
                link_rows += rows
        store.verifications.insert_rows("verification", link_rows)

    # updates (--update): the name on the user row; the role where the flavor keeps it
    role_changes: list[tuple[User, str]] = []
    changes_by_id: dict[str, dict[str, Any]] = {}
    for row in updated:
        assert row.existing is not None
        changes: dict[str, Any] = {"id": row.existing.id}
        if "name" in row.changes:
            changes["name"] = row.changes["name"]
        if "role" in row.changes:
            role_changes.append((row.existing, row.changes["role"]))
        changes_by_id[row.existing.id] = changes
    for column_change in flavor.set_roles(store, role_changes, now):
        changes_by_id[str(column_change["id"])].update(column_change)
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for changes in changes_by_id.values():
        if len(changes) > 1:
            changes["updatedAt"] = now
            by_keys.setdefault(tuple(changes), []).append(changes)
    for group in by_keys.values():
        store.users.update_many(group)


def import_users(
    env: Env,
    rows: list[InputRow],
    *,
    options: ImportOptions,
    report: ImportReport,
    clock: Callable[[], datetime] = clock_now,
) -> ImportSummary:
    """Validate every row, then (unless a dry run) write them in batches of complete users."""
    dep = env.deployment
    if options.mode not in MODES:
        raise UsageError(f"unknown import mode {options.mode!r}")
    if options.batch_size < 1:
        raise InvalidInput("--batch-size must be at least 1")
    if options.links and dep.flavor.link_needs_secret:
        dep.settings.require_secrets()  # e.g. OWOX links carry an encrypted role token
    elif options.links:  # a server without links (the Rust port) refuses here, before any batch
        from owox_idp.services import links

        links.build_url(dep, links.LinkMaker.PLACEHOLDER, None, callback_url=options.callback_url)

    seen: dict[str, int] = {}
    planned = [_check_row(row, dep, seen) for row in rows]
    summary = ImportSummary(dry_run=options.dry_run)
    hasher: ParallelHasher | None = None
    try:
        with env.store(write=False) as store:
            _plan(store, planned, options)
            new_emails = {r.result.email or "" for r in planned if r.result.action == "created"}
            prior = _prior_links(store, new_emails) if new_emails and not options.dry_run else {}
        dep = env.deployment  # as the database showed it (layout, ids, dates, plugins)
        if options.links:
            dep.require_database_verifications("import --links")
        writes = [r for r in planned if r.result.action in ("created", "updated")]
        report.validated([r.result for r in planned if not r.ok], len(writes))
        if options.dry_run:
            for row in planned:
                summary.count(row.result)
            if options.links:  # the links that would be issued
                summary.links, summary.without_access = summary.without_access, 0
            report.done([r.result for r in planned])
            return summary

        passwords = [r.password for r in writes if r.result.action == "created" and r.password is not None]
        hasher = (
            ParallelHasher(
                dep.settings.password_hash, passwords, job=dep.flavor.password_hasher(dep.settings)
            )
            if passwords
            else None
        )
        link_maker = (
            LinkMaker(dep, ttl=options.ttl, callback_url=options.callback_url) if options.links else None
        )
        pending: list[_Row] = []
        batch: list[_Row] = []
        number = 0

        def flush() -> None:
            nonlocal number
            results = [r.result for r in pending]
            if batch:
                number += 1
                hashes = {
                    r.result.line: hasher.next()
                    for r in batch
                    if hasher is not None and r.result.action == "created" and r.password is not None
                }
                with env.store(write=True) as store:
                    _recheck_created(store, batch, options)
                    if any(_demotes(r, env.deployment) for r in batch) and not options.force:
                        _guard_batch(store, batch)
                    _write_batch(
                        store,
                        batch,
                        hashes=hashes,
                        prior_links=prior,
                        link_maker=link_maker,
                        now=clock(),
                        number=number,
                    )
                    # the batch's links (and --json lines) are out before it commits: a links file that
                    # cannot be written (disk full) or a closed stdout rolls the batch back, so that no
                    # user keeps a live link nobody has and `--if-missing` finishes them
                    report.done(results)
            elif results:
                report.done(results)
            for row in pending:
                summary.count(row.result)
            pending.clear()
            batch.clear()

        # rows that take an admin role away are written last, once every new admin in the file is in:
        # interrupted anywhere, the import never leaves fewer admins than the file means to keep
        demotions = [r for r in planned if _demotes(r, dep)]
        deferred = {id(r) for r in demotions}
        hashed = 0
        for row in planned:
            if id(row) in deferred:
                continue
            pending.append(row)
            if row.result.action not in ("created", "updated"):
                continue
            batch.append(row)
            hashed += row.password is not None and row.result.action == "created"
            if len(batch) >= options.batch_size or hashed >= PASSWORD_BATCH:
                flush()
                hashed = 0
        flush()
        for row in demotions:
            pending.append(row)
            batch.append(row)
            if len(batch) >= options.batch_size:
                flush()
        flush()
        return summary
    finally:
        if hasher is not None:
            hasher.close()
        env.close()
