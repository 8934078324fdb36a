"""Locked out means locked out (issue 12), on every dialect: bootstrap-admin never lifts a ban by
itself, a re-ban keeps the ban in force, an admin's impersonation sessions end with their access, and a
role the server would not read as admin is no admin for the last-admin rule."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from idp_runner import IdpRunner
from test_users import FLAVORS, Db, add

PASSWORD = "correct horse battery"


@pytest.fixture
def db_access(idp: IdpRunner) -> Iterator[Db]:
    access = Db(idp)
    yield access
    access.engine.dispose()


@pytest.mark.parametrize("flavor", FLAVORS)
def test_bootstrap_admin_does_not_lift_a_ban(idp: IdpRunner, db_access: Db, flavor: str) -> None:
    """Regression: bootstrap-admin unbanned a banned admin and reported "unchanged" (and, in the owox
    flavor, gave the old password back)."""
    idp.flavor(flavor).migrate()
    add(idp, "keeper@example.com", "--role", "admin")
    ops = add(idp, "ops@example.com", "--role", "admin", "--password-stdin", input=PASSWORD)
    assert idp("ban", "ops@example.com", "--yes", "--reason", "compromised").exit_code == 0
    before = db_access.rows('select * from "account" where "userId" = :u', u=ops["user_id"])

    r = idp("bootstrap-admin", "ops@example.com", "--json")
    assert r.exit_code == 8, r.stdout
    assert "banned" in r.stderr and "--unban" in r.stderr
    shown = idp("show-user", "ops@example.com", "--json").json()
    assert shown["banned"] is True and shown["ban_reason"] == "compromised"
    assert db_access.rows('select * from "account" where "userId" = :u', u=ops["user_id"]) == before

    r = idp("bootstrap-admin", "ops@example.com", "--unban", "--json")
    assert r.exit_code == 0, r.stderr
    out = r.json()
    assert out["unbanned"] is True and "unbanned" in out["actions"] and out["action"] == "unchanged"
    assert idp("show-user", "ops@example.com", "--json").json()["banned"] is False


def test_bootstrap_admin_lists_every_action(idp: IdpRunner) -> None:
    idp.flavor("better-auth").migrate()
    created = idp("bootstrap-admin", "root@example.com", "--json").json()
    assert created["actions"] == ["created", "link-issued"]
    add(idp, "other@example.com", "--role", "admin")
    assert idp("set-role", "root@example.com", "user").exit_code == 0
    again = idp("bootstrap-admin", "root@example.com", "--json").json()
    assert again["action"] == "link-issued"
    assert again["actions"] == ["made-admin", "links-revoked", "link-issued"]


def test_a_reban_keeps_the_ban_in_force(idp: IdpRunner, db_access: Db) -> None:
    """Regression: a second `ban` rewrote the reason, made a 7-day ban permanent and said changed."""
    idp.flavor("better-auth").migrate()
    add(idp, "boss@example.com", "--role", "admin")
    add(idp, "bad@example.com")
    first = idp("ban", "bad@example.com", "--reason", "spam", "--expires", "7d", "--yes", "--json").json()
    again = idp("ban", "bad@example.com", "--yes", "--json")
    assert again.exit_code == 0, again.stderr
    out = again.json()
    assert out["changed"] is False and out["already_banned"] is True
    assert (out["ban_reason"], out["ban_expires"]) == ("spam", first["ban_expires"])
    shown = idp("show-user", "bad@example.com", "--json").json()
    assert (shown["ban_reason"], shown["ban_expires"]) == ("spam", first["ban_expires"])
    # asked to change it: only what is given changes
    out = idp("ban", "bad@example.com", "--reason", "fraud", "--yes", "--json").json()
    assert out["changed"] is True and (out["ban_reason"], out["ban_expires"]) == (
        "fraud",
        first["ban_expires"],
    )
    assert "already banned" in idp("ban", "bad@example.com", "--yes").stderr


def _impersonation(db: Db, admin_id: str, victim_id: str, token: str) -> None:
    now = datetime.now(UTC)
    db.execute(
        'insert into "session" ("id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", '
        '"userAgent", "userId", "impersonatedBy") values (:id, :exp, :token, :now, :now, :ip, :ua, :uid, :by)',
        id="imp" + token,
        exp=db.date(now + timedelta(hours=1)),
        token=token,
        now=db.date(now),
        ip="",
        ua="pytest",
        uid=victim_id,
        by=admin_id,
    )


@pytest.mark.parametrize("command", ["ban", "delete-user", "reset-password", "revoke-sessions"])
def test_impersonation_sessions_end_with_the_admin(idp: IdpRunner, db_access: Db, command: str) -> None:
    """Regression: sessions in which an admin impersonated someone survived ban and delete-user of
    that admin."""
    idp.flavor("better-auth").migrate()
    add(idp, "keeper@example.com", "--role", "admin")
    admin = add(idp, "imp@example.com", "--role", "admin", "--password-stdin", input=PASSWORD)
    victim = add(idp, "victim@example.com")
    _impersonation(db_access, admin["user_id"], victim["user_id"], f"tok{command.replace('-', '')}1")
    db_access.add_session(victim["user_id"], f"own{command.replace('-', '')}1")
    args = [command, "imp@example.com", "--yes", "--json"]
    if command == "reset-password":
        args.insert(2, "--keep-sessions")
    r = idp(*args)
    assert r.exit_code == 0, r.stderr
    out = r.json()
    counted = out.get("removed", out).get("impersonation_sessions", out.get("impersonation_sessions_revoked"))
    assert counted == 1, out
    assert db_access.count("session", '"impersonatedBy" = :u', u=admin["user_id"]) == 0
    assert db_access.count("session", '"userId" = :u', u=victim["user_id"]) == 1  # the victim's own stays


def test_a_role_the_server_does_not_read_as_admin_is_no_admin(idp: IdpRunner, db_access: Db) -> None:
    """Regression (MariaDB): a role stored as 'Admin ' compared equal to 'admin' (case-insensitive,
    trailing-space collation), so the last-admin rule saw two admins where the server sees one."""
    idp.flavor("better-auth").migrate()
    real = add(idp, "real@example.com", "--role", "admin")
    fake = add(idp, "fake@example.com", "--role", "user")
    db_access.execute('update "user" set "role" = :r where "id" = :u', r="Admin ", u=fake["user_id"])
    r = idp("set-role", "real@example.com", "user")
    assert r.exit_code == 8, r.stderr
    assert idp("info", "--json").json()["counts"]["admins"] == 1
    assert real["role"] == "admin"


# ----------------------------------------------------------------------------- import --update


def _roles(idp: IdpRunner) -> dict[str, str | None]:
    return {u["email"]: u["role"] for u in idp("list-users", "--json").json()}


@pytest.mark.parametrize("flavor", FLAVORS)
def test_import_update_keeps_an_admin_when_a_later_batch_fails(
    idp: IdpRunner, tmp_path: Path, flavor: str
) -> None:
    """Regression: a file that demotes the only admin in batch 1 and promotes the new one in batch 2
    left zero admins when batch 2 failed (killed). Demotions are now written last, each batch under the
    admin lock and checked against the database."""
    idp.flavor(flavor).migrate()
    low = "viewer" if flavor == "owox" else "user"
    add(idp, "old@example.com", "--role", "admin")
    add(idp, "new@example.com", "--role", low)
    src = tmp_path / "swap.csv"
    src.write_text(f"email,role\nold@example.com,{low}\nnew@example.com,admin\n")
    env = {**os.environ, **idp.env, "IDP_TEST_IMPORT_FAULT": "kill@2"}
    cmd = [sys.executable, "-m", "owox_idp", "import", str(src), "--update", "--batch-size", "1"]
    proc = subprocess.run(cmd, env=env, capture_output=True, timeout=120, check=False)
    assert proc.returncode == -9, proc.stderr.decode()
    roles = _roles(idp)
    assert "admin" in roles.values(), roles  # the promotion went first; the demotion never ran
    assert roles == {"old@example.com": "admin", "new@example.com": "admin"}
    r = idp("import", str(src), "--update", "--batch-size", "1")
    assert r.exit_code == 0, r.stderr
    assert _roles(idp) == {"old@example.com": low, "new@example.com": "admin"}


def test_import_update_and_set_role_cannot_both_remove_the_last_admins(
    idp: IdpRunner, tmp_path: Path
) -> None:
    """Regression: `import --update` checked the admins once while planning, outside the lock, so racing
    `set-role` left zero admins. With a widened window between check and write, one of the two now waits
    for the other and is refused."""
    idp.flavor("better-auth").migrate()
    add(idp, "a@example.com", "--role", "admin")
    add(idp, "b@example.com", "--role", "admin")
    src = tmp_path / "demote.csv"
    src.write_text("email,role\na@example.com,user\n")
    env = {**os.environ, **idp.env, "IDP_TEST_PAUSE_AFTER_ADMIN_CHECK": "1.5"}
    base = [sys.executable, "-m", "owox_idp"]
    first = subprocess.Popen([*base, "import", str(src), "--update"], env=env, stderr=subprocess.PIPE)
    second = subprocess.Popen([*base, "set-role", "b@example.com", "user"], env=env, stderr=subprocess.PIPE)
    codes = sorted([first.wait(timeout=120), second.wait(timeout=120)])
    assert codes == [0, 8], (
        first.stderr.read() if first.stderr else b"",
        second.stderr.read() if second.stderr else b"",
    )
    roles = _roles(idp)
    assert list(roles.values()).count("admin") == 1, roles
