from __future__ import annotations


def test_add_user_roundtrip(idp):
    idp.migrate()
    r = idp("add-user", "Alice@Example.com", "--role", "admin", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data["email"] == "alice@example.com"
    assert data["role"] == "admin"
    r = idp("list-users", "--json")
    assert r.exit_code == 0, r.stderr
    assert [u["email"] for u in r.json()] == ["alice@example.com"]
