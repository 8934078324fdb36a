"""The user lifecycle on every dialect, for both flavors: add-user, bootstrap-admin, reset-password,
set-role, ban/unban, delete-user, list-users, show-user, and their error paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from db_rows import Db
from idp_runner import TEST_SECRET, IdpRunner

from owox_idp.crypto.passwords import verify_password
from owox_idp.crypto.roletoken import decrypt_role
from owox_idp.db.types import parse_date

FLAVORS = ("owox", "better-auth")


@pytest.fixture
def db_access(idp: IdpRunner) -> Any:
    access = Db(idp)
    yield access
    access.engine.dispose()


@pytest.fixture(params=FLAVORS)
def flavored(request: pytest.FixtureRequest, idp: IdpRunner) -> IdpRunner:
    idp.flavor(request.param)
    idp.migrate()
    return idp


def add(idp: IdpRunner, email: str, *args: str, input: str | None = None) -> dict[str, Any]:
    r = idp("add-user", email, *args, "--json", input=input)
    assert r.exit_code == 0, r.stderr
    return r.json()  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- add-user


def test_add_user_owox_link_and_rows(idp: IdpRunner, db_access: Db) -> None:
    idp.migrate()
    data = add(idp, "New.Person@Example.COM", "--role", "editor")
    assert set(data) >= {"user_id", "email", "role", "created", "magic_link", "expires_at"}
    assert data["email"] == "new.person@example.com" and data["role"] == "editor"
    assert len(data["user_id"]) == 32 and data["user_id"].isalnum()
    url = urlsplit(data["magic_link"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://idp.example.test/auth/magic-link"
    query = parse_qs(url.query)
    token = query["token"][0]
    assert len(token) == 32 and token.isalpha()
    callback = query["callbackURL"][0]
    prefix = "https://idp.example.test/auth/magic-link-success/"
    assert callback.startswith(prefix)
    assert decrypt_role(unquote(callback.removeprefix(prefix)), TEST_SECRET) == "editor"
    # user, membership (role), organization, and the verification rows for 1.6 and 1.7
    user = db_access.rows('select * from "user" where "email" = :e', e="new.person@example.com")[0]
    assert user["name"] == "New Person"
    assert bool(user["emailVerified"]) is True
    members = db_access.rows('select * from "member" where "userId" = :u', u=data["user_id"])
    assert [(m["organizationId"], m["role"]) for m in members] == [("owox_data_marts_organization", "editor")]
    org = db_access.rows('select * from "organization"')[0]
    assert (org["name"], org["slug"]) == ("OWOX Data Marts", "owox-data-marts")
    assert json.loads(org["metadata"]) == {"isDefault": True, "createdBy": data["user_id"]}
    rows = db_access.rows('select * from "verification" order by "identifier"')
    assert {r["identifier"] for r in rows} == {token, f"magic-link:{token}"}
    for r in rows:
        assert json.loads(r["value"]) == {"type": "magic-link", "email": "new.person@example.com"}
        expires = parse_date(r["expiresAt"])
        assert expires is not None and abs((expires - datetime.now(UTC)).total_seconds() - 3600) < 30
    if idp.db.dialect == "sqlite":  # Better Auth's exact text form
        assert rows[0]["createdAt"].endswith("Z") and len(rows[0]["createdAt"]) == 24


def test_add_user_better_auth_flavor(idp: IdpRunner, db_access: Db) -> None:
    idp.flavor("better-auth").migrate()
    data = add(idp, "ba@example.com")
    assert data["role"] == "user"  # the least privileged default
    assert data["magic_link"].startswith("https://idp.example.test/api/auth/magic-link/verify?token=")
    assert data["magic_link"].endswith("&callbackURL=%2F")
    user = db_access.rows('select * from "user" where "id" = :u', u=data["user_id"])[0]
    assert user["role"] == "user" and not user["banned"] and not user["twoFactorEnabled"]
    r = idp("add-user", "two@example.com", "--role", "admin,user", "--json")
    assert r.exit_code == 0 and r.json()["role"] == "admin,user"


def test_add_user_with_password(flavored: IdpRunner, db_access: Db) -> None:
    data = add(flavored, "pw@example.com", "--password-stdin", input="correct horse battery\n")
    acct = db_access.rows('select * from "account" where "userId" = :u', u=data["user_id"])
    assert len(acct) == 1
    assert acct[0]["providerId"] == "credential" and acct[0]["accountId"] == data["user_id"]
    assert verify_password("correct horse battery", acct[0]["password"])


def test_add_user_conflicts_and_if_missing(flavored: IdpRunner, db_access: Db) -> None:
    first = add(flavored, "dup@example.com")
    r = flavored("add-user", "DUP@example.com")
    assert r.exit_code == 4 and "already exists" in r.stderr
    r = flavored("add-user", "dup@example.com", "--if-missing", "--json")
    assert r.exit_code == 0 and r.json()["created"] is False and r.json()["user_id"] == first["user_id"]
    r = flavored("add-user", "dup@example.com", "--if-missing")
    assert r.exit_code == 0 and "nothing changed" in r.stderr
    assert db_access.count("user") == 1


@pytest.mark.parametrize(
    ("args", "stdin", "code", "fragment"),
    [
        (["not-an-email"], None, 5, "invalid email"),
        ([""], None, 5, "empty"),
        (["a@example.com", "--role", "superuser"], None, 5, "unknown role"),
        (["a@example.com", "--password-stdin"], "short\n", 5, "at least 8"),
        (["a@example.com", "--password-stdin"], "x" * 129, 5, "at most 128"),
        (["a@example.com", "--password-stdin"], "", 5, "no password"),
        (["a@example.com", "--ttl", "soon"], None, 5, "invalid --ttl"),
        (["a@example.com", "--bogus"], None, 2, "No such option"),
    ],
)
def test_add_user_bad_input_writes_nothing(
    flavored: IdpRunner, db_access: Db, args: list[str], stdin: str | None, code: int, fragment: str
) -> None:
    r = flavored("add-user", *args, input=stdin)
    assert r.exit_code == code, r.stderr
    assert fragment in r.stderr
    assert "Traceback" not in r.stderr
    assert db_access.count("user") == 0 and db_access.count("verification") == 0


def test_owox_roles_only(idp: IdpRunner) -> None:
    idp.migrate()
    r = idp("add-user", "a@example.com", "--role", "user")
    assert r.exit_code == 5 and "admin, editor, viewer" in r.stderr
    r = idp("add-user", "a@example.com", "--role", "admin,editor")
    assert r.exit_code == 5


def test_add_user_without_secret_owox_is_exit_6(idp: IdpRunner, db_access: Db) -> None:
    idp.migrate()
    r = idp("add-user", "a@example.com", env={"IDP_BETTER_AUTH_SECRET": ""})
    assert r.exit_code == 6 and "generate-secret" in r.stderr
    assert db_access.count("user") == 0


def test_add_user_revokes_older_links_and_warns_on_long_ttl(idp: IdpRunner, db_access: Db) -> None:
    idp.migrate()
    now = datetime.now(UTC)
    # what `owox idp add-user` leaves behind: a bare-token row for the email
    db_access.execute(
        'insert into "verification" ("id", "identifier", "value", "expiresAt", "createdAt", "updatedAt") '
        "values ('old1', 'OldTokenOldTokenOldTokenOldToken', :v, :e, :n, :n)",
        v='{"email":"stale@example.com"}',
        e=db_access.date(now + timedelta(hours=1)),
        n=db_access.date(now),
    )
    r = idp("add-user", "stale@example.com", "--ttl", "2h")
    assert r.exit_code == 0
    assert "role token expires after 3600s" in r.stderr
    assert db_access.count("verification", '"id" = :i', i="old1") == 0
    assert db_access.count("verification") == 2


def test_concurrent_add_user_same_email(idp: IdpRunner, db_access: Db) -> None:
    idp.migrate()
    env = {**os.environ, **idp.env}
    cmd = [sys.executable, "-m", "owox_idp", "add-user", "race@example.com", "--role", "admin"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    codes = sorted(p.wait(timeout=60) for p in procs)
    for p in procs:
        assert p.stderr is not None
        err = p.stderr.read().decode()
        assert "Traceback" not in err, err
    assert codes == [0, 4]
    assert db_access.count("user") == 1
    assert db_access.count("member") == 1


# ----------------------------------------------------------------------------- bootstrap-admin


def test_bootstrap_admin_lifecycle(flavored: IdpRunner, db_access: Db) -> None:
    env = {"IDP_BETTER_AUTH_PRIMARY_ADMIN_EMAIL": "Root@Example.com"}
    r = flavored("bootstrap-admin", "--json", env=env)
    assert r.exit_code == 0, r.stderr
    first = r.json()
    assert first["action"] == "created" and first["magic_link"] and first["email"] == "root@example.com"
    r = flavored("bootstrap-admin", "--json", env=env)
    second = r.json()
    assert second["action"] == "link-issued" and second["user_id"] == first["user_id"]
    assert second["magic_link"] != first["magic_link"]
    # the first link was revoked: only the newest link's two rows remain
    assert db_access.count("verification") == 2
    # demoted with a password: bootstrap makes them admin again and prints nothing else
    flavored("reset-password", "root@example.com", "--password-stdin", "--yes", input="a-good-password\n")
    flavored("add-user", "other@example.com", "--role", "admin")
    non_admin = "viewer" if flavored.env.get("IDP_FLAVOR") == "owox" else "user"
    assert flavored("set-role", "root@example.com", non_admin).exit_code == 0
    r = flavored("bootstrap-admin", "root@example.com", "--json")
    third = r.json()
    assert third["action"] == "unchanged" and third["role_changed"] is True and third["magic_link"] is None
    assert flavored("show-user", "root@example.com", "--json").json()["role"] == "admin"


def test_bootstrap_admin_needs_an_email(flavored: IdpRunner) -> None:
    r = flavored("bootstrap-admin")
    assert r.exit_code == 2 and "IDP_BETTER_AUTH_PRIMARY_ADMIN_EMAIL" in r.stderr


def test_bootstrap_admin_finds_mixed_case_rows(idp: IdpRunner, db_access: Db) -> None:
    idp.migrate()
    now = db_access.date(datetime.now(UTC))
    # OWOX's raw SQL stores an invited email exactly as typed
    db_access.execute(
        'insert into "user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt") '
        "values ('u1', '', 'Mixed@Example.com', :f, :n, :n)",
        n=now,
        f=False,
    )
    r = idp("bootstrap-admin", "mixed@example.com", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["action"] == "link-issued" and r.json()["user_id"] == "u1"
    assert db_access.count("user") == 1


# ----------------------------------------------------------------------------- reset-password


def test_reset_password_to_link(flavored: IdpRunner, db_access: Db) -> None:
    data = add(flavored, "r@example.com", "--role", "admin", "--password-stdin", input="old-password-1\n")
    db_access.add_session(data["user_id"], "tok1")
    db_access.add_session(data["user_id"], "tok2")
    r = flavored("reset-password", "r@example.com")
    assert r.exit_code == 2 and "--yes" in r.stderr  # no terminal, no --yes
    r = flavored("reset-password", "R@example.com", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    out = r.json()
    assert set(out) >= {"user_id", "email", "sessions_revoked", "magic_link"}
    assert out["sessions_revoked"] == 2 and out["magic_link"]
    assert db_access.count("session") == 0
    assert db_access.count("account") == 0
    # the link carries the current role (owox) and only the new link is pending
    assert db_access.count("verification") == 2
    if flavored.env["IDP_FLAVOR"] == "owox":
        callback = parse_qs(urlsplit(out["magic_link"]).query)["callbackURL"][0]
        assert decrypt_role(unquote(callback.rsplit("/", 1)[1]), TEST_SECRET) == "admin"


def test_reset_password_to_password(flavored: IdpRunner, db_access: Db) -> None:
    data = add(flavored, "p@example.com")
    db_access.add_session(data["user_id"], "tokp")
    r = flavored(
        "reset-password",
        "p@example.com",
        "--password-stdin",
        "--keep-sessions",
        "--yes",
        "--json",
        input="brand-new-password",
    )
    assert r.exit_code == 0, r.stderr
    assert r.json()["magic_link"] is None and r.json()["sessions_revoked"] == 0
    assert db_access.count("session") == 1
    acct = db_access.rows('select "password" from "account"')
    assert verify_password("brand-new-password", acct[0]["password"])
    assert db_access.count("verification") == 0  # the pending link from add-user was revoked


def test_reset_password_errors(flavored: IdpRunner, db_access: Db) -> None:
    r = flavored("reset-password", "ghost@example.com", "--yes")
    assert r.exit_code == 3 and "no user" in r.stderr
    add(flavored, "e@example.com", "--password-stdin", input="first-password\n")
    r = flavored("reset-password", "e@example.com", "--password-stdin", "--yes", input="short")
    assert r.exit_code == 5
    acct = db_access.rows('select "password" from "account"')
    assert verify_password("first-password", acct[0]["password"])  # unchanged


# ----------------------------------------------------------------------------- set-role & last admin


def test_set_role_and_last_admin(flavored: IdpRunner) -> None:
    low = "viewer" if flavored.env["IDP_FLAVOR"] == "owox" else "user"
    add(flavored, "a1@example.com", "--role", "admin")
    r = flavored("set-role", "a1@example.com", low)
    assert r.exit_code == 8 and "last active admin" in r.stderr
    add(flavored, "a2@example.com", "--role", "admin")
    r = flavored("set-role", "a1@example.com", low, "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json() == {
        "user_id": r.json()["user_id"],
        "email": "a1@example.com",
        "role": low,
        "previous_role": "admin",
    }
    r = flavored("set-role", "a2@example.com", low)
    assert r.exit_code == 8
    r = flavored("set-role", "a2@example.com", low, "--force")
    assert r.exit_code == 0
    assert flavored("set-role", "a2@example.com", "nope").exit_code == 5
    assert flavored("set-role", "ghost@example.com", low).exit_code == 3


def test_ban_and_delete_protect_the_last_admin(flavored: IdpRunner) -> None:
    add(flavored, "only@example.com", "--role", "admin")
    assert flavored("ban", "only@example.com", "--yes").exit_code == 8
    assert flavored("delete-user", "only@example.com", "--yes").exit_code == 8
    assert flavored("ban", "only@example.com", "--yes", "--force").exit_code == 0


# ----------------------------------------------------------------------------- ban / unban


def test_ban_better_auth(idp: IdpRunner, db_access: Db) -> None:
    idp.flavor("better-auth").migrate()
    add(idp, "boss@example.com", "--role", "admin")
    data = add(idp, "bad@example.com")
    db_access.add_session(data["user_id"], "tb1")
    r = idp("ban", "bad@example.com", "--reason", "spam", "--expires", "7d", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    out = r.json()
    assert out["banned"] is True and out["ban_reason"] == "spam" and out["sessions_revoked"] == 1
    expires = datetime.fromisoformat(out["ban_expires"].replace("Z", "+00:00"))
    assert abs((expires - datetime.now(UTC)).total_seconds() - 7 * 86400) < 60
    user = db_access.rows('select * from "user" where "id" = :u', u=data["user_id"])[0]
    assert bool(user["banned"]) and user["banReason"] == "spam"
    assert db_access.count("session") == 0
    assert db_access.count("verification", '"value" like :v', v="%bad@example.com%") == 0
    assert idp("list-users", "--banned", "--json").json()[0]["email"] == "bad@example.com"
    r = idp("unban", "bad@example.com", "--json")
    assert r.exit_code == 0 and r.json()["banned"] is False
    user = db_access.rows('select * from "user" where "id" = :u', u=data["user_id"])[0]
    assert not user["banned"] and user["banReason"] is None and user["banExpires"] is None
    assert idp("unban", "bad@example.com").exit_code == 0  # idempotent


def test_ban_owox_removes_every_way_in_and_unban_restores(idp: IdpRunner, db_access: Db) -> None:
    idp.migrate()
    add(idp, "boss@example.com", "--role", "admin")
    data = add(idp, "ed@example.com", "--role", "editor", "--password-stdin", input="editor-password\n")
    db_access.add_session(data["user_id"], "to1")
    assert idp("ban", "ed@example.com", "--expires", "1d", "--yes").exit_code == 5  # no timed bans in OWOX
    r = idp("ban", "ed@example.com", "--reason", "left the company", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["sessions_revoked"] == 1
    assert db_access.count("member", '"userId" = :u', u=data["user_id"]) == 0
    assert db_access.count("account", '"userId" = :u', u=data["user_id"]) == 0
    assert db_access.count("session") == 0
    assert db_access.count("verification", '"value" like :v', v="%ed@example.com%") == 0
    shown = idp("show-user", "ed@example.com", "--json").json()
    assert shown["banned"] is True and shown["ban_reason"] == "left the company" and shown["role"] is None
    again = idp("ban", "ed@example.com", "--yes", "--json")
    assert again.exit_code == 0 and again.json()["changed"] is False
    assert idp("set-role", "ed@example.com", "viewer").exit_code == 8
    assert idp("reset-password", "ed@example.com", "--yes").exit_code == 8
    r = idp("unban", "ed@example.com", "--json")
    assert r.exit_code == 0, r.stderr
    assert db_access.rows('select "role" from "member" where "userId" = :u', u=data["user_id"]) == [
        {"role": "editor"}
    ]
    acct = db_access.rows('select "password" from "account" where "userId" = :u', u=data["user_id"])
    assert verify_password("editor-password", acct[0]["password"])
    assert idp("show-user", "ed@example.com", "--json").json()["banned"] is False


# ----------------------------------------------------------------------------- delete-user


def test_delete_user_removes_everything(flavored: IdpRunner, db_access: Db) -> None:
    add(flavored, "keep@example.com", "--role", "admin")
    data = add(flavored, "gone@example.com", "--password-stdin", input="some-password\n")
    uid = data["user_id"]
    db_access.add_session(uid, "tg1")
    now = datetime.now(UTC)
    db_access.execute(
        'insert into "verification" ("id", "identifier", "value", "expiresAt", "createdAt", "updatedAt") '
        "values ('rp', 'reset-password:abc', :u, :e, :n, :n)",
        u=uid,
        e=db_access.date(now + timedelta(hours=1)),
        n=db_access.date(now),
    )
    r = flavored("delete-user", "gone@example.com")
    assert r.exit_code == 2
    r = flavored("delete-user", "gone@example.com", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["deleted"] is True and r.json()["user_id"] == uid
    for table in ("session", "account"):
        assert db_access.count(table, '"userId" = :u', u=uid) == 0
    if flavored.env["IDP_FLAVOR"] == "owox":
        assert db_access.count("member", '"userId" = :u', u=uid) == 0
    assert db_access.count("user", '"id" = :u', u=uid) == 0
    assert db_access.count("verification", '"value" like :v', v="%gone@example.com%") == 0
    assert db_access.count("verification", '"value" = :u', u=uid) == 0
    assert flavored("delete-user", "gone@example.com", "--yes").exit_code == 3


# ----------------------------------------------------------------------------- list & show


def test_list_and_show(flavored: IdpRunner, db_access: Db) -> None:
    owox = flavored.env["IDP_FLAVOR"] == "owox"
    low = "viewer" if owox else "user"
    add(flavored, "alice@example.com", "--role", "admin", "--name", "Alice Admin")
    add(flavored, "bob@example.com", "--password-stdin", input="bob-password\n")
    add(flavored, "carol@other.test")
    r = flavored("list-users", "--json")
    assert r.exit_code == 0, r.stderr
    users = r.json()
    assert [u["email"] for u in users] == ["carol@other.test", "bob@example.com", "alice@example.com"]
    keys = {
        "id",
        "email",
        "name",
        "role",
        "email_verified",
        "has_password",
        "banned",
        "two_factor_enabled",
        "created_at",
        "updated_at",
    }
    assert all(set(u) >= keys for u in users)
    by_email = {u["email"]: u for u in users}
    assert by_email["bob@example.com"]["has_password"] is True
    assert (
        by_email["alice@example.com"]["role"] == "admin"
        and by_email["alice@example.com"]["name"] == "Alice Admin"
    )
    assert by_email["carol@other.test"]["created_at"].endswith("Z")
    assert [u["email"] for u in flavored("list-users", "--role", "admin", "--json").json()] == [
        "alice@example.com"
    ]
    assert len(flavored("list-users", "--role", low, "--json").json()) == 2
    assert [u["email"] for u in flavored("list-users", "--search", "OTHER", "--json").json()] == [
        "carol@other.test"
    ]
    page = flavored("list-users", "--limit", "1", "--offset", "1", "--json").json()
    assert [u["email"] for u in page] == ["bob@example.com"]
    assert flavored("list-users", "--role", "nope").exit_code == 5
    assert flavored("list-users", "--limit", "0").exit_code == 5
    text = flavored("list-users")
    assert text.exit_code == 0 and text.stdout.splitlines()[0].startswith("email\tname\trole")
    r = flavored("show-user", "ALICE@example.com", "--json")
    assert r.exit_code == 0, r.stderr
    shown = r.json()
    assert shown["email"] == "alice@example.com" and shown["pending_links"] == 1 and shown["sessions"] == 0
    assert shown["organization"] == ("owox_data_marts_organization" if owox else None)
    assert flavored("show-user", "ghost@example.com").exit_code == 3
    assert flavored("show-user", "bad email").exit_code == 5


def test_reads_rows_written_in_other_forms(idp: IdpRunner, db_access: Db) -> None:
    """Rows written by other tools (NULL flags, mixed case, space-separated dates) still read."""
    idp.flavor("better-auth").migrate()
    created = (
        "2026-01-02 03:04:05"
        if idp.db.dialect == "sqlite"
        else db_access.date(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    )
    db_access.execute(
        'insert into "user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt", "role", "banned") '
        "values ('c6c41845ff2c709693710c1ac2bbe9e4', 'Dave', 'dave@example.com', :t, :c, :c, 'viewer', NULL)",
        c=created,
        t=True,
    )
    r = idp("show-user", "dave@example.com", "--json", env={"IDP_ROLES": "admin,viewer"})
    assert r.exit_code == 0, r.stderr
    out = r.json()
    assert out["banned"] is False and out["two_factor_enabled"] is False and out["role"] == "viewer"
    assert out["created_at"] == "2026-01-02T03:04:05.000Z"


def test_concurrent_demotions_keep_an_admin(flavored: IdpRunner) -> None:
    """Two admins demoted at the same moment: one demotion wins, the other is refused (exit 8)."""
    low = "viewer" if flavored.env["IDP_FLAVOR"] == "owox" else "user"
    add(flavored, "c1@example.com", "--role", "admin")
    add(flavored, "c2@example.com", "--role", "admin")
    env = {**os.environ, **flavored.env, "IDP_TEST_PAUSE_AFTER_ADMIN_CHECK": "1.5"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "owox_idp", "set-role", email, low],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for email in ("c1@example.com", "c2@example.com")
    ]
    codes = sorted(p.wait(timeout=60) for p in procs)
    assert codes == [0, 8], [p.stderr.read().decode() for p in procs if p.stderr]
    admins = flavored("list-users", "--role", "admin", "--json").json()
    assert len(admins) == 1


def test_admin_user_ids_count_as_admins(idp: IdpRunner) -> None:
    """better-auth flavor: users in the server's adminUserIds (IDP_ADMIN_USER_IDS) are admins too."""
    idp.flavor("better-auth").migrate()
    boss = add(idp, "boss@example.com", "--role", "admin")
    cfg = add(idp, "cfg@example.com")  # role "user", admin by configuration
    assert idp("set-role", "boss@example.com", "user").exit_code == 8
    env = {"IDP_ADMIN_USER_IDS": cfg["user_id"]}
    assert idp("info", "--json", env=env).json()["counts"]["admins"] == 2
    r = idp("set-role", "boss@example.com", "user", env=env)
    assert r.exit_code == 0, r.stderr
    # now the configured admin is the only one left: banning or deleting it is refused
    assert idp("ban", "cfg@example.com", "--yes", env=env).exit_code == 8
    assert idp("delete-user", "cfg@example.com", "--yes", env=env).exit_code == 8
    assert boss["user_id"] != cfg["user_id"]


def test_search_is_a_literal_substring(idp: IdpRunner) -> None:
    """Regression: `--search a_b` matched `axb` (LIKE wildcards were not escaped); `%` likewise."""
    idp.migrate()
    for email in ("a_b@example.com", "axb@example.com"):
        assert idp("add-user", email).exit_code == 0
    assert idp("add-user", "sure@example.com", "--name", "100% sure").exit_code == 0
    assert idp("add-user", "more@example.com", "--name", "1000 sure").exit_code == 0
    found = [u["email"] for u in idp("list-users", "--search", "a_b", "--json").json()]
    assert found == ["a_b@example.com"]
    found = [u["email"] for u in idp("list-users", "--search", "0% s", "--json").json()]
    assert found == ["sure@example.com"]
