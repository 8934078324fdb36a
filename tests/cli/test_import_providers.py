"""`idp import --from PROVIDER` on every dialect, with each provider's sample export
(tests/data/providers/): who is created, verified flags, creation dates, roles, which password hashes are
kept (and the per-row note when one is not), links, --dry-run, --if-missing and one audit entry a run."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from idp_runner import IdpRunner

from owox_idp.crypto.passwords import verify_password
from owox_idp.services.providers import read_export

DATA = Path(__file__).resolve().parents[1] / "data" / "providers"

# provider, file, IDP_PASSWORD_HASH, {email: password kept}, users without a kept password, failed lines
CASES: list[tuple[str, str, str, dict[str, str], set[str], int]] = [
    (
        "auth0",
        "auth0.json",
        "bcrypt",
        {"dana@example.com": "auth0-dana-pass", "eve@example.com": "auth0-eve-pass"},
        {"ann@example.com", "bob@example.com", "cleo@example.com"},
        2,
    ),
    (
        "supabase",
        "supabase.csv",
        "bcrypt",
        {"gail@example.com": "supabase-gail-pass", "hugo@example.com": "supabase-hugo-pass"},
        {"ines@example.com"},
        3,
    ),
    ("firebase", "firebase.json", "scrypt", {}, {"kim@example.com", "lou@example.com"}, 2),
    (
        "clerk",
        "clerk.csv",
        "bcrypt",
        {"nia@example.com": "clerk-nia-pass"},
        {"oto@example.com", "pia@example.com", "quin@example.com"},
        2,
    ),
    (
        "keycloak",
        "keycloak-realm.json",
        "argon2id",
        {"rui@example.com": "keycloak-rui-pass"},
        {"sam@example.com"},
        2,
    ),
]


def _users(idp: IdpRunner) -> dict[str, dict[str, Any]]:
    engine = sa.create_engine(idp.db.sa_url)
    q = "`" if idp.db.dialect == "mariadb" else '"'
    sql = (
        'select u.email, u.role, u."emailVerified" as verified, u."createdAt" as created, '
        'a.password from "user" u left join account a on a."userId" = u.id'
    ).replace('"', q)
    try:
        with engine.connect() as conn:
            return {r["email"]: dict(r) for r in conn.execute(sa.text(sql)).mappings()}
    finally:
        engine.dispose()


def _instant(value: Any) -> datetime:
    from owox_idp.db.types import parse_date

    parsed = parse_date(value)
    assert parsed is not None
    return parsed


@pytest.mark.parametrize(("provider", "name", "scheme", "kept", "linked", "failed"), CASES)
def test_import_from_provider(
    idp: IdpRunner,
    tmp_path: Path,
    provider: str,
    name: str,
    scheme: str,
    kept: dict[str, str],
    linked: set[str],
    failed: int,
) -> None:
    idp.flavor("better-auth").migrate()
    env = {"IDP_PASSWORD_HASH": scheme}
    source = str(DATA / name)
    links = tmp_path / "links.csv"

    dry = idp("import", "--from", provider, source, "--dry-run", "--links", str(links), env=env)
    assert dry.exit_code == 5, dry.stderr
    assert f"would create {len(kept) + len(linked)}," in dry.stderr
    assert _users(idp) == {} and not links.exists()

    result = idp(
        "import", "--from", provider, source, "--links", str(links), "--role", "user", "--json", env=env
    )
    assert result.exit_code == 5, result.stderr  # the export's broken records are reported, not written
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert sum(r["action"] == "failed" for r in rows) == failed
    assert all(r["error"] for r in rows if r["action"] == "failed")
    created = {r["email"]: r for r in rows if r["action"] == "created"}
    assert set(created) == set(kept) | linked
    for email, row in created.items():
        assert row["has_password"] is (email in kept)
        assert row["link_issued"] is (email not in kept)
        if row["note"] is not None:  # a password the export had but the server cannot verify
            assert row["note"].startswith("password not imported: ")
            assert row["note"].endswith("; the user gets a sign-in link instead")
            assert email in linked
    with links.open() as handle:
        assert {r["email"] for r in csv.DictReader(handle)} == linked

    users = _users(idp)
    assert set(users) == set(kept) | linked
    for email, password in kept.items():
        stored = users[email]["password"]
        assert stored and verify_password(password, stored), email
    for email in linked:
        assert users[email]["password"] is None
    records = {r.email.lower(): r for r in read_export(provider, (DATA / name).open("rb")) if r.email}
    for email, user in users.items():
        record = records[email]
        if record.email_verified is not None:
            assert bool(user["verified"]) is record.email_verified, email
        if record.created_at is not None:
            assert _instant(user["created"]) == record.created_at.replace(
                microsecond=record.created_at.microsecond // 1000 * 1000
            ), email
        assert user["role"] == (",".join(record.roles) if record.roles else "user"), email

    # resumable: the same file again with --if-missing skips every user and writes nothing new
    again = idp("import", "--from", provider, source, "--if-missing", "--json", env=env)
    assert again.exit_code == 5, again.stderr
    assert {json.loads(line)["action"] for line in again.stdout.splitlines()} == {"skipped", "failed"}
    assert _users(idp) == users

    audit = idp("audit", "--json")
    assert audit.exit_code == 0, audit.stderr
    imports = [e for e in audit.json() if e["command"] == "import"]
    assert len(imports) == 2  # one entry a run that writes (the dry run is not one)
    assert all(f"(from {provider})" in (e["target"] or "") for e in imports)


def test_unknown_provider_and_format(idp_sqlite: IdpRunner) -> None:
    idp_sqlite.flavor("better-auth").migrate()
    source = str(DATA / "auth0.json")
    bad = idp_sqlite("import", "--from", "okta", source)
    assert bad.exit_code == 2 and "unknown --from 'okta'" in bad.stderr
    mixed = idp_sqlite("import", "--from", "auth0", "--format", "csv", source)
    assert mixed.exit_code == 2 and "--format" in mixed.stderr


def test_provider_export_from_stdin(idp_sqlite: IdpRunner) -> None:
    idp_sqlite.flavor("better-auth").migrate()
    text = (DATA / "supabase.jsonl").read_text()
    result = idp_sqlite("import", "--from", "supabase", "-", "--json", input=text)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["email"] for r in rows if r["action"] == "created"} == {
        "gail@example.com",
        "hugo@example.com",
        "ines@example.com",
    }
    assert datetime.now(UTC) > _instant(_users(idp_sqlite)["gail@example.com"]["created"])
