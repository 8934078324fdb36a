"""`idp cleanup` on every dialect: expired sessions and verification rows go, live ones stay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from idp_runner import IdpRunner


class Rows:
    def __init__(self, idp: IdpRunner) -> None:
        self.dialect = idp.db.dialect
        self.engine = sa.create_engine(idp.db.sa_url)
        self.q = "`" if self.dialect == "mariadb" else '"'

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(sql.replace('"', self.q)), params)

    def ids(self, table: str) -> set[str]:
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(sa.text(f'select "id" from "{table}"'.replace('"', self.q)))}

    def date(self, dt: datetime) -> Any:
        if self.dialect == "sqlite":
            return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
        return dt.replace(tzinfo=None) if self.dialect == "mariadb" else dt

    def session(self, sid: str, user_id: str, expires: datetime) -> None:
        now = datetime.now(UTC)
        self.execute(
            'insert into "session" ("id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", '
            "\"userAgent\", \"userId\") values (:id, :exp, :token, :now, :now, '', 'pytest', :uid)",
            id=sid,
            exp=self.date(expires),
            token=f"token-{sid}",
            now=self.date(now - timedelta(days=8)),
            uid=user_id,
        )

    def verification(self, vid: str, identifier: str, value: str, expires: datetime) -> None:
        now = datetime.now(UTC)
        self.execute(
            'insert into "verification" ("id", "identifier", "value", "expiresAt", "createdAt", "updatedAt") '
            "values (:id, :identifier, :value, :exp, :now, :now)",
            id=vid,
            identifier=identifier,
            value=value,
            exp=self.date(expires),
            now=self.date(now - timedelta(days=1)),
        )


@pytest.fixture
def rows(idp: IdpRunner) -> Iterator[Rows]:
    access = Rows(idp)
    yield access
    access.engine.dispose()


def _seed(idp: IdpRunner, rows: Rows) -> str:
    idp.migrate()
    user_id: str = idp("add-user", "a@example.com", "--json").json()["user_id"]  # + 2 live link rows
    now = datetime.now(UTC)
    rows.session("s-live", user_id, now + timedelta(days=3))
    rows.session("s-old1", user_id, now - timedelta(days=1))
    rows.session("s-old2", user_id, now - timedelta(seconds=5))
    rows.verification(
        "v-link", "OldMagicLinkTokenOldMagicLinkTok", '{"email":"a@example.com"}', now - timedelta(hours=2)
    )
    rows.verification(
        "v-link17",
        "magic-link:Tok",
        '{"type":"magic-link","email":"x@example.com"}',
        now - timedelta(minutes=1),
    )
    rows.verification("v-reset", "reset-password:abc", user_id, now - timedelta(hours=1))
    rows.verification("v-trust", "trust-device-xyz", user_id, now + timedelta(days=20))
    return user_id


def test_cleanup_dry_run_counts_and_deletes_nothing(idp: IdpRunner, rows: Rows) -> None:
    _seed(idp, rows)
    before = (rows.ids("session"), rows.ids("verification"))
    r = idp("cleanup", "--dry-run", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json() == {"expired_sessions": 2, "expired_verifications": 3, "deleted": False}
    assert (rows.ids("session"), rows.ids("verification")) == before
    r = idp("cleanup", "--dry-run")
    assert "Would delete 2 expired session(s) and 3 expired verification row(s)." in r.stderr


def test_cleanup_deletes_only_expired_rows(idp: IdpRunner, rows: Rows) -> None:
    _seed(idp, rows)
    live_verifications = rows.ids("verification") - {"v-link", "v-link17", "v-reset"}
    r = idp("cleanup")
    assert r.exit_code == 0, r.stderr
    assert "Deleted 2 expired session(s) and 3 expired verification row(s)." in r.stderr
    assert r.stdout == ""
    assert rows.ids("session") == {"s-live"}
    assert rows.ids("verification") == live_verifications and len(live_verifications) == 3
    # nothing left to do: a second run is a no-op
    assert idp("cleanup", "--json").json() == {
        "expired_sessions": 0,
        "expired_verifications": 0,
        "deleted": True,
    }
    # the user's way in still works: their live link is untouched
    assert idp("show-user", "a@example.com", "--json").json()["pending_links"] == 1


def test_cleanup_in_batches(idp: IdpRunner, rows: Rows) -> None:
    """More expired rows than one batch: every batch is its own short transaction, all of them go."""
    from owox_idp.config import load_settings
    from owox_idp.context import Env
    from owox_idp.services.cleanup import cleanup

    user_id = _seed(idp, rows)
    past = datetime.now(UTC) - timedelta(hours=3)
    for i in range(23):
        rows.session(f"s-many{i}", user_id, past)
    settings = load_settings(flags={"database_url": idp.db.url}, env_file=None, config_path=None)
    result = cleanup(Env.from_settings(settings), dry_run=False, now=datetime.now(UTC), batch_size=5)
    assert (result.expired_sessions, result.expired_verifications, result.deleted) == (25, 3, True)
    assert rows.ids("session") == {"s-live"}


def test_cleanup_needs_the_schema(idp: IdpRunner) -> None:
    assert idp("cleanup").exit_code == 7
