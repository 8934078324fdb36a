"""`idp export` on every dialect (CSV and JSON Lines, never a hash, re-importable, paged in constant
memory), and the listing side of issue 6: `list-users --after` keyset paging and `migrate --indexes`."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from idp_runner import IdpRunner

FLAVORS = ("owox", "better-auth")
EXPORT_COLUMNS = [
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
]


@pytest.fixture(params=FLAVORS)
def flavored(request: pytest.FixtureRequest, idp: IdpRunner) -> IdpRunner:
    idp.flavor(request.param)
    idp.migrate()
    return idp


def _roles(idp: IdpRunner) -> tuple[str, str]:
    return ("viewer", "editor") if idp.env.get("IDP_FLAVOR", "owox") == "owox" else ("user", "admin")


def _import(idp: IdpRunner, tmp_path: Path, text: str, *args: str) -> None:
    path = tmp_path / f"in{len(list(tmp_path.iterdir()))}.csv"
    path.write_text(text, encoding="utf-8")
    r = idp("import", str(path), *args)
    assert r.exit_code == 0, r.stderr


@pytest.fixture
def engine(idp: IdpRunner) -> Iterator[sa.Engine]:
    eng = sa.create_engine(idp.db.sa_url)
    yield eng
    eng.dispose()


def _secrets(engine: sa.Engine) -> list[str]:
    """Every hash, token and verification identifier in the database."""
    with engine.connect() as conn:
        q = "`" if engine.dialect.name == "mysql" else '"'
        found = [r[0] for r in conn.execute(sa.text(f"select {q}password{q} from {q}account{q}")) if r[0]]
        found += [r[0] for r in conn.execute(sa.text(f"select {q}identifier{q} from {q}verification{q}"))]
        found += [r[0] for r in conn.execute(sa.text(f"select {q}token{q} from {q}session{q}"))]
    return found


# ----------------------------------------------------------------------------- export


def test_export_csv_and_jsonl_never_contain_secrets(
    flavored: IdpRunner, engine: sa.Engine, tmp_path: Path
) -> None:
    low, high = _roles(flavored)
    _import(
        flavored,
        tmp_path,
        f"email,name,role,password\na@example.com,Ann,{high},a-long-password\nb@example.com,,{low},\n",
        "--links",
        str(tmp_path / "links.csv"),
    )
    flavored("add-user", "c@example.com", "--role", "admin", "--password-stdin", input="c-long-password\n")
    assert flavored("ban", "b@example.com", "--yes").exit_code == 0
    secrets = _secrets(engine)
    assert len(secrets) >= 4  # two hashes, the identifiers of c's link
    r = flavored("export")
    assert r.exit_code == 0, r.stderr
    assert "Exported 3 user(s)." in r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert list(rows[0]) == EXPORT_COLUMNS
    by_email = {row["email"]: row for row in rows}
    assert by_email["a@example.com"]["role"] == high and by_email["a@example.com"]["has_password"] == "true"
    assert (
        by_email["a@example.com"]["name"] == "Ann" and by_email["a@example.com"]["email_verified"] == "true"
    )
    assert (
        by_email["b@example.com"]["banned"] == "true" and by_email["b@example.com"]["has_password"] == "false"
    )
    assert by_email["c@example.com"]["created_at"].endswith("Z")
    r2 = flavored("export", "--format", "jsonl")
    assert r2.exit_code == 0
    records = [json.loads(line) for line in r2.stdout.splitlines()]
    assert [list(rec) for rec in records] == [EXPORT_COLUMNS] * 3
    assert {rec["email"]: rec["has_password"] for rec in records} == {
        "a@example.com": True,
        "b@example.com": False,
        "c@example.com": True,
    }
    for text in (r.stdout, r2.stdout):
        for secret in secrets:
            assert secret not in text
        assert "scrypt" not in text and "$argon2" not in text and "token" not in text


def test_export_role_filter_and_output_file(flavored: IdpRunner, tmp_path: Path) -> None:
    low, high = _roles(flavored)
    _import(
        flavored, tmp_path, f"email,role\na@example.com,{high}\nb@example.com,{low}\nc@example.com,{high}\n"
    )
    out = tmp_path / "admins.jsonl"
    r = flavored("export", "--format", "jsonl", "--role", high, "--output", str(out))
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    assert out.stat().st_mode & 0o777 == 0o600
    assert sorted(json.loads(line)["email"] for line in out.read_text().splitlines()) == [
        "a@example.com",
        "c@example.com",
    ]
    assert flavored("export", "--role", "nobody").exit_code == 5
    assert flavored("export", "--format", "xml").exit_code == 2


def test_export_csv_reimports(flavored: IdpRunner, tmp_path: Path) -> None:
    low, high = _roles(flavored)
    _import(flavored, tmp_path, f"email,name,role\na@example.com,Ann,{high}\nb@example.com,Bob,{low}\n")
    exported = tmp_path / "users.csv"
    assert flavored("export", "-o", str(exported)).exit_code == 0
    # into the same database: every user exists, nothing changes
    r = flavored("import", str(exported), "--if-missing", "--json")
    assert r.exit_code == 0, r.stderr
    assert {json.loads(line)["action"] for line in r.stdout.splitlines()} == {"skipped"}
    # into a fresh database: the same users, names and roles
    fresh = {"IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    assert flavored("migrate", "--yes", env=fresh).exit_code == 0
    r = flavored("import", str(exported), env=fresh)
    assert r.exit_code == 0, r.stderr
    listed = flavored("list-users", "--json", env=fresh).json()
    assert {(u["email"], u["name"], u["role"]) for u in listed} == {
        ("a@example.com", "Ann", high),
        ("b@example.com", "Bob", low),
    }


def test_export_pages_through_many_users(idp: IdpRunner, tmp_path: Path) -> None:
    idp.flavor("better-auth").migrate()
    _import(idp, tmp_path, "email\n" + "".join(f"p{i:05d}@example.com\n" for i in range(2345)))
    r = idp("export", "--format", "jsonl")
    assert r.exit_code == 0, r.stderr
    emails = [json.loads(line)["email"] for line in r.stdout.splitlines()]
    assert len(emails) == len(set(emails)) == 2345  # three keyset pages, no row twice, none missing


def test_export_to_a_closed_pipe(idp: IdpRunner, tmp_path: Path) -> None:
    idp.migrate()
    _import(idp, tmp_path, "email\n" + "".join(f"q{i:04d}@example.com\n" for i in range(1500)))
    env = {**os.environ, **idp.env}
    export = subprocess.Popen(
        [sys.executable, "-m", "owox_idp", "export"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert export.stdout is not None and export.stderr is not None
    first = export.stdout.readline()
    export.stdout.close()
    err = export.stderr.read().decode()
    export.wait(timeout=60)
    assert first.startswith(b"id,email")
    assert "Traceback" not in err and "Error" not in err


# ----------------------------------------------------------------------------- list-users keyset paging


def test_list_users_keyset_pages(flavored: IdpRunner, tmp_path: Path) -> None:
    _import(flavored, tmp_path, "email\n" + "".join(f"k{i:02d}@example.com\n" for i in range(25)))
    everything = [u["email"] for u in flavored("list-users", "--json").json()]
    assert len(everything) == 25
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        args = ["list-users", "--json", "--limit", "10"] + (["--after", cursor] if cursor else [])
        r = flavored(*args)
        assert r.exit_code == 0, r.stderr
        page = r.json()
        seen += [u["email"] for u in page]
        if "Next page: --after " not in r.stderr:
            break
        cursor = r.stderr.split("Next page: --after ")[1].split()[0]
        # the cursor is the last row's created_at and id, so a script can also build it from the JSON
        assert cursor == f"{page[-1]['created_at']},{page[-1]['id']}"
    assert seen == everything  # the same order as one big listing, no row twice, none missing
    # the old --limit/--offset contract still works
    page2 = flavored("list-users", "--json", "--limit", "10", "--offset", "10").json()
    assert [u["email"] for u in page2] == everything[10:20]


def test_list_users_cursor_errors(idp: IdpRunner) -> None:
    idp.migrate()
    r = idp("list-users", "--after", "nonsense")
    assert r.exit_code == 5 and "invalid cursor" in r.stderr
    r = idp("list-users", "--after", "2026-01-01T00:00:00.000Z,abc", "--offset", "3")
    assert r.exit_code == 2 and "not both" in r.stderr


def test_list_users_keyset_with_microsecond_dates(idp_postgresql: IdpRunner) -> None:
    """Rows written by other tools may carry microseconds (PostgreSQL keeps them): the cursor keeps them
    too, so paging neither skips nor repeats rows that share a millisecond."""
    idp = idp_postgresql
    engine = sa.create_engine(idp.db.sa_url)
    idp.flavor("better-auth").migrate()
    with engine.begin() as conn:
        for i in range(6):
            conn.execute(
                sa.text(
                    'insert into "user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt") '
                    "values (:id, 'u', :email, true, :ts, :ts)"
                ),
                {
                    "id": f"id{i}",
                    "email": f"m{i}@example.com",
                    "ts": f"2026-01-01T00:00:00.{100000 + i * 100}Z",
                },
            )
    emails: list[str] = []
    cursor: str | None = None
    while True:
        r = idp("list-users", "--json", "--limit", "2", *(["--after", cursor] if cursor else []))
        emails += [u["email"] for u in r.json()]
        if "Next page: --after " not in r.stderr:
            break
        cursor = r.stderr.split("Next page: --after ")[1].split()[0]
    engine.dispose()
    assert emails == [f"m{i}@example.com" for i in reversed(range(6))]


# ----------------------------------------------------------------------------- migrate --indexes


def test_migrate_indexes_is_opt_in_and_additive(flavored: IdpRunner, engine: sa.Engine) -> None:
    def indexes(table: str) -> dict[str, list[str]]:
        return {
            str(ix["name"]): [str(c) for c in ix["column_names"]]
            for ix in sa.inspect(engine).get_indexes(table)
        }

    assert not any(name.startswith("idp_") for name in indexes("user"))
    r = flavored("migrate", "--indexes", "--sql")
    assert r.exit_code == 0
    assert [line for line in r.stdout.splitlines() if "idp_" in line] == [
        line for line in r.stdout.splitlines() if line.startswith("create index")
    ]
    assert len(r.stdout.splitlines()) == 2
    r = flavored("migrate", "--indexes", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["applied"] is True
    assert indexes("user")["idp_user_createdAt_id_idx"] == ["createdAt", "id"]
    assert indexes("session")["idp_session_createdAt_id_idx"] == ["createdAt", "id"]
    # idempotent, and a plain migrate neither wants them nor minds them
    assert flavored("migrate", "--indexes", "--json", "--yes").json()["statements"] == []
    assert flavored("migrate", "--json", "--yes").json()["statements"] == []
    info: dict[str, Any] = flavored("info", "--json").json()
    assert info["schema"]["status"] == "up-to-date"
