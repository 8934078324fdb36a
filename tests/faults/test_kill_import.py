"""`kill -9` of a running `idp import` at several points, then re-runs until the job is done.

Kill points are progress seen from outside (users visible from another connection, lines in the links
file, the hashing workers started) plus fixed delays. After each kill: no half-written user, no live link
that is not in the links file, no process of the killed idp left (its hashing workers die with it); and
`import --if-missing --links` run again finishes the job, every user exactly once with a password or a
link.
"""

from __future__ import annotations

import time
from pathlib import Path

from faultkit import (
    Db,
    assert_all_imported,
    assert_complete_users,
    assert_links_known,
    children,
    finish,
    kill9,
    spawn,
    wait_for,
)
from idp_runner import IdpRunner


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def _check(other: Db, links: Path, *, owox: bool) -> None:
    assert_complete_users(other, owox=owox)
    assert_links_known(other, links)


def test_kill_import_of_passwordless_users_with_links(flavored: IdpRunner, other: Db, tmp_path: Path) -> None:
    owox = flavored.env["IDP_FLAVOR"] == "owox"
    emails = [f"k{i:04d}@example.com" for i in range(240)]
    src = tmp_path / "users.csv"
    src.write_text("email,name\n" + "".join(f"{e},User {i}\n" for i, e in enumerate(emails)))
    links = tmp_path / "links.csv"
    args = ("import", str(src), "--if-missing", "--batch-size", "40", "--links", str(links))

    # 1: once the first batch's links are in the file (header + 40 lines)
    proc = spawn(flavored.env, *args)
    wait_for("the first batch's links", lambda: _lines(links) >= 41, proc)
    kill9(proc, "import --links: after a batch's links")
    _check(other, links, owox=owox)
    # 2: as soon as a user of the second run is visible from another connection
    before = len(other.users())
    proc = spawn(flavored.env, *args)
    wait_for("new users", lambda: len(other.users()) > before, proc)
    kill9(proc, "import --links: users visible")
    _check(other, links, owox=owox)
    # 3, 4: fixed delays (wherever they fall: reading the file, planning, writing)
    for delay in (0.3, 1.0):
        proc = spawn(flavored.env, *args)
        time.sleep(delay)
        if proc.poll() is None:
            kill9(proc, f"import --links: after {delay}s")
        else:
            finish(proc)
        _check(other, links, owox=owox)
    # the re-run finishes the job
    code, _, err = finish(spawn(flavored.env, *args))
    assert code == 0, err
    _check(other, links, owox=owox)
    assert_all_imported(other, emails, links, with_password=set())


def test_kill_import_with_passwords_stops_the_hashing_workers(
    flavored: IdpRunner, other: Db, tmp_path: Path
) -> None:
    owox = flavored.env["IDP_FLAVOR"] == "owox"
    emails = [f"p{i:03d}@example.com" for i in range(30)]
    with_password = {e for i, e in enumerate(emails) if i % 5 != 4}
    src = tmp_path / "users.csv"
    src.write_text(
        "email,password\n" + "".join(f"{e},{'pw-' + e if e in with_password else ''}\n" for e in emails)
    )
    links = tmp_path / "links.csv"
    args = ("import", str(src), "--if-missing", "--batch-size", "4", "--links", str(links))

    # 1: the hashing workers are running, nothing committed yet
    proc = spawn(flavored.env, *args)
    wait_for("the hashing workers", lambda: len(children(proc.pid)) >= 1, proc)
    kill9(proc, "import passwords: workers started")
    _check(other, links, owox=owox)
    # 2, 3: after N users are visible from another connection
    for more in (4, 8):
        target = len(other.users()) + more
        proc = spawn(flavored.env, *args)
        wait_for(f"{target} users", lambda t=target: len(other.users()) >= t, proc)  # type: ignore[misc]
        kill9(proc, f"import passwords: {more} more users visible")
        _check(other, links, owox=owox)
    # 4: a fixed delay
    proc = spawn(flavored.env, *args)
    time.sleep(0.5)
    if proc.poll() is None:
        kill9(proc, "import passwords: after 0.5s")
    else:
        finish(proc)
    _check(other, links, owox=owox)
    code, _, err = finish(spawn(flavored.env, *args))
    assert code == 0, err
    _check(other, links, owox=owox)
    assert_all_imported(other, emails, links, with_password=with_password)
