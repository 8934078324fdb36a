"""The two-factor plugin's `twoFactor` rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from owox_idp.models import TwoFactorRow
from owox_idp.repository.base import Part


class TwoFactorRepository(Part):
    @property
    def present(self) -> bool:
        return self.t.has("twoFactor")

    def has_column(self, field: str) -> bool:
        return self.present and field in self.t["twoFactor"].c

    def get(self, user_id: str) -> TwoFactorRow | None:
        if not self.present:
            return None
        tf = self.t["twoFactor"]
        cols = [tf.c.id, tf.c.userId, tf.c.secret, tf.c.backupCodes]
        if "verified" in tf.c:
            cols.append(tf.c.verified)
        row = self.conn.execute(select(*cols).where(tf.c.userId == user_id)).mappings().first()
        if row is None:
            return None
        return TwoFactorRow(row["id"], row["userId"], row["secret"], row["backupCodes"], row.get("verified"))

    def get_lock(self, user_id: str) -> tuple[int | None, datetime | None] | None:
        """(failedVerificationCount, lockedUntil) of the user's row; None without a row or on a server
        version without those columns (Better Auth 1.4)."""
        if not self.has_column("failedVerificationCount") or not self.has_column("lockedUntil"):
            return None
        tf = self.t["twoFactor"]
        row = self.conn.execute(
            select(tf.c.failedVerificationCount, tf.c.lockedUntil).where(tf.c.userId == user_id)
        ).first()
        return (row[0], row[1]) if row else None

    def insert(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(self.t["twoFactor"]).values(**values))

    def delete_for_user(self, user_id: str) -> int:
        if not self.present:
            return 0
        tf = self.t["twoFactor"]
        return self.conn.execute(delete(tf).where(tf.c.userId == user_id)).rowcount

    def reset_failures(self, user_id: str) -> int:
        """failedVerificationCount 0 and lockedUntil NULL, as the server's resetTwoFactorFailures."""
        tf = self.t["twoFactor"]
        stmt = update(tf).where(tf.c.userId == user_id).values(failedVerificationCount=0, lockedUntil=None)
        return self.conn.execute(stmt).rowcount

    def set_backup_codes(self, user_id: str, stored: str) -> int:
        tf = self.t["twoFactor"]
        return self.conn.execute(update(tf).where(tf.c.userId == user_id).values(backupCodes=stored)).rowcount

    def sample(self, limit: int) -> list[TwoFactorRow]:
        """Up to `limit` rows, for `idp doctor`'s check that the secret decrypts them."""
        if not self.present:
            return []
        tf = self.t["twoFactor"]
        cols = [tf.c.id, tf.c.userId, tf.c.secret, tf.c.backupCodes]
        if "verified" in tf.c:
            cols.append(tf.c.verified)
        rows = self.conn.execute(select(*cols).order_by(tf.c.id).limit(limit)).mappings()
        return [
            TwoFactorRow(r["id"], r["userId"], r["secret"], r["backupCodes"], r.get("verified")) for r in rows
        ]
