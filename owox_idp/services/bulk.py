"""Bulk operations: `idp import` (CSV or JSON Lines), `idp export` (streamed in constant memory) and
`idp cleanup` (expired sessions and verification rows).

Unlike the one-user services these run several short transactions, so they take the `Env` rather than
one repository:

- import validates every row first (file format, emails, roles, passwords, hashes, existing users),
  then writes in batches: each batch is one transaction holding complete users (user row, role,
  password, link) written with one executemany per table. An interrupted run leaves no half-written
  user, and re-running the same file with `--if-missing` finishes the job. Passwords are hashed on all
  cores, ahead of the batch that needs them.
- export pages through `user` by primary key (keyset, never OFFSET), one short read transaction per
  page, so neither memory nor lock time grows with the table.
- cleanup deletes expired rows in batches of short transactions, so a running server is never locked
  out for long.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from owox_idp.clock import now as clock_now
from owox_idp.errors import InvalidInput, Refused, UsageError
from owox_idp.models import USER_RECORD_FIELDS
from owox_idp.validation import has_admin_role, name_from_email, normalize_email, normalize_role

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from sqlalchemy.engine import Connection

    from owox_idp.config import Settings
    from owox_idp.context import Env
    from owox_idp.models import User
    from owox_idp.repository import Repository, Tables

FORMATS = ("csv", "jsonl")
MODES = ("create", "if-missing", "update")
# what an import row may say
IMPORT_COLUMNS = ("email", "name", "role", "password", "password_hash")
# what `idp export` writes (the keys of `idp list-users --json`); import ignores the ones it does not use,
# so an export re-imports as it is
EXPORT_COLUMNS = USER_RECORD_FIELDS
IGNORED_COLUMNS = frozenset(EXPORT_COLUMNS) - frozenset(IMPORT_COLUMNS)
DEFAULT_BATCH_SIZE = 500
EXPORT_PAGE = 1000
CLEANUP_BATCH = 5000
# a batch with passwords is closed after this many hashes, so that progress moves and a Ctrl-C loses
# little work; the hashing itself runs ahead of the batches, so smaller batches cost no throughput
PASSWORD_BATCH = 64
# test-only fault injection (documented in docs/commands/import.md): "kill@N" kills the process with
# SIGKILL, "interrupt@N" raises KeyboardInterrupt, inside batch N after its user rows are inserted
FAULT_ENV = "IDP_TEST_IMPORT_FAULT"

_ARGON2ID = re.compile(r"\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}")


# ----------------------------------------------------------------------------- reading the file


@dataclass
class InputRow:
    """One record of the input: its first line number, the known fields (None when empty), and an error
    when the record itself is malformed."""

    line: int
    fields: dict[str, str | None]
    error: str | None = None


def _column_name(text: str) -> str:
    return text.strip().lower().replace(" ", "_").replace("-", "_")


def detect_format(name: str, first_line: bytes) -> str:
    """csv or jsonl, from the file name, else from the first non-blank line."""
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lowered.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    return "jsonl" if first_line.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"{") else "csv"


def read_rows(stream: BinaryIO, *, name: str, fmt: str | None = None) -> tuple[str, list[InputRow]]:
    """Parse the whole input. A problem with the file as a whole (encoding, header, nothing in it) is an
    InvalidInput; a problem with one record is that row's `error`."""
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}: use csv or jsonl")
    raw_lines = iter(stream)
    leading: list[bytes] = []
    for raw in raw_lines:  # the first non-blank line decides the format
        leading.append(raw)
        if raw.strip() and raw.strip() != codecs.BOM_UTF8:
            break
    if not any(raw.removeprefix(codecs.BOM_UTF8).strip() for raw in leading):
        raise InvalidInput(f"{name} is empty: there are no users to import")
    chosen = fmt or detect_format(name, leading[-1])
    lines = _decoded(_chain(leading, raw_lines))
    rows = _read_jsonl(lines) if chosen == "jsonl" else _read_csv(lines)
    if not rows:
        raise InvalidInput(f"{name} has no users: only a header")
    return chosen, rows


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def _decoded(lines: Iterable[bytes]) -> Iterator[str]:
    for number, raw in enumerate(lines, 1):
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(
                f"line {number} is not UTF-8 text",
                hint="save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`)",
            ) from None


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _check_columns(columns: list[str], line: int) -> None:
    expected = ", ".join(IMPORT_COLUMNS)
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise InvalidInput(f"line {line}: column {duplicates[0]!r} appears twice in the header")
    unknown = [c for c in columns if c not in IMPORT_COLUMNS and c not in IGNORED_COLUMNS]
    if "email" not in columns:
        raise InvalidInput(
            f"line {line}: the header has no `email` column (found: {', '.join(columns) or 'nothing'})",
            hint=f"the first line must name the columns: {expected}",
        )
    if unknown:
        raise InvalidInput(
            f"line {line}: unknown column(s) {', '.join(repr(c) for c in unknown)}",
            hint=f"the columns are {expected} (and the ones `idp export` writes, which are ignored)",
        )


