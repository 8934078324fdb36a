"""The audit trail on every dialect: what each data-changing command records (when, who, command,
target, outcome, --reason), refusals in a transaction of their own, `idp audit` and its filters, that
no secret reaches the table, that cleanup keeps it unless asked, and that nothing is recorded (with a
warning) before `idp migrate` created it."""

from __future__ import annotations

import getpass
import socket
from typing import Any

import sqlalchemy as sa
from idp_runner import TEST_SECRET, IdpRunner

PASSWORD = "correct horse battery staple"


def _rows(idp: IdpRunner) -> list[dict[str, Any]]:
    engine = sa.create_engine(idp.db.sa_url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text("select * from idp_audit order by id")).mappings()]
    finally:
        engine.dispose()


def _audit(idp: IdpRunner, *args: str) -> list[dict[str, Any]]:
    r = idp("audit", "--json", *args)
    assert r.exit_code == 0, r.stderr
    return r.json()  # type: ignore[no-any-return]


def test_every_change_is_recorded_with_who_and_why(idp: IdpRunner) -> None:
    idp.migrate()
    assert idp("add-user", "boss@example.com", "--role", "admin", "--reason", "first admin").exit_code == 0
    assert idp("add-user", "ana@example.com", "--role", "editor").exit_code == 0
    assert idp("set-role", "ANA@example.com", "viewer", "--reason", "ticket OPS-7").exit_code == 0
    assert idp("ban", "ana@example.com", "--reason", "left the company", "--yes").exit_code == 0
    assert idp("unban", "ana@example.com", "--reason", "came back").exit_code == 0
    assert idp("revoke-sessions", "ana@example.com", "--yes", "--reason", "lost laptop").exit_code == 0
    assert idp("reset-password", "ana@example.com", "--yes").exit_code == 0
    assert idp("bootstrap-admin", "boss@example.com").exit_code == 0
    assert idp("delete-user", "ana@example.com", "--yes", "--reason", "GDPR request").exit_code == 0

    entries = _audit(idp)
    assert [e["command"] for e in entries] == [
        "delete-user",
        "bootstrap-admin",
        "reset-password",
        "revoke-sessions",
        "unban",
        "ban",
        "set-role",
        "add-user",
        "add-user",
        "migrate",
    ]
    assert all(e["outcome"] == "ok" and e["exit_code"] == 0 for e in entries)
    assert {e["actor"] for e in entries} == {f"{getpass.getuser()}@{socket.gethostname()}"}
    by = {(e["command"], e["target"]): e for e in entries}
    role = by[("set-role", "ana@example.com")]
    assert role["reason"] == "ticket OPS-7"
    assert "role=viewer" in role["detail"] and "previous_role=editor" in role["detail"]
    assert by[("ban", "ana@example.com")]["reason"] == "left the company"  # the ban's reason, recorded too
    assert by[("delete-user", "ana@example.com")]["reason"] == "GDPR request"
    assert by[("add-user", "boss@example.com")]["user_id"]
    assert all(e["at"].endswith("Z") for e in entries)

    # --user: the entries about one user (also those made when they were found by id), newest first
    about = _audit(idp, "--user", "Boss@Example.com")
    assert [e["command"] for e in about] == ["bootstrap-admin", "add-user"]
    assert [e["command"] for e in _audit(idp, "--limit", "2")] == ["delete-user", "bootstrap-admin"]
    assert len(_audit(idp, "--since", "1h")) == len(entries)
    assert _audit(idp, "--since", "2999-01-01") == []

    text = idp("audit")
    assert text.exit_code == 0 and "ticket OPS-7" in text.stdout and "set-role" in text.stdout


def test_refusals_and_errors_are_recorded_in_their_own_transaction(idp: IdpRunner) -> None:
    idp.migrate()
    assert idp("add-user", "only@example.com", "--role", "admin").exit_code == 0
    r = idp("set-role", "only@example.com", "viewer", "--reason", "try")
    assert r.exit_code == 8
    r = idp("delete-user", "ghost@example.com", "--yes")
    assert r.exit_code == 3
    r = idp("add-user", "only@example.com")
    assert r.exit_code == 4
    entries = _audit(idp)
    assert [(e["command"], e["outcome"], e["exit_code"]) for e in entries[:3]] == [
        ("add-user", "conflict", 4),
        ("delete-user", "not-found", 3),
        ("set-role", "refused", 8),
    ]
    assert entries[2]["reason"] == "try" and "last active admin" in entries[2]["detail"]
    # the refused change itself was rolled back
    assert idp("show-user", "only@example.com", "--json").json()["role"] == "admin"


