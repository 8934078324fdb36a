"""What the fuzz suite found whose fix lies outside the hardening files: one exact reproduction each,
marked xfail(strict=True) with where the fix belongs. When a fix lands the test XPASSes, which fails
the run: remove the marker and the matching entry of fuzzkit.KNOWN, and the broad fuzz tests guard it
from then on.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fuzzkit import Run, dump, problem
from fuzzkit_harness import VICTIM_TEXT, Harness

# Every finding below has been fixed where its reason says (issue 13, wave 2); the reasons stay as the
# record of what each test guards. `FIXED` lists them: a finding found later goes in as xfail(strict).
FIXED = True


def xfail(reason: str) -> pytest.MarkDecorator:
    if FIXED:
        return pytest.mark.regression(reason)
    return pytest.mark.xfail(strict=True, reason=reason)


def only_on(request: pytest.FixtureRequest, harness: Harness, dialects: tuple[str, ...], reason: str) -> None:
    """xfail(strict) on the dialects where the finding shows; the others must pass already."""
    if harness.idp.db.dialect in dialects and not FIXED:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def check(harness: Harness, *args: str, input: Any = None, flavor: str = "owox", tty: bool = False) -> Run:
    run = harness.run(args[0], list(args), input=input, env={"IDP_FLAVOR": flavor}, tty=tty)
    found = problem(run)
    assert found is None, found
    return run


# ----------------------------------------------------------------------------- integers and cursors


@xfail(
    "services/users.py list_users and services/sessions.py list_sessions must bound --limit/--offset "
    "with validation.validate_limit/validate_offset (a 10**30 limit reaches the driver: OverflowError on "
    "SQLite, 'bigint out of range' on PostgreSQL, exit 1)"
)
@pytest.mark.parametrize("command", ["list-users", "list-sessions"])
@pytest.mark.parametrize("option", ["--limit", "--offset"])
def test_huge_limit_or_offset_is_exit_5(harness: Harness, command: str, option: str) -> None:
    run = check(harness, command, option, str(10**30))
    assert run.exit_code == 5


@pytest.mark.parametrize(
    ("cursor", "failing_on"),
    [("9999-12-31T23:59:59.999Z,\x00", ("postgresql",)), ("0001-01-01T00:00:00.000Z,x" + "y" * 70_000, ())],
)
def test_odd_cursors_are_exit_5(
    request: pytest.FixtureRequest, harness: Harness, cursor: str, failing_on: tuple[str, ...]
) -> None:
    only_on(
        request,
        harness,
        failing_on,
        "services/users.py parse_cursor: the cursor's id goes unchecked "
        "into SQL (a NUL is a database error on PostgreSQL); exit 5 on every dialect",
    )
    for command in ("list-users", "list-sessions"):
        run = check(harness, command, "--after", cursor, "--limit", "2")
        assert run.exit_code in (0, 5)


# ----------------------------------------------------------------------------- text that reaches SQL


@xfail(
    "services/users.py add_user/reset/ban (and bulk import) must call validation.validate_name / "
    "validate_text: a NUL byte is a database error on PostgreSQL, a 300-character name on MariaDB "
    "(varchar(255)); exit 5 on every dialect"
)
@pytest.mark.parametrize("name", ["a\x00b", "x" * 300])
def test_bad_names_are_exit_5_on_every_dialect(harness: Harness, name: str) -> None:
    run = check(harness, "add-user", "fresh-name@example.com", "--name", name)
    assert run.exit_code == 5


@xfail(
    "services/users.py ban: --reason goes unchecked into banReason (NUL on PostgreSQL, > 64 KiB on "
    "MariaDB text); call validation.validate_text"
)
@pytest.mark.parametrize("reason", ["a\x00b", "r" * 70_000])
def test_bad_ban_reason_is_exit_5(harness: Harness, reason: str) -> None:
    run = check(harness, "ban", "ann@example.com", "--yes", "--reason", reason)
    assert run.exit_code == 5


def test_search_with_nul_is_exit_5(request: pytest.FixtureRequest, harness: Harness) -> None:
    only_on(
        request,
        harness,
        ("postgresql",),
        "services/users.py list_users: --search with a NUL byte is a "
        "database error on PostgreSQL; call validation.validate_text",
    )
    run = check(harness, "list-users", "--search", "a\x00")
    assert run.exit_code in (0, 5)


def test_session_id_with_nul(request: pytest.FixtureRequest, harness: Harness) -> None:
    only_on(
        request,
        harness,
        ("postgresql",),
        "services/sessions.py revoke_sessions: --session-id with NUL is a database error on PostgreSQL",
    )
    run = check(harness, "revoke-sessions", "ann@example.com", "--yes", "--session-id", "x\x00")
    assert run.exit_code in (3, 5)


@xfail(
    "services/users.py add_user / services/links.py: --callback-url is not checked (NUL, control "
    "characters and unbounded length go into the verification row and the printed link)"
)
def test_callback_url_is_checked(harness: Harness) -> None:
    run = check(harness, "add-user", "cb@example.com", "--callback-url", "/\x00\x1b[2J", flavor="better-auth")
    assert run.exit_code == 5


# ----------------------------------------------------------------------------- durations


@xfail(
    "cli/common.py _ttl must call validation.parse_link_ttl (30 days, MAX_LINK_TTL): --ttl 400d is "
    "issued today (parse_duration now refuses only more than 5 years)"
)
def test_link_ttl_is_capped(harness: Harness) -> None:
    run = check(harness, "add-user", "ttl@example.com", "--ttl", "400d")
    assert run.exit_code == 5


# ----------------------------------------------------------------------------- files


@xfail(
    "cli/bulk.py _open_private follows symlinks and truncates/chmods the target: use "
    "safefile.open_private (export -o: refuse an existing file unless asked; --links: append=True)"
)
@pytest.mark.parametrize("option", ["export", "links"])
def test_secret_files_never_follow_symlinks(harness: Harness, option: str) -> None:
    link = Path(harness.path_value("symlink"))
    if option == "export":
        harness.run("export", ["export", "-o", str(link)], input=None, env={}, tty=False)
    else:
        users = Path(harness.path_value("existing", f"email\nlinked-{option}@example.com\n".encode()))
        harness.run("import", ["import", str(users), "--links", str(link)], input=None, env={}, tty=False)
    assert harness.victim.read_text() == VICTIM_TEXT
    assert stat.S_IMODE(harness.victim.stat().st_mode) == 0o644


@xfail(
    "cli/bulk.py: a links file that exists and belongs to another user (or is readable by others) "
    "receives the links; safefile.open_private(append=True) refuses another user's file and fchmods 0600"
)
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a file owned by another user")
def test_links_file_of_another_user_is_refused(harness: Harness) -> None:
    target = Path(harness.path_value("fresh"))
    target.write_text("")
    target.chmod(0o666)
    os.chown(target, 65534, 65534)
    users = Path(harness.path_value("existing", b"email\nforeign@example.com\n"))
    harness.run("import", ["import", str(users), "--links", str(target)], input=None, env={}, tty=False)
    assert "magic" not in target.read_text()


@xfail(
    "services/bulk.py _read_csv: an unterminated quote swallows every row after it and exits 0; it must "
    "be a failed row (or a file error, exit 5)"
)
def test_unterminated_quote_in_csv(harness: Harness) -> None:
    users = Path(
        harness.path_value(
            "existing", b'email,name\nq1@example.com,"unterminated\nq2@example.com,Bob\nq3@example.com,Cy\n'
        )
    )
    run = check(harness, "import", str(users))
    assert run.exit_code == 5


@xfail(
    "services/schema.py generate_secret / cli/schema.py: --write must refuse to replace an existing "
    "secret unless --force (config.write_config_value(..., replace=force))"
)
def test_generate_secret_write_refuses_to_overwrite(harness: Harness) -> None:
    config = Path(harness.path_value("fresh"))
    first = check(harness, "--config", str(config), "generate-secret", "--write")
    assert first.exit_code == 0
    before = config.read_text()
    second = harness.run(
        "generate-secret",
        ["--config", str(config), "generate-secret", "--write"],
        input=None,
        env={},
        tty=False,
    )
    assert second.exit_code == 8 and config.read_text() == before


@xfail(
    "db/engine.py create_engine: a new SQLite file must be created 0600 (safefile.create_private_file) "
    "before SQLite opens it; it holds session tokens"
)
def test_new_sqlite_database_is_private(harness: Harness) -> None:
    path = Path(harness.path_value("fresh") + ".db")
    old = os.umask(0o022)
    try:
        run = harness.run(
            "migrate",
            ["migrate", "--yes"],
            input=None,
            env={"IDP_DATABASE_URL": f"sqlite:///{path}"},
            tty=False,
        )
    finally:
        os.umask(old)
    assert run.exit_code == 0, run.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# ----------------------------------------------------------------------------- stdin


@xfail(
    "cli/common.py _read_password: a non-UTF-8 password on stdin is an unexpected failure whose message "
    "shows the byte; it must be exit 5 without any of the password"
)
def test_non_utf8_password_on_stdin(harness: Harness) -> None:
    run = check(harness, "add-user", "pw@example.com", "--password-stdin", input=b"\xccsecret-pw\n")
    assert run.exit_code == 5 and "0xcc" not in run.stderr


def test_database_is_unchanged_by_these_probes(harness: Harness) -> None:
    """The dump the suite compares is complete: it sees the seeded rows of every table."""
    state = dump(harness.engine)
    assert any(rows for rows in state.values()) and "session" in state
