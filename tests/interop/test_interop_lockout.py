"""Issue 12, "Locked out means locked out", on the real server.

1. `bootstrap-admin` keeps a ban (exit 8, the user stays banned) unless asked to lift it, and reports
   every action it takes.
2. owox flavor: after `idp ban` the banned user id gets no session and no role from OWOX's server by any
   route (password, a magic link the user requests, an existing session, an invitation, a role token,
   an OAuth account; also a link issued before the ban, a password reset, signing up again), each with
   the server's exact answer; `idp unban` gives back exactly the previous role and password. Also: the prototype
   of the mechanism (database triggers, owox_idp/db/owox_ban_guard.py) applied by the test, with the
   server's answers per route, other users unaffected, the server's own migration untouched, and a ban
   racing a session insert; and what a ban cannot stop (a role token is a bearer grant).
3. `import --update` keeps an admin: against a concurrent demotion (widened race window) and when a
   batch fails after an earlier batch demoted the only admin.
4. An admin's impersonation sessions end with `ban`, `delete-user`, `reset-password`, `revoke-sessions`
   of that admin, and the result says how many.
Extras: a better-auth re-ban keeps the reason and the expiry unless asked; on MariaDB a role stored as
'Admin ' or 'ADMIN' (which its collation compares equal to 'admin') is not an admin for the last-admin
rule, as it is not for the server.

Tests that need a known set of admins (the last-admin rule is deployment-wide) run on a database and a
server of their own (`fresh_stack`); point 2 runs on one OWOX server per dialect with OWOX's
/auth/magic-link-success route and an OAuth provider (tests/interop/node/owox_extras.mjs).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import sqlalchemy
from dbutil import fresh_database, selected_dialects, skip_or_fail
from interop_support import (
    OWOX_ORG_ID,
    PASSWORD,
    PROFILES,
    AuthServer,
    Browser,
    Response,
    ServerError,
    Stack,
    idp_settings_env,
    node_problem,
    parse_time,
    run_idp,
    sa_engine,
    server_schema_sql,
    unique_email,
)

from owox_idp.db import owox_ban_guard
from owox_idp.db.types import BADate
from owox_idp.repository.users import MYSQL_LOCK_NAME

pytestmark = pytest.mark.interop

OPS_PASSWORD = "correct horse battery"
EXTRAS = {"IDP_INTEROP_OWOX_ROUTES": "1", "IDP_INTEROP_OAUTH": "1"}
REFUSED = 8  # docs/exit-codes.md: refused by a safety rule

# Names the fixed commands are expected to use (the lead may rename them; keep them in one place).
BOOTSTRAP_UNBAN_OPTION = "--unban"  # bootstrap-admin: lift a ban explicitly
IMPERSONATION_KEY = "impersonation_sessions_revoked"  # ban, reset-password, revoke-sessions
DELETE_IMPERSONATION_KEY = "impersonation_sessions"  # delete-user: in `removed`


# ----------------------------------------------------------------------------- stacks of their own

COMBOS = [(profile, dialect) for profile in PROFILES for dialect in selected_dialects()]


def require_node() -> None:
    problem = node_problem()
    if problem:
        skip_or_fail(problem)


def _os_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}


@contextlib.contextmanager
def _own_stack(
    profile: str, dialect: str, base: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """A new database migrated by idp and a server of its own on it, stopped afterwards."""
    require_node()
    with fresh_database(dialect, base) as db:
        r = run_idp(idp_settings_env(profile, db, "http://127.0.0.1:3000"), "migrate", "--yes")
        assert r.exit_code == 0, f"idp migrate: {r}"
        server = AuthServer(profile, db, base, extra_env=dict(extra_env or {}))
        try:
            server.start()
        except ServerError as exc:
            pytest.fail(str(exc), pytrace=False)
        engine = sa_engine(db)
        try:
            yield Stack(profile, db, server, engine)
        finally:
            server.stop()
            engine.dispose()


@pytest.fixture(params=COMBOS, ids=lambda c: f"{c[0]}-{c[1]}")
def fresh_stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    """Both profiles on every selected dialect, each test on an empty database of its own."""
    profile, dialect = request.param
    with _own_stack(profile, dialect, tmp_path) as stack:
        yield stack


@pytest.fixture(scope="module", params=selected_dialects())
def owox_full(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """OWOX's server (better-auth 1.6.25 as OWOX configures it) with OWOX's role-token route and an
    OAuth provider, on a database of its own, one per dialect for this module."""
    with _own_stack("owox", request.param, tmp_path_factory.mktemp("lockout"), EXTRAS) as stack:
        yield stack


def _low(stack: Stack) -> str:
    return "viewer" if stack.owox else "user"


def _admins(stack: Stack) -> list[dict[str, Any]]:
    """Active admins as idp lists them (only meaningful on a database of the test's own)."""
    users = stack.idp_json("list-users", "--role", "admin")
    return [u for u in users if not u["banned"]]


def _server_admin(stack: Stack, email: str, password: str) -> bool:
    """Does the server itself treat this user as an admin?"""
    r, browser = stack.sign_in(email, password)
    if r.status != 200:
        return False
    if stack.owox:
        return stack.server_role(browser) == "admin"
    return browser.get("/admin/list-users?limit=1").status == 200


# ============================================================================ 1. bootstrap-admin


def test_bootstrap_admin_keeps_a_ban(stack: Stack) -> None:
    """The issue's recipe: a deploy job that runs bootstrap-admin must not re-enable a banned admin."""
    stack.add_user("keeper", role="admin")
    ops = stack.add_user("ops", role="admin", password=OPS_PASSWORD)
    stack.signed_in(ops["email"], OPS_PASSWORD)
    banned = stack.idp_json("ban", ops["email"], "--yes", "--reason", "compromised")
    assert banned["banned"] is True

    r = stack.idp("bootstrap-admin", ops["email"], "--json")
    assert r.exit_code == REFUSED, f"bootstrap-admin of a banned admin must be refused (exit 8): {r}"
    assert "banned" in r.stderr.lower(), r

    shown = stack.idp_json("show-user", ops["email"])
    assert shown["banned"] is True, "bootstrap-admin lifted the ban"
    assert shown["ban_reason"] == "compromised"
    r_in, b = stack.sign_in(ops["email"], OPS_PASSWORD)
    assert not b.cookies.get(stack.session_cookie), f"the banned admin signed in again: {r_in}"
    if stack.owox:
        assert r_in.status == 401, r_in  # the password is still put away
        assert shown["has_password"] is False
        assert stack.count("member", "userId", ops["user_id"]) == 0
    else:
        assert r_in.status == 403 and r_in.json()["code"] == "BANNED_USER", r_in


def test_bootstrap_admin_lifts_a_ban_only_when_asked(stack: Stack) -> None:
    r = stack.idp("bootstrap-admin", "--help")
    if BOOTSTRAP_UNBAN_OPTION not in r.stdout:
        pytest.skip(f"bootstrap-admin has no {BOOTSTRAP_UNBAN_OPTION} yet; this test runs once it does")
    stack.add_user("keeper", role="admin")
    ops = stack.add_user("ops", role="admin", password=OPS_PASSWORD)
    stack.idp_json("ban", ops["email"], "--yes", "--reason", "compromised")

    data = stack.idp_json("bootstrap-admin", ops["email"], BOOTSTRAP_UNBAN_OPTION)
    assert data["unbanned"] is True, data
    assert data["action"] == "unchanged" and data["role_changed"] is False, data
    assert stack.idp_json("show-user", ops["email"])["banned"] is False
    browser = stack.signed_in(ops["email"], OPS_PASSWORD)  # owox: the old password is back
    assert stack.server_role(browser) == "admin"

    again = stack.idp_json("bootstrap-admin", ops["email"], BOOTSTRAP_UNBAN_OPTION)
    assert again["unbanned"] is False, again  # nothing to lift: says so


def test_bootstrap_admin_reports_every_action(stack: Stack) -> None:
    """An existing non-admin without a password: made admin, the older link revoked, a new link."""
    user = stack.add_user("promote-me", role=_low(stack))
    data = stack.idp_json("bootstrap-admin", user["email"])
    assert data["action"] == "link-issued" and data["role_changed"] is True, data
    assert data.get("links_revoked") == 1, f"the revoked link is not in the result: {data}"
    assert data.get("unbanned") is False, f"the result does not say whether a ban was lifted: {data}"
    stack.link_fails(user["magic_link"])
    browser = stack.link_works(data["magic_link"])
    assert stack.server_role(browser) == "admin"


# ============================================================================ 2. owox: no way back in


def _oauth_sign_in(stack: Stack, sub: str, email: str) -> tuple[Response, Browser]:
    """Sign in with the test server's OAuth provider as (sub, email): the server's own state, our code."""
    b = stack.browser()
    r = b.post("/sign-in/oauth2", {"providerId": "interop", "callbackURL": stack.base_url + "/"})
    assert r.status == 200, f"sign-in/oauth2: {r}"
    state = parse_qs(urlsplit(r.json()["url"]).query)["state"][0]
    code = base64.urlsafe_b64encode(json.dumps({"sub": sub, "email": email}).encode()).decode().rstrip("=")
    return b.get(f"/oauth2/callback/interop?code={code}&state={state}"), b


def _invite(stack: Stack, email: str, inviter_id: str, role: str = "admin") -> str:
    """A pending invitation as the organization plugin stores it. OWOX's roles have no `invitation`
    permission, so the plugin's own invite-member answers 403 YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_
    ORGANIZATION even for an OWOX admin; rows come from elsewhere (an older setup, another tool)."""
    invitation_id = "inv" + uuid.uuid4().hex[:29]
    now = datetime.now(UTC)
    table = sqlalchemy.table(
        "invitation",
        *(sqlalchemy.column(n) for n in ("id", "organizationId", "email", "role", "status", "inviterId")),
        sqlalchemy.column("expiresAt", BADate()),
        sqlalchemy.column("createdAt", BADate()),
    )
    with stack.engine.begin() as conn:
        conn.execute(
            sqlalchemy.insert(table).values(
                id=invitation_id,
                organizationId=OWOX_ORG_ID,
                email=email,
                role=role,
                status="pending",
                inviterId=inviter_id,
                expiresAt=now + timedelta(days=2),
                createdAt=now,
            )
        )
    return invitation_id


def _role_token_url(stack: Stack, token: str) -> str:
    return f"{stack.base_url}/auth/magic-link-success/{quote(token, safe='')}"


def _members(stack: Stack, user_id: str) -> list[str]:
    m = stack.q("member")
    rows = stack.rows(f"SELECT {stack.q('role')} AS role FROM {m} WHERE {stack.q('userId')} = :u", u=user_id)
    return [r["role"] for r in rows]


def _credential(stack: Stack, user_id: str) -> str | None:
    a = stack.q("account")
    rows = stack.rows(
        f"SELECT {stack.q('password')} AS p FROM {a} WHERE {stack.q('userId')} = :u"
        f" AND {stack.q('providerId')} = 'credential'",
        u=user_id,
    )
    return rows[0]["p"] if rows else None


def _setup_owox_target(stack: Stack) -> dict[str, Any]:
    """keeper (admin) and ops (admin, password, signed in, an OAuth account, a pending invitation, the
    role token of its add-user link), as before the ban."""
    keeper = stack.add_user("keeper", role="admin", password=PASSWORD)
    ops = stack.add_user("ops", role="admin", password=OPS_PASSWORD)
    ops["browser"] = stack.signed_in(ops["email"], OPS_PASSWORD)
    ops["sub"] = "oauth-" + ops["user_id"]
    r, ops["oauth_browser"] = _oauth_sign_in(stack, ops["sub"], ops["email"])  # links the account, signs in
    assert r.status == 302 and stack.session_user(ops["oauth_browser"])["id"] == ops["user_id"], r
    ops["invitation"] = _invite(stack, ops["email"], keeper["user_id"])
    ops["token"] = stack.role_token(ops["magic_link"])
    ops["hash"] = _credential(stack, ops["user_id"])
    assert ops["hash"]
    return ops


def _try_every_route(stack: Stack, ops: dict[str, Any]) -> tuple[dict[str, Response], list[str]]:
    """Everything the banned user can try, in order; returns the server's answers and what let them in."""
    answers: dict[str, Response] = {}
    leaks: list[str] = []
    uid, email = ops["user_id"], ops["email"]

    def got_in(route: str, browser: Browser) -> None:
        if browser.cookies.get(stack.session_cookie) and (stack.session_user(browser) or {}).get("id") == uid:
            leaks.append(f"{route}: a session for the banned user")

    for name in ("browser", "oauth_browser"):  # the password session and the OAuth session
        answers[f"existing-session:{name}"] = ops[name].get("/get-session")
        if stack.session(ops[name]) is not None:
            leaks.append(f"existing session ({name}): still valid")

    answers["password"], b = stack.sign_in(email, OPS_PASSWORD)
    got_in("password", b)

    answers["pending-link"], b = stack.open_link(ops["magic_link"])  # the add-user link, never opened
    got_in("a pending magic link", b)

    b = stack.browser()  # the user asks the server for a link whose callback is the old role token
    answers["request-link"] = b.post(
        "/sign-in/magic-link", {"email": email, "callbackURL": _role_token_url(stack, ops["token"])}
    )
    issued = [c for c in stack.captured()["magicLinks"] if c["email"] == email]
    if answers["request-link"].status == 200 and issued:
        answers["verify-link"] = b.get(issued[-1]["url"])
        got_in("magic link the user requested", b)
    answers["role-token"] = b.get(_role_token_url(stack, ops["token"]))
    if _members(stack, uid):
        leaks.append(f"role token: member row {_members(stack, uid)}")
    answers["accept-invitation"] = b.post(
        "/organization/accept-invitation", {"invitationId": ops["invitation"]}
    )
    if answers["accept-invitation"].status == 200 or _members(stack, uid):
        leaks.append(f"invitation: {answers['accept-invitation']}, member rows {_members(stack, uid)}")
    answers["oauth-callback"], b = _oauth_sign_in(stack, ops["sub"], email)
    got_in("OAuth account", b)
    # a password reset: OWOX's server has no sendResetPassword, so it cannot send one
    answers["request-reset"] = stack.browser().post(
        "/request-password-reset", {"email": email, "redirectTo": stack.base_url + "/"}
    )
    if [c for c in stack.captured()["resetLinks"] if c["email"] == email]:
        leaks.append("password reset: a reset link was issued")
    b = stack.browser()  # signing up again as the same email (OWOX's sign-up is public)
    answers["sign-up"] = b.post("/sign-up/email", {"email": email, "password": OPS_PASSWORD, "name": "Again"})
    got_in("sign-up with the same email", b)

    if stack.count("session", "userId", uid):
        leaks.append(f"{stack.count('session', 'userId', uid)} session row(s) for the banned user")
    return answers, leaks


def _assert_unban_restores(stack: Stack, ops: dict[str, Any]) -> None:
    data = stack.idp_json("unban", ops["email"])
    assert data["banned"] is False and data["changed"] is True, data
    assert _members(stack, ops["user_id"]) == ["admin"]
    assert _credential(stack, ops["user_id"]) == ops["hash"], "unban did not give back the same password"
    assert stack.count("idp_owox_ban", "userId", ops["user_id"]) == 0
    browser = stack.signed_in(ops["email"], OPS_PASSWORD)
    assert stack.server_role(browser) == "admin"
    r, b = _oauth_sign_in(stack, ops["sub"], ops["email"])
    assert r.status == 302 and stack.session_user(b)["id"] == ops["user_id"], r
    shown = stack.idp_json("show-user", ops["email"])
    assert shown["banned"] is False and shown["role"] == "admin" and shown["has_password"] is True


def test_owox_ban_closes_every_route_and_unban_restores(owox_full: Stack) -> None:
    """`idp ban` alone (it installs the guard itself), then every route of the issue's point 2 and the
    server's exact answer to each (the table in docs/commands/ban.md), then `idp unban`."""
    stack = owox_full
    ops = _setup_owox_target(stack)
    data = stack.idp_json("ban", ops["email"], "--yes", "--reason", "compromised")
    assert data["banned"] is True and data["changed"] is True, data
    assert data["sessions_revoked"] == 2, data  # the password session and the OAuth session

    answers, leaks = _try_every_route(stack, ops)
    assert not leaks, "after `idp ban` the banned user got back in:\n  " + "\n  ".join(leaks)
    cookie = stack.session_cookie
    for name in ("browser", "oauth_browser"):  # an existing session: gone
        r = answers[f"existing-session:{name}"]
        assert r.status == 200 and r.json() is None, r
    # password: the credential account is put away
    assert answers["password"].status == 401, answers["password"]
    assert answers["password"].json()["code"] == "INVALID_EMAIL_OR_PASSWORD", answers["password"]
    # a magic link issued before the ban: deleted with the ban
    assert answers["pending-link"].status == 302, answers["pending-link"]
    assert "error=INVALID_TOKEN" in answers["pending-link"].location, answers["pending-link"].location
    assert not answers["pending-link"].set_cookies.get(cookie)
    # a magic link the user requests: issued, but opening it makes no session (the guard refuses the row)
    assert answers["request-link"].status == 200, answers["request-link"]
    assert "verify-link" in answers, "the server issued no link to try"
    assert answers["verify-link"].status == 500, answers["verify-link"]
    assert not answers["verify-link"].set_cookies.get(cookie), answers["verify-link"]
    # a role token (the add-user link's callback): no session, so no role
    assert answers["role-token"].status == 302, answers["role-token"]
    assert answers["role-token"].location == "/auth/sign-in?error=Invalid magic link", answers["role-token"]
    # an invitation addressed to the email: no session to accept it with; it stays pending
    assert answers["accept-invitation"].status == 401, answers["accept-invitation"]
    invitation = stack.rows(
        f"SELECT {stack.q('status')} AS s FROM {stack.q('invitation')} WHERE id = :i", i=ops["invitation"]
    )
    assert invitation == [{"s": "pending"}]
    # an OAuth account: the account is found, the session row refused
    assert answers["oauth-callback"].status == 500, answers["oauth-callback"]
    assert not answers["oauth-callback"].set_cookies.get(cookie), answers["oauth-callback"]
    # a password reset: not offered by OWOX's server
    assert answers["request-reset"].status == 400, answers["request-reset"]
    assert answers["request-reset"].json()["code"] == "RESET_PASSWORD_DISABLED", answers["request-reset"]
    # signing up again: the email stays taken
    assert answers["sign-up"].status == 422, answers["sign-up"]
    assert answers["sign-up"].json()["code"] == "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", answers["sign-up"]
    assert "idp_owox_ban: this user is banned" in stack.server.stderr_text()
    assert stack.count("member", "userId", ops["user_id"]) == 0
    assert stack.count("session", "userId", ops["user_id"]) == 0
    assert stack.idp_json("show-user", ops["email"])["banned"] is True
    present = {r[next(iter(r))] for r in stack.rows(owox_ban_guard.installed_query(stack.dialect))}
    assert present == set(owox_ban_guard.trigger_names(stack.dialect)), "idp ban did not install the guard"

    _assert_unban_restores(stack, ops)


def _apply(stack: Stack, statements: list[str]) -> None:
    with stack.engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def test_owox_ban_guard_prototype(owox_full: Stack) -> None:
    """The mechanism of point 2 (owox_idp/db/owox_ban_guard.py) on its own: its DDL is idempotent both
    ways, the server's answers on each route, other users unaffected, neither migration sees anything
    to do, and unban without the guard in place. (`idp ban` installs the same guard itself.)"""
    stack = owox_full
    ops = _setup_owox_target(stack)
    stack.idp_json("ban", ops["email"], "--yes")  # records the ban, installs the guard, removes the rest
    _apply(stack, owox_ban_guard.create_statements(stack.dialect))  # again over what idp ban installed
    _apply(stack, owox_ban_guard.create_statements(stack.dialect))  # idempotent
    try:
        present = {r[next(iter(r))] for r in stack.rows(owox_ban_guard.installed_query(stack.dialect))}
        assert present == set(owox_ban_guard.trigger_names(stack.dialect))

        answers, leaks = _try_every_route(stack, ops)
        assert not leaks, leaks
        # the server's answers with the guard in place (the same on SQLite, PostgreSQL and MariaDB)
        assert answers["password"].status == 401  # no credential row: INVALID_EMAIL_OR_PASSWORD
        assert answers["password"].json()["code"] == "INVALID_EMAIL_OR_PASSWORD"
        assert answers["request-link"].status == 200  # the server issues the link ...
        assert answers["verify-link"].status == 500  # ... and fails to create the session (trigger)
        assert not answers["verify-link"].set_cookies.get(stack.session_cookie)
        assert answers["role-token"].location == "/auth/sign-in?error=Invalid magic link"  # no session
        assert answers["accept-invitation"].status == 401  # no session
        assert answers["oauth-callback"].status == 500  # the account is found; the session is refused
        invitation = stack.rows(
            f"SELECT {stack.q('status')} AS s FROM {stack.q('invitation')} WHERE id = :i", i=ops["invitation"]
        )
        assert invitation == [{"s": "pending"}]
        assert "idp_owox_ban: this user is banned" in stack.server.stderr_text()

        # a member row for the banned id is refused too, whoever writes it (OWOX's raw SQL, the plugin)
        member_t = sqlalchemy.table(
            "member",
            *(sqlalchemy.column(n) for n in ("id", "organizationId", "userId", "role")),
            sqlalchemy.column("createdAt", BADate()),
        )
        row = {"id": "m" + ops["user_id"][:30], "organizationId": OWOX_ORG_ID, "userId": ops["user_id"]}
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="idp_owox_ban"), stack.engine.begin() as conn:
            conn.execute(sqlalchemy.insert(member_t).values(**row, role="admin", createdAt=datetime.now(UTC)))

        # everyone else: password, a requested magic link, a role token, an invitation, OAuth, sign-up
        other = stack.add_user("other", role="viewer", password=PASSWORD)
        browser = stack.signed_in(other["email"], PASSWORD)
        assert stack.server_role(browser) == "viewer"
        b = stack.browser()
        r = b.post("/sign-in/magic-link", {"email": other["email"], "callbackURL": stack.base_url + "/"})
        assert r.status == 200, r
        link = [c for c in stack.captured()["magicLinks"] if c["email"] == other["email"]][-1]
        assert b.get(link["url"]).status == 302 and stack.session_user(b)["id"] == other["user_id"]
        r = b.get(_role_token_url(stack, stack.role_token(other["magic_link"])))
        assert r.location == "/auth/setup-password", r.location
        invited = _invite(stack, other["email"], other["user_id"], role="editor")
        r = b.post("/organization/accept-invitation", {"invitationId": invited})
        assert r.status == 200 and r.json()["member"]["role"] == "editor", r
        r, ob = _oauth_sign_in(stack, "oauth-" + other["user_id"], other["email"])
        assert r.status == 302 and stack.session_user(ob)["id"] == other["user_id"], r
        newcomer = unique_email("newcomer")
        r = stack.browser().post("/sign-up/email", {"email": newcomer, "password": PASSWORD, "name": "New"})
        assert r.status == 200, r
        fresh = stack.add_user("fresh", role="editor")
        assert stack.server_role(stack.link_works(fresh["magic_link"])) == "editor"

        # neither Better Auth's migration nor idp's sees anything to do with the triggers there
        statements, _ = server_schema_sql("owox", stack.db)
        assert statements == []
        migrate = stack.idp("migrate", "--sql")
        assert migrate.exit_code == 0 and "up to date" in (migrate.stdout + migrate.stderr), migrate
    finally:
        _apply(stack, owox_ban_guard.drop_statements(stack.dialect))
        _apply(stack, owox_ban_guard.drop_statements(stack.dialect))  # idempotent
    assert stack.rows(owox_ban_guard.installed_query(stack.dialect)) == []
    # unban with the guard dropped (a database where someone removed it): the same exact restore
    _assert_unban_restores(stack, ops)