def test_no_secret_reaches_the_table(idp: IdpRunner) -> None:
    idp.flavor("better-auth")
    idp.migrate()
    r = idp("add-user", "pw@example.com", "--role", "admin", "--password-stdin", "--json", input=PASSWORD)
    assert r.exit_code == 0, r.stderr
    link = r.json()["magic_link"]
    r = idp("add-user", "link@example.com", "--json")
    link2 = r.json()["magic_link"]
    r = idp("reset-password", "pw@example.com", "--password-stdin", "--yes", input=PASSWORD + "2")
    assert r.exit_code == 0, r.stderr
    r = idp("reset-password", "link@example.com", "--yes", "--json")
    link3 = r.json()["magic_link"]
    r = idp("2fa", "enable", "link@example.com", "--json")
    assert r.exit_code == 0, r.stderr
    enrol = r.json()
    # a password that fails the policy: the error is recorded, the password is not
    short = "pw-" + "x" * 200
    r = idp("add-user", "bad@example.com", "--password-stdin", input=short)
    assert r.exit_code == 5
    dump = repr(_rows(idp))
    tokens = [u.split("token=")[1].split("&")[0] for u in (link, link2, link3) if u]
    for secret in [
        PASSWORD,
        PASSWORD + "2",
        short,
        TEST_SECRET,
        link,
        link2,
        link3,
        *tokens,
        enrol["secret"],
        enrol["otpauth_uri"],
        *enrol["backup_codes"],
    ]:
        assert secret not in dump, secret
    assert "2fa enable" in dump and "invalid-input" in dump


def test_import_is_one_entry_with_the_counts(idp: IdpRunner) -> None:
    idp.migrate()
    (idp.tmp_path / "users.csv").write_text(
        "email,role\na@example.com,admin\nb@example.com,viewer\nbad,viewer\n"
    )
    r = idp("import", str(idp.tmp_path / "users.csv"), "--reason", "migration from LDAP")
    assert r.exit_code == 5  # one row failed
    r = idp("import", str(idp.tmp_path / "users.csv"), "--dry-run", "--if-missing")
    entries = [e for e in _audit(idp) if e["command"] == "import"]
    assert len(entries) == 1  # the dry run changed nothing and is not recorded
    e = entries[0]
    assert e["reason"] == "migration from LDAP" and e["target"].endswith("users.csv")
    assert "created=2" in e["detail"] and "failed=1" in e["detail"]


def test_cleanup_keeps_the_trail_unless_asked(idp: IdpRunner) -> None:
    idp.migrate()
    assert idp("add-user", "a@example.com", "--role", "admin").exit_code == 0
    r = idp("cleanup", "--json")
    assert r.exit_code == 0 and "audit_entries" not in r.json()
    assert len(_rows(idp)) == 3  # migrate, add-user, cleanup
    r = idp("cleanup", "--audit-older-than", "1d", "--dry-run", "--json")
    assert r.json()["audit_entries"] == 0
    engine = sa.create_engine(idp.db.sa_url)
    try:
        with engine.begin() as conn:  # age the first two entries
            conn.execute(sa.text("update idp_audit set at = :old where id <= 2"), {"old": _old(idp)})
    finally:
        engine.dispose()
    r = idp("cleanup", "--audit-older-than", "1d", "--json")
    assert r.exit_code == 0 and r.json()["audit_entries"] == 2
    assert [e["command"] for e in _audit(idp)] == ["cleanup", "cleanup"]
    assert idp("cleanup", "--audit-older-than", "soon").exit_code == 5


def _old(idp: IdpRunner) -> Any:
    from datetime import datetime

    if idp.db.dialect == "sqlite":
        return "2000-01-01T00:00:00.000Z"
    return datetime(2000, 1, 1)


def test_without_the_table_nothing_is_recorded_and_the_command_says_so(idp: IdpRunner) -> None:
    idp.migrate()
    engine = sa.create_engine(idp.db.sa_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("drop table idp_audit"))
    finally:
        engine.dispose()
    r = idp("add-user", "a@example.com", "--role", "admin")
    assert r.exit_code == 0 and "not in the audit trail" in r.stderr and "idp migrate" in r.stderr
    r = idp("audit")
    assert r.exit_code == 7 and "idp_audit" in r.stderr
    info = idp("info", "--json").json()
    assert info["schema"]["status"] == "up-to-date"
    assert info["schema"]["missing_idp_tables"] == ["idp_audit"]
    assert any("audit table" in w for w in info["warnings"])
    idp.migrate()  # creates only idp's table
    assert idp("set-role", "a@example.com", "admin").exit_code == 0
    assert [e["command"] for e in _audit(idp)] == ["set-role", "migrate"]


