"""The Python API on which the `idp` command line stands: one `Admin` per deployment, one method per
command (named as the command), the command's defaults, typed results that know their `--json` form
(`to_json()`), and the errors of `owox_idp.errors`.

    from owox_idp import Admin

    with Admin.from_url("postgresql://...", flavor="better-auth", secret=..., base_url="https://app.example.com") as idp:
        result = idp.add_user("ana@example.com", role="editor")     # result.magic_link, result.user_id
        idp.set_role("ana@example.com", "admin")
        with idp.transaction():                                      # several steps, one commit
            ...

Each method call is one transaction unless it runs inside `transaction()`. `from_url` reads no
environment variable and no file; `from_environment` follows the command line's precedence.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from owox_idp.config import SETTING_KEYS
from owox_idp.errors import UsageError

if TYPE_CHECKING:
    from owox_idp.config import Settings
    from owox_idp.context import Env
    from owox_idp.deployment import Deployment
    from owox_idp.models import User
    from owox_idp.repository import Store
    from owox_idp.services.apikeys import ApiKeyCreated, ApiKeyRevokeResult, ApiKeyView
    from owox_idp.services.audit import AuditEntry, Change
    from owox_idp.services.checkuser import CheckUserResult
    from owox_idp.services.cleanup import CleanupResult
    from owox_idp.services.doctor import DoctorReport
    from owox_idp.services.importing import ImportOptions, ImportReport, ImportSummary, RowSource
    from owox_idp.services.links import BulkLinksResult, IssuedLink
    from owox_idp.services.reading import InputRow
    from owox_idp.services.schema import MigrateResult
    from owox_idp.services.sessions import RevokeResult, SessionView
    from owox_idp.services.twofactor import (
        BackupCodesResult,
        DisableResult,
        EnrolResult,
        TwoFactorStatus,
        UnlockResult,
    )
    from owox_idp.services.users import (
        AddUserResult,
        BanResult,
        BootstrapResult,
        DeleteResult,
        ResetResult,
        RoleResult,
        UpdateUserResult,
        UserDetails,
    )

T = TypeVar("T")

# The settings `from_url` takes, named as in the configuration reference (docs/configuration.md).
SETTING_ARGUMENTS = tuple(key for key in SETTING_KEYS if key != "database_url")


def _now(now: datetime | None) -> datetime:
    from owox_idp.clock import now as clock_now

    return now or clock_now()


@dataclass
class Info:
    """`idp info`: settings and their sources, database, schema status, counts, warnings."""

    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.data


class Admin:
    """One deployment's database. Use it as a context manager (or call `close()`)."""

    def __init__(self, settings: Settings) -> None:
        from owox_idp.context import Env

        self.env: Env = Env.from_settings(settings)
        self._store: Store | None = None
        # commands whose change was not recorded because idp_audit does not exist (the CLI warns)
        self.unrecorded: list[str] = []

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_url(cls, database_url: str, **settings: Any) -> Admin:
        """A deployment from its database URL and settings given as keywords (`flavor`, `secret`,
        `base_url`, `base_path`, `roles`, `admin_roles`, `magic_link_ttl`, ...). Reads no environment
        variable and no file."""
        from owox_idp.config import load_settings

        unknown = sorted(set(settings) - set(SETTING_ARGUMENTS))
        if unknown:
            raise TypeError(f"Admin.from_url() got unknown setting(s): {', '.join(unknown)}")
        flags: dict[str, Any] = {"database_url": database_url}
        for key, value in settings.items():
            if isinstance(value, list | tuple):
                value = ",".join(str(v) for v in value)
            flags[key] = value
        return cls(load_settings(flags=flags, hermetic=True, flag_label="argument {}"))

    @classmethod
    def from_environment(
        cls, *, env_file: Path | None = None, config_path: Path | None = None, **settings: Any
    ) -> Admin:
        """A deployment as the command line sees it: keywords > environment > .env > config file."""
        from owox_idp.config import load_settings

        return cls(load_settings(flags=settings, env_file=env_file, config_path=config_path))

    @property
    def settings(self) -> Settings:
        return self.env.settings

    @property
    def deployment(self) -> Deployment:
        return self.env.deployment

    def close(self) -> None:
        self.env.close()

    def __enter__(self) -> Admin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def transaction(self) -> Iterator[Admin]:
        """Run several calls in one transaction: all of them are committed together, or none."""
        if self._store is not None:
            yield self
            return
        with self.env.store(write=True) as store:
            self._store = store
            try:
                yield self
            finally:
                self._store = None

    def _write(self, fn: Callable[[Store], T], change: Change | None = None) -> T:
        """One write transaction, and its audit entry: in the same transaction on success, in one of its
        own after a refusal or error (inside `transaction()`, whose rollback takes everything, only
        successes are recorded)."""
        from owox_idp.services import audit

        at = _now(None)
        if self._store is not None:
            result = fn(self._store)
            if change is not None and not audit.record_success(self._store, change, result, now=at):
                self.unrecorded.append(change.command)
            return result
        try:
            with self.env.store(write=True) as store:
                result = fn(store)
                if change is not None and not audit.record_success(store, change, result, now=at):
                    self.unrecorded.append(change.command)
                return result
        except Exception as exc:
            if change is not None:
                audit.record_failure(self.env, change, exc, now=at)
            raise

    def _recorded(self, change: Change, result: T) -> T:
        """The audit entry of a bulk command, after its own transactions."""
        from owox_idp.services import audit

        if not audit.record_in_own_transaction(self.env, change, result, now=_now(None)):
            self.unrecorded.append(change.command)
        return result

    def _failed(self, change: Change, exc: BaseException) -> None:
        from owox_idp.services import audit

        audit.record_failure(self.env, change, exc, now=_now(None))

    @staticmethod
    def _change(
        command: str,
        target: str | None,
        reason: str | None,
        *,
        secrets: tuple[str | None, ...] = (),
        email: bool = True,
    ) -> Change:
        from owox_idp.services.audit import Change, check_reason

        if target is not None and email:
            target = target.strip().lower()  # as stored, so that `idp audit --user` finds it
        return Change(
            command,
            target,
            check_reason(reason),
            tuple(s for s in secrets if s),
        )

    def _read(self, fn: Callable[[Store], T]) -> T:
        if self._store is not None:
            return fn(self._store)
        with self.env.store(write=False) as store:
            return fn(store)

    def _bulk(self, what: str) -> None:
        if self._store is not None:
            raise UsageError(f"{what} runs its own transactions: call it outside `transaction()`")

    def ttl(self, ttl: int | str | None) -> int:
        """A link lifetime in seconds from seconds or '30m', '12h', '7d'; None is the configured one."""
        from owox_idp.validation import parse_link_ttl

        if ttl is None:
            return self.settings.magic_link_ttl
        return parse_link_ttl(str(ttl), what="--ttl")

    # ------------------------------------------------------------------ users
    def add_user(
        self,
        email: str,
        *,
        role: str | None = None,
        name: str | None = None,
        password: str | None = None,
        ttl: int | str | None = None,
        if_missing: bool = False,
        callback_url: str | None = None,
        no_link: bool = False,
        now: datetime | None = None,
        reason: str | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> AddUserResult:
        """Create a user; `fields` are additional columns of the user table (column -> value, text
        converted to the column's type, as `update_user` does)."""
        from owox_idp.services import users

        change = self._change("add-user", email, reason, secrets=(password,))
        lifetime = self.ttl(ttl)
        return self._write(
            lambda store: users.add_user(
                store,
                email=email,
                role=role,
                name=name,
                password=password,
                ttl=lifetime,
                if_missing=if_missing,
                now=_now(now),
                callback_url=callback_url,
                no_link=no_link,
                fields=dict(fields) if fields else None,
            ),
            change,
        )

    def bootstrap_admin(
        self,
        email: str | None = None,
        *,
        ttl: int | str | None = None,
        lift_ban: bool = False,
        now: datetime | None = None,
        reason: str | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> BootstrapResult:
        from owox_idp.services import users

        target = email or self.settings.primary_admin_email
        if not target:
            raise UsageError("no email: pass EMAIL or set IDP_BETTER_AUTH_PRIMARY_ADMIN_EMAIL")
        change = self._change("bootstrap-admin", target, reason)
        lifetime = self.ttl(ttl)
        return self._write(
            lambda store: users.bootstrap_admin(
                store,
                email=target,
                ttl=lifetime,
                now=_now(now),
                lift_ban=lift_ban,
                fields=dict(fields) if fields else None,
            ),
            change,
        )

    def reset_password(
        self,
        email: str,
        *,
        password: str | None = None,
        keep_sessions: bool = False,
        ttl: int | str | None = None,
        now: datetime | None = None,
        reason: str | None = None,
    ) -> ResetResult:
        from owox_idp.services import users

        change = self._change("reset-password", email, reason, secrets=(password,))
        lifetime = self.ttl(ttl)
        return self._write(
            lambda store: users.reset_password(
                store,
                email=email,
                password=password,
                keep_sessions=keep_sessions,
                ttl=lifetime,
                now=_now(now),
            ),
            change,
        )

    def set_role(
        self,
        email: str,
        role: str,
        *,
        force: bool = False,
        now: datetime | None = None,
        reason: str | None = None,
    ) -> RoleResult:
        from owox_idp.services import users

        change = self._change("set-role", email, reason)
        return self._write(
            lambda store: users.set_role(store, email=email, role=role, force=force, now=_now(now)), change
        )

    def ban(
        self,
        email: str,
        *,
        reason: str | None = None,
        expires: int | str | None = None,
        force: bool = False,
        now: datetime | None = None,
    ) -> BanResult:
        from owox_idp.services import users
        from owox_idp.validation import parse_duration

        # the ban's reason (shown to admins) is the audit entry's reason too
        change = self._change("ban", email, reason)
        expires_in = parse_duration(str(expires), what="--expires") if expires is not None else None
        return self._write(
            lambda store: users.ban(
                store, email=email, reason=reason, expires_in=expires_in, force=force, now=_now(now)
            ),
            change,
        )

    def unban(self, email: str, *, now: datetime | None = None, reason: str | None = None) -> BanResult:
        from owox_idp.services import users

        change = self._change("unban", email, reason)
        return self._write(lambda store: users.unban(store, email=email, now=_now(now)), change)

    def delete_user(
        self, email: str, *, force: bool = False, now: datetime | None = None, reason: str | None = None
    ) -> DeleteResult:
        from owox_idp.services import users

        change = self._change("delete-user", email, reason)
        return self._write(
            lambda store: users.delete_user(store, email=email, force=force, now=_now(now)), change
        )

    def list_users(
        self,
        *,
        role: str | None = None,
        search: str | None = None,
        banned: bool | None = None,
        verified: bool | None = None,
        limit: int | None = None,
        offset: int = 0,
        after: str | None = None,
        sort: str = "created",
        ascending: bool = False,
    ) -> list[User]:
        """Users, newest first (`sort` created, email or name; `ascending`); `role="none"`: users
        without a role."""
        from owox_idp.services import users

        if after is not None and offset:
            raise UsageError("use --after or --offset, not both")
        return self._read(
            lambda store: users.list_users(
                store,
                role=role,
                search=search,
                banned=banned,
                verified=verified,
                limit=limit,
                offset=offset,
                cursor=after,
                sort=sort,
                ascending=ascending,
            )
        )

    def show_user(self, email: str, *, now: datetime | None = None) -> UserDetails:
        from owox_idp.services import users

        return self._read(lambda store: users.show_user(store, email=email, now=_now(now)))

    # ------------------------------------------------------------------ sessions
    def list_sessions(
        self,
        email: str | None = None,
        *,
        include_expired: bool = False,
        limit: int | None = None,
        offset: int = 0,
        after: str | None = None,
        now: datetime | None = None,
    ) -> list[SessionView]:
        from owox_idp.services import sessions

        if after is not None and offset:
            raise UsageError("use --after or --offset, not both")
        return self._read(
            lambda store: sessions.list_sessions(
                store,
                email=email,
                include_expired=include_expired,
                limit=limit,
                offset=offset,
                now=_now(now),
                cursor=after,
            )
        )

    def revoke_sessions(
        self, email: str, *, session_id: str | None = None, reason: str | None = None
    ) -> RevokeResult:
        from owox_idp.services import sessions

        change = self._change("revoke-sessions", email, reason)
        return self._write(
            lambda store: sessions.revoke_sessions(store, email=email, session_id=session_id), change
        )

    # ------------------------------------------------------------------ two-factor
    def two_factor_enable(
        self, email: str, *, force: bool = False, now: datetime | None = None, reason: str | None = None
    ) -> EnrolResult:
        from owox_idp.services import twofactor

        change = self._change("2fa enable", email, reason)
        twofactor.ensure_supported(self.deployment)  # before touching the database
        return self._write(
            lambda store: twofactor.enable(store, email=email, force=force, now=_now(now)), change
        )

    def two_factor_disable(
        self, email: str, *, now: datetime | None = None, reason: str | None = None
    ) -> DisableResult:
        from owox_idp.services import twofactor

        change = self._change("2fa disable", email, reason)
        twofactor.ensure_supported(self.deployment)
        return self._write(lambda store: twofactor.disable(store, email=email, now=_now(now)), change)

    def two_factor_status(self, email: str, *, now: datetime | None = None) -> TwoFactorStatus:
        from owox_idp.services import twofactor

        twofactor.ensure_supported(self.deployment)
        return self._read(lambda store: twofactor.status(store, email=email, now=_now(now)))

    # ------------------------------------------------------------------ many users
    def import_users(
        self,
        source: str | Path | BinaryIO | Sequence[InputRow] | RowSource,
        *,
        options: ImportOptions | None = None,
        report: ImportReport | None = None,
        fmt: str | None = None,
        reason: str | None = None,
        source_name: str | None = None,
        provider: str | None = None,
        default_role: str | None = None,
        **option_values: Any,
    ) -> ImportSummary:
        """Import users from a file path, a binary stream, or rows already read (`reading.read_rows`).
        `provider` (auth0, supabase, firebase, clerk, keycloak) reads that provider's own export instead
        of idp's CSV / JSON Lines (docs/import-from-providers.md); `default_role` is the role of rows
        that carry none. Options as `ImportOptions` or as its keywords (`mode`, `dry_run`, `links`,
        `ttl`, ...). A file path is read twice and never held in memory (passwordless and hash-only
        files); a stream is read once into memory. A run that writes is one audit entry, with the
        counts (`source_name` names the input there)."""
        from owox_idp.services import importing

        self._bulk("import_users")
        name = source_name or (
            str(source) if isinstance(source, str | Path) else getattr(source, "name", None)
        )
        target = name if isinstance(name, str) else None
        if provider is not None:
            target = f"{target or 'the input'} (from {provider})"
        change = self._change("import", target, reason, email=False)
        if options is None:
            if "ttl" in option_values:
                option_values["ttl"] = self.ttl(option_values["ttl"])
            else:
                option_values["ttl"] = self.settings.magic_link_ttl
            options = importing.ImportOptions(**option_values)
        elif option_values:
            raise TypeError("give options or option keywords, not both")
        scheme = self.settings.password_hash
        rows: Sequence[InputRow] | importing.RowSource
        if isinstance(source, str | Path):
            rows = importing.file_source(
                str(source), fmt=fmt, provider=provider, scheme=scheme, default_role=default_role
            )
        elif isinstance(source, Sequence):
            rows = list(source)  # type: ignore[arg-type]
        elif callable(source):  # importing.file_source: read again for each pass
            rows = source
        else:
            rows = list(
                importing.stream_rows(
                    source,
                    name="the input",
                    fmt=fmt,
                    provider=provider,
                    scheme=scheme,
                    default_role=default_role,
                )
            )
        try:
            summary = importing.import_users(
                self.env, rows, options=options, report=report or _SilentReport()
            )
        except Exception as exc:
            if not options.dry_run:
                self._failed(change, exc)
            raise
        if not options.dry_run:
            self._recorded(change, summary)
        return summary

    def export_users(self, *, role: str | None = None) -> Generator[User, None, None]:
        """Every user, in primary-key order, streamed in constant memory."""
        from owox_idp.services import exporting

        self._bulk("export_users")
        return exporting.export_users(self.env, role=role)

    def cleanup(
        self,
        *,
        dry_run: bool = False,
        now: datetime | None = None,
        audit_older_than: int | str | None = None,
        reason: str | None = None,
    ) -> CleanupResult:
        """Delete expired sessions and verification rows; the audit trail is kept unless
        `audit_older_than` (seconds or '90d') asks to delete entries older than that."""
        from owox_idp.services.cleanup import cleanup
        from owox_idp.validation import parse_duration

        self._bulk("cleanup")
        change = self._change("cleanup", None, reason)
        keep = (
            None
            if audit_older_than is None
            else parse_duration(str(audit_older_than), what="--audit-older-than")
        )
        try:
            result = cleanup(self.env, dry_run=dry_run, now=_now(now), audit_older_than=keep)
        except Exception as exc:
            if not dry_run:
                self._failed(change, exc)
            raise
        return result if dry_run else self._recorded(change, result)

    # ------------------------------------------------------------------ schema
    def migrate(
        self,
        *,
        dry_run: bool = False,
        indexes: bool = False,
        force: bool = False,
        confirm: Callable[[Any], bool] | None = None,
        reason: str | None = None,
    ) -> MigrateResult:
        """Create or extend the schema as Better Auth's own migration would (and idp's own tables);
        `dry_run` only plans. A migration that ran statements is one audit entry."""
        from owox_idp.services import schema

        self._bulk("migrate")
        change = self._change("migrate", None, reason)
        try:
            result = schema.migrate(self.env, dry_run=dry_run, confirm=confirm, indexes=indexes, force=force)
            if result.applied:
                self._recorded(change, result)
            return result
        finally:
            self.env.close()

    def info(self) -> Info:
        from owox_idp.services import schema

        self._bulk("info")
        try:
            return Info(schema.info(self.env))
        finally:
            self.env.close()

    # ------------------------------------------------------------------ the operator's toolbox
    def doctor(self, *, server: bool = False, now: datetime | None = None) -> DoctorReport:
        """Every check of the deployment (`idp doctor`); `server` also asks the server's `/ok`."""
        from owox_idp.services import doctor

        self._bulk("doctor")
        try:
            return doctor.run(self.env, server=server, now=_now(now))
        finally:
            self.env.close()

    def check_user(
        self, email: str, *, require_verified: bool = False, now: datetime | None = None
    ) -> CheckUserResult:
        """Can this user sign in now, by which ways, and why not (`idp check-user`)."""
        from owox_idp.services import checkuser

        return self._read(
            lambda store: checkuser.check_user(
                store, email=email, now=_now(now), require_verified=require_verified
            )
        )

    def audit(
        self,
        *,
        user: str | None = None,
        since: str | datetime | None = None,
        limit: int | None = None,
        now: datetime | None = None,
    ) -> list[AuditEntry]:
        """idp's audit trail, newest first (`idp audit`); `since` is a duration back ('7d') or a date."""
        from owox_idp.services import audit

        moment = audit.parse_since(since, now=_now(now)) if isinstance(since, str) else since
        return self._read(lambda store: audit.list_entries(store, user=user, since=moment, limit=limit))

    @staticmethod
    def generate_secret() -> str:
        """A new 32-byte secret as 64 hex characters (Better Auth's `secret` format)."""
        import secrets

        return secrets.token_hex(32)

    # ------------------------------------------------------------------ everyday edits
    def count_users(
        self,
        *,
        role: str | None = None,
        search: str | None = None,
        banned: bool | None = None,
        verified: bool | None = None,
    ) -> int:
        """How many users `list_users` with these filters would give, without paging."""
        from owox_idp.services import users

        return self._read(
            lambda store: users.count_users(store, role=role, search=search, banned=banned, verified=verified)
        )

    def update_user(
        self,
        email: str,
        *,
        name: str | None = None,
        new_email: str | None = None,
        verified: bool | None = None,
        image: str | None = None,
        fields: dict[str, Any] | None = None,
        now: datetime | None = None,
        reason: str | None = None,
    ) -> UpdateUserResult:
        """Edit a user: name, email (lower-cased; another user's is refused), emailVerified, image ("" clears
        it) and additional columns of the user table (`fields`: column -> value, text converted to the
        column's type, "" or None is NULL)."""
        from owox_idp.services import users

        change = self._change("update-user", email, reason)
        return self._write(
            lambda store: users.update_user(
                store,
                email=email,
                name=name,
                new_email=new_email,
                verified=verified,
                image=image,
                fields=fields,
                now=_now(now),
            ),
            change,
        )

    def issue_link(
        self,
        email: str,
        *,
        ttl: int | str | None = None,
        callback_url: str | None = None,
        now: datetime | None = None,
        reason: str | None = None,
    ) -> IssuedLink:
        """A new one-time sign-in link for an existing user; nothing is revoked."""
        from owox_idp.services import links

        change = self._change("issue-link", email, reason)
        lifetime = self.ttl(ttl)
        return self._write(
            lambda store: links.issue_link(
                store, email=email, ttl=lifetime, now=_now(now), callback_url=callback_url
            ),
            change,
        )

    def issue_links_without_password(
        self,
        *,
        role: str | None = None,
        ttl: int | str | None = None,
        callback_url: str | None = None,
        batch_size: int = 500,
        on_batch: Callable[[Sequence[IssuedLink]], None] | None = None,
        now: datetime | None = None,
        reason: str | None = None,
    ) -> BulkLinksResult:
        """A link for every user without a password (not banned; with `role`, of that role; "none":
        without a role), one transaction per `batch_size` users, `on_batch` after each commit."""
        from owox_idp.services import links

        self._bulk("issue_links_without_password")
        change = self._change("issue-link --without-password", role, reason, email=False)
        lifetime = self.ttl(ttl)
        no_role = role is not None and role.strip().lower() == "none" and "none" not in self.deployment.roles
        try:
            result = links.issue_links_without_password(
                self.env,
                role=None if no_role else role,
                no_role=no_role,
                ttl=lifetime,
                now=_now(now),
                callback_url=callback_url,
                batch_size=batch_size,
                on_batch=on_batch,
            )
        except Exception as exc:
            self._failed(change, exc)
            raise
        # one entry per run, with the counts (the links themselves never reach the audit trail)
        self._recorded(change, _Counts({"links": result.issued, "skipped": result.banned_skipped}))
        return result

    def two_factor_unlock(
        self, email: str, *, now: datetime | None = None, reason: str | None = None
    ) -> UnlockResult:
        """Lift a two-factor lock-out (too many failed codes) without touching the enrolment."""
        from owox_idp.services import twofactor

        change = self._change("2fa unlock", email, reason)
        twofactor.ensure_supported(self.deployment)
        return self._write(lambda store: twofactor.unlock(store, email=email, now=_now(now)), change)

    def two_factor_backup_codes(
        self, email: str, *, now: datetime | None = None, reason: str | None = None
    ) -> BackupCodesResult:
        """Replace the backup codes (the old ones stop working); the new ones are returned once."""
        from owox_idp.services import twofactor

        change = self._change("2fa backup-codes", email, reason)
        twofactor.ensure_supported(self.deployment)
        self.settings.require_secrets()
        return self._write(
            lambda store: twofactor.replace_backup_codes(store, email=email, now=_now(now)), change
        )

    # ------------------------------------------------------------------ API keys (api-key plugin)
    def api_key_create(
        self,
        email: str,
        *,
        name: str,
        expires: int | str | None = None,
        prefix: str | None = None,
        permissions: Mapping[str, Sequence[str]] | str | None = None,
        metadata: Mapping[str, Any] | str | None = None,
        now: datetime | None = None,
        reason: str | None = None,
    ) -> ApiKeyCreated:
        """A new key for the user, stored as the plugin stores it; `result.key` is the only copy of the
        plain key. `expires`: seconds or '30d' (1 to 365 days); `permissions` / `metadata` as mappings
        or JSON text."""
        from owox_idp.crypto import apikeys as keys
        from owox_idp.services import apikeys
        from owox_idp.validation import parse_duration

        change = self._change("api-key create", email, reason)
        apikeys.ensure_supported(self.deployment)
        expires_in = parse_duration(str(expires), what="--expires") if expires is not None else None
        perms = keys.parse_permissions(permissions) if isinstance(permissions, str) else permissions
        meta = keys.parse_metadata(metadata) if isinstance(metadata, str) else metadata
        return self._write(
            lambda store: apikeys.create(
                store,
                email=email,
                name=name,
                expires_in=expires_in,
                prefix=prefix,
                permissions=perms,
                metadata=meta,
                now=_now(now),
            ),
            change,
        )

    def api_key_list(
        self, email: str | None = None, *, include_expired: bool = False, now: datetime | None = None
    ) -> list[ApiKeyView]:
        """Keys newest first (of one user, or all); never the key itself, only `start` and `prefix`."""
        from owox_idp.services import apikeys

        apikeys.ensure_supported(self.deployment)
        return self._read(
            lambda store: apikeys.list_keys(
                store, email=email, include_expired=include_expired, now=_now(now)
            )
        )

    def api_key_revoke(
        self, key_id: str | None = None, *, email: str | None = None, reason: str | None = None
    ) -> ApiKeyRevokeResult:
        """Delete one key by id, or (`email=`) every key of a user."""
        from owox_idp.services import apikeys

        change = (
            self._change("api-key revoke", email, reason)
            if email is not None
            else self._change("api-key revoke", key_id, reason, email=False)
        )
        apikeys.ensure_supported(self.deployment)
        return self._write(lambda store: apikeys.revoke(store, key_id=key_id, email=email), change)


@dataclass(frozen=True)
class _Counts:
    """What a bulk run's audit entry shows: counts only."""

    counts: dict[str, int]

    def to_json(self) -> dict[str, int]:
        return self.counts


class _SilentReport:
    def validated(self, failed: Sequence[Any], to_write: int) -> None:
        del failed, to_write

    def done(self, results: Sequence[Any]) -> None:
        del results