def test_owox_role_token_is_a_bearer_grant(owox_full: Stack) -> None:
    """What a ban cannot stop (docs/commands/ban.md): the role token in a confirmation link is honoured for
    any signed-in account within its hour, and OWOX's sign-up is public, so whoever holds an admin's link
    makes an account and takes the role. The banned email itself stays taken."""
    stack = owox_full
    ops = _setup_owox_target(stack)
    stack.idp_json("ban", ops["email"], "--yes")
    _apply(stack, owox_ban_guard.create_statements(stack.dialect))
    try:
        r = stack.browser().post("/sign-up/email", {"email": ops["email"], "password": PASSWORD, "name": "X"})
        assert r.status == 422 and r.json()["code"] == "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", r
        assert not r.set_cookies.get(stack.session_cookie)
        stranger = unique_email("stranger")
        b = stack.browser()
        r = b.post("/sign-up/email", {"email": stranger, "password": PASSWORD, "name": "Stranger"})
        assert r.status == 200, r
        r = b.get(_role_token_url(stack, ops["token"]))
        assert r.location == "/auth/setup-password", r.location
        assert stack.server_role(b) == "admin"  # a stranger's account, not the banned id
        assert stack.count("session", "userId", ops["user_id"]) == 0
    finally:
        _apply(stack, owox_ban_guard.drop_statements(stack.dialect))
        stack.idp("unban", ops["email"])


