"""The Python API (`from owox_idp import Admin`) on the real server: a user added through
`Admin.from_url` — settings as keywords, nothing read from the environment or a file — signs in from
the returned link with the right role, and several calls in one `transaction()` commit together."""

from __future__ import annotations

import pytest
from interop_support import SECRET, Stack, unique_email

from owox_idp import Admin

pytestmark = pytest.mark.interop


def _admin(stack: Stack) -> Admin:
    settings: dict[str, object] = {
        "flavor": stack.profile,
        "secret": SECRET,
        "base_url": stack.base_url,
        "server_version": "1.6" if stack.owox else "1.7",
    }
    if not stack.owox:
        settings |= {"roles": ["admin", "editor", "viewer", "user"], "admin_roles": ["admin"]}
    return Admin.from_url(stack.db.url, **settings)


def test_a_user_added_through_the_api_signs_in_from_its_link(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a stray environment must not change what from_url does
    monkeypatch.setenv("IDP_BETTER_AUTH_BASE_URL", "https://elsewhere.example")
    monkeypatch.setenv("IDP_FLAVOR", "better-auth" if stack.owox else "owox")
    email = unique_email("api")
    with _admin(stack) as idp:
        result = idp.add_user(email, role="editor")
        assert result.created and result.user_id and result.magic_link
        assert result.to_json()["email"] == email
    b = stack.link_works(result.magic_link)
    me = stack.session_user(b)
    assert me is not None and me["id"] == result.user_id
    assert stack.server_role(b) == "editor"


def test_one_transaction_for_several_calls(stack: Stack) -> None:
    first, second = unique_email("api-tx1"), unique_email("api-tx2")
    with _admin(stack) as idp:
        with pytest.raises(RuntimeError), idp.transaction():
            idp.add_user(first, role="viewer")
            raise RuntimeError("abort")
        assert [u.email for u in idp.list_users(search=first)] == []  # rolled back
        with idp.transaction():
            idp.add_user(first, role="viewer")
            added = idp.add_user(second, role="viewer")
            idp.set_role(second, "editor")
    b = stack.link_works(added.magic_link or "")
    assert stack.server_role(b) == "editor"
