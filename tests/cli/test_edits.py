"""The everyday edits on every dialect: update-user (incl. --field), issue-link (one user and
--without-password), 2fa unlock and backup-codes, add-user --no-link, and the new list-users options,
with their error paths. What idp wrote is read back from the database directly."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import db_rows
import pytest
from idp_runner import TEST_SECRET, IdpRunner

from owox_idp.config import Secrets
from owox_idp.crypto.roletoken import decrypt_role
from owox_idp.crypto.symmetric import decrypt, encrypt

FLAVORS = ("owox", "better-auth")
PASSWORD = "a-long-service-password"


class Db(db_rows.Db):
    """Direct access to the test database."""

    def link_identifiers(self, email: str) -> set[str]:
        rows = self.rows('select "identifier", "value" from "verification"')
        return {r["identifier"] for r in rows if email in r["value"]}


@pytest.fixture
def dbx(idp: IdpRunner) -> Iterator[Db]:
    access = Db(idp)
    yield access
    access.engine.dispose()


@pytest.fixture(params=FLAVORS)
def flavored(request: pytest.FixtureRequest, idp: IdpRunner) -> IdpRunner:
    idp.flavor(request.param)
    if request.param == "better-auth":  # OWOX's role names, so that one test reads for both flavors
        idp.env["IDP_ROLES"] = "admin,editor,viewer,user"
    idp.migrate()
    return idp


@pytest.fixture
def ba(idp: IdpRunner) -> IdpRunner:
    idp.flavor("better-auth")
    idp.migrate()
    return idp


def ok(idp: IdpRunner, *args: str, input: str | None = None) -> Any:
    r = idp(*args, "--json", input=input)
    assert r.exit_code == 0, (args, r.stdout, r.stderr)
    return r.json()


def add(idp: IdpRunner, email: str, *args: str, password: bool = False) -> dict[str, Any]:
    if password:
        return ok(idp, "add-user", email, *args, "--password-stdin", input=PASSWORD + "\n")  # type: ignore[no-any-return]
    return ok(idp, "add-user", email, *args)  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- update-user


def test_update_user_edits_the_row_and_returns_the_record(flavored: IdpRunner, dbx: Db) -> None:
    idp = flavored
    user = add(idp, "ana@example.com", "--role", "editor")
    dbx.add_session(user["user_id"], "tok-ana-1")
    before = dbx.link_identifiers("ana@example.com")
    assert len(before) == 2  # the 1.4-1.6 and the 1.7 row of the pending link

    data = ok(
        idp,
        "update-user",
        "ANA@example.com",
        "--name",
        "  Ana Lopez ",
        "--email",
        "Ana.Lopez@Example.COM",
        "--unverified",
        "--image",
        "https://img.example.com/ana.png",
    )
    assert data["id"] == user["user_id"]
    assert data["email"] == "ana.lopez@example.com"  # lower-cased, as Better Auth stores it
    assert data["name"] == "Ana Lopez"
    assert data["email_verified"] is False
    assert data["image"] == "https://img.example.com/ana.png"
    assert data["role"] == "editor"  # OWOX: the member row hangs off the user id and stays
    assert data["changed"] == ["name", "email", "email_verified", "image"]
    assert data["previous_email"] == "ana@example.com"
    assert data["links_revoked"] == 1
    row = dbx.rows('select * from "user" where "id" = :id', id=user["user_id"])[0]
    assert row["email"] == "ana.lopez@example.com" and row["name"] == "Ana Lopez"
    assert not row["emailVerified"] and row["image"] == "https://img.example.com/ana.png"
    # the old address's link would sign in as a new user with that address: it is gone
    assert dbx.link_identifiers("ana@example.com") == set()
    assert dbx.count("session", '"userId" = :u', u=user["user_id"]) == 1  # sessions stay

    assert idp("show-user", "ana@example.com").exit_code == 3
    shown = ok(idp, "show-user", "ana.lopez@example.com")
    assert shown["id"] == user["user_id"] and shown["role"] == "editor"
    if idp.env["IDP_FLAVOR"] == "owox":
        assert dbx.count("member", '"userId" = :u and "role" = :r', u=user["user_id"], r="editor") == 1

    # the same values again change nothing; --image '' clears the image
    again = ok(idp, "update-user", "ana.lopez@example.com", "--name", "Ana Lopez", "--unverified")
    assert again["changed"] == [] and again["image"] == "https://img.example.com/ana.png"
    cleared = ok(idp, "update-user", "ana.lopez@example.com", "--image", "", "--verified")
    assert cleared["image"] is None and cleared["email_verified"] is True
    assert cleared["changed"] == ["email_verified", "image"]


def test_update_user_human_output(ba: IdpRunner) -> None:
    add(ba, "bo@example.com")
    r = ba("update-user", "bo@example.com", "--name", "Bo Diddley")
    assert r.exit_code == 0, r.stderr
    assert "Updated bo@example.com: name." in r.stderr
    assert "Bo Diddley" in r.stdout
    r = ba("update-user", "bo@example.com", "--name", "Bo Diddley")
    assert "nothing changed" in r.stderr


def test_update_user_error_paths(flavored: IdpRunner, dbx: Db) -> None:
    idp = flavored
    a = add(idp, "a@example.com")
    add(idp, "b@example.com")
    r = idp("update-user", "a@example.com", "--email", "B@EXAMPLE.com")
    assert r.exit_code == 4 and "another user already has the email b@example.com" in r.stderr
    # a row another tool wrote with upper-case letters is still the same address
    dbx.execute('update "user" set "email" = :e where "email" = :o', e="Bee@Example.com", o="b@example.com")
    r = idp("update-user", "a@example.com", "--email", "bee@example.com")
    assert r.exit_code == 4, r.stderr
    assert idp("update-user", "nobody@example.com", "--name", "X").exit_code == 3
    r = idp("update-user", "a@example.com", "--email", "not-an-email")
    assert r.exit_code == 5 and "invalid email" in r.stderr
    r = idp("update-user", "a@example.com", "--name", "  ")
    assert r.exit_code == 5 and "name is empty" in r.stderr
    r = idp("update-user", "a@example.com")
    assert r.exit_code == 2 and "nothing to change" in r.stderr
    # nothing was written by the refused calls
    row = dbx.rows('select "email", "name" from "user" where "id" = :id', id=a["user_id"])[0]
    assert row["email"] == "a@example.com"
    # changing the email to itself (other case) is no change
    assert ok(idp, "update-user", "a@example.com", "--email", "A@example.com")["changed"] == []


def _add_columns(dbx: Db) -> None:
    text_type = {"postgresql": "text", "mariadb": "varchar(20)", "sqlite": "text"}[dbx.dialect]
    bool_type = {"postgresql": "boolean", "mariadb": "tinyint(1)", "sqlite": "integer"}[dbx.dialect]
    date_type = {"postgresql": "timestamptz", "mariadb": "datetime(3)", "sqlite": "date"}[dbx.dialect]
    dbx.execute(f'alter table "user" add column "plan" {text_type}')
    dbx.execute('alter table "user" add column "seats" integer')
    dbx.execute(f'alter table "user" add column "marketingOptIn" {bool_type}')
    dbx.execute(f'alter table "user" add column "trialEndsAt" {date_type}')
    dbx.execute(f'alter table "user" add column "tier" {text_type} not null default \'free\'')


def test_update_user_fields_are_written_with_the_column_type(flavored: IdpRunner, dbx: Db) -> None:
    idp = flavored
    user = add(idp, "f@example.com")
    _add_columns(dbx)
    data = ok(
        idp,
        "update-user",
        "f@example.com",
        "--field",
        "plan=pro",
        "--field",
        "seats=12",
        "--field",
        "marketingOptIn=true",
        "--field",
        "trialEndsAt=2027-01-31T12:00:00Z",
    )
    assert data["fields"] == {
        "plan": "pro",
        "seats": 12,
        "marketingOptIn": True,
        "trialEndsAt": "2027-01-31T12:00:00.000Z",
    }
    assert data["changed"] == ["plan", "seats", "marketingOptIn", "trialEndsAt"]
    row = dbx.rows('select * from "user" where "id" = :id', id=user["user_id"])[0]
    assert row["plan"] == "pro" and row["seats"] == 12
    if dbx.dialect == "postgresql":
        assert row["marketingOptIn"] is True
        assert row["trialEndsAt"] == datetime(2027, 1, 31, 12, tzinfo=UTC)
    elif dbx.dialect == "mariadb":
        assert row["marketingOptIn"] == 1
        assert row["trialEndsAt"] == datetime(2027, 1, 31, 12)  # UTC, as Better Auth's dates there
    else:
        assert row["marketingOptIn"] == 1
        assert row["trialEndsAt"] == "2027-01-31T12:00:00.000Z"  # toISOString(), as Better Auth writes
    # an empty value is NULL
    data = ok(
        idp,
        "update-user",
        "f@example.com",
        "--field",
        "seats=",
        "--field",
        "plan=",
        "--field",
        "trialEndsAt=",
    )
    assert data["fields"] == {"seats": None, "plan": None, "trialEndsAt": None}
    assert dbx.rows('select "seats" from "user" where "id" = :id', id=user["user_id"])[0]["seats"] is None


def test_update_user_json_and_uuid_fields_on_postgresql(idp_postgresql: IdpRunner) -> None:
    idp = idp_postgresql
    idp.flavor("better-auth")
    idp.migrate()
    add(idp, "j@example.com")
    dbx = Db(idp)
    try:
        dbx.execute('alter table "user" add column "prefs" jsonb, add column "orgRef" uuid')
        ref = "7d444840-9dc0-11d1-b245-5ffdce74fad2"
        data = ok(
            idp,
            "update-user",
            "j@example.com",
            "--field",
            'prefs={"theme": "dark"}',
            "--field",
            f"orgRef={ref}",
        )
        assert data["fields"] == {"prefs": {"theme": "dark"}, "orgRef": ref}
        row = dbx.rows(
            'select "prefs", "orgRef"::text as ref from "user" where "email" = :e', e="j@example.com"
        )[0]
        assert row["prefs"] == {"theme": "dark"} and row["ref"] == ref
        data = ok(idp, "update-user", "j@example.com", "--field", "prefs=", "--field", "orgRef=")
        assert data["fields"] == {"prefs": None, "orgRef": None}
        r = idp("update-user", "j@example.com", "--field", "prefs={bad")
        assert r.exit_code == 5 and "is not JSON" in r.stderr
        r = idp("update-user", "j@example.com", "--field", "orgRef=12")
        assert r.exit_code == 5 and "is not a UUID" in r.stderr
    finally:
        dbx.engine.dispose()


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("nope=1", "the user table has no column nope"),
        ("seats=twelve", "is not an integer"),
        ("marketingOptIn=maybe", "is not (true or false|an integer)"),  # SQLite: an integer column
        ("trialEndsAt=soon", "is not an ISO 8601 date"),
        ("tier=", "NOT NULL"),
        ("role=admin", "Better Auth's own user columns"),
        ("emailVerified=true", "Better Auth's own user columns"),
        ("banned=true", "Better Auth's own user columns"),
    ],
)
def test_update_user_field_errors_exit_5_naming_the_column(
    ba: IdpRunner, dbx: Db, field: str, message: str
) -> None:
    user = add(ba, "g@example.com")
    _add_columns(dbx)
    r = ba("update-user", "g@example.com", "--name", "Changed", "--field", field)
    assert r.exit_code == 5, r.stderr
    assert f"--field {field.split('=')[0]}" in r.stderr and re.search(message, r.stderr)
    # nothing was written, not even the name
    assert dbx.rows('select "name" from "user" where "id" = :id', id=user["user_id"])[0]["name"] != "Changed"


def test_update_user_field_syntax(ba: IdpRunner) -> None:
    add(ba, "h@example.com")
    r = ba("update-user", "h@example.com", "--field", "plan")
    assert r.exit_code == 2 and "expected NAME=VALUE" in r.stderr
    r = ba("update-user", "h@example.com", "--field", "plan=a", "--field", "plan=b")
    assert r.exit_code == 2 and "given twice" in r.stderr


def test_update_user_varchar_length(idp: IdpRunner, dbx: Db) -> None:
    if dbx.dialect != "mariadb":
        pytest.skip("a varchar(n) is checked where the column has one (MariaDB here)")
    idp.flavor("better-auth")
    idp.migrate()
    add(idp, "v@example.com")
    _add_columns(dbx)
    r = idp("update-user", "v@example.com", "--field", "plan=" + "x" * 21)
    assert r.exit_code == 5 and "longer than the column's 20 characters" in r.stderr


# ----------------------------------------------------------------------------- issue-link


def _token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def test_issue_link_keeps_sessions_and_other_links(flavored: IdpRunner, dbx: Db) -> None:
    idp = flavored
    user = add(idp, "ivy@example.com", "--role", "editor", password=True)
    dbx.add_session(user["user_id"], "tok-ivy")
    first = user["magic_link"]
    data = ok(idp, "issue-link", "IVY@example.com", "--ttl", "10m")
    assert set(data) >= {"user_id", "email", "magic_link", "expires_at"}
    assert data["user_id"] == user["user_id"] and data["email"] == "ivy@example.com"
    assert data["role"] == "editor" and data["has_password"] is True
    expires = datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=9) < expires - datetime.now(UTC) <= timedelta(minutes=10)
    tokens = {_token(first), _token(data["magic_link"])}
    ids = dbx.link_identifiers("ivy@example.com")
    assert ids == tokens | {"magic-link:" + t for t in tokens}  # both links, both forms
    assert dbx.count("session", '"userId" = :u', u=user["user_id"]) == 1
    assert dbx.count("account", '"userId" = :u', u=user["user_id"]) == 1  # the password stays
    if idp.env["IDP_FLAVOR"] == "owox":
        callback = parse_qs(urlsplit(data["magic_link"]).query)["callbackURL"][0]
        role_token = unquote(callback.rsplit("/", 1)[1])
        assert decrypt_role(role_token, TEST_SECRET) == "editor"  # the role the user has, kept

    r = idp("issue-link", "ivy@example.com")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip().startswith("https://") and "sessions and other links are kept" in r.stderr


def test_issue_link_error_paths(flavored: IdpRunner, dbx: Db) -> None:
    idp = flavored
    add(idp, "admin@example.com", "--role", "admin")
    add(idp, "x@example.com")
    assert idp("issue-link", "nobody@example.com").exit_code == 3
    assert idp("issue-link", "x@example.com", "--ttl", "soon").exit_code == 5
    assert ok(idp, "ban", "x@example.com", "--yes")["banned"] is True
    before = dbx.count("verification")
    r = idp("issue-link", "x@example.com")
    assert r.exit_code == 8 and "is banned" in r.stderr and "idp unban" in r.stderr
    assert dbx.count("verification") == before
    r = idp("issue-link")
    assert r.exit_code == 2
    r = idp("issue-link", "x@example.com", "--without-password", "--links", "l.csv")
    assert r.exit_code == 2
    r = idp("issue-link", "x@example.com", "--links", "l.csv")
    assert r.exit_code == 2 and "--without-password" in r.stderr


def test_issue_link_warns_about_an_unverified_email(ba: IdpRunner) -> None:
    add(ba, "u@example.com")
    ok(ba, "update-user", "u@example.com", "--unverified")
    r = ba("issue-link", "u@example.com")
    assert r.exit_code == 0
    assert "unverified email" in r.stderr and "revokeUnprovenAccountAccess" in r.stderr


def test_issue_link_owox_needs_the_secret(idp: IdpRunner) -> None:
    idp.flavor("owox")
    idp.migrate()
    add(idp, "s@example.com")
    r = idp("issue-link", "s@example.com", env={"IDP_BETTER_AUTH_SECRET": ""})
    assert r.exit_code == 6, r.stderr


def _links_file(path: Path) -> list[dict[str, str]]:
    import csv

    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_issue_link_without_password_in_bulk(flavored: IdpRunner, dbx: Db, tmp_path: Path) -> None:
    idp = flavored
    admin = add(idp, "root@example.com", "--role", "admin", password=True)
    editors = [add(idp, f"e{i}@example.com", "--role", "editor") for i in range(5)]
    viewer_role = "viewer"
    viewer = add(idp, "view@example.com", "--role", viewer_role)
    banned = add(idp, "gone@example.com", "--role", "editor")
    ok(idp, "ban", "gone@example.com", "--yes")
    links_before = dbx.count("verification")

    path = tmp_path / "links.csv"
    r = idp("issue-link", "--without-password", "--links", str(path), "--batch-size", "2", "--ttl", "30m")
    assert r.exit_code == 0, r.stderr
    rows = _links_file(path)
    assert list(rows[0]) == ["email", "magic_link", "expires_at"]  # as `import --links` writes it
    emails = {row["email"] for row in rows}
    assert emails == {u["email"] for u in editors} | {viewer["email"]}
    assert admin["email"] not in emails and banned["email"] not in emails
    assert "Wrote 6 sign-in link(s)" in r.stderr and "Passed over 1 banned user(s)" in r.stderr
    assert path.stat().st_mode & 0o777 == 0o600
    assert dbx.count("verification") == links_before + 2 * 6  # nothing revoked, two rows per link
    for row in rows:
        assert _token(row["magic_link"]) in dbx.link_identifiers(row["email"])

    # --role, appended to the same file (one header), and --json
    data = ok(idp, "issue-link", "--without-password", "--role", viewer_role, "--links", str(path))
    assert [d["email"] for d in data] == [viewer["email"]]
    assert set(data[0]) >= {"user_id", "email", "magic_link", "expires_at"}
    assert data[0]["user_id"] == viewer["user_id"]
    rows = _links_file(path)
    assert len(rows) == 7 and rows[-1]["magic_link"] == data[0]["magic_link"]

    # --links - prints the file on stdout
    r = idp("issue-link", "--without-password", "--role", "admin", "--links", "-")
    assert r.exit_code == 0 and r.stdout.splitlines() == ["email,magic_link,expires_at"]


def test_issue_link_without_password_role_none(idp: IdpRunner, dbx: Db, tmp_path: Path) -> None:
    idp.flavor("owox")
    idp.migrate()
    lost = add(idp, "lost@example.com", "--role", "viewer")
    add(idp, "kept@example.com", "--role", "viewer")
    dbx.execute('delete from "member" where "userId" = :u', u=lost["user_id"])
    data = ok(idp, "issue-link", "--without-password", "--role", "none", "--links", str(tmp_path / "l.csv"))
    assert [d["email"] for d in data] == ["lost@example.com"] and data[0]["role"] is None


def test_issue_link_without_password_usage(ba: IdpRunner, tmp_path: Path) -> None:
    r = ba("issue-link", "--without-password")
    assert r.exit_code == 2 and "--links FILE" in r.stderr
    r = ba("issue-link", "--without-password", "--links", "-", "--json")
    assert r.exit_code == 2
    r = ba("issue-link", "--without-password", "--role", "wizard", "--links", str(tmp_path / "x.csv"))
    assert r.exit_code == 5 and not (tmp_path / "x.csv").exists()


# ----------------------------------------------------------------------------- add-user --no-link


def test_add_user_no_link(flavored: IdpRunner, dbx: Db) -> None:
    idp = flavored
    data = add(idp, "bot@example.com", "--no-link", password=True)
    assert data["magic_link"] is None and data["expires_at"] is None
    assert data["has_password"] is True and data["created"] is True
    assert dbx.link_identifiers("bot@example.com") == set()
    assert dbx.count("account", '"userId" = :u and "password" is not null', u=data["user_id"]) == 1
    r = idp("add-user", "bot2@example.com", "--no-link", "--password-stdin", input=PASSWORD + "\n")
    assert r.exit_code == 0 and r.stdout == "" and "--no-link" in r.stderr
    r = idp("add-user", "nobody@example.com", "--no-link")
    assert r.exit_code == 2 and "--password-stdin" in r.stderr
    assert idp("show-user", "nobody@example.com").exit_code == 3


def test_add_user_no_link_needs_no_secret_in_owox(idp: IdpRunner) -> None:
    idp.flavor("owox")
    idp.migrate()
    r = idp(
        "add-user",
        "svc@example.com",
        "--no-link",
        "--password-stdin",
        "--json",
        input=PASSWORD + "\n",
        env={"IDP_BETTER_AUTH_SECRET": ""},
    )
    assert r.exit_code == 0, r.stderr
    assert r.json()["magic_link"] is None


# ----------------------------------------------------------------------------- list-users


def _set_created(dbx: Db, email: str, when: datetime) -> None:
    dbx.execute('update "user" set "createdAt" = :c where "email" = :e', c=dbx.date(when), e=email)


@pytest.fixture
def people(flavored: IdpRunner, dbx: Db) -> IdpRunner:
    idp = flavored
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i, (email, name) in enumerate(
        [("carol@example.com", "Carol"), ("alice@example.com", "Zed"), ("bob@example.com", "Mia")]
    ):
        add(idp, email, "--name", name)
        _set_created(dbx, email, base + timedelta(days=i))
    ok(idp, "update-user", "bob@example.com", "--unverified")
    return idp


def test_list_users_sort_and_order(people: IdpRunner) -> None:
    idp = people

    def emails(*args: str) -> list[str]:
        return [u["email"] for u in ok(idp, "list-users", *args)]

    assert emails() == ["bob@example.com", "alice@example.com", "carol@example.com"]  # newest first
    assert emails("--asc") == ["carol@example.com", "alice@example.com", "bob@example.com"]
    assert emails("--sort", "email", "--asc") == ["alice@example.com", "bob@example.com", "carol@example.com"]
    assert emails("--sort", "email") == ["carol@example.com", "bob@example.com", "alice@example.com"]
    assert emails("--sort", "name", "--asc") == ["carol@example.com", "bob@example.com", "alice@example.com"]
    # keyset paging oldest first
    r = idp("list-users", "--asc", "--limit", "2", "--json")
    assert [u["email"] for u in r.json()] == ["carol@example.com", "alice@example.com"]
    cursor = r.stderr.split("--after ", 1)[1].split()[0]
    assert emails("--asc", "--after", cursor) == ["bob@example.com"]
    # by name: offset paging
    r = idp("list-users", "--sort", "name", "--limit", "2", "--json")
    assert "Next page: --offset 2" in r.stderr
    assert emails("--sort", "name", "--limit", "2", "--offset", "2") == ["carol@example.com"]


def test_list_users_filters_count_and_quiet(people: IdpRunner, dbx: Db) -> None:
    idp = people
    assert [u["email"] for u in ok(idp, "list-users", "--unverified")] == ["bob@example.com"]
    assert len(ok(idp, "list-users", "--verified")) == 2
    assert ok(idp, "list-users", "--count") == {"count": 3}
    assert ok(idp, "list-users", "--count", "--verified", "--limit", "1") == {"count": 2}
    r = idp("list-users", "--count", "--search", "ALI")
    assert r.exit_code == 0 and r.stdout == "1\n"
    r = idp("list-users", "--quiet", "--sort", "email", "--asc")
    assert r.exit_code == 0
    assert r.stdout == "alice@example.com\nbob@example.com\ncarol@example.com\n"
    # --role none: users without a role (OWOX: no member row, the exposure `info` warns about)
    assert ok(idp, "list-users", "--role", "none") == []
    if idp.env["IDP_FLAVOR"] == "owox":
        carol = ok(idp, "show-user", "carol@example.com")["id"]
        dbx.execute('delete from "member" where "userId" = :u', u=carol)
    else:
        dbx.execute('update "user" set "role" = null where "email" = :e', e="carol@example.com")
    assert [u["email"] for u in ok(idp, "list-users", "--role", "none")] == ["carol@example.com"]
    assert ok(idp, "list-users", "--role", "none", "--count") == {"count": 1}
    r = idp("list-users", "--role", "none", "--quiet")
    assert r.stdout == "carol@example.com\n"


def test_list_users_usage_errors(ba: IdpRunner) -> None:
    assert ba("list-users", "--count", "--quiet").exit_code == 2
    assert ba("list-users", "--quiet", "--json").exit_code == 2
    r = ba("list-users", "--sort", "email", "--after", "2026-01-01T00:00:00.000Z,x")
    assert r.exit_code == 2 and "--offset" in r.stderr
    r = ba("list-users", "--sort", "age")
    assert r.exit_code == 5 and "created, email, name" in r.stderr
    assert ba("list-users", "--role", "wizard").exit_code == 5


# ----------------------------------------------------------------------------- 2fa unlock / backup-codes


def _tf_row(dbx: Db, user_id: str) -> dict[str, Any]:
    return dbx.rows('select * from "twoFactor" where "userId" = :u', u=user_id)[0]


def _lock(dbx: Db, user_id: str, *, minutes: int = 15) -> None:
    until = datetime.now(UTC) + timedelta(minutes=minutes)
    dbx.execute(
        'update "twoFactor" set "failedVerificationCount" = 10, "lockedUntil" = :t where "userId" = :u',
        t=dbx.date(until),
        u=user_id,
    )


def test_2fa_unlock_clears_the_lock_only(ba: IdpRunner, dbx: Db) -> None:
    user = add(ba, "t@example.com", password=True)
    ok(ba, "2fa", "enable", "t@example.com")
    before = _tf_row(dbx, user["user_id"])
    _lock(dbx, user["user_id"])
    status = ok(ba, "2fa", "status", "t@example.com")
    assert status["locked_until"] is not None and status["failed_verification_count"] == 10
    data = ok(ba, "2fa", "unlock", "t@example.com")
    assert data["changed"] is True and data["failed_verification_count"] == 10
    assert data["locked_until"] is not None and data["locked"] is False
    after = _tf_row(dbx, user["user_id"])
    assert after["failedVerificationCount"] == 0 and after["lockedUntil"] is None
    assert {k: after[k] for k in ("id", "secret", "backupCodes", "verified")} == {
        k: before[k] for k in ("id", "secret", "backupCodes", "verified")
    }
    status = ok(ba, "2fa", "status", "t@example.com")
    assert status["locked_until"] is None and status["two_factor_enabled"] is True
    again = ok(ba, "2fa", "unlock", "t@example.com")
    assert again["changed"] is False
    r = ba("2fa", "unlock", "t@example.com")
    assert r.exit_code == 0 and "not locked out" in r.stderr


def test_2fa_unlock_and_backup_codes_error_paths(idp: IdpRunner) -> None:
    idp.flavor("better-auth")
    idp.migrate()
    add(idp, "n@example.com")
    for sub in ("unlock", "backup-codes"):
        r = idp("2fa", sub, "n@example.com")
        assert r.exit_code == 3 and "no two-factor enrolment" in r.stderr, r.stderr
        assert idp("2fa", sub, "nobody@example.com").exit_code == 3
    r = idp("2fa", "unlock", "n@example.com", env={"IDP_FLAVOR": "owox"})
    assert r.exit_code == 6 and "not available in the owox flavor" in r.stderr
    r = idp("2fa", "backup-codes", "n@example.com", env={"IDP_FLAVOR": "owox"})
    assert r.exit_code == 6


def test_2fa_unlock_on_a_server_without_lockout(idp: IdpRunner, dbx: Db) -> None:
    idp.flavor("better-auth")
    idp.env["IDP_BETTER_AUTH_VERSION"] = "1.4"
    idp.migrate()
    add(idp, "old@example.com")
    ok(idp, "2fa", "enable", "old@example.com")
    r = idp("2fa", "unlock", "old@example.com")
    assert r.exit_code == 6 and "nothing to unlock" in r.stderr


def test_2fa_backup_codes_replace_the_old_ones(ba: IdpRunner, dbx: Db) -> None:
    secrets = Secrets(current=TEST_SECRET)
    user = add(ba, "c@example.com", password=True)
    enrolled = ok(ba, "2fa", "enable", "c@example.com")
    before = _tf_row(dbx, user["user_id"])
    _lock(dbx, user["user_id"])
    data = ok(ba, "2fa", "backup-codes", "C@example.com")
    assert data["user_id"] == user["user_id"] and data["replaced"] == 10
    codes = data["backup_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10 and not set(codes) & set(enrolled["backup_codes"])
    after = _tf_row(dbx, user["user_id"])
    assert json.loads(decrypt(after["backupCodes"], secrets)) == codes  # JSON.stringify, encrypted
    assert after["secret"] == before["secret"] and after["id"] == before["id"]  # the TOTP stays
    assert after["failedVerificationCount"] == 10  # backup-codes lifts no lock
    assert ok(ba, "2fa", "status", "c@example.com")["backup_codes_remaining"] == 10
    r = ba("2fa", "backup-codes", "c@example.com")
    assert r.exit_code == 0 and r.stdout.startswith("backup codes: ") and "only once" in r.stderr


def test_2fa_backup_codes_keep_plain_storage(ba: IdpRunner, dbx: Db) -> None:
    user = add(ba, "p@example.com")
    ok(ba, "2fa", "enable", "p@example.com")
    dbx.execute(
        'update "twoFactor" set "backupCodes" = :c where "userId" = :u',
        c='["aaaaa-bbbbb"]',
        u=user["user_id"],
    )  # storeBackupCodes: "plain"
    codes = ok(ba, "2fa", "backup-codes", "p@example.com")["backup_codes"]
    assert json.loads(_tf_row(dbx, user["user_id"])["backupCodes"]) == codes


def test_2fa_backup_codes_refuse_another_servers_secret(ba: IdpRunner, dbx: Db) -> None:
    user = add(ba, "o@example.com")
    ok(ba, "2fa", "enable", "o@example.com")
    other = Secrets(current="another-secret-0123456789abcdef0123456789abcdef")
    dbx.execute(
        'update "twoFactor" set "secret" = :s where "userId" = :u',
        s=encrypt("JBSWY3DPEHPK3PXP", other),
        u=user["user_id"],
    )
    before = _tf_row(dbx, user["user_id"])["backupCodes"]
    r = ba("2fa", "backup-codes", "o@example.com")
    assert r.exit_code == 6 and "cannot be read" in r.stderr
    assert _tf_row(dbx, user["user_id"])["backupCodes"] == before


# ----------------------------------------------------------------------------- add-user / bootstrap-admin --field


def _check_typed_fields(dbx: Db, user_id: str) -> None:
    row = dbx.rows('select * from "user" where "id" = :id', id=user_id)[0]
    assert row["plan"] == "pro" and row["seats"] == 12 and row["tier"] == "free"  # the database's default
    if dbx.dialect == "postgresql":
        assert row["marketingOptIn"] is True
        assert row["trialEndsAt"] == datetime(2027, 1, 31, 12, tzinfo=UTC)
    elif dbx.dialect == "mariadb":
        assert row["marketingOptIn"] == 1 and row["trialEndsAt"] == datetime(2027, 1, 31, 12)
    else:
        assert row["marketingOptIn"] == 1 and row["trialEndsAt"] == "2027-01-31T12:00:00.000Z"


TYPED = (
    "--field",
    "plan=pro",
    "--field",
    "seats=12",
    "--field",
    "marketingOptIn=true",
    "--field",
    "trialEndsAt=2027-01-31T12:00:00Z",
)


def test_add_user_and_bootstrap_admin_write_fields_with_the_column_type(flavored: IdpRunner, dbx: Db) -> None:
    idp = flavored
    _add_columns(dbx)
    user = ok(idp, "add-user", "fa@example.com", *TYPED)
    _check_typed_fields(dbx, user["user_id"])
    boss = ok(idp, "bootstrap-admin", "boss@example.com", *TYPED, "--reason", "first deploy")
    assert boss["action"] == "created"
    _check_typed_fields(dbx, boss["user_id"])
    # on an existing admin, bootstrap-admin leaves the fields alone (update-user changes them)
    again = ok(idp, "bootstrap-admin", "boss@example.com", "--field", "plan=other")
    assert again["action"] == "link-issued"
    assert dbx.rows('select "plan" from "user" where "id" = :id', id=boss["user_id"])[0]["plan"] == "pro"
    # an empty VALUE is NULL
    blank = ok(idp, "add-user", "fb@example.com", "--field", "plan=", "--field", "seats=")
    row = dbx.rows('select "plan", "seats" from "user" where "id" = :id', id=blank["user_id"])[0]
    assert row == {"plan": None, "seats": None}


@pytest.mark.parametrize(
    ("field", "code", "message"),
    [
        ("nope=1", 5, "the user table has no column nope"),
        ("seats=twelve", 5, "is not an integer"),
        ("trialEndsAt=soon", 5, "is not an ISO 8601 date"),
        ("tier=", 5, "NOT NULL"),
        ("role=admin", 5, "Better Auth's own user columns"),
        ("plan", 2, "expected NAME=VALUE"),
    ],
)
def test_add_user_field_errors_create_nobody(
    ba: IdpRunner, dbx: Db, field: str, code: int, message: str
) -> None:
    _add_columns(dbx)
    for command in ("add-user", "bootstrap-admin"):
        r = ba(command, "g@example.com", "--field", field)
        assert r.exit_code == code, (command, r.stderr)
        assert re.search(message, r.stderr), r.stderr
        assert "Traceback" not in r.stderr
    assert dbx.count("user") == 0
    r = ba("add-user", "g@example.com", "--field", "plan=a", "--field", "plan=b")
    assert r.exit_code == 2 and "given twice" in r.stderr


def test_a_required_field_must_be_given(idp: IdpRunner, dbx: Db) -> None:
    if dbx.dialect == "sqlite":
        pytest.skip("SQLite cannot add a NOT NULL column without a default to an existing table")
    idp.flavor("better-auth")
    idp.migrate()
    dbx.execute('alter table "user" add column "orgCode" varchar(20) not null')
    for command in ("add-user", "bootstrap-admin"):
        r = idp(command, "r@example.com")
        assert r.exit_code == 6, r.stderr
        assert "required column 'orgCode'" in r.stderr and "--field orgCode=VALUE" in r.stderr
    assert dbx.count("user") == 0
    user = ok(idp, "add-user", "r@example.com", "--field", "orgCode=ACME")
    boss = ok(idp, "bootstrap-admin", "boss@example.com", "--field", "orgCode=OPS")
    codes = {r["id"]: r["orgCode"] for r in dbx.rows('select "id", "orgCode" from "user"')}
    assert codes == {user["user_id"]: "ACME", boss["user_id"]: "OPS"}