def _read_csv(lines: Iterator[str]) -> list[InputRow]:
    first: list[str] = []
    for text in lines:  # blank lines before the header
        first.append(text)
        if text.strip():
            break
    header_line = len(first)
    reader = csv.reader(_chain_text(first, lines), delimiter=_delimiter(first[-1]))
    try:
        header: list[str] = []
        while not header:
            header = next(reader)
        columns = [_column_name(h) for h in header]
        _check_columns(columns, header_line)
        rows: list[InputRow] = []
        previous = reader.line_num
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if not any(value.strip() for value in record):
                continue
            if len(record) != len(columns):
                problem = f"has {len(record)} field(s); the header has {len(columns)}"
                if any("$argon2" in value for value in record):
                    problem += ' (an argon2id hash has commas: quote it, "$argon2id$...")'
                rows.append(InputRow(start, {}, problem))
                continue
            fields: dict[str, str | None] = {
                col: (value if value.strip() else None)
                for col, value in zip(columns, record, strict=True)
                if col in IMPORT_COLUMNS
            }
            rows.append(InputRow(start, fields))
    except csv.Error as exc:
        raise InvalidInput(f"line {reader.line_num}: not valid CSV ({exc})") from None
    return rows


def _chain_text(first: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


def _read_jsonl(lines: Iterator[str]) -> list[InputRow]:
    rows: list[InputRow] = []
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            msg = getattr(exc, "msg", str(exc))
            rows.append(InputRow(number, {}, f"not valid JSON ({msg})"))
            continue
        if not isinstance(obj, dict):
            rows.append(InputRow(number, {}, "not a JSON object"))
            continue
        rows.append(_json_row(number, obj))
    return rows


def _json_row(number: int, obj: dict[str, Any]) -> InputRow:
    fields: dict[str, str | None] = {}
    unknown = []
    for key, value in obj.items():
        col = _column_name(str(key))
        if col in IGNORED_COLUMNS:
            continue
        if col not in IMPORT_COLUMNS:
            unknown.append(str(key))
            continue
        if value is None or isinstance(value, str):
            fields[col] = value if value is None or value.strip() else None
        elif col == "role" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            fields[col] = ",".join(value) or None
        else:
            return InputRow(number, {}, f"{key!r} must be a string")
    if unknown:
        return InputRow(
            number,
            {},
            f"unknown field(s) {', '.join(repr(k) for k in unknown)} (the fields are {', '.join(IMPORT_COLUMNS)})",
        )
    return InputRow(number, fields)


# ----------------------------------------------------------------------------- import


@dataclass
class RowResult:
    """What happened (or, in a dry run, would happen) to one row."""

    line: int
    email: str | None
    action: str  # created | updated | skipped | failed
    role: str | None = None
    user_id: str | None = None
    has_password: bool = False
    error: str | None = None
    note: str | None = None
    magic_link: str | None = None  # never printed: only written to the --links file
    expires_at: datetime | None = None


@dataclass(frozen=True)
class ImportOptions:
    mode: str = "create"  # create | if-missing | update
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
    rows that failed and the number of rows to write; `done` comes after each committed batch with the
    results of every row up to it, in file order (each row exactly once)."""

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


def _check_hash(settings: Settings, value: str) -> str | None:
    from owox_idp.crypto.passwords import identify_hash

    scheme = identify_hash(value)
    if scheme is None:
        return (
            "password_hash is not a hash the server verifies: expected Better Auth's scrypt form "
            "<32 hex>:<128 hex> (lower-case), or argon2id with IDP_PASSWORD_HASH=argon2id"
        )
    if scheme != settings.password_hash:
        return (
            f"password_hash is an {scheme} hash but the server verifies {settings.password_hash} "
            "(IDP_PASSWORD_HASH)"
        )
    if scheme == "argon2id" and not _ARGON2ID.fullmatch(value):
        return "password_hash is not a well-formed argon2id hash"
    return None


def _check_row(row: InputRow, settings: Settings, seen: dict[str, int]) -> _Row:
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
        checked.role = normalize_role(settings, role_text) if role_text else None
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
    elif checked.password_hash is not None and (problem := _check_hash(settings, checked.password_hash)):
        checked.fail(problem)
    return checked


def _plan(repo: Repository, settings: Settings, rows: list[_Row], options: ImportOptions) -> None:
    """Decide each valid row's action against the database (one query per 500 emails)."""
    valid = [r for r in rows if r.ok]
    emails = [r.result.email for r in valid if r.result.email]
    existing = repo.users_by_emails(emails)
    for mixed in repo.users_with_mixed_case_email():  # rows other tools wrote with upper-case letters
        existing.setdefault(mixed.email.lower(), mixed)
    for row in valid:
        user = existing.get(row.result.email or "")
        result = row.result
        if user is None:
            row.role = row.role or settings.default_role
            result.role = row.role
            result.has_password = row.password is not None or row.password_hash is not None
            continue
        row.existing = user
        result.user_id, result.role, result.has_password = user.id, user.role, user.has_password
        if options.mode == "if-missing":
            result.action, result.note = "skipped", "exists"
        elif options.mode == "update":
            _plan_update(row, user, settings)
        else:
            row.fail(
                f"{user.email} already exists (--if-missing skips existing users, --update updates them)"
            )
    if options.mode == "update":
        _guard_admins(repo, settings, rows, force=options.force)


def _plan_update(row: _Row, user: User, settings: Settings) -> None:
    result = row.result
    if row.name is not None and row.name != user.name:
        row.changes["name"] = row.name
    if row.role is not None and row.role != user.role:
        if settings.is_owox and user.banned:
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


def _guard_admins(repo: Repository, settings: Settings, rows: list[_Row], *, force: bool) -> None:
    """Refuse an --update that would leave the deployment with no active admin (unless --force)."""
    demotes = [
        r
        for r in rows
        if r.ok
        and r.existing is not None
        and "role" in r.changes
        and has_admin_role(settings, r.existing.role)
        and not has_admin_role(settings, r.changes["role"])
    ]
    if force or not demotes:
        return
    admins = set(repo.active_admin_ids(settings.admin_roles, settings.admin_user_ids))
    remaining = admins - {r.existing.id for r in demotes if r.existing is not None}
    gains = any(
        r.ok and has_admin_role(settings, r.role) and (r.existing is None or not r.existing.banned)
        for r in rows
        if r.existing is None or "role" in r.changes
    )
    if admins and not remaining and not gains:
        raise Refused(
            "the import would leave the deployment without an active admin "
            f"(line {demotes[-1].result.line} demotes the last one); nothing was written",
            hint="keep an admin in the file, make another user admin first, or pass --force",
        )


class _LinkMaker:
    """Magic links for many users: the same verification rows as `links.issue` (both the 1.4-1.6 and the
    1.7 form), built without a round trip each. The URL comes from `links.build_url` once per role and is
    reused with each user's token: in the owox flavor that URL carries OWOX's role token, which costs an
    scrypt to encrypt (about 50 ms), identical for every user of that role. It is rebuilt every few
    minutes, since it expires an hour after it was made."""

    PLACEHOLDER = "TOKENPLACEHOLDERTOKENPLACEHOLDER"  # letters only, as a real token: encoded as-is
    REFRESH = 300

    def __init__(self, settings: Settings, *, ttl: int, callback_url: str | None) -> None:
        self.settings = settings
        self.ttl = ttl
        self.callback_url = callback_url
        self._templates: dict[str | None, tuple[float, str]] = {}

    def _template(self, role: str | None) -> str:
        import time

        from owox_idp.services import links

        cached = self._templates.get(role)
        if cached is None or time.monotonic() - cached[0] > self.REFRESH:
            url = links.build_url(self.settings, self.PLACEHOLDER, role, callback_url=self.callback_url)
            cached = self._templates[role] = (time.monotonic(), url)
        return cached[1]

    def issue(
        self, email: str, role: str | None, now: datetime
    ) -> tuple[str, datetime, list[dict[str, Any]]]:
        from owox_idp.clock import after
        from owox_idp.crypto.random import magic_link_token
        from owox_idp.services import links

        token = magic_link_token()
        url = self._template(role).replace(self.PLACEHOLDER, token, 1)
        expires = after(self.ttl, start=now)
        return url, expires, links.link_rows(email, token, expires=expires, now=now)


def _ignore_sigint() -> None:  # pragma: no cover - runs in the worker processes
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


class _Hasher:
    """Hashes the import's passwords in file order on all cores, running ahead of the batches."""

    def __init__(self, scheme: str, passwords: list[str]) -> None:
        from functools import partial

        from owox_idp.crypto.passwords import hash_password

        self._pool: ProcessPoolExecutor | None = None
        workers = min(os.cpu_count() or 1, len(passwords))
        job = partial(hash_password, scheme=scheme)
        if workers > 1 and len(passwords) >= 4:
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_sigint)
            self._results: Iterator[str] = self._pool.map(job, passwords)
        else:
            self._results = (job(p) for p in passwords)

    def next(self) -> str:
        return next(self._results)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


