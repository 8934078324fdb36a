"""A closed stdout (`| head -1`, `| grep -q`): readers end cleanly with exit 0 and no traceback; an import
stops after the batch in hand, which is rolled back with its links (its results never reached anyone),
and the `--if-missing` re-run finishes the job."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from faultkit import (
    Counters,
    Db,
    assert_all_imported,
    assert_complete_users,
    assert_links_known,
    finish,
    idp_command,
    spawn,
)
from idp_runner import IdpRunner


def _closed_stdout(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run idp with a stdout whose reader is already gone: its first write fails (EPIPE)."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = spawn(env, *args, stdout=write)
    finally:
        os.close(write)
    code, _, err = finish(proc)
    Counters.fault("closed stdout")
    return code, err


def _seed(idp: IdpRunner, tmp_path: Path, n: int) -> list[str]:
    emails = [f"c{i:04d}@example.com" for i in range(n)]
    src = tmp_path / "seed.csv"
    src.write_text("email,name\n" + "".join(f"{e},Name {e}\n" for e in emails))
    r = idp("import", str(src))
    assert r.exit_code == 0, r.stderr
    return emails


READERS = (
    ("list-users",),
    ("list-users", "--json"),
    ("list-users", "--quiet"),
    ("list-users", "--count"),
    ("list-sessions",),
    ("export",),
    ("export", "--format", "jsonl"),
    ("show-user", "c0001@example.com"),
    ("check-user", "c0001@example.com", "--json"),
    ("info",),
    ("doctor",),
    ("audit",),
)


def test_readers_with_closed_stdout_exit_0(flavored: IdpRunner, tmp_path: Path) -> None:
    _seed(flavored, tmp_path, 30)
    for args in READERS:
        code, err = _closed_stdout(flavored.env, *args)
        assert code in (0, 9) if args[0] in ("doctor", "check-user") else code == 0, (args, err)
        assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err, err


def test_real_pipelines_head_and_grep(flavored: IdpRunner, tmp_path: Path) -> None:
    _seed(flavored, tmp_path, 1500)  # more output than a pipe holds: idp is still writing when head exits
    env = {**os.environ, **flavored.env}
    idp = " ".join(idp_command())
    for pipeline in (
        f"{idp} list-users --limit 100000 | head -1",
        f"{idp} list-users --json --limit 100000 | head -c 10",
        f"{idp} list-users --limit 100000 | grep -q c0",
        f"{idp} export | head -1",
    ):
        proc = subprocess.run(
            ["bash", "-o", "pipefail", "-c", pipeline], env=env, capture_output=True, timeout=120
        )
        Counters.fault("closed stdout")
        assert proc.returncode == 0, (pipeline, proc.stderr.decode())
        assert b"Traceback" not in proc.stderr and b"Exception ignored" not in proc.stderr, proc.stderr


def test_import_json_with_closed_stdout(flavored: IdpRunner, other: Db, tmp_path: Path) -> None:
    owox = flavored.env["IDP_FLAVOR"] == "owox"
    emails = [f"j{i:04d}@example.com" for i in range(120)]
    src = tmp_path / "users.csv"
    src.write_text("email\n" + "".join(f"{e}\n" for e in emails))
    links = tmp_path / "links.csv"
    args = ("import", str(src), "--if-missing", "--batch-size", "40", "--links", str(links))
    code, err = _closed_stdout(flavored.env, *args, "--json")
    assert code == 1, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert "standard output was closed" in err and "--if-missing" in err, err
    # the batch in hand (the first) is rolled back with its links: nothing else was written
    assert other.users() == {}
    assert_complete_users(other, owox=owox)
    assert_links_known(other, links)
    # --links - (the links on stdout): same
    code, err = _closed_stdout(flavored.env, "import", str(src), "--if-missing", "--links", "-")
    assert code == 1, err
    assert other.users() == {}
    code, _, err = finish(spawn(flavored.env, *args))
    assert code == 0, err
    assert_all_imported(other, emails, links, with_password=set())