def test_owox_delete_user_leaves_no_invitation(owox_full: Stack) -> None:
    """After `delete-user` the email is free: whoever signs it up (sign-up is public, no verification)
    must not find an invitation addressed to it."""
    stack = owox_full
    keeper = stack.add_user("keeper", role="admin", password=PASSWORD)
    gone = stack.add_user("gone", role="admin", password=OPS_PASSWORD)
    invitation = _invite(stack, gone["email"], keeper["user_id"])
    data = stack.idp_json("delete-user", gone["email"], "--yes", "--force")
    assert data["deleted"] is True

    b = stack.browser()
    r = b.post("/sign-up/email", {"email": gone["email"], "password": PASSWORD, "name": "Someone"})
    assert r.status == 200, r  # the email is anyone's now
    r = b.post("/organization/accept-invitation", {"invitationId": invitation})
    assert r.status == 400 and r.json()["code"] == "INVITATION_NOT_FOUND", (
        f"a stranger accepted the deleted user's invitation: {r}"
    )
    assert stack.server_role(b) is None


@pytest.mark.parametrize("dialect", selected_dialects())
def test_owox_ban_guard_holds_a_racing_session(dialect: str, tmp_path: Path) -> None:
    """A session insert that starts while a ban is being written waits for it and is refused, provided
    the ban takes the user's row FOR UPDATE (PostgreSQL) and inserts the ban row before it deletes the
    sessions (what `idp ban` must do with the guard)."""
    require_node()
    with fresh_database(dialect, tmp_path) as db:
        dialect = db.dialect  # postgresql-pgbouncer is PostgreSQL (through the pooler for idp only)
        env = idp_settings_env("owox", db, "http://127.0.0.1:3000")
        assert run_idp(env, "migrate", "--yes").exit_code == 0
        target = json.loads(
            run_idp(env, "add-user", unique_email("racer"), "--role", "editor", "--json").stdout
        )
        throwaway = unique_email("throwaway")
        assert run_idp(env, "add-user", throwaway, "--json").exit_code == 0
        assert run_idp(env, "ban", throwaway, "--yes").exit_code == 0  # creates idp_owox_ban
        engine = sa_engine(db)
        try:
            with engine.begin() as conn:
                for statement in owox_ban_guard.create_statements(dialect):
                    conn.exec_driver_sql(statement)
            uid = target["user_id"]
            now = datetime.now(UTC)
            session_t = sqlalchemy.table(
                "session",
                *(sqlalchemy.column(n) for n in ("id", "token", "userId", "ipAddress", "userAgent")),
                *(sqlalchemy.column(n, BADate()) for n in ("expiresAt", "createdAt", "updatedAt")),
            )
            ban_t = sqlalchemy.table(
                "idp_owox_ban", sqlalchemy.column("userId"), sqlalchemy.column("createdAt", BADate())
            )
            user_t = sqlalchemy.table("user", sqlalchemy.column("id"))
            outcome: dict[str, Any] = {}

            def server_inserts_a_session() -> None:
                try:
                    with engine.begin() as conn:
                        conn.execute(
                            sqlalchemy.insert(session_t).values(
                                id="racing" + uid[:20],
                                token="tok" + uid[:29],
                                userId=uid,
                                ipAddress="",
                                userAgent="race",
                                expiresAt=now + timedelta(days=1),
                                createdAt=now,
                                updatedAt=now,
                            )
                        )
                    outcome["result"] = "inserted"
                except sqlalchemy.exc.DBAPIError as exc:
                    outcome["result"] = str(exc.orig)

            with engine.connect() as ban_conn:
                ban_conn.begin()
                if dialect == "sqlite":
                    ban_conn.exec_driver_sql("SELECT 1")  # pysqlite BEGINs lazily: make it a write
                if dialect == "postgresql":
                    ban_conn.execute(
                        sqlalchemy.select(user_t.c.id).where(user_t.c.id == uid).with_for_update()
                    )
                ban_conn.execute(sqlalchemy.insert(ban_t).values(userId=uid, createdAt=now))
                racer = threading.Thread(target=server_inserts_a_session)
                racer.start()
                racer.join(timeout=1.5)
                assert racer.is_alive(), f"the session insert did not wait for the ban: {outcome}"
                ban_conn.execute(sqlalchemy.delete(session_t).where(session_t.c.userId == uid))
                ban_conn.commit()
            racer.join(timeout=30)
            assert "idp_owox_ban" in outcome.get("result", ""), outcome
            with engine.connect() as conn:
                n = conn.execute(
                    sqlalchemy.select(sqlalchemy.func.count())
                    .select_from(session_t)
                    .where(session_t.c.userId == uid)
                ).scalar_one()
            assert n == 0
        finally:
            engine.dispose()


