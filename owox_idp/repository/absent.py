"""The session and verification repositories of a deployment whose server keeps them in secondary
storage only (`IDP_SESSION_STORAGE=secondary`): Better Auth's schema then has no `session` and no
`verification` table, so there is nothing in the database to read or delete. Commands that would need
them (listing or revoking sessions, a ban, a sign-in link) are refused before they get here
(Deployment.require_database_sessions / require_database_verifications); the others (add-user with a
password, delete-user, reset-password --keep-sessions, info) find none."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from owox_idp.errors import ConfigError
from owox_idp.models import Session, Verification
from owox_idp.repository.sessions import SessionRepository
from owox_idp.repository.verifications import VerificationRepository


def _no_table(what: str) -> ConfigError:
    return ConfigError(
        f"the server keeps {what} in secondary storage only (IDP_SESSION_STORAGE=secondary): "
        "there is no table for them in the database"
    )


class AbsentSessions(SessionRepository):
    def query(
        self,
        *,
        user_id: str | None,
        active_after: datetime | None,
        limit: int | None,
        offset: int = 0,
        after: tuple[datetime, str] | None = None,
    ) -> list[Session]:
        return []

    def find(self, session_id: str) -> Session | None:
        return None

    def count(self, *, user_id: str | None = None, active_after: datetime | None = None) -> int:
        return 0

    def delete_for_user(self, user_id: str) -> int:
        return 0

    def delete_impersonations(self, user_id: str) -> int:
        return 0

    def delete_one(self, user_id: str, session_id: str) -> int:
        return 0

    def count_expired(self, before: datetime) -> int:
        return 0

    def expired_ids(self, before: datetime, *, limit: int) -> list[str]:
        return []


class AbsentVerifications(VerificationRepository):
    def insert(self, *, id: str, identifier: str, value: str, expires_at: datetime, now: datetime) -> None:
        raise _no_table("verification values (magic links)")

    def insert_rows(self, model: str, rows: Sequence[dict[str, Any]]) -> None:
        raise _no_table("verification values (magic links)")

    def mentioning(self, needle: str) -> list[Verification]:
        return []

    def for_user_id(self, user_id: str) -> list[Verification]:
        return []

    def delete(self, ids: Sequence[str]) -> int:
        return 0

    def delete_by_identifier(self, identifiers: Sequence[str]) -> int:
        return 0

    def delete_by_identifier_prefix(self, prefix: str) -> int:
        return 0

    def count(self, *, expired_before: datetime | None = None, live_after: datetime | None = None) -> int:
        return 0

    def iterate(self, *, live_after: datetime | None) -> Iterator[Verification]:
        return iter(())

    def json_values(self) -> list[tuple[str, str]]:
        return []

    def count_expired(self, before: datetime) -> int:
        return 0

    def expired_ids(self, before: datetime, *, limit: int) -> list[str]:
        return []
