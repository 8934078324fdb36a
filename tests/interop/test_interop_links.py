"""Flow 2: users made by `idp add-user` get in on the real server, with a password or with the printed
magic link, with the right role; a link works once and dies with its lifetime. For owox, what OWOX's
own pages would do with the printed link: its token verifies on the server and its role token (the
last path segment of callbackURL) decrypts to the role, in Python and, once, in Node as OWOX does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import COMBOS, combo_id
from interop_support import (
    PASSWORD,
    SECRET,
    Stack,
    decrypt_role_in_node,
    local_time_zone,
    parse_time,
    unique_email,
    wait_until,
)

from owox_idp.crypto.roletoken import RoleTokenError, decrypt_role

pytestmark = pytest.mark.interop


def test_user_with_password_signs_in(stack: Stack) -> None:
    role = "viewer" if stack.owox else "editor"
    user = stack.add_user("password", role=role, password=PASSWORD)
    assert user["has_password"] is True

    r, b = stack.sign_in(user["email"].upper(), PASSWORD)
    assert r.status == 200, r
    assert r.json()["user"]["id"] == user["user_id"]
    assert r.json()["user"]["email"] == user["email"]
    assert b.cookies.get(stack.session_cookie)
    me = stack.session_user(b)
    assert me["id"] == user["user_id"]
    assert stack.server_role(b) == role
    # dates idp wrote read back the same through the server (time zones, precision)
    shown = stack.idp_json("show-user", user["email"])
    assert abs(parse_time(me["createdAt"]) - parse_time(shown["created_at"])) < timedelta(milliseconds=1)
    assert me["emailVerified"] is True and shown["email_verified"] is True

    r, b = stack.sign_in(user["email"], PASSWORD + "-wrong")
    assert r.status == 401, r
    assert r.json()["code"] == "INVALID_EMAIL_OR_PASSWORD"
    assert not b.cookies.get(stack.session_cookie)


def test_magic_link_gives_a_session_with_the_role(stack: Stack) -> None:
    for role in stack.roles:
        user = stack.add_user(f"link-{role}", role=role)
        assert user["has_password"] is False
        link = user["magic_link"]
        r, b = stack.open_link(link)
        assert r.status == 302, r
        assert "error=" not in r.location, r.location
        assert b.cookies.get(stack.session_cookie), r.headers
        session = stack.session(b)
        assert session is not None
        assert session["user"]["id"] == user["user_id"]
        assert session["user"]["email"] == user["email"]
        assert session["user"]["emailVerified"] is True
        assert stack.server_role(b) == role

        if stack.owox:
            # the server sends the browser on to OWOX's success page, which reads the role from the path
            callback = parse_qs(urlsplit(link).query)["callbackURL"][0]
            assert r.location == callback
            assert callback.startswith(f"{stack.base_url}/auth/magic-link-success/")
            assert decrypt_role(stack.role_token(link), SECRET) == role
            with pytest.raises(RoleTokenError):
                decrypt_role(stack.role_token(link), SECRET + "-other")
            members = stack.rows(
                f"SELECT role FROM {stack.q('member')} WHERE {stack.q('userId')} = :u", u=user["user_id"]
            )
            assert [m["role"] for m in members] == [role]
        else:
            assert r.location in ("/", f"{stack.base_url}/")

        # no password was set: the link is the only way in
        r, _ = stack.sign_in(user["email"], PASSWORD)
        assert r.status == 401, r


def test_magic_link_works_once(stack: Stack) -> None:
    # idp as its own process (the real entry point) on a machine ten hours behind UTC: a local-time
    # expiry would be ten hours in the past and the link dead on arrival
    user = stack.add_user("once", subprocess_tz="Pacific/Honolulu")
    stack.link_works(user["magic_link"])
    stack.link_fails(user["magic_link"])


def test_magic_link_expires(stack: Stack) -> None:
    # idp on a machine fourteen hours ahead of UTC: a local-time expiry would keep the link alive
    with local_time_zone("Pacific/Kiritimati"):
        user = stack.add_user("ttl", ttl="2")
    expires = parse_time(user["expires_at"])
    assert 0 < (expires - datetime.now(UTC)).total_seconds() <= 2.5
    wait_until(expires)
    stack.link_fails(user["magic_link"])
    assert stack.count("session", "userId", user["user_id"]) == 0


def test_bootstrap_admin_link(stack: Stack) -> None:
    email = unique_email("bootstrap")
    first = stack.idp_json("bootstrap-admin", email)
    assert first["action"] == "created" and first["magic_link"]
    again = stack.idp_json("bootstrap-admin", email)
    assert again["action"] == "link-issued" and again["magic_link"] != first["magic_link"]
    stack.link_fails(first["magic_link"])  # replaced by the new one
    b = stack.link_works(again["magic_link"])
    assert stack.session_user(b)["email"] == email
    assert stack.server_role(b) == "admin"


@pytest.mark.parametrize("combo", [c for c in COMBOS if c[0] == "owox"][:1], ids=combo_id)
def test_role_token_decrypts_in_node_as_owox_does(combo, server_pool, node_ready) -> None:
    stack = server_pool.get(*combo)
    for role in stack.roles:
        user = stack.add_user(f"node-{role}", role=role)
        result = decrypt_role_in_node(stack.role_token(user["magic_link"]))
        assert result["role"] == role
        assert result["claims"]["iss"] == "idp-better-auth"
        assert result["claims"]["exp"] - result["claims"]["iat"] == 3600
