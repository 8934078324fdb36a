"""The audit trail: what idp changed, when, by whom (OS user and host), on whom, with what outcome and
why (`--reason`), in idp's own `idp_audit` table.

Recording happens in one place, `Admin` (api.py): on success in the command's own transaction (the
entry commits with the change, or neither does), on a refusal or error in a short transaction of its
own after the rollback. What goes in is chosen here, never copied wholesale: a result's fields pass
through `SAFE_KEYS`, so a magic link, a token, a TOTP secret, backup codes or an API key can never reach
the table, and error messages are stripped of any secret value the call held (a password).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from owox_idp.errors import ExitCode, IdpError, InvalidInput, SchemaError

if TYPE_CHECKING:
    from owox_idp.context import Env
    from owox_idp.repository import Store
    from owox_idp.repository.audit import AuditRow

MAX_REASON = 1000
MAX_DETAIL = 1000

# The result fields an entry's `detail` may show (`to_json()` keys). Anything else — magic_link,
# secret, otpauth_uri, backup_codes, key, token, statements — is left out by construction.
SAFE_KEYS = (
    "id",
    "action",
    "created",
    "role",
    "previous_role",
    "banned",
    "ban_reason",
    "ban_expires",
    "expires_at",
    "sessions_revoked",
    "links_revoked",
    "revoked",
    "deleted",
    "two_factor_enabled",
    "replaced",
    "changed",
    "updated",
    "skipped",
    "failed",
    "links",
    "without_access",
    "expired_sessions",
    "expired_verifications",
    "audit_entries",
    "applied",
    "previous_email",
    "failed_verification_count",
)


@dataclass
class Change:
    """What a data-changing call is about to do, for its audit entry."""

    command: str
    target: str | None
    reason: str | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)  # values never to write (a password)


def check_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    from owox_idp.validation import validate_text

    validate_text(reason, what="--reason", max_length=MAX_REASON)  # NUL, lone surrogates: exit 5
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"--reason is longer than {MAX_REASON} characters")
    return reason or None


def actor() -> str:
    """Who runs idp: the OS user and the host (`ana@ops-01`)."""
    import getpass
    import os
    import socket

    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry (containers): the uid still says who
        user = f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    try:
        host = socket.gethostname() or "unknown-host"
    except OSError:
        host = "unknown-host"
    return f"{user}@{host}"[:255]


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for value in secrets:
        if value:
            text = text.replace(value, "[REDACTED]")
    return text


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def detail_of(result: Any) -> str | None:
    """A one-line summary of a result's safe fields (`role=admin, previous_role=viewer`)."""
    to_json = getattr(result, "to_json", None)
    data = to_json() if callable(to_json) else None
    if not isinstance(data, dict):
        return None
    # scalars only (a list could hold links), and no string that looks like a URL
    parts = [
        f"{key}={_value(data[key])}"
        for key in SAFE_KEYS
        if key in data
        and (data[key] is None or isinstance(data[key], bool | int | float | str))
        and not (isinstance(data[key], str) and "://" in data[key])
    ]
    changed = data.get("changed")
    if isinstance(changed, list) and all(isinstance(c, str) for c in changed):  # update-user's column names
        parts.append("changed=" + ("+".join(changed) or "-"))
    if isinstance(data.get("statements"), list):
        parts.append(f"statements={len(data['statements'])}")
    return ", ".join(parts)[:MAX_DETAIL] or None


def _row(
    change: Change, *, now: datetime, outcome: str, exit_code: int, user_id: str | None, detail: str | None
) -> AuditRow:
    from owox_idp.repository.audit import AuditRow

    return AuditRow(
        id=None,
        at=now,
        actor=actor(),
        command=change.command[:64],
        target=None if change.target is None else _scrub(change.target, change.secrets)[:320],
        user_id=user_id,
        outcome=outcome,
        exit_code=exit_code,
        reason=None if change.reason is None else _scrub(change.reason, change.secrets)[:MAX_REASON],
        detail=None if detail is None else _scrub(detail, change.secrets)[:MAX_DETAIL],
    )


