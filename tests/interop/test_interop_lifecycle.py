"""Flows 3-6: what `idp reset-password`, `set-role`, `ban` / `unban` and `delete-user` do to a user as
the running server sees it, on the very next request."""

from __future__ import annotations

import pytest
from interop_support import PASSWORD, Browser, Stack, parse_time, wait_until

pytestmark = pytest.mark.interop

NEW_PASSWORD = "a-brand-new-password-7"


def _signed_in_user(stack: Stack, prefix: str, role: str) -> tuple[dict, Browser]:
    """A user made by idp with a password and a (still pending) link, signed in on the server."""
    user = stack.add_user(prefix, role=role, password=PASSWORD)
    browser = stack.signed_in(user["email"], PASSWORD)
    assert stack.server_role(browser) == role
    return user, browser


# ----------------------------------------------------------------------------- reset-password


def test_reset_password_with_a_new_link(stack: Stack) -> None:
    user, browser = _signed_in_user(stack, "reset-link", "editor")
    other = stack.signed_in(user["email"], PASSWORD, user_agent="second-device")

    data = stack.idp_json("reset-password", user["email"], "--yes")
    assert data["sessions_revoked"] == 2
    assert data["magic_link"]

    assert stack.session(browser) is None
    assert stack.session(other) is None
    r, _ = stack.sign_in(user["email"], PASSWORD)
    assert r.status == 401, r
    stack.link_fails(user["magic_link"])  # issued before the reset

    fresh = stack.link_works(data["magic_link"])
    assert stack.session_user(fresh)["id"] == user["user_id"]
    assert stack.server_role(fresh) == "editor"
    stack.link_fails(data["magic_link"])


def test_reset_password_with_a_new_password(stack: Stack) -> None:
    user, browser = _signed_in_user(stack, "reset-password", "viewer")

    data = stack.idp_json("reset-password", user["email"], "--password-stdin", "--yes", input=NEW_PASSWORD)
    assert data["sessions_revoked"] == 1
    assert data["magic_link"] is None

    assert stack.session(browser) is None
    r, _ = stack.sign_in(user["email"], PASSWORD)
    assert r.status == 401, r
    stack.link_fails(user["magic_link"])
    again = stack.signed_in(user["email"], NEW_PASSWORD)
    assert stack.server_role(again) == "viewer"


def test_reset_password_revokes_links_the_server_issued(stack: Stack) -> None:
    user, _ = _signed_in_user(stack, "reset-server-link", "viewer")
    r = stack.browser().post("/sign-in/magic-link", {"email": user["email"]})
    assert r.status == 200, r
    issued = [c for c in stack.captured()["magicLinks"] if c["email"] == user["email"]]
    assert len(issued) == 1
    assert stack.idp_json("show-user", user["email"])["pending_links"] == 2  # idp's and the server's

    data = stack.idp_json("reset-password", user["email"], "--password-stdin", "--yes", input=NEW_PASSWORD)
    assert data["links_revoked"] == 2
    r = Browser(stack.base_url, "").get(issued[0]["url"])
    assert not r.set_cookies.get(stack.session_cookie), r
    assert r.status == 302 and "error=INVALID_TOKEN" in r.location, (r, r.location)


# ----------------------------------------------------------------------------- set-role


def test_set_role_seen_on_the_next_request(stack: Stack) -> None:
    user, browser = _signed_in_user(stack, "set-role", "viewer")
    for role in ("editor", "admin", "viewer"):
        data = stack.idp_json("set-role", user["email"], role, "--force")
        assert data["role"] == role
        assert stack.server_role(browser) == role
    assert stack.session_user(browser)["id"] == user["user_id"]  # the session survived


def test_set_role_admin_endpoints(ba_stack: Stack) -> None:
    stack = ba_stack
    user, browser = _signed_in_user(stack, "promoted", "user")
    r = browser.get("/admin/list-users")
    assert r.status == 403, r

    stack.idp_json("set-role", user["email"], "admin")
    r = browser.get(f"/admin/list-users?searchValue={user['email']}&searchField=email")
    assert r.status == 200, r
    assert [u["id"] for u in r.json()["users"]] == [user["user_id"]]
    assert r.json()["users"][0]["role"] == "admin"

    stack.idp_json("set-role", user["email"], "user", "--force")
    r = browser.get("/admin/list-users")
    assert r.status == 403, r
    assert stack.session_user(browser)["role"] == "user"


