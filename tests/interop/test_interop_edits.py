"""The everyday edits against the real server: `issue-link` signs the user in without ending their other
sessions (and revokes no other link); `update-user --email` is what the server signs in with from then
on (the old address no longer); `2fa unlock` lets a locked-out user finish two-factor sign-in; the codes
of `2fa backup-codes` work, each once, and the old ones no longer."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from conftest import require_command
from interop_support import PASSWORD, SECRET, Browser, Stack, unique_email

from owox_idp.crypto.roletoken import decrypt_role
from owox_idp.crypto.totp import totp_now

pytestmark = pytest.mark.interop


def _wrong(code: str) -> str:
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


def test_issue_link_signs_in_without_ending_other_sessions(stack: Stack) -> None:
    require_command("issue-link")
    user = stack.add_user("relink", role="editor", password=PASSWORD)
    email = user["email"]
    elsewhere = stack.signed_in(email, PASSWORD, user_agent="laptop")

    issued = stack.idp_json("issue-link", email)
    assert issued["user_id"] == user["user_id"] and issued["magic_link"] != user["magic_link"]
    b = stack.link_works(issued["magic_link"])
    me = stack.session_user(b)
    assert me is not None and me["id"] == user["user_id"]
    assert stack.server_role(b) == "editor"
    # the other session is still there, and so is the link add-user printed (nothing was revoked)
    still = stack.session_user(elsewhere)
    assert still is not None and still["id"] == user["user_id"]
    assert stack.count("session", "userId", user["user_id"]) == 2
    first = stack.link_works(user["magic_link"])
    assert stack.session_user(first)["id"] == user["user_id"]  # type: ignore[index]
    # and each link works once
    stack.link_fails(issued["magic_link"])


def test_issue_link_owox_keeps_the_role(owox_stack: Stack) -> None:
    require_command("issue-link")
    stack = owox_stack
    user = stack.add_user("relink-role", role="editor")
    issued = stack.idp_json("issue-link", user["email"])
    # OWOX's success page writes the link's role into the member row: the link carries the one they have
    assert decrypt_role(stack.role_token(issued["magic_link"]), SECRET) == "editor"
    b = stack.link_works(issued["magic_link"])
    assert stack.server_role(b) == "editor"


def test_bulk_issue_link_signs_in_the_users_without_a_password(stack: Stack, tmp_path: Path) -> None:
    require_command("issue-link")

    role = "viewer"
    without = [stack.add_user("nopw", role=role) for _ in range(2)]
    with_pw = stack.add_user("haspw", role=role, password=PASSWORD)
    path = tmp_path / "links.csv"
    r = stack.idp("issue-link", "--without-password", "--role", role, "--links", str(path))
    assert r.exit_code == 0, r
    with open(path, newline="") as f:
        rows = {row["email"]: row["magic_link"] for row in csv.DictReader(f)}
    assert with_pw["email"] not in rows
    for user in without:
        b = stack.link_works(rows[user["email"]])
        assert stack.session_user(b)["id"] == user["user_id"]  # type: ignore[index]


def test_update_user_email_is_what_the_server_signs_in_with(stack: Stack) -> None:
    require_command("update-user")
    user = stack.add_user("rename", role="editor", password=PASSWORD)
    old = user["email"]
    new = unique_email("renamed").replace("@", "+New@").upper()
    elsewhere = stack.signed_in(old, PASSWORD, user_agent="laptop")

    data = stack.idp_json("update-user", old, "--email", new, "--name", "Re Named")
    assert data["email"] == new.lower() and data["previous_email"] == old

    r, _ = stack.sign_in(old, PASSWORD)
    assert r.status == 401, f"the old email still signs in: {r}"
    b = stack.signed_in(new.lower(), PASSWORD)
    me = stack.session_user(b)
    assert me["id"] == user["user_id"] and me["email"] == new.lower() and me["name"] == "Re Named"  # type: ignore[index]
    # the session made before the change goes on, and the server reads the new address for it
    still = stack.session_user(elsewhere)
    assert still is not None and still["email"] == new.lower()
    # the old address's pending link is gone: it would have created a new user with the old email
    stack.link_fails(user["magic_link"])
    assert stack.count("user", "email", old) == 0
    if stack.owox:
        assert stack.server_role(b) == "editor"  # the member row did not change


# ----------------------------------------------------------------------------- two-factor


def _enrolled(stack: Stack, prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    user = stack.add_user(prefix, role="editor", password=PASSWORD)
    enrolment = stack.idp_json("2fa", "enable", user["email"])
    return user, enrolment


def _challenged(stack: Stack, email: str) -> Browser:
    r, b = stack.sign_in(email, PASSWORD)
    assert r.status == 200 and r.json().get("twoFactorRedirect") is True, r
    return b


def _code(enrolment: dict) -> str:  # type: ignore[type-arg]
    return totp_now("base32:" + enrolment["secret"])


def test_2fa_unlock_lets_a_locked_user_finish_sign_in(ba_stack: Stack) -> None:
    require_command("2fa unlock")
    stack = ba_stack
    user, enrolment = _enrolled(stack, "locked")
    email = user["email"]
    # ten wrong codes (five per sign-in challenge) lock two-factor (accountLockout's defaults)
    for _ in range(2):
        b = _challenged(stack, email)
        for _ in range(5):
            r = b.post("/two-factor/verify-totp", {"code": _wrong(_code(enrolment))})
            assert r.status == 401, r
    status = stack.idp_json("2fa", "status", email)
    assert status["locked_until"] is not None, status
    b = _challenged(stack, email)
    r = b.post("/two-factor/verify-totp", {"code": _code(enrolment)})
    assert r.status == 429 and "LOCKED" in str(r), f"the right code passed a locked account: {r}"
    assert stack.session(b) is None

    data = stack.idp_json("2fa", "unlock", email)
    assert data["changed"] is True and data["failed_verification_count"] == 10
    r = b.post("/two-factor/verify-totp", {"code": _code(enrolment)})
    assert r.status == 200, r
    assert stack.session_user(b)["id"] == user["user_id"]  # type: ignore[index]
    # the enrolment is the same: the printed backup codes still work
    b = _challenged(stack, email)
    r = b.post("/two-factor/verify-backup-code", {"code": enrolment["backup_codes"][0]})
    assert r.status == 200, r


def test_2fa_backup_codes_work_once_and_replace_the_old(ba_stack: Stack) -> None:
    require_command("2fa backup-codes")
    stack = ba_stack
    user, enrolment = _enrolled(stack, "codes")
    email = user["email"]
    codes = stack.idp_json("2fa", "backup-codes", email)["backup_codes"]
    assert len(codes) == 10

    b = _challenged(stack, email)
    r = b.post("/two-factor/verify-backup-code", {"code": enrolment["backup_codes"][0]})
    assert r.status == 401, f"an old backup code still works: {r}"
    r = b.post("/two-factor/verify-backup-code", {"code": codes[0]})
    assert r.status == 200, r
    assert stack.session_user(b)["id"] == user["user_id"]  # type: ignore[index]
    b = _challenged(stack, email)
    r = b.post("/two-factor/verify-backup-code", {"code": codes[0]})
    assert r.status == 401, f"a backup code worked twice: {r}"
    r = b.post("/two-factor/verify-backup-code", {"code": codes[1]})
    assert r.status == 200, r
    # the TOTP secret did not change, and idp reads what the server re-encrypted
    b = _challenged(stack, email)
    assert b.post("/two-factor/verify-totp", {"code": _code(enrolment)}).status == 200
    assert stack.idp_json("2fa", "status", email)["backup_codes_remaining"] == 8