def record_success(store: Store, change: Change, result: Any, *, now: datetime) -> bool:
    """Record a success in the caller's transaction; False when the table does not exist (yet)."""
    if not store.audit.exists():
        return False
    user_id = getattr(result, "user_id", None)
    if user_id is None:  # results that nest the user (update-user, api-key create)
        to_json = getattr(result, "to_json", None)
        data = to_json() if callable(to_json) else None
        user_id = data.get("user_id") if isinstance(data, dict) else None
        if user_id is None and isinstance(data, dict) and "email" in data and isinstance(data.get("id"), str):
            user_id = data["id"]  # a user record
    store.audit.insert(
        _row(
            change,
            now=now,
            outcome="ok",
            exit_code=int(ExitCode.OK),
            user_id=user_id if isinstance(user_id, str) else None,
            detail=detail_of(result),
        )
    )
    return True


def outcome_of(exc: BaseException) -> tuple[str, int, str]:
    """(outcome, exit code, detail) of an error: its exit code's name and its message without secrets'
    values; an unexpected error shows only its type (its text may hold anything)."""
    if isinstance(exc, IdpError):
        code = exc.exit_code
        return code.name.lower().replace("_", "-"), int(code), f"{type(exc).__name__}: {exc.message}"
    return "failure", int(ExitCode.FAILURE), type(exc).__name__


def record_failure(env: Env, change: Change, exc: BaseException, *, now: datetime) -> bool:
    """Record a refusal or error in a short transaction of its own (the command's was rolled back).
    Never raises: an audit that cannot be written must not hide the error the user needs to see."""
    outcome, code, detail = outcome_of(exc)
    try:
        with env.store(write=True) as store:
            if not store.audit.exists():
                return False
            store.audit.insert(
                _row(change, now=now, outcome=outcome, exit_code=code, user_id=None, detail=detail)
            )
        return True
    except Exception:
        return False


def record_in_own_transaction(env: Env, change: Change, result: Any, *, now: datetime) -> bool:
    """Record a bulk command's run (import, cleanup, migrate) after its own transactions."""
    try:
        with env.store(write=True) as store:
            return record_success(store, change, result, now=now)
    except Exception:
        return False


# ----------------------------------------------------------------------------- idp audit


@dataclass(frozen=True)
class AuditEntry:
    at: datetime | None
    actor: str
    command: str
    target: str | None
    user_id: str | None
    outcome: str
    exit_code: int
    reason: str | None
    detail: str | None

    def to_json(self) -> dict[str, Any]:
        from owox_idp.clock import iso

        return {
            "at": iso(self.at),
            "actor": self.actor,
            "command": self.command,
            "target": self.target,
            "user_id": self.user_id,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "detail": self.detail,
        }


def parse_since(value: str, *, now: datetime) -> datetime:
    """`--since`: a duration back from now (`30m`, `12h`, `7d`, seconds) or an ISO date / date-time
    (UTC unless it says otherwise)."""
    from datetime import UTC, timedelta

    from owox_idp.validation import parse_duration

    try:
        return now - timedelta(seconds=parse_duration(value, what="--since"))
    except InvalidInput:
        pass
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"invalid --since {value!r}: use a duration (30m, 12h, 7d) or a date (2025-01-31)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def require_table(store: Store) -> None:
    if not store.audit.exists():
        raise SchemaError(
            "idp's audit table (idp_audit) does not exist yet: nothing has been recorded",
            hint="run `idp migrate` to create it (Better Auth's server and migration ignore it)",
        )


def list_entries(
    store: Store, *, user: str | None, since: datetime | None, limit: int | None
) -> list[AuditEntry]:
    """Newest first; `user` matches the entries about that email, and about that user's id (so an entry
    made before an email change still shows)."""
    from owox_idp.validation import normalize_email

    require_table(store)
    if limit is not None and limit < 1:
        raise InvalidInput("--limit must be at least 1")
    targets: list[str] = []
    user_ids: list[str] = []
    if user is not None:
        email = normalize_email(user)
        targets.append(email)
        found = store.users.find_by_email(email)
        if found is not None:
            user_ids.append(found.id)
    rows = store.audit.list(targets=targets, user_ids=user_ids, since=since, limit=limit)
    return [
        AuditEntry(r.at, r.actor, r.command, r.target, r.user_id, r.outcome, r.exit_code, r.reason, r.detail)
        for r in rows
    ]
