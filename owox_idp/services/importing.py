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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol

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
    from owox_idp.services.providers import ProviderRecord

__all__ = [
    "IMPORT_COLUMNS",
    "ImportOptions",
    "ImportReport",
    "ImportSummary",
    "RowResult",
    "RowSource",
    "import_users",
]

Mode = Literal["create", "if-missing", "update"]
Action = Literal["created", "updated", "skipped", "failed"]
MODES: tuple[Mode, ...] = ("create", "if-missing", "update")
DEFAULT_BATCH_SIZE = 2000
# a batch with passwords is closed after this many hashes, so that progress moves and a Ctrl-C loses
# little work; the hashing itself runs ahead of the batches, so smaller batches cost no throughput
PASSWORD_BATCH = 64
# test-only fault injection (documented in docs/commands/import.md): "kill@N" kills the process with
# SIGKILL, "interrupt@N" raises KeyboardInterrupt, inside batch N after its user rows are inserted
FAULT_ENV = "IDP_TEST_IMPORT_FAULT"
# how a provider's export row says its password hash was not kept (providers.ProviderRecord.password_note)
NOT_IMPORTED = "password not imported"
# the input of a streamed import: each call reads it again from its first row (one call per pass)
RowSource = Callable[[], Iterator[InputRow]]
# streamed imports find duplicate emails with a bitmap of 2**27 bits (16 MiB) of the emails' hashes:
# only the emails whose bit was already set are remembered exactly, in the second pass
_BITMAP_BITS = 27
_BITMAP_MASK = (1 << _BITMAP_BITS) - 1

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
    email_verified: bool = True  # what a provider's export says; idp's own files vouch for the address
    created_at: datetime | None = None

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


def _check_row(
    row: InputRow, dep: Deployment, seen: dict[str, int] | None, roles: dict[str, str] | None = None
) -> _Row:
    """Everything that can be checked without the database (`seen`: the emails of the rows before, for
    duplicates; None when the caller finds duplicates itself; `roles`: role texts already normalized)."""
    raw_email = (row.fields.get("email") or "").strip()
    checked = _Row(RowResult(row.line, raw_email.lower() or None, "created", note=row.note))
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
        if not role_text:
            checked.role = None
        elif roles is not None and role_text in roles:
            checked.role = roles[role_text]
        else:
            checked.role = dep.normalize_role(role_text)
            if roles is not None:  # a valid role text: a small set, whatever the file's size
                roles[role_text] = checked.role
        checked.name = (row.fields.get("name") or "").strip() or None
        checked.password = row.fields.get("password") or None
        checked.password_hash = (row.fields.get("password_hash") or "").strip() or None
        if checked.password is not None:
            from owox_idp.crypto.passwords import validate_password_length  # not per row of a file without

            validate_password_length(checked.password)
        _provider_fields(row, checked)
    except InvalidInput as exc:
        checked.fail(exc.message)
        return checked
    if seen is not None:
        if email in seen:
            checked.fail(f"duplicate: {email} is also on line {seen[email]}")
            return checked
        seen[email] = row.line
    if checked.password is not None and checked.password_hash is not None:
        checked.fail("give password or password_hash, not both")
    elif checked.password_hash is not None and (problem := _check_hash(dep, checked.password_hash)):
        checked.fail(problem)
    return checked