# ============================================================================ 3. import --update


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["email", "role"])
        writer.writerows(rows)
    return path


def _admin_lock_held(stack: Stack) -> bool:
    """Is some idp command holding the admin lock (lock_admins) on this database right now?"""
    if stack.dialect == "postgresql":
        n = stack.rows(
            "SELECT count(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
        )[0]["n"]
        return int(n) > 0
    if stack.dialect == "mariadb":
        return stack.rows(f"SELECT IS_USED_LOCK({MYSQL_LOCK_NAME}) AS h")[0]["h"] is not None
    path = stack.db.url.removeprefix("sqlite:///")
    probe = sqlite3.connect(path, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def test_import_update_respects_a_concurrent_demotion(fresh_stack: Stack, tmp_path: Path) -> None:
    """Admins a and b. `set-role b` holds the admin lock and pauses after its check (a is still admin);
    meanwhile `import --update` demotes a. Only one of the two may win."""
    stack = fresh_stack
    low = _low(stack)
    a = stack.add_user("admin-a", role="admin", password=PASSWORD)
    b = stack.add_user("admin-b", role="admin", password=PASSWORD)
    source = _write_csv(tmp_path / "demote-a.csv", [(a["email"], low)])
    env = {
        **_os_env(),
        **stack.idp_env,
        "IDP_TEST_PAUSE_AFTER_ADMIN_CHECK": "4",
    }
    setter = subprocess.Popen(
        [sys.executable, "-m", "owox_idp", "set-role", b["email"], low, "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not _admin_lock_held(stack) and time.monotonic() < deadline and setter.poll() is None:
            time.sleep(0.05)
        time.sleep(0.5)  # past its check, inside the pause
        imported = stack.idp("import", str(source), "--update")
        _out, err = setter.communicate(timeout=60)
    finally:
        if setter.poll() is None:
            setter.kill()
    assert setter.returncode == 0, err
    assert imported.exit_code != 0, (
        f"the import demoted the last admin while set-role did the other: {imported}"
    )
    admins = _admins(stack)
    assert [u["email"] for u in admins] == [a["email"]], admins
    assert _server_admin(stack, a["email"], PASSWORD)
    assert not _server_admin(stack, b["email"], PASSWORD)


@pytest.mark.parametrize("fault", ["interrupt", "kill"])
def test_import_update_keeps_an_admin_when_a_batch_fails(
    fresh_stack: Stack, tmp_path: Path, fault: str
) -> None:
    """The only admin demoted in batch 1, the new admin promoted in batch 2, batch 2 fails."""
    stack = fresh_stack
    old = stack.add_user("old-admin", role="admin", password=PASSWORD)
    new = stack.add_user("new-admin", role=_low(stack), password=PASSWORD)
    source = _write_csv(tmp_path / "handover.csv", [(old["email"], _low(stack)), (new["email"], "admin")])
    env = {**stack.idp_env, "IDP_TEST_IMPORT_FAULT": f"{fault}@2"}
    if fault == "kill":
        proc = subprocess.run(
            [sys.executable, "-m", "owox_idp", "import", str(source), "--update", "--batch-size", "1"],
            env={**_os_env(), **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == -9, (proc.returncode, proc.stderr)
    else:
        r = run_idp(env, "import", str(source), "--update", "--batch-size", "1")
        assert r.exit_code == 130, r
    admins = _admins(stack)
    assert admins, "the failed import left the deployment without an admin"
    assert any(_server_admin(stack, u["email"], PASSWORD) for u in admins), admins


# ============================================================================ 4. impersonation


def _impersonating(stack: Stack) -> tuple[dict[str, Any], dict[str, Any], Browser, Browser]:
    """An admin impersonating a user: (admin, target, the impersonation browser, the target's own)."""
    admin = stack.add_user("impersonator", role="admin", password=PASSWORD)
    target = stack.add_user("impersonated", role="user", password=PASSWORD)
    own = stack.signed_in(target["email"], PASSWORD, user_agent="target-itself")
    browser = stack.signed_in(admin["email"], PASSWORD)
    r = browser.post("/admin/impersonate-user", {"userId": target["user_id"]})
    assert r.status == 200, r
    data = stack.session(browser)
    assert data is not None and data["user"]["id"] == target["user_id"]
    assert data["session"]["impersonatedBy"] == admin["user_id"]
    assert stack.count("session", "impersonatedBy", admin["user_id"]) == 1
    return admin, target, browser, own


@pytest.mark.parametrize("command", ["ban", "delete-user", "reset-password", "revoke-sessions"])
def test_impersonation_ends_with_the_impersonator(ba_stack: Stack, command: str) -> None:
    stack = ba_stack
    admin, target, browser, own = _impersonating(stack)
    args = {
        "ban": ["ban", admin["email"], "--yes", "--force"],
        "delete-user": ["delete-user", admin["email"], "--yes", "--force"],
        "reset-password": ["reset-password", admin["email"], "--yes"],
        "revoke-sessions": ["revoke-sessions", admin["email"], "--yes"],
    }[command]
    data = stack.idp_json(*args)

    assert stack.session(browser) is None, f"the impersonation session survived `idp {command}` of the admin"
    assert stack.count("session", "impersonatedBy", admin["user_id"]) == 0
    assert stack.session_user(own)["id"] == target["user_id"]  # the target's own session is not touched
    reported = (
        data["removed"].get(DELETE_IMPERSONATION_KEY)
        if command == "delete-user"
        else data.get(IMPERSONATION_KEY)
    )
    assert reported == 1, f"`idp {command}` does not say it ended the impersonation: {data}"


# ============================================================================ extras


def test_ba_password_reset_during_a_ban_gives_no_session(ba_stack: Stack) -> None:
    """What a better-auth ban does not stop (docs/commands/ban.md): the banned user can still ask the
    server for a password reset and set a new password, but gets no session while the ban lasts."""
    stack = ba_stack
    user = stack.add_user("reset-while-banned", role="user", password=PASSWORD)
    stack.idp_json("ban", user["email"], "--yes")
    r = stack.browser().post("/request-password-reset", {"email": user["email"], "redirectTo": "/"})
    assert r.status == 200, r
    sent = [c for c in stack.captured()["resetLinks"] if c["email"] == user["email"]]
    assert len(sent) == 1, sent
    b = stack.browser()
    r = b.post("/reset-password", {"token": sent[0]["token"], "newPassword": OPS_PASSWORD})
    assert r.status == 200, r
    assert not b.cookies.get(stack.session_cookie)
    r, b = stack.sign_in(user["email"], OPS_PASSWORD)
    assert r.status == 403 and r.json()["code"] == "BANNED_USER", r
    assert not b.cookies.get(stack.session_cookie)
    assert stack.count("session", "userId", user["user_id"]) == 0


def test_reban_keeps_reason_and_expiry(ba_stack: Stack) -> None:
    stack = ba_stack
    watcher = stack.add_user("ban-watcher", role="admin", password=PASSWORD)
    admin_browser = stack.signed_in(watcher["email"], PASSWORD)
    user = stack.add_user("reban", role="user", password=PASSWORD)
    first = stack.idp_json("ban", user["email"], "--expires", "7d", "--reason", "first", "--yes")
    expires = parse_time(first["ban_expires"])

    def server_view() -> dict[str, Any]:
        r = admin_browser.get(f"/admin/list-users?searchValue={user['email']}&searchField=email")
        assert r.status == 200, r
        found: dict[str, Any] = r.json()["users"][0]
        return found

    again = stack.idp_json("ban", user["email"], "--yes")
    assert again["changed"] is False, f"a plain re-ban reports a change: {again}"
    assert again["ban_reason"] == "first" and parse_time(again["ban_expires"]) == expires, again
    seen = server_view()
    assert seen["banned"] is True and seen["banReason"] == "first", seen
    assert parse_time(seen["banExpires"]) == expires, "the re-ban made a 7-day ban permanent"

    reason = stack.idp_json("ban", user["email"], "--reason", "second", "--yes")
    assert reason["changed"] is True and reason["ban_reason"] == "second", reason
    assert parse_time(reason["ban_expires"]) == expires, "changing the reason changed the expiry"
    assert server_view()["banReason"] == "second"
    r, _ = stack.sign_in(user["email"], PASSWORD)
    assert r.status == 403 and r.json()["code"] == "BANNED_USER", r


def test_lookalike_admin_roles_do_not_count(fresh_stack: Stack) -> None:
    """'Admin ' and 'ADMIN' are not admins for the server; MariaDB's default collation (case-insensitive,
    PAD SPACE) compares them equal to 'admin', so idp must compare exactly too."""
    stack = fresh_stack
    real = stack.add_user("real-admin", role="admin", password=PASSWORD)
    lookalikes = [stack.add_user(f"lookalike-{i}", role=_low(stack), password=PASSWORD) for i in range(2)]
    for user, text in zip(lookalikes, ("Admin ", "ADMIN"), strict=True):
        with stack.engine.begin() as conn:
            if stack.owox:
                conn.execute(
                    sqlalchemy.text(
                        f"UPDATE {stack.q('member')} SET role = :r WHERE {stack.q('userId')} = :u"
                    ),
                    {"r": text, "u": user["user_id"]},
                )
            else:
                conn.execute(
                    sqlalchemy.text(f"UPDATE {stack.q('user')} SET role = :r WHERE id = :u"),
                    {"r": text, "u": user["user_id"]},
                )
        assert not _server_admin(stack, user["email"], PASSWORD), f"the server treats {text!r} as admin"
    assert _server_admin(stack, real["email"], PASSWORD)

    r = stack.idp("set-role", real["email"], _low(stack), "--json")
    assert r.exit_code == REFUSED, f"the last real admin was demoted ({stack.dialect}): {r}"
    r = stack.idp("ban", real["email"], "--yes", "--json")
    assert r.exit_code == REFUSED, f"the last real admin was banned ({stack.dialect}): {r}"
    assert _server_admin(stack, real["email"], PASSWORD)
