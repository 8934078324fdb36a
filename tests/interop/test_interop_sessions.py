"""Flows 7 and 9: what the server writes (users by sign-up and by magic link, sessions, accounts,
verification rows) is what idp reads; sessions the server created are listed and revoked by idp."""

from __future__ import annotations

import json

import pytest
from conftest import require_command
from interop_support import PASSWORD, Browser, Stack, parse_time, unique_email

pytestmark = pytest.mark.interop


def test_server_sessions_are_listed_and_revoked_by_idp(stack: Stack) -> None:
    require_command("list-sessions")
    require_command("revoke-sessions")
    user = stack.add_user("sessions", role="viewer", password=PASSWORD)
    email = user["email"]
    a = stack.signed_in(email, PASSWORD, user_agent="device-a")
    b = stack.signed_in(email, PASSWORD, user_agent="device-b")
    c = stack.link_works(user["magic_link"])

    r = a.get("/list-sessions")
    assert r.status == 200, r
    server_view = {s["id"]: s for s in r.json()}
    assert len(server_view) == 3

    listed = stack.idp_json("list-sessions", email)
    assert {s["id"] for s in listed} == set(server_view)
    for s in listed:
        theirs = server_view[s["id"]]
        assert s["user_id"] == user["user_id"] and s["email"] == email
        assert s["user_agent"] == theirs["userAgent"]
        assert parse_time(s["expires_at"]) == parse_time(theirs["expiresAt"])
        assert parse_time(s["created_at"]) == parse_time(theirs["createdAt"])
        assert s["token_prefix"] and theirs["token"].startswith(s["token_prefix"].rstrip(".…"))
        assert theirs["token"] not in json.dumps(listed)  # never the full token
    assert {s["user_agent"] for s in listed} >= {"device-a", "device-b"}
    everyone = stack.idp_json("list-sessions")
    assert set(server_view) <= {s["id"] for s in everyone}

    session_a = stack.session(a)["session"]["id"]
    data = stack.idp_json("revoke-sessions", email, "--session-id", session_a, "--yes")
    assert data["revoked"] == 1
    assert stack.session(a) is None
    assert stack.session(b) is not None and stack.session(c) is not None

    data = stack.idp_json("revoke-sessions", email, "--yes")
    assert data["revoked"] == 2
    assert stack.session(b) is None and stack.session(c) is None
    assert stack.idp_json("list-sessions", email) == []
    assert stack.count("session", "userId", user["user_id"]) == 0


def test_what_the_server_writes_is_read_by_idp(stack: Stack) -> None:
    before = stack.idp_json("info")["counts"]

    email = unique_email("server-made")
    b = stack.browser(user_agent="sign-up-agent")
    r = b.post("/sign-up/email", {"email": email, "password": PASSWORD, "name": "Server Made"})
    assert r.status == 200, r
    theirs = r.json()["user"]
    second = stack.signed_in(email, PASSWORD)  # a second session

    listed = stack.idp_json("list-users", "--search", email)
    assert len(listed) == 1
    u = listed[0]
    assert u["id"] == theirs["id"] and u["email"] == email and u["name"] == "Server Made"
    assert u["email_verified"] is False
    assert u["has_password"] is True
    assert u["banned"] is False
    assert u["two_factor_enabled"] is False
    assert u["role"] == (None if stack.owox else "user")  # OWOX's sign-up makes no member row
    assert parse_time(u["created_at"]) == parse_time(theirs["createdAt"])
    assert parse_time(u["updated_at"]) == parse_time(theirs["updatedAt"])

    shown = stack.idp_json("show-user", email)
    assert shown["id"] == theirs["id"]
    assert shown["sessions"] == 2 and shown["active_sessions"] == 2
    assert shown["pending_links"] == 0

    # idp gives the server-made user a role (owox: creates the member row), seen on the next request
    assert stack.idp_json("set-role", email, "editor")["previous_role"] == (None if stack.owox else "user")
    assert stack.server_role(second) == "editor"
    stack.idp_json("set-role", email, "viewer")

    # a magic link the server issued is a pending link for idp; opening it makes a user the server wrote
    newcomer = unique_email("server-link")
    r = stack.browser().post("/sign-in/magic-link", {"email": newcomer})
    assert r.status == 200, r
    link = [c for c in stack.captured()["magicLinks"] if c["email"] == newcomer]
    assert len(link) == 1
    r = stack.idp("show-user", newcomer, "--json")
    assert r.exit_code == 3, r  # not a user yet
    r = Browser(stack.base_url, "").get(link[0]["url"])
    assert r.status == 302 and r.set_cookies.get(stack.session_cookie), r
    shown = stack.idp_json("show-user", newcomer)
    assert shown["email_verified"] is True and shown["has_password"] is False
    assert shown["sessions"] == 1

    after = stack.idp_json("info")["counts"]
    assert after["users"] == before["users"] + 2
    assert after["sessions"] == before["sessions"] + 3
    assert after["active_sessions"] == before["active_sessions"] + 3
    assert after["users_without_password"] == before["users_without_password"] + 1
    if stack.owox:
        assert after["users_without_role"] == before["users_without_role"] + 1
    else:
        assert after["users_by_role"]["user"] == before["users_by_role"].get("user", 0) + 1
    assert after["users_by_role"]["viewer"] == before["users_by_role"].get("viewer", 0) + 1


def test_server_link_pending_in_idp(stack: Stack) -> None:
    user = stack.add_user("pending", role="viewer")
    assert stack.idp_json("show-user", user["email"])["pending_links"] == 1
    r = stack.browser().post("/sign-in/magic-link", {"email": user["email"]})
    assert r.status == 200, r
    assert stack.idp_json("show-user", user["email"])["pending_links"] == 2
    stack.link_works(user["magic_link"])
    assert stack.idp_json("show-user", user["email"])["pending_links"] == 1
