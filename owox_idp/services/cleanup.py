"""`idp cleanup`: delete expired sessions and verification rows in batches of short transactions, so
that a running server is never locked out for long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from owox_idp.context import Env

CLEANUP_BATCH = 5000


@dataclass
class CleanupResult:
    expired_sessions: int
    expired_verifications: int
    deleted: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "expired_sessions": self.expired_sessions,
            "expired_verifications": self.expired_verifications,
            "deleted": self.deleted,
        }


def cleanup(
    env: Env, *, dry_run: bool = False, now: datetime, batch_size: int = CLEANUP_BATCH
) -> CleanupResult:
    """Delete sessions and verification rows (magic links, reset tokens, 2FA challenges, ...) that expired
    before `now`, in batches of short transactions; a dry run only counts them."""
    try:
        if dry_run:
            with env.store(write=False) as store:
                return CleanupResult(
                    store.sessions.count_expired(now), store.verifications.count_expired(now), False
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
        return CleanupResult(total_sessions, total_verifications, True)
    finally:
        env.close()
