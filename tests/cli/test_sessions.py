"""list-sessions and revoke-sessions on every dialect, for both flavors, on session rows written as the
Better Auth server writes them (inserted through idp's own table definitions, so each dialect gets
the server's exact date and boolean forms)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from idp_runner import IdpRunner

from owox_idp.config import load_settings, normalize_database_url
from owox_idp.crypto.random import generate_id, session_token
from owox_idp.db.engine import create_engine
from owox_idp.deployment import Deployment
from owox_idp.repository import Store

FLAVORS = ("owox", "better-auth")


def _flavor(idp: IdpRunner) -> str:
    return idp.env.get("IDP_FLAVOR", "owox")


@contextmanager
def repository(idp: IdpRunner) -> Iterator[Store]:
    """idp's repositories on the test database, in one committed transaction (for fixture rows)."""
    settings = load_settings(
        flags={"flavor": _flavor(idp), "database_url": idp.db.url, "server_version": "1.7"}, hermetic=True
    )
    engine = create_engine(normalize_database_url(idp.db.url, source="test"))
    try:
        with engine.begin() as conn:
            yield Store(conn, Deployment.from_settings(settings))
    finally:
        engine.dispose()


def add_session(
    idp: IdpRunner,
    user_id: str,
    *,
    created: datetime,
    lifetime: timedelta = timedelta(days=7),
    ip: str = "",
    user_agent: str | None = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
    impersonated_by: str | None = None,
) -> dict[str, Any]:
    """A session row as the server writes it (token = generateId(32), ipAddress '' without a proxy)."""
    created = created.replace(microsecond=created.microsecond // 1000 * 1000)
    values: dict[str, Any] = {
        "id": generate_id(),
        "token": session_token(),
        "userId": user_id,
        "createdAt": created,
        "updatedAt": created,
        "expiresAt": created + lifetime,
        "ipAddress": ip,
        "userAgent": user_agent,
    }
    with repository(idp) as repo:
        if "impersonatedBy" in repo.t["session"].c:
            values["impersonatedBy"] = impersonated_by
        repo.conn.execute(sa.insert(repo.t["session"]).values(**values))
    return values


def session_ids(idp: IdpRunner) -> set[str]:
    with repository(idp) as repo:
        s = repo.t["session"]
        return {row[0] for row in repo.conn.execute(sa.select(s.c.id))}


@pytest.fixture(params=FLAVORS)
def flavored(request: pytest.FixtureRequest, idp: IdpRunner) -> IdpRunner:
    idp.flavor(request.param)
    idp.migrate()
    return idp


def add_user(idp: IdpRunner, email: str) -> str:
    r = idp("add-user", email, "--json")
    assert r.exit_code == 0, r.stderr
    return str(r.json()["user_id"])


@pytest.fixture
def people(flavored: IdpRunner) -> dict[str, Any]:
    """Two users; alice has two active sessions and an expired one, bob one active session."""
    now = datetime.now(UTC)
    alice = add_user(flavored, "alice@example.com")
    bob = add_user(flavored, "bob@example.com")
    return {
        "alice": alice,
        "bob": bob,
        "a_old": add_session(flavored, alice, created=now - timedelta(days=2)),
        "a_new": add_session(
            flavored,
            alice,
            created=now - timedelta(hours=1),
            ip="203.0.113.7",
            impersonated_by=bob,
            lifetime=timedelta(hours=3),
        ),
        "a_expired": add_session(flavored, alice, created=now - timedelta(days=9)),
        "b": add_session(flavored, bob, created=now - timedelta(minutes=5), user_agent=None),
    }


JSON_KEYS = {
    "id",
    "user_id",
    "email",
    "created_at",
    "expires_at",
    "ip_address",
    "user_agent",
    "impersonated_by",
    "token_prefix",
}

# ----------------------------------------------------------------------------- list-sessions


def test_list_sessions_active_newest_first(flavored: IdpRunner, people: dict[str, Any]) -> None:
    r = flavored("list-sessions", "--json")
    assert r.exit_code == 0, r.stderr
    rows = r.json()
    assert [s["id"] for s in rows] == [people["b"]["id"], people["a_new"]["id"], people["a_old"]["id"]]
    assert all(set(s) >= JSON_KEYS for s in rows)
    assert all(s["active"] is True for s in rows)
    newest_alice = rows[1]
    assert newest_alice["email"] == "alice@example.com" and newest_alice["user_id"] == people["alice"]
    assert newest_alice["ip_address"] == "203.0.113.7"
    assert newest_alice["user_agent"].startswith("Mozilla/5.0")
    assert newest_alice["token_prefix"] == people["a_new"]["token"][:6]
    assert newest_alice["created_at"].endswith("Z") and len(newest_alice["created_at"]) == 24
    expires = datetime.fromisoformat(newest_alice["expires_at"].replace("Z", "+00:00"))
    assert expires == people["a_new"]["expiresAt"]
    # the owox flavor's server has no admin plugin, so no impersonation column: always null there
    expected_impersonator = people["bob"] if _flavor(flavored) == "better-auth" else None
    assert newest_alice["impersonated_by"] == expected_impersonator
    assert rows[0]["ip_address"] == "" and rows[0]["user_agent"] is None


def test_list_sessions_of_one_user_and_all(flavored: IdpRunner, people: dict[str, Any]) -> None:
    r = flavored("list-sessions", "Alice@Example.com", "--json")
    assert r.exit_code == 0, r.stderr
    assert [s["id"] for s in r.json()] == [people["a_new"]["id"], people["a_old"]["id"]]
    r = flavored("list-sessions", "alice@example.com", "--all", "--json")
    rows = r.json()
    assert [s["id"] for s in rows] == [
        people["a_new"]["id"],
        people["a_old"]["id"],
        people["a_expired"]["id"],
    ]
    assert [s["active"] for s in rows] == [True, True, False]
    r = flavored("list-sessions", "--all", "--json")
    assert len(r.json()) == 4


def test_list_sessions_never_shows_a_full_token(flavored: IdpRunner, people: dict[str, Any]) -> None:
    tokens = [people[k]["token"] for k in ("a_old", "a_new", "a_expired", "b")]
    for args in (["--all"], ["--all", "--json"], ["alice@example.com", "--all"]):
        r = flavored("list-sessions", *args)
        assert r.exit_code == 0, r.stderr
        for token in tokens:
            assert token not in r.stdout and token not in r.stderr
            assert token[:7] not in r.stdout
    # the plain (piped) form: a header, then tab-separated rows with the token prefix only
    r = flavored("list-sessions", "alice@example.com", "--all")
    lines = r.stdout.splitlines()
    assert lines[0].split("\t") == [
        "id",
        "email",
        "created",
        "expires",
        "ip",
        "user agent",
        "impersonated by",
        "token",
        "active",
    ]
    first = lines[1].split("\t")
    assert first[0] == people["a_new"]["id"] and first[7] == people["a_new"]["token"][:6] + "…"
    assert [line.split("\t")[-1] for line in lines[1:]] == ["yes", "yes", "no"]


def test_list_sessions_paging(flavored: IdpRunner, people: dict[str, Any]) -> None:
    ids = [s["id"] for s in flavored("list-sessions", "--all", "--json").json()]
    assert len(ids) == 4
    first = flavored("list-sessions", "--all", "--json", "--limit", "3").json()
    second = flavored("list-sessions", "--all", "--json", "--limit", "3", "--offset", "3").json()
    assert [s["id"] for s in first + second] == ids
    r = flavored("list-sessions", "--limit", "0")
    assert r.exit_code == 5 and "--limit" in r.stderr
    r = flavored("list-sessions", "--offset", "-1")
    assert r.exit_code == 5 and "--offset" in r.stderr


def test_list_sessions_keyset_paging(flavored: IdpRunner, people: dict[str, Any]) -> None:
    ids = [s["id"] for s in flavored("list-sessions", "--all", "--json").json()]
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        args = ["list-sessions", "--all", "--json", "--limit", "3", *(["--after", cursor] if cursor else [])]
        r = flavored(*args)
        assert r.exit_code == 0, r.stderr
        seen += [s["id"] for s in r.json()]
        if "Next page: --after " not in r.stderr:
            break
        cursor = r.stderr.split("Next page: --after ")[1].split()[0]
    assert seen == ids  # every session once, in order
    r = flavored("list-sessions", "--after", cursor or "x", "--offset", "1")
    assert r.exit_code == 2 and "not both" in r.stderr
    assert flavored("list-sessions", "--after", "garbage").exit_code == 5


def test_list_sessions_errors_and_empty(flavored: IdpRunner) -> None:
    r = flavored("list-sessions", "nobody@example.com")
    assert r.exit_code == 3 and "no user with email nobody@example.com" in r.stderr
    r = flavored("list-sessions", "--json")
    assert r.exit_code == 0 and r.json() == []
    add_user(flavored, "quiet@example.com")
    r = flavored("list-sessions", "quiet@example.com", "--json")
    assert r.exit_code == 0 and r.json() == []


def test_list_sessions_needs_the_schema(idp: IdpRunner) -> None:
    r = idp("list-sessions")
    assert r.exit_code == 7 and "idp migrate" in r.stderr


# ----------------------------------------------------------------------------- revoke-sessions


def test_revoke_all_sessions_of_a_user(flavored: IdpRunner, people: dict[str, Any]) -> None:
    r = flavored("revoke-sessions", "ALICE@example.com", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data == {
        "user_id": people["alice"],
        "email": "alice@example.com",
        "session_id": None,
        "revoked": 3,
        "impersonation_sessions_revoked": 0,  # wave 2: sessions in which alice acts as someone else
    }
    assert session_ids(flavored) == {people["b"]["id"]}  # bob keeps his
    r = flavored("revoke-sessions", "alice@example.com", "--yes")
    assert r.exit_code == 0 and "nothing to do" in r.stderr
    r = flavored("revoke-sessions", "bob@example.com", "--yes")
    assert r.exit_code == 0 and "Revoked 1 session(s) of bob@example.com" in r.stderr
    assert "cookie cache" in r.stderr  # what a database revocation cannot reach
    assert ("OWOX access tokens" in r.stderr) == (_flavor(flavored) == "owox")
    assert session_ids(flavored) == set()


def test_revoke_one_session(flavored: IdpRunner, people: dict[str, Any]) -> None:
    target = people["a_new"]["id"]
    r = flavored("revoke-sessions", "alice@example.com", "--session-id", target, "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["revoked"] == 1 and r.json()["session_id"] == target
    assert target not in session_ids(flavored) and len(session_ids(flavored)) == 3
    # the same id again: gone
    r = flavored("revoke-sessions", "alice@example.com", "--session-id", target, "--yes")
    assert r.exit_code == 3 and f"no session with id {target}" in r.stderr


def test_revoke_session_errors_change_nothing(flavored: IdpRunner, people: dict[str, Any]) -> None:
    before = session_ids(flavored)
    # bob's session through alice: not found, and bob keeps it
    r = flavored("revoke-sessions", "alice@example.com", "--session-id", people["b"]["id"], "--yes")
    assert r.exit_code == 3 and "belongs to another user" in r.stderr
    r = flavored("revoke-sessions", "alice@example.com", "--session-id", "no-such-session", "--yes")
    assert r.exit_code == 3 and "no session with id no-such-session" in r.stderr
    r = flavored("revoke-sessions", "nobody@example.com", "--yes")
    assert r.exit_code == 3 and "no user with email nobody@example.com" in r.stderr
    # destructive: confirmation is needed off a terminal
    r = flavored("revoke-sessions", "alice@example.com")
    assert r.exit_code == 2 and "--yes" in r.stderr
    assert "Traceback" not in r.stderr
    assert session_ids(flavored) == before


def test_revoke_sessions_confirmation_on_a_terminal(
    flavored: IdpRunner, people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    class Tty:
        def __init__(self, answer: str) -> None:
            self.answer = answer

        def isatty(self) -> bool:
            return True

        def readline(self) -> str:
            return self.answer

    # the CLI runner swaps sys.stdin, so the terminal goes where _confirm looks for it
    monkeypatch.setattr("owox_idp.cli.common.sys", types.SimpleNamespace(stdin=Tty("n\n")))
    r = flavored("revoke-sessions", "bob@example.com")
    assert r.exit_code == 8 and "not confirmed" in r.stderr
    assert people["b"]["id"] in session_ids(flavored)
    monkeypatch.setattr("owox_idp.cli.common.sys", types.SimpleNamespace(stdin=Tty("y\n")))
    r = flavored("revoke-sessions", "bob@example.com")
    assert r.exit_code == 0 and "Revoke every session of bob@example.com?" in r.stderr
    assert people["b"]["id"] not in session_ids(flavored)