class _Database:
    """One connection per kind (read, write) for a bulk run, and a short transaction per batch; the
    schema is checked once, in the first transaction."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self._repos: dict[bool, Repository] = {}
        self._conns: list[Connection] = []
        self._tables: Tables | None = None
        self._checked = False

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Repository]:
        from sqlalchemy.exc import DBAPIError

        from owox_idp.context import check_schema, translate_db_error
        from owox_idp.db.engine import connect
        from owox_idp.repository import Repository, Tables

        repo = self._repos.get(write)
        if repo is None:
            conn = connect(self.env.engine(), write=write)
            self._conns.append(conn)
            if self._tables is None:
                self._tables = Tables(self.env.models, self.env.layout)
            repo = self._repos[write] = Repository(conn, self._tables, flavor=self.env.settings.flavor)
        try:
            with repo.conn.begin():
                if not self._checked:
                    check_schema(repo.conn, self.env)
                    self._checked = True
                yield repo
        except DBAPIError as exc:
            raise translate_db_error(exc) from None

    def close(self) -> None:
        for conn in self._conns:
            conn.close()
        self._conns.clear()
        self._repos.clear()
        self.env.close()


def _prior_links(repo: Repository, emails: set[str]) -> dict[str, list[str]]:
    """Ids of the magic-link rows (any version's form, live or expired) already issued to these emails:
    one pass over the verification table instead of a LIKE scan per user."""
    from owox_idp.services.links import link_email

    found: dict[str, list[str]] = {}
    for row_id, value in repo.json_verification_values():
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
    repo: Repository,
    settings: Settings,
    batch: list[_Row],
    *,
    hashes: dict[int, str],
    prior_links: dict[str, list[str]],
    link_maker: _LinkMaker | None,
    now: datetime,
    number: int,
) -> None:
    """Write one batch of complete users inside the caller's transaction: one executemany per table."""
    from owox_idp.crypto.random import generate_id
    from owox_idp.repository import OWOX_ORG_ID
    from owox_idp.services.users import ensure_organization

    created = [r for r in batch if r.result.action == "created"]
    updated = [r for r in batch if r.result.action == "updated"]
    user_rows: list[dict[str, Any]] = []
    for row in created:
        email = row.result.email or ""
        row.result.user_id = generate_id()
        values: dict[str, Any] = {
            "id": row.result.user_id,
            "name": row.name or name_from_email(email),
            "email": email,
            "emailVerified": True,  # as add-user: the operator vouches for the address
            "image": None,
            "createdAt": now,
            "updatedAt": now,
        }
        if not settings.is_owox:
            values["role"] = row.role
            values["banned"] = False
            if "twoFactorEnabled" in repo.t["user"].c:
                values["twoFactorEnabled"] = False
        user_rows.append(values)
    repo.insert_rows("user", user_rows)
    _fault(number)

    members: list[dict[str, Any]] = []
    if settings.is_owox:
        members = [
            {
                "id": generate_id(),
                "organizationId": OWOX_ORG_ID,
                "userId": row.result.user_id,
                "role": row.role,
                "createdAt": now,
            }
            for row in created
        ]
    accounts = [
        {
            "id": generate_id(),
            "accountId": row.result.user_id,
            "providerId": "credential",
            "userId": row.result.user_id,
            "password": hashes.get(row.result.line) or row.password_hash,
            "createdAt": now,
            "updatedAt": now,
        }
        for row in created
        if row.password is not None or row.password_hash is not None
    ]
    repo.insert_rows("account", accounts)
    repo.delete_by_ids(
        "verification", [i for row in created for i in prior_links.get(row.result.email or "", ())]
    )
    if link_maker is not None:
        link_rows: list[dict[str, Any]] = []
        for row in created:
            if row.password is None and row.password_hash is None:
                url, expires, rows = link_maker.issue(row.result.email or "", row.role, now)
                row.result.magic_link, row.result.expires_at = url, expires
                link_rows += rows
        repo.insert_rows("verification", link_rows)

    # updates (--update): name on the user row; the role on the user row or the OWOX membership
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    member_roles: list[tuple[str, str]] = []
    for row in updated:
        assert row.existing is not None
        changes: dict[str, Any] = {"id": row.existing.id}
        if "name" in row.changes:
            changes["name"] = row.changes["name"]
        if "role" in row.changes:
            if not settings.is_owox:
                changes["role"] = row.changes["role"]
            elif row.existing.role is not None:
                member_roles.append((row.existing.id, row.changes["role"]))
            else:  # an OWOX user without a membership gets one
                members.append(
                    {
                        "id": generate_id(),
                        "organizationId": OWOX_ORG_ID,
                        "userId": row.existing.id,
                        "role": row.changes["role"],
                        "createdAt": now,
                    }
                )
        if len(changes) > 1:
            changes["updatedAt"] = now
            by_keys.setdefault(tuple(changes), []).append(changes)
    if members:
        ensure_organization(repo, str(members[0]["userId"]), now)
        repo.insert_rows("member", members)
    for group in by_keys.values():
        repo.update_users_by_id(group)
    repo.update_member_roles(member_roles, OWOX_ORG_ID)


def import_users(
    env: Env,
    rows: list[InputRow],
    *,
    options: ImportOptions,
    report: ImportReport,
    clock: Callable[[], datetime] = clock_now,
) -> ImportSummary:
    """Validate every row, then (unless a dry run) write them in batches of complete users."""
    settings = env.settings
    if options.mode not in MODES:
        raise UsageError(f"unknown import mode {options.mode!r}")
    if options.batch_size < 1:
        raise InvalidInput("--batch-size must be at least 1")
    if options.links and settings.is_owox:
        settings.require_secrets()  # OWOX links carry an encrypted role token

    seen: dict[str, int] = {}
    planned = [_check_row(row, settings, seen) for row in rows]
    summary = ImportSummary(dry_run=options.dry_run)
    db = _Database(env)
    hasher: _Hasher | None = None
    try:
        with db.transaction(write=False) as repo:
            _plan(repo, settings, planned, options)
            new_emails = {r.result.email or "" for r in planned if r.result.action == "created"}
            prior = _prior_links(repo, new_emails) if new_emails and not options.dry_run else {}
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
        hasher = _Hasher(settings.password_hash, passwords) if passwords else None
        link_maker = (
            _LinkMaker(settings, ttl=options.ttl, callback_url=options.callback_url)
            if options.links
            else None
        )
        pending: list[_Row] = []
        batch: list[_Row] = []
        number = 0

        def flush() -> None:
            nonlocal number
            if batch:
                number += 1
                hashes = {
                    r.result.line: hasher.next()
                    for r in batch
                    if hasher is not None and r.result.action == "created" and r.password is not None
                }
                with db.transaction(write=True) as repo:
                    _write_batch(
                        repo,
                        settings,
                        batch,
                        hashes=hashes,
                        prior_links=prior,
                        link_maker=link_maker,
                        now=clock(),
                        number=number,
                    )
            for row in pending:
                summary.count(row.result)
            report.done([r.result for r in pending])
            pending.clear()
            batch.clear()

        hashed = 0
        for row in planned:
            pending.append(row)
            if row.result.action not in ("created", "updated"):
                continue
            batch.append(row)
            hashed += row.password is not None and row.result.action == "created"
            if len(batch) >= options.batch_size or hashed >= PASSWORD_BATCH:
                flush()
                hashed = 0
        flush()
        return summary
    finally:
        if hasher is not None:
            hasher.close()
        db.close()


# ----------------------------------------------------------------------------- export


def export_record(user: User) -> dict[str, Any]:
    """The fields `idp export` writes for a user (the keys of `idp list-users --json`)."""
    return user.record()


def export_users(env: Env, *, role: str | None, page_size: int = EXPORT_PAGE) -> Generator[User, None, None]:
    """Every user (with `role`, only those), in primary-key order, one keyset page at a time: memory and
    lock time stay constant whatever the size of the table."""
    if role is not None:
        role = normalize_role(env.settings, role)
    db = _Database(env)
    try:
        after: str | None = None
        while True:
            with db.transaction(write=False) as repo:
                page = repo.users_after_id(after, limit=page_size, role=role)
            yield from page
            if len(page) < page_size:
                return
            after = page[-1].id
    finally:
        db.close()


# ----------------------------------------------------------------------------- cleanup


@dataclass
class CleanupResult:
    expired_sessions: int
    expired_verifications: int
    deleted: bool


def cleanup(env: Env, *, dry_run: bool, now: datetime, batch_size: int = CLEANUP_BATCH) -> CleanupResult:
    """Delete sessions and verification rows (magic links, reset tokens, 2FA challenges, ...) that expired
    before `now`, in batches of short transactions; a dry run only counts them."""
    db = _Database(env)
    try:
        if dry_run:
            with db.transaction(write=False) as repo:
                return CleanupResult(
                    repo.count_expired("session", now), repo.count_expired("verification", now), False
                )
        counts: dict[str, int] = {}
        for model in ("session", "verification"):
            total = 0
            while True:
                with db.transaction(write=True) as repo:
                    ids = repo.expired_ids(model, now, limit=batch_size)
                    total += repo.delete_by_ids(model, ids)
                if len(ids) < batch_size:
                    break
            counts[model] = total
        return CleanupResult(counts["session"], counts["verification"], True)
    finally:
        db.close()