def _provider_fields(row: InputRow, checked: _Row) -> None:
    """The verified flag and creation date a provider's export carries (`ProviderRecord.to_input_row`);
    idp's own import files have neither (reading.py keeps only IMPORT_COLUMNS)."""
    verified = row.fields.get("email_verified")
    if verified is not None:
        checked.email_verified = verified == "true"
    checked.created_at = row.created_at


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
        _exists(row, user, options, why=": another run created it while this import ran")
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
    from owox_idp.services.users import new_user_row, user_template

    flavor = store.deployment.flavor
    created = [r for r in batch if r.result.action == "created"]
    updated = [r for r in batch if r.result.action == "updated"]
    # the columns that depend only on the role, made once per role (a file has few)
    templates = {role: user_template(store, role) for role in {r.role or "" for r in created}}
    user_rows: list[dict[str, Any]] = [
        new_user_row(
            store,
            email=row.result.email or "",
            name=row.name,
            role=row.role or "",
            now=now,
            email_verified=row.email_verified,
            created_at=row.created_at,
            template=templates[row.role or ""],
        )
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
                _link_note(row.result, issued=True)
        # in identifier order: the batch walks the identifier index (random tokens) once, front to back,
        # instead of jumping about it (a million-user import on SQLite: 7% faster)
        link_rows.sort(key=itemgetter("identifier"))
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


def _link_note(result: RowResult, *, issued: bool) -> None:
    """A provider's password that was not kept: say what the user gets instead."""
    if result.note and result.note.startswith(NOT_IMPORTED) and result.action == "created":
        result.note += (
            "; the user gets a sign-in link instead" if issued else "; no sign-in link (import with --links)"
        )


def _exists(row: _Row, user: User, options: ImportOptions, *, why: str = "") -> None:
    """A new row whose email is already a user: skipped with --if-missing, failed otherwise."""
    row.existing = user
    result = row.result
    result.user_id, result.role, result.has_password = user.id, user.role, user.has_password
    if options.mode == "if-missing":
        result.action, result.note = "skipped", "exists"
    else:
        row.fail(
            f"{user.email} already exists{why} (--if-missing skips existing users, --update updates them)"
        )


def _link_notes(rows: Sequence[_Row], *, issued: bool) -> None:
    for row in rows:
        if row.result.magic_link is None:
            _link_note(row.result, issued=issued)


def import_users(
    env: Env,
    rows: Sequence[InputRow] | RowSource,
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

    if callable(rows):
        streamed = _import_streamed(env, rows, options=options, report=report, clock=clock)
        if streamed is not None:
            return streamed
        rows = list(rows())  # plain passwords to hash, or --update: the whole file is planned at once
    seen: dict[str, int] = {}
    roles: dict[str, str] = {}
    planned = [_check_row(row, dep, seen, roles) for row in rows]
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
            for row in planned:
                _link_note(row.result, issued=options.links)
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
                    _link_notes(pending, issued=False)
                    report.done(results)
            elif results:
                _link_notes(pending, issued=False)
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


# ----------------------------------------------------------------------------- streamed imports


class _PriorLinks:
    """Magic-link rows already in the database for emails about to be created (a link issued to an
    address whose user was since deleted): they are deleted with the new user's batch, as `_prior_links`
    does, without holding the verification table in memory. One scan at the start sets a bit per link
    email; a batch with a candidate scans again for just its candidates, and after a few such batches
    (a table full of links) the exact map is loaded once."""

    SCANS = 8

    def __init__(self, store: Store) -> None:
        from owox_idp.services.links import link_email

        self.bits = bytearray(1 << (_BITMAP_BITS - 3))
        self.any = False
        for _, value in store.verifications.json_values():
            email = link_email(value)
            if email is not None:
                h = hash(email) & _BITMAP_MASK
                self.bits[h >> 3] |= 1 << (h & 7)
                self.any = True
        self.scans = 0
        self.full: dict[str, list[str]] | None = None

    def ids(self, store: Store, emails: Sequence[str]) -> dict[str, list[str]]:
        if not self.any:
            return {}
        wanted = {e for e in emails if self.bits[(h := hash(e) & _BITMAP_MASK) >> 3] & (1 << (h & 7))}
        if not wanted:
            return {}
        if self.full is None and self.scans >= self.SCANS:
            from owox_idp.services.links import link_email

            self.full = {}
            for row_id, value in store.verifications.json_values():
                email = link_email(value)
                if email is not None:
                    self.full.setdefault(email, []).append(row_id)
        if self.full is not None:
            return {e: self.full[e] for e in wanted if e in self.full}
        self.scans += 1
        return _prior_links(store, wanted)


def _import_streamed(
    env: Env,
    source: RowSource,
    *,
    options: ImportOptions,
    report: ImportReport,
    clock: Callable[[], datetime],
) -> ImportSummary | None:
    """Import without holding the file: a first pass validates every row (and counts them), a second
    reads the file again and writes it batch by batch, each batch planned against the database inside
    its own transaction. Returns None, having written nothing, when the file needs the whole-file path
    (a plain password to hash ahead; --update, whose last-admin rule looks at every row at once)."""
    if options.mode == "update":
        return None
    dep = env.deployment
    bits = bytearray(1 << (_BITMAP_BITS - 3))
    collided: set[int] = set()
    failed: list[RowResult] = []
    valid = 0
    roles: dict[str, str] = {}
    for row in source():
        checked = _check_row(row, dep, None, roles)
        if not checked.ok:
            failed.append(checked.result)
            continue
        if checked.password is not None:
            return None
        h = hash(checked.result.email) & _BITMAP_MASK
        byte, bit = h >> 3, 1 << (h & 7)
        if bits[byte] & bit:
            collided.add(h)
        else:
            bits[byte] |= bit
        valid += 1
    del bits

    summary = ImportSummary(dry_run=options.dry_run)
    with env.store(write=False) as store:
        mixed = {u.email.lower(): u for u in store.users.with_mixed_case_email()}
        prior = _PriorLinks(store) if not options.dry_run else None
    dep = env.deployment  # as the database showed it
    if options.links:
        dep.require_database_verifications("import --links")
    report.validated(failed, valid)
    link_maker = (
        LinkMaker(dep, ttl=options.ttl, callback_url=options.callback_url)
        if options.links and not options.dry_run
        else None
    )
    first_line: dict[str, int] = {}  # the emails whose hash bit collided: exact duplicate check
    pending: list[_Row] = []
    batch: list[_Row] = []
    number = 0

    def plan(store: Store) -> None:
        existing = store.users.by_emails([r.result.email or "" for r in batch])
        for row in batch:
            email = row.result.email or ""
            user = existing.get(email) or mixed.get(email)
            result = row.result
            if user is None:
                row.role = row.role or dep.default_role
                result.role = row.role
                result.has_password = row.password_hash is not None
                continue
            _exists(row, user, options)

    def flush() -> None:
        nonlocal number
        written = False
        if batch:
            number += 1
            if options.dry_run:
                with env.store(write=False) as store:
                    plan(store)
            else:
                assert prior is not None
                with env.store(write=True) as store:
                    plan(store)
                    created = [r for r in batch if r.result.action == "created"]
                    _write_batch(
                        store,
                        created,
                        hashes={},
                        prior_links=prior.ids(store, [r.result.email or "" for r in created]),
                        link_maker=link_maker,
                        now=clock(),
                        number=number,
                    )
                    # out before the batch commits (links file, --json lines): see import_users
                    _link_notes(pending, issued=False)
                    report.done([r.result for r in pending])
                    written = True
        if not written:
            _link_notes(pending, issued=options.dry_run and options.links)
            report.done([r.result for r in pending])
        for row in pending:
            summary.count(row.result)
            if (
                options.dry_run
                and options.links
                and row.result.action == "created"
                and not row.result.has_password
            ):
                summary.links += 1
                summary.without_access -= 1
        pending.clear()
        batch.clear()

    roles = {}  # normalized again by the deployment as the database showed it
    try:
        for row in source():
            checked = _check_row(row, dep, None, roles)
            if checked.ok and (hash(checked.result.email) & _BITMAP_MASK) in collided:
                email = checked.result.email or ""
                if email in first_line:
                    checked.fail(f"duplicate: {email} is also on line {first_line[email]}")
                else:
                    first_line[email] = row.line
            pending.append(checked)
            if checked.ok:
                batch.append(checked)
                if len(batch) >= options.batch_size:
                    flush()
        flush()
    finally:
        env.close()
    return summary


# ----------------------------------------------------------------------------- inputs


def provider_row(record: ProviderRecord, scheme: str, default_role: str | None) -> InputRow:
    """A provider's user as an import row, with the report's note when its password is not kept."""
    row = record.to_input_row(scheme, default_role=default_role)
    row.note = record.password_note(scheme)
    return row


def _with_role(rows: Iterator[InputRow], default_role: str | None) -> Iterator[InputRow]:
    for row in rows:
        if default_role and not row.error and not (row.fields.get("role") or "").strip():
            row.fields["role"] = default_role
        yield row


def stream_rows(
    stream: BinaryIO,
    *,
    name: str,
    fmt: str | None = None,
    provider: str | None = None,
    scheme: str = "scrypt",
    default_role: str | None = None,
) -> Iterator[InputRow]:
    """The import rows of one open input: idp's own CSV / JSON Lines, or a provider's export."""
    if provider is None:
        from owox_idp.services import reading

        _, rows = reading.iter_rows(stream, name=name, fmt=fmt)
        return _with_role(rows, default_role)
    from owox_idp.services import providers

    if provider not in providers.PROVIDERS:
        raise UsageError(f"unknown --from {provider!r}: use {', '.join(providers.PROVIDERS)}")
    if fmt is not None:
        raise UsageError("--format is for idp's own files: --from reads the provider's own format")
    return (provider_row(r, scheme, default_role) for r in providers.read_export(provider, stream, name=name))


def file_source(
    path: str,
    *,
    fmt: str | None = None,
    provider: str | None = None,
    scheme: str = "scrypt",
    default_role: str | None = None,
) -> RowSource:
    """A file read again for each pass of a streamed import (never held in memory)."""

    def open_rows() -> Iterator[InputRow]:
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed when the rows are read
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        with stream:
            yield from stream_rows(
                stream, name=path, fmt=fmt, provider=provider, scheme=scheme, default_role=default_role
            )

    try:  # a missing file is an error now, not at the first pass
        open(path, "rb").close()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    return open_rows
