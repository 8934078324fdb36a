"""`idp cleanup`: delete expired sessions and verification rows in batches of short transactions, so
that a running server is never locked out for long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from owox_idp.context import Env
    from owox_idp.repository import Store

CLEANUP_BATCH = 5000


@dataclass
class CleanupResult:
    expired_sessions: int
    expired_verifications: int
    deleted: bool
    audit_entries: int | None = None  # old audit entries removed (only with --audit-older-than)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "expired_sessions": self.expired_sessions,
            "expired_verifications": self.expired_verifications,
            "deleted": self.deleted,
        }
        if self.audit_entries is not None:
            out["audit_entries"] = self.audit_entries
        return out


def cleanup(
    env: Env,
    *,
    dry_run: bool = False,
    now: datetime,
    batch_size: int = CLEANUP_BATCH,
    audit_older_than: int | None = None,
) -> CleanupResult:
    """Delete sessions and verification rows (magic links, reset tokens, 2FA challenges, ...) that expired
    before `now`, in batches of short transactions; a dry run only counts them. idp's audit trail is
    kept, unless `audit_older_than` (seconds) asks to delete the entries older than that."""
    from datetime import timedelta

    audit_before = None if audit_older_than is None else now - timedelta(seconds=audit_older_than)
    try:
        if dry_run:
            with env.store(write=False) as store:
                return CleanupResult(
                    store.sessions.count_expired(now),
                    store.verifications.count_expired(now),
                    False,
                    _old_audit(store, audit_before, delete=False),
                )
        total_sessions = total_verifications = 0
        while True:
            with env.store(write=True) as store:
                ids = store.sessions.expired_ids(now, limit=batch_size)
                total_sessions += store.sessions.delete_by_ids("session", ids)
            if len(ids) < batch_size:
                break
        while True:
            with env.store(write=True) as store:
                ids = store.verifications.expired_ids(now, limit=batch_size)
                total_verifications += store.verifications.delete(ids)
            if len(ids) < batch_size:
                break
        audit_entries = None
        if audit_before is not None:
            with env.store(write=True) as store:
                audit_entries = _old_audit(store, audit_before, delete=True)
        return CleanupResult(total_sessions, total_verifications, True, audit_entries)
    finally:
        env.close()


def _old_audit(store: Store, before: datetime | None, *, delete: bool) -> int | None:
    if before is None:
        return None
    if not store.audit.exists():
        return 0
    return store.audit.delete_before(before) if delete else store.audit.count(before=before)