# ----------------------------------------------------------------------------- ban / unban


def test_ban_and_unban(ba_stack: Stack) -> None:
    stack = ba_stack
    user, browser = _signed_in_user(stack, "banned", "editor")

    data = stack.idp_json("ban", user["email"], "--reason", "interop", "--yes")
    assert data["banned"] is True and data["sessions_revoked"] == 1
    assert stack.session(browser) is None
    r, b = stack.sign_in(user["email"], PASSWORD)
    assert r.status == 403, r
    assert r.json()["code"] == "BANNED_USER"
    assert not b.cookies.get(stack.session_cookie)
    stack.link_fails(user["magic_link"])
    assert stack.count("session", "userId", user["user_id"]) == 0

    data = stack.idp_json("unban", user["email"])
    assert data["banned"] is False
    again = stack.signed_in(user["email"], PASSWORD)
    assert stack.server_role(again) == "editor"
    assert stack.session_user(again)["banned"] is False


def test_timed_ban_lifts_itself_on_the_server(ba_stack: Stack) -> None:
    stack = ba_stack
    user, _ = _signed_in_user(stack, "timed-ban", "viewer")
    data = stack.idp_json("ban", user["email"], "--expires", "2", "--yes")
    r, _ = stack.sign_in(user["email"], PASSWORD)
    assert r.status == 403 and r.json()["code"] == "BANNED_USER", r
    wait_until(parse_time(data["ban_expires"]))
    again = stack.signed_in(user["email"], PASSWORD)  # the server lifts an expired ban itself
    assert stack.session_user(again)["banned"] is False


def test_owox_ban_leaves_no_way_in_and_unban_restores(owox_stack: Stack) -> None:
    stack = owox_stack
    user, browser = _signed_in_user(stack, "owox-banned", "editor")

    data = stack.idp_json("ban", user["email"], "--reason", "interop", "--yes")
    assert data["banned"] is True and data["sessions_revoked"] == 1

    assert stack.session(browser) is None
    r, _ = stack.sign_in(user["email"], PASSWORD)
    assert r.status == 401, r
    stack.link_fails(user["magic_link"])
    r = stack.browser().post(
        "/sign-up/email", {"email": user["email"], "password": PASSWORD, "name": "Again"}
    )
    assert r.status >= 400, r
    assert stack.count("session", "userId", user["user_id"]) == 0
    assert stack.count("member", "userId", user["user_id"]) == 0  # OWOX's API refuses a user without a role
    assert stack.idp_json("show-user", user["email"])["banned"] is True

    data = stack.idp_json("unban", user["email"])
    assert data["banned"] is False
    again = stack.signed_in(user["email"], PASSWORD)
    assert stack.server_role(again) == "editor"
    assert stack.idp_json("show-user", user["email"])["banned"] is False


# ----------------------------------------------------------------------------- delete-user


def test_delete_user_leaves_nothing(stack: Stack) -> None:
    user, browser = _signed_in_user(stack, "deleted", "viewer")
    uid, email = user["user_id"], user["email"]
    if not stack.owox:  # a two-factor row enrolled by the server itself
        r = browser.post("/two-factor/enable", {"password": PASSWORD})
        assert r.status == 200, r
        assert stack.count("twoFactor", "userId", uid) == 1

    data = stack.idp_json("delete-user", email, "--yes", "--force")
    assert data["deleted"] is True

    assert stack.session(browser) is None
    r, _ = stack.sign_in(email, PASSWORD)
    assert r.status == 401, r
    stack.link_fails(user["magic_link"])  # would re-create the user if it still worked
    assert stack.user_row(email) is None

    assert stack.count("user", "id", uid) == 0
    for table in ("session", "account", "member", "twoFactor"):
        if table in stack.tables():
            assert stack.count(table, "userId", uid) == 0, table
    leftovers = stack.rows(
        f"SELECT identifier, value FROM {stack.q('verification')} WHERE value LIKE :e OR value = :u",
        e=f"%{email}%",
        u=uid,
    )
    assert leftovers == []
    r = stack.idp("show-user", email, "--json")
    assert r.exit_code == 3, r
