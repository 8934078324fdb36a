"""Issue 15 on the real server: each provider's sample export (tests/data/providers/), imported with
`idp import --from PROVIDER --links FILE`, and every imported user signs in on Better Auth — with the
password they had at the provider where the server verifies the kept hash (bcrypt: Auth0's password
hash export, Supabase, Clerk; argon2id: Keycloak, Clerk), from the magic link otherwise (Firebase's
modified scrypt, PBKDF2, Auth0's bulk export, social users).

The servers here are the better-auth profile with `emailAndPassword.password` hooks
(IDP_INTEROP_PASSWORD_HASH in tests/interop/node/auth.mjs: bcryptjs, argon2id), as
docs/import-from-providers.md tells a deployment to configure them; idp runs with the matching
IDP_PASSWORD_HASH. Firebase's hook is not configured: idp does not keep Firebase hashes (yet)."""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import require_node
from dbutil import fresh_database, selected_dialects
from interop_support import AuthServer, Stack, idp_settings_env, run_idp, sa_engine

pytestmark = pytest.mark.interop

DATA = Path(__file__).resolve().parents[1] / "data" / "providers"


@dataclass
class Case:
    provider: str
    file: str
    hasher: str  # the server's password hooks and idp's IDP_PASSWORD_HASH
    kept: dict[str, str]  # email -> the provider password, kept as a hash the server verifies
    linked: dict[str, bool]  # email -> verified: signs in from the link
    roles: dict[str, str]


CASES = [
    Case(
        "auth0",
        "auth0.json",
        "bcrypt",
        {"dana@example.com": "auth0-dana-pass", "eve@example.com": "auth0-eve-pass"},
        {"ann@example.com": True, "bob@example.com": False, "cleo@example.com": True},
        {"ann@example.com": "admin", "bob@example.com": "user"},
    ),
    Case(
        "supabase",
        "supabase.csv",
        "bcrypt",
        {"gail@example.com": "supabase-gail-pass", "hugo@example.com": "supabase-hugo-pass"},
        {"ines@example.com": True},
        {"gail@example.com": "admin", "hugo@example.com": "user"},
    ),
    Case(
        "firebase",
        "firebase.json",
        "scrypt",
        {},
        {"kim@example.com": True, "lou@example.com": False},
        {"kim@example.com": "admin", "lou@example.com": "user"},
    ),
    Case(
        "clerk",
        "clerk.csv",
        "bcrypt",
        {"nia@example.com": "clerk-nia-pass"},
        {"oto@example.com": False, "pia@example.com": True, "quin@example.com": True},
        {"nia@example.com": "user"},
    ),
    Case(
        "keycloak",
        "keycloak-realm.json",
        "argon2id",
        {"rui@example.com": "keycloak-rui-pass"},
        {"sam@example.com": False},
        {"rui@example.com": "admin", "sam@example.com": "user"},
    ),
    Case(  # Clerk's argon2id digest is kept by an argon2id server (and bcrypt's is not)
        "clerk",
        "clerk.csv",
        "argon2id",
        {"pia@example.com": "clerk-pia-pass"},
        {"nia@example.com": True, "oto@example.com": False, "quin@example.com": True},
        {},
    ),
]


class HasherStack(Stack):
    """A stack whose server verifies `hasher` and whose idp hashes with it."""

    hasher: str = "scrypt"

    @property
    def idp_env(self) -> dict[str, str]:
        return idp_settings_env(self.profile, self.db, self.base_url) | {"IDP_PASSWORD_HASH": self.hasher}


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str, str], HasherStack]]:
    """A fresh database and server for each case (a sample export's emails are fixed)."""
    made: dict[tuple[str, str, str], HasherStack] = {}
    with contextlib.ExitStack() as exit_stack:

        def get(provider: str, hasher: str, dialect: str) -> HasherStack:
            key = (provider, hasher, dialect)
            if key not in made:
                base = tmp_path_factory.mktemp(f"providers-{provider}-{hasher}")
                db = exit_stack.enter_context(fresh_database(dialect, base))
                r = run_idp(idp_settings_env("better-auth", db, "http://127.0.0.1:3000"), "migrate", "--yes")
                assert r.exit_code == 0, r
                extra = {} if hasher == "scrypt" else {"IDP_INTEROP_PASSWORD_HASH": hasher}
                server = AuthServer("better-auth", db, base, extra_env=extra)
                exit_stack.callback(server.stop)
                server.start()
                engine = sa_engine(db)
                exit_stack.callback(engine.dispose)
                stack = HasherStack("better-auth", db, server, engine)
                stack.hasher = hasher
                made[key] = stack
            return made[key]

        yield get  # type: ignore[misc]


@pytest.mark.parametrize("dialect", selected_dialects())
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.provider}-{c.hasher}")
def test_provider_users_sign_in(stacks: object, case: Case, dialect: str, tmp_path: Path) -> None:
    require_node()
    stack: HasherStack = stacks(case.provider, case.hasher, dialect)  # type: ignore[operator]
    links = tmp_path / "links.csv"
    r = stack.idp("import", "--from", case.provider, str(DATA / case.file), "--links", str(links))
    assert r.exit_code == 5, r  # each sample export has broken records, reported by line
    assert f"Created {len(case.kept) + len(case.linked)}," in r.stderr, r.stderr

    for email, password in case.kept.items():  # the provider's password, verified by the server's hook
        browser = stack.signed_in(email, password)
        if email in case.roles:
            assert stack.server_role(browser) == case.roles[email]
        assert stack.sign_in(email, password + "-wrong")[0].status == 401

    issued = {row["email"]: row["magic_link"] for row in csv.DictReader(io.StringIO(links.read_text()))}
    assert set(issued) == set(case.linked)
    server_bug: list[str] = []
    for email, verified in case.linked.items():
        response, browser = stack.open_link(issued[email])
        if not verified and stack.dialect == "mariadb" and response.status == 500:
            # Better Auth 1.7.25 on MySQL: verifying an unverified user's link inserts a 43-character
            # verification id into varchar(36) (the server's bug; see docs/import-from-providers.md)
            server_bug.append(email)
            continue
        assert response.status in (200, 302) and "error=" not in response.location, f"{email}: {response}"
        user = stack.session_user(browser)
        assert user is not None and user["email"] == email
        assert user["emailVerified"] is True  # opening the link proves the address
        if email in case.roles:
            assert stack.server_role(browser) == case.roles[email]
        for password in case.kept.values():  # no password came along for a linked user
            assert stack.sign_in(email, password)[0].status == 401
    if server_bug:
        pytest.xfail(
            f"Better Auth on MySQL answers 500 to the link of the unverified {', '.join(server_bug)}"
        )