def test_audit_errors(idp: IdpRunner) -> None:
    r = idp("audit")
    assert r.exit_code == 7  # no schema at all
    idp.migrate()
    assert idp("audit", "--since", "yesterday").exit_code == 5
    assert idp("audit", "--limit", "0").exit_code == 5
    assert idp("audit", "--user", "not-an-email").exit_code == 5
    assert idp("add-user", "a@example.com", "--reason", "x" * 1001).exit_code == 5
    assert idp("audit", "--json", "--user", "nobody@example.com").json() == []


def test_the_everyday_edits_and_api_keys_are_recorded_without_their_secrets(idp: IdpRunner) -> None:
    """update-user, issue-link (one and in bulk), 2fa unlock / backup-codes, api-key create / revoke:
    an entry each, with the target, outcome and --reason, and never the link, codes or key."""
    idp.flavor("better-auth")
    idp.env["IDP_PLUGINS"] = "admin,two-factor,magic-link,api-key"
    idp.migrate()
    assert idp("add-user", "boss@example.com", "--role", "admin").exit_code == 0
    assert idp("add-user", "kim@example.com").exit_code == 0
    r = idp(
        "update-user",
        "kim@example.com",
        "--name",
        "Kim K",
        "--email",
        "KIM2@example.com",
        "--reason",
        "rename",
    )
    assert r.exit_code == 0, r.stderr
    r = idp("issue-link", "kim2@example.com", "--json", "--reason", "asked by phone")
    assert r.exit_code == 0, r.stderr
    link = r.json()["magic_link"]
    links_file = idp.tmp_path / "links.csv"
    r = idp("issue-link", "--without-password", "--links", str(links_file), "--reason", "CI forgot --links")
    assert r.exit_code == 0, r.stderr
    bulk_links = links_file.read_text()
    enrol = idp("2fa", "enable", "kim2@example.com", "--json").json()
    r = idp("2fa", "unlock", "kim2@example.com", "--reason", "locked out")
    assert r.exit_code == 0, r.stderr
    r = idp("2fa", "backup-codes", "kim2@example.com", "--json", "--reason", "lost codes")
    assert r.exit_code == 0, r.stderr
    codes = r.json()["backup_codes"]
    r = idp("api-key", "create", "kim2@example.com", "--name", "ci", "--json", "--reason", "deploy bot")
    assert r.exit_code == 0, r.stderr
    key = r.json()
    r = idp("api-key", "revoke", key["id"], "--yes", "--reason", "rotated")
    assert r.exit_code == 0, r.stderr
    r = idp("api-key", "revoke", "--all", "kim2@example.com", "--yes")
    assert r.exit_code == 0, r.stderr
    r = idp("update-user", "ghost@example.com", "--name", "x", "--reason", "typo")
    assert r.exit_code == 3

    entries = _audit(idp)
    got = [(e["command"], e["target"], e["outcome"], e["reason"]) for e in entries[:10]]
    assert got == [
        ("update-user", "ghost@example.com", "not-found", "typo"),
        ("api-key revoke", "kim2@example.com", "ok", None),
        ("api-key revoke", key["id"], "ok", "rotated"),
        ("api-key create", "kim2@example.com", "ok", "deploy bot"),
        ("2fa backup-codes", "kim2@example.com", "ok", "lost codes"),
        ("2fa unlock", "kim2@example.com", "ok", "locked out"),
        ("2fa enable", "kim2@example.com", "ok", None),
        ("issue-link --without-password", None, "ok", "CI forgot --links"),
        ("issue-link", "kim2@example.com", "ok", "asked by phone"),
        ("update-user", "kim@example.com", "ok", "rename"),
    ]
    user_id = entries[1]["user_id"]
    assert user_id and all(e["user_id"] == user_id for e in entries[1:7] + entries[8:10])
    assert "changed=name+email" in entries[9]["detail"]
    assert "previous_email=kim@example.com" in entries[9]["detail"]
    assert "links=2" in entries[7]["detail"]  # boss and kim2: neither has a password
    # `idp audit --user` finds the entries made under the old email by the user's id
    assert len(_audit(idp, "--user", "kim2@example.com")) >= 9
    dump = repr(_rows(idp))
    import csv

    bulk = [row["magic_link"] for row in csv.DictReader(bulk_links.splitlines())]
    assert len(bulk) == 2
    tokens = [u.split("token=")[1].split("&")[0] for u in (link, *bulk)]
    secrets = [link, *bulk, *tokens, enrol["secret"], *enrol["backup_codes"], *codes, key["key"]]
    for secret in secrets:
        assert secret not in dump, secret
