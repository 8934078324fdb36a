"""`idp import` on every dialect: CSV and JSON Lines, every bad-row and bad-file case, --dry-run,
--if-missing, --update, --links, and an import interrupted (Ctrl-C or kill -9) then resumed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import db_rows
import pytest
import sqlalchemy as sa
from idp_runner import TEST_SECRET, IdpRunner

from owox_idp.crypto.passwords import hash_password, verify_password
from owox_idp.crypto.roletoken import decrypt_role

SCRYPT_HASH = hash_password("imported-password-1")
FLAVORS = ("owox", "better-auth")


class Db(db_rows.Db):
    """Direct access to the test database, to check what idp wrote (and plant rows other tools write)."""

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        tables = ("user", "account", "session", "verification", "member", "organization")
        found = sa.inspect(self.engine).get_table_names()
        return {
            t: sorted(tuple(str(v) for v in r.values()) for r in self.rows(f'select * from "{t}"'))
            for t in tables
            if t in found
        }

    def date(self, dt: datetime) -> Any:
        if self.dialect == "sqlite":
            return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
        return dt.replace(tzinfo=None) if self.dialect == "mariadb" else dt


@pytest.fixture
def rows_db(idp: IdpRunner) -> Iterator[Db]:
    access = Db(idp)
    yield access
    access.engine.dispose()


@pytest.fixture(params=FLAVORS)
def flavored(request: pytest.FixtureRequest, idp: IdpRunner) -> IdpRunner:
    idp.flavor(request.param)
    idp.migrate()
    return idp


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def results(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def roles_by_email(idp: IdpRunner) -> dict[str, str | None]:
    r = idp("list-users", "--json")
    assert r.exit_code == 0, r.stderr
    return {u["email"]: u["role"] for u in r.json()}


# ----------------------------------------------------------------------------- the happy path


def test_import_owox_csv_writes_complete_users(idp: IdpRunner, rows_db: Db, tmp_path: Path) -> None:
    idp.migrate()
    src = write(
        tmp_path,
        "users.csv",
        "email,name,role,password,password_hash\n"
        "Jane@Example.com,Jane Doe,editor,,\n"
        "bob@example.com,,admin,a-long-password,\n"
        f"carol@example.com,Carol,,,{SCRYPT_HASH}\n",
    )
    links = tmp_path / "links.csv"
    r = idp("import", src, "--links", str(links), "--json")
    assert r.exit_code == 0, r.stderr
    rows = results(r.stdout)
    assert [(x["line"], x["email"], x["action"], x["role"]) for x in rows] == [
        (2, "jane@example.com", "created", "editor"),
        (3, "bob@example.com", "created", "admin"),
        (4, "carol@example.com", "created", "viewer"),  # no role: the least privileged
    ]
    assert [x["has_password"] for x in rows] == [False, True, True]
    assert [x["link_issued"] for x in rows] == [True, False, False]
    assert "magic_link" not in r.stdout and "token=" not in r.stdout  # links never go to the terminal
    assert "Created 3, updated 0, skipped 0, failed 0." in r.stderr
    # every user has its membership in OWOX's organization, and the organization exists once
    users = {u["email"]: u for u in rows_db.rows('select * from "user"')}
    assert users["jane@example.com"]["name"] == "Jane Doe" and users["bob@example.com"]["name"] == "Bob"
    assert all(bool(u["emailVerified"]) for u in users.values())
    members = {m["userId"]: m["role"] for m in rows_db.rows('select * from "member"')}
    assert members == {
        users[e]["id"]: role
        for e, role in [
            ("jane@example.com", "editor"),
            ("bob@example.com", "admin"),
            ("carol@example.com", "viewer"),
        ]
    }
    assert rows_db.count("organization") == 1
    # passwords: the plain one hashed (Better Auth's scrypt), the hash stored as given
    creds = {a["userId"]: a for a in rows_db.rows('select * from "account"')}
    bob = creds[users["bob@example.com"]["id"]]
    assert bob["providerId"] == "credential" and bob["accountId"] == bob["userId"]
    assert verify_password("a-long-password", bob["password"])
    assert creds[users["carol@example.com"]["id"]]["password"] == SCRYPT_HASH
    assert users["jane@example.com"]["id"] not in creds
    # the link: its two verification rows, and the file (0600) with email,magic_link,expires_at
    assert links.stat().st_mode & 0o777 == 0o600
    lines = links.read_text().splitlines()
    assert lines[0] == "email,magic_link,expires_at" and len(lines) == 2
    email, url, expires = lines[1].split(",")
    assert email == "jane@example.com" and url.startswith("https://idp.example.test/auth/magic-link?token=")
    token = url.split("token=")[1].split("&")[0]
    verification = rows_db.rows('select * from "verification"')
    assert {v["identifier"] for v in verification} == {token, f"magic-link:{token}"}
    assert {v["value"] for v in verification} == {'{"type":"magic-link","email":"jane@example.com"}'}
    callback = unquote(url.split("callbackURL=")[1])
    prefix = "https://idp.example.test/auth/magic-link-success/"
    assert (
        callback.startswith(prefix) and decrypt_role(callback.removeprefix(prefix), TEST_SECRET) == "editor"
    )
    assert expires.endswith("Z")


def test_import_better_auth_flavor_roles_on_user_row(idp: IdpRunner, rows_db: Db, tmp_path: Path) -> None:
    idp.flavor("better-auth").migrate()
    src = write(tmp_path, "u.csv", 'email,role\na@example.com,"admin,user"\nb@example.com,\n')
    r = idp("import", src, "--links", str(tmp_path / "l.csv"))
    assert r.exit_code == 0, r.stderr
    users = {u["email"]: u for u in rows_db.rows('select * from "user"')}
    assert users["a@example.com"]["role"] == "admin,user" and users["b@example.com"]["role"] == "user"
    assert not any(u["banned"] for u in users.values()) and not any(
        u["twoFactorEnabled"] for u in users.values()
    )
    link_lines = (tmp_path / "l.csv").read_text().splitlines()[1:]
    assert len(link_lines) == 2 and "/api/auth/magic-link/verify?token=" in link_lines[0]


def test_import_jsonl_from_stdin(flavored: IdpRunner, tmp_path: Path) -> None:
    role = "editor" if flavored.env["IDP_FLAVOR"] == "owox" else "admin"
    text = (
        json.dumps({"email": "j1@example.com", "name": "J One", "role": role})
        + "\n\n"
        + json.dumps({"email": "j2@example.com", "role": [role], "password": "another-password"})
        + "\n"
        + json.dumps({"email": "j3@example.com", "colour": "blue"})
        + "\n"
        + "{not json\n"
        + "[1, 2]\n"
        + json.dumps({"email": "j4@example.com", "name": 7})
        + "\n"
    )
    r = flavored("import", "-", "--json", input=text)
    assert r.exit_code == 5, r.stderr
    out = {x["line"]: x for x in results(r.stdout)}
    assert out[1]["action"] == "created" and out[3]["action"] == "created" and out[3]["has_password"]
    assert "unknown field(s) 'colour'" in out[4]["error"]
    assert "not valid JSON" in out[5]["error"]
    assert out[6]["error"] == "not a JSON object"
    assert "'name' must be a string" in out[7]["error"]
    assert roles_by_email(flavored) == {"j1@example.com": role, "j2@example.com": role}


def test_import_semicolons_bom_crlf_and_header_spelling(idp: IdpRunner, tmp_path: Path) -> None:
    idp.migrate()
    data = "\ufeffE-Mail;Name;ROLE\r\n".replace("E-Mail", "Email") + "x@example.com;X;admin\r\n"
    src = write(tmp_path, "excel.csv", data.encode("utf-8"))
    r = idp("import", src)
    assert r.exit_code == 0, r.stderr
    assert roles_by_email(idp) == {"x@example.com": "admin"}


# ----------------------------------------------------------------------------- bad rows


def test_every_bad_row_is_reported_with_its_line(idp: IdpRunner, rows_db: Db, tmp_path: Path) -> None:
    idp.migrate()
    src = write(
        tmp_path,
        "bad.csv",
        "email,role,password,password_hash\n"
        "good@example.com,editor,,\n"  # 2
        "not-an-email,editor,,\n"  # 3
        "boss@example.com,boss,,\n"  # 4
        "Good@Example.com,viewer,,\n"  # 5 duplicate of line 2
        "h1@example.com,,,abc:def\n"  # 6 not a hash
        f"h2@example.com,,,{SCRYPT_HASH.upper()}\n"  # 7 upper-case hex: the server would never match
        'h3@example.com,,,"$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"\n'  # 8
        "short@example.com,,short,\n"  # 9
        f"both@example.com,,a-long-password,{SCRYPT_HASH}\n"  # 10
        ",editor,,\n"  # 11 no email
        "fields@example.com,editor\n"  # 12 too few fields
        "also-good@example.com,,,\n",  # 13
    )
    r = idp("import", src)
    assert r.exit_code == 5
    err = r.stderr
    for needle in (
        "line 3: invalid email address: 'not-an-email'",
        "line 4: unknown role 'boss'",
        "line 5: duplicate: good@example.com is also on line 2",
        "line 6: password_hash is not a hash the server verifies",
        "line 7: password_hash is not a hash the server verifies",
        "line 8: password_hash is an argon2id hash but the server verifies scrypt",
        "line 9: password is too short",
        "line 10: give password or password_hash, not both",
        "line 11: no email",
        "line 12: has 2 field(s); the header has 4",
        "Created 2, updated 0, skipped 0, failed 10.",
        "Error: 10 row(s) failed",
    ):
        assert needle in err, (needle, err)
    assert roles_by_email(idp) == {"good@example.com": "editor", "also-good@example.com": "viewer"}
    assert rows_db.count("account") == 0


def test_argon2id_hash_accepted_when_configured(idp: IdpRunner, rows_db: Db, tmp_path: Path) -> None:
    idp.migrate()
    argon = hash_password("an-argon-password", scheme="argon2id")
    src = write(
        tmp_path, "a.csv", f'email,password_hash\nargon@example.com,"{argon}"\nunquoted@example.com,{argon}\n'
    )
    r = idp("import", src, env={"IDP_PASSWORD_HASH": "argon2id"})
    assert r.exit_code == 5
    assert "line 3: has 4 field(s); the header has 2 (an argon2id hash has commas: quote it" in r.stderr
    assert rows_db.rows('select "password" from "account"')[0]["password"] == argon


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("\n\n", "is empty"),
        ("email,role\n", "has no users: only a header"),
        ("mail,role\njane@example.com,editor\n", "the header has no `email` column (found: mail, role)"),
        ("email,rolle\njane@example.com,editor\n", "line 1: unknown column(s) 'rolle'"),
        ("email,email\na@example.com,b@example.com\n", "column 'email' appears twice"),
        ("jane@example.com,editor\n", "the header has no `email` column"),
        (b"email,name\nok@example.com,Ok\nfr@example.com,Fran\xe7ois\n", "line 3 is not UTF-8 text"),
    ],
)
def test_bad_files_write_nothing(
    idp: IdpRunner, rows_db: Db, tmp_path: Path, content: str | bytes, message: str
) -> None:
    idp.migrate()
    src = write(tmp_path, "bad.csv", content)
    r = idp("import", src)
    assert r.exit_code == 5, r.stderr
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert rows_db.count("user") == 0


def test_missing_file_and_bad_flags(idp: IdpRunner, tmp_path: Path) -> None:
    idp.migrate()
    src = write(tmp_path, "u.csv", "email\na@example.com\n")
    assert idp("import", str(tmp_path / "nope.csv")).exit_code == 2
    r = idp("import", src, "--if-missing", "--update")
    assert r.exit_code == 2 and "not both" in r.stderr
    r = idp("import", src, "--links", "-", "--json")
    assert r.exit_code == 2
    assert idp("import", src, "--format", "xml").exit_code == 2
    assert idp("import", src, "--batch-size", "0").exit_code == 2


def test_import_needs_the_schema(idp: IdpRunner, tmp_path: Path) -> None:
    src = write(tmp_path, "u.csv", "email\na@example.com\n")
    assert idp("import", src).exit_code == 7


# ----------------------------------------------------------------------------- modes


def test_dry_run_writes_nothing(idp: IdpRunner, rows_db: Db, tmp_path: Path) -> None:
    idp.migrate()
    idp("add-user", "old@example.com", "--role", "viewer")
    before = rows_db.snapshot()
    src = write(tmp_path, "u.csv", "email,role\nold@example.com,editor\nnew@example.com,admin\nbad,viewer\n")
    links = tmp_path / "links.csv"
    r = idp("import", src, "--dry-run", "--update", "--links", str(links), "--json")
    assert r.exit_code == 5
    assert [(x["email"], x["action"]) for x in results(r.stdout)] == [
        ("old@example.com", "updated"),
        ("new@example.com", "created"),
        ("bad", "failed"),
    ]
    assert "Dry run: would create 1, update 1, skip 0; 1 failed. Nothing was written." in r.stderr
    assert rows_db.snapshot() == before
    assert not links.exists()


def test_existing_users_fail_without_a_mode(idp: IdpRunner, tmp_path: Path) -> None:
    idp.migrate()
    idp("add-user", "old@example.com")
    src = write(tmp_path, "u.csv", "email\nOLD@example.com\nnew@example.com\n")
    r = idp("import", src)
    assert r.exit_code == 5
    assert "line 2: old@example.com already exists (--if-missing skips existing users" in r.stderr
    assert set(roles_by_email(idp)) == {"old@example.com", "new@example.com"}


def test_if_missing_rerun_is_a_no_op(flavored: IdpRunner, rows_db: Db, tmp_path: Path) -> None:
    role = "editor" if flavored.env["IDP_FLAVOR"] == "owox" else "admin"
    src = write(
        tmp_path,
        "u.csv",
        f"email,role,password\na@example.com,{role},\nb@example.com,,b-long-password\nc@example.com,{role},\n",
    )
    links = tmp_path / "links.csv"
    assert flavored("import", src, "--if-missing", "--links", str(links)).exit_code == 0
    before = rows_db.snapshot()
    r = flavored("import", src, "--if-missing", "--links", str(links), "--json")
    assert r.exit_code == 0, r.stderr
    assert {x["action"] for x in results(r.stdout)} == {"skipped"}
    assert "Created 0, updated 0, skipped 3, failed 0." in r.stderr
    assert rows_db.snapshot() == before
    assert len(links.read_text().splitlines()) == 3  # header + the first run's two links, nothing new


def test_update_changes_name_and_role(flavored: IdpRunner, rows_db: Db, tmp_path: Path) -> None:
    owox = flavored.env["IDP_FLAVOR"] == "owox"
    low, high = ("viewer", "editor") if owox else ("user", "admin")
    flavored("add-user", "admin@example.com", "--role", "admin")
    flavored("add-user", "a@example.com", "--role", low, "--name", "Old Name")
    flavored("add-user", "b@example.com", "--role", low)
    src = write(
        tmp_path,
        "u.csv",
        "email,name,role,password\n"
        f"a@example.com,New Name,{high},\n"
        f"b@example.com,,{low},ignored-password\n"
        f"c@example.com,,{high},\n",
    )
    r = flavored("import", src, "--update", "--json")
    assert r.exit_code == 0, r.stderr
    out = {x["email"]: x for x in results(r.stdout)}
    assert out["a@example.com"]["action"] == "updated" and out["a@example.com"]["role"] == high
    assert out["b@example.com"]["action"] == "skipped"
    assert "password ignored" in out["b@example.com"]["note"]
    assert out["c@example.com"]["action"] == "created"
    assert roles_by_email(flavored) == {
        "admin@example.com": "admin",
        "a@example.com": high,
        "b@example.com": low,
        "c@example.com": high,
    }
    assert (
        rows_db.rows('select "name" from "user" where "email" = :e', e="a@example.com")[0]["name"]
        == "New Name"
    )
    assert rows_db.count("account") == 0  # --update never sets a password


def test_update_refuses_to_demote_the_last_admin(flavored: IdpRunner, tmp_path: Path) -> None:
    low = "viewer" if flavored.env["IDP_FLAVOR"] == "owox" else "user"
    flavored("add-user", "root@example.com", "--role", "admin")
    src = write(tmp_path, "u.csv", f"email,role\nroot@example.com,{low}\nnew@example.com,{low}\n")
    r = flavored("import", src, "--update")
    assert r.exit_code == 8
    assert "without an active admin (line 2 demotes the last one); nothing was written" in r.stderr
    assert roles_by_email(flavored) == {"root@example.com": "admin"}
    assert flavored("import", src, "--update", "--force").exit_code == 0
    assert roles_by_email(flavored)["root@example.com"] == low


def test_update_refuses_a_banned_owox_user(idp: IdpRunner, tmp_path: Path) -> None:
    idp.migrate()
    idp("add-user", "root@example.com", "--role", "admin")
    idp("add-user", "x@example.com", "--role", "viewer")
    assert idp("ban", "x@example.com", "--yes").exit_code == 0
    src = write(tmp_path, "u.csv", "email,role\nx@example.com,editor\n")
    r = idp("import", src, "--update")
    assert r.exit_code == 5 and "line 2: x@example.com is banned: unban them" in r.stderr


def test_mixed_case_email_written_by_another_tool_counts_as_existing(
    idp: IdpRunner, rows_db: Db, tmp_path: Path
) -> None:
    idp.migrate()
    now = rows_db.date(datetime.now(UTC))
    rows_db.execute(
        'insert into "user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt") '
        "values ('mixed1', 'Mixed', 'Mixed.Case@Example.com', :v, :n, :n)",
        v=True,
        n=now,
    )
    src = write(tmp_path, "u.csv", "email\nmixed.case@example.com\n")
    r = idp("import", src, "--if-missing", "--json")
    assert r.exit_code == 0, r.stderr
    assert results(r.stdout)[0]["action"] == "skipped" and results(r.stdout)[0]["user_id"] == "mixed1"
    assert rows_db.count("user") == 1


def test_links_to_stdout_and_old_links_revoked(idp: IdpRunner, rows_db: Db, tmp_path: Path) -> None:
    idp.migrate()
    now = datetime.now(UTC)
    # a pending link for an email that has no user yet (e.g. requested on the sign-in page)
    rows_db.execute(
        'insert into "verification" ("id", "identifier", "value", "expiresAt", "createdAt", "updatedAt") '
        "values ('old1', 'OldTokenOldTokenOldTokenOldToken', :v, :e, :n, :n)",
        v='{"email":"fresh@example.com"}',
        e=rows_db.date(now + timedelta(hours=1)),
        n=rows_db.date(now),
    )
    src = write(tmp_path, "u.csv", "email\nfresh@example.com\n")
    r = idp("import", src, "--links", "-", "--ttl", "30m")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "email,magic_link,expires_at" and lines[1].startswith("fresh@example.com,https://")
    assert rows_db.count("verification", '"id" = :i', i="old1") == 0
    assert rows_db.count("verification") == 2


def test_no_links_without_the_option(idp: IdpRunner, rows_db: Db, tmp_path: Path) -> None:
    idp.migrate()
    src = write(tmp_path, "u.csv", "email\nquiet@example.com\n")
    r = idp("import", src)
    assert r.exit_code == 0
    assert r.stdout == ""
    assert "1 new user(s) have neither a password nor a link" in r.stderr
    assert rows_db.count("verification") == 0


def test_owox_links_need_the_secret(idp: IdpRunner, rows_db: Db, tmp_path: Path) -> None:
    idp.migrate()
    src = write(tmp_path, "u.csv", "email\na@example.com\n")
    r = idp("import", src, "--links", str(tmp_path / "l.csv"), env={"IDP_BETTER_AUTH_SECRET": ""})
    assert r.exit_code == 6
    assert rows_db.count("user") == 0


def test_many_users_in_batches(flavored: IdpRunner, rows_db: Db, tmp_path: Path) -> None:
    lines = "".join(f"user{i:04d}@example.com\n" for i in range(1, 1201))
    src = write(tmp_path, "many.csv", "email\n" + lines)
    r = flavored("import", src, "--batch-size", "250", "--links", str(tmp_path / "l.csv"))
    assert r.exit_code == 0, r.stderr
    assert "Created 1200," in r.stderr
    assert rows_db.count("user") == 1200
    assert rows_db.count("verification") == 2400
    assert len((tmp_path / "l.csv").read_text().splitlines()) == 1201
    if flavored.env["IDP_FLAVOR"] == "owox":
        assert rows_db.count("member") == 1200


def test_names_with_the_bulk_paths_special_characters_are_stored_as_given(
    flavored: IdpRunner, rows_db: Db, tmp_path: Path
) -> None:
    """PostgreSQL's COPY text format escapes backslash, tab, newline and carriage return and reads `\\N`
    as NULL; idp writes that format itself: every name comes back exactly as given."""
    names = ["Tab\there", "Back\\slash", "New\nline", "Carriage\rreturn", "\\N", "Zoë 李 🙂", "a\\tb"]
    text = "".join(
        json.dumps({"email": f"odd{i}@example.com", "name": n}) + "\n" for i, n in enumerate(names)
    )
    r = flavored("import", "-", "--links", str(tmp_path / "l.csv"), input=text)
    assert r.exit_code == 0, r.stderr
    stored = {u["email"]: u["name"] for u in rows_db.rows('select "email", "name" from "user"')}
    assert stored == {f"odd{i}@example.com": n for i, n in enumerate(names)}


# ----------------------------------------------------------------------------- interrupted, then resumed


def _assert_complete_users(rows_db: Db, owox: bool) -> int:
    """Every user has its role (and nothing half-written exists); returns the number of users."""
    users = rows_db.rows('select "id", "email" from "user"')
    if owox:
        members = {m["userId"] for m in rows_db.rows('select "userId" from "member"')}
        assert all(u["id"] in members for u in users)
    else:
        assert rows_db.count("user", '"role" is null') == 0
    user_ids = {u["id"] for u in users}
    assert all(a["userId"] in user_ids for a in rows_db.rows('select "userId" from "account"'))
    return len(users)


def test_interrupted_import_then_resumed(flavored: IdpRunner, rows_db: Db, tmp_path: Path) -> None:
    owox = flavored.env["IDP_FLAVOR"] == "owox"
    body = "".join(f"u{i:03d}@example.com,{'a-long-password' if i % 10 == 0 else ''}\n" for i in range(1, 51))
    src = write(tmp_path, "u.csv", "email,password\n" + body)
    links = tmp_path / "links.csv"
    # Ctrl-C in the middle of batch 3: batches 1-2 are committed, batch 3 is rolled back
    r = flavored(
        "import",
        src,
        "--batch-size",
        "10",
        "--links",
        str(links),
        env={"IDP_TEST_IMPORT_FAULT": "interrupt@3"},
    )
    assert r.exit_code == 130, r.stderr
    assert "Committed before stopping: created 20" in r.stderr
    assert "re-run the same command with --if-missing" in r.stderr
    assert _assert_complete_users(rows_db, owox) == 20
    # kill -9 in the middle of batch 2 of the resumed run (a real process, killed by the kernel)
    env = {**os.environ, **flavored.env, "IDP_TEST_IMPORT_FAULT": "kill@2"}
    cmd = [sys.executable, "-m", "owox_idp", "import", src, "--if-missing", "--batch-size", "10"]
    proc = subprocess.run([*cmd, "--links", str(links)], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    assert _assert_complete_users(rows_db, owox) == 30
    # the re-run finishes the job
    r = flavored("import", src, "--if-missing", "--batch-size", "10", "--links", str(links))
    assert r.exit_code == 0, r.stderr
    assert "Created 20, updated 0, skipped 30, failed 0." in r.stderr
    assert _assert_complete_users(rows_db, owox) == 50
    assert rows_db.count("account") == 5
    link_emails = [line.split(",")[0] for line in links.read_text().splitlines()[1:]]
    assert len(link_emails) == len(set(link_emails)) == 45  # every passwordless user has exactly one link
