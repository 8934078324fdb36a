"""A links file that cannot be written (a full disk, simulated without root by RLIMIT_FSIZE: write()
gets EFBIG): the batch and its links are committed together or not at all, the command fails with one
clear line and exit 1, and the `--if-missing` re-run finishes the job."""

from __future__ import annotations

import os
import resource
import signal
from collections.abc import Callable
from pathlib import Path

from faultkit import (
    Counters,
    Db,
    assert_all_imported,
    assert_complete_users,
    assert_links_known,
    finish,
    spawn,
)
from idp_runner import IdpRunner

PAD = 4 * 1024 * 1024  # larger than any test database file, which the limit also applies to (SQLite)
ROOM = 30_000  # room left in the links file: at least one batch of 40 links, never all of them


def _padded_links_file(path: Path) -> int:
    """An existing links file of ours (0600) that is already large: the earlier run's lines."""
    line = "pad{:06d}@example.invalid,https://pad.invalid/verify?token=pad{:06d},2000-01-01T00:00:00.000Z\n"
    with open(path, "w") as f:
        f.write("email,magic_link,expires_at\n")
        i = 0
        while f.tell() < PAD:
            f.write(line.format(i, i))
            i += 1
    os.chmod(path, 0o600)
    return path.stat().st_size


def _limit(size: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return apply


def test_links_file_full_rolls_the_batch_back(flavored: IdpRunner, other: Db, tmp_path: Path) -> None:
    owox = flavored.env["IDP_FLAVOR"] == "owox"
    emails = [f"d{i:04d}@example.com" for i in range(400)]
    src = tmp_path / "users.csv"
    src.write_text("email\n" + "".join(f"{e}\n" for e in emails))
    links = tmp_path / "links.csv"
    size = _padded_links_file(links)
    args = ("import", str(src), "--if-missing", "--batch-size", "40", "--links", str(links))

    proc = spawn(flavored.env, *args, preexec_fn=_limit(size + ROOM))
    code, _, err = finish(proc)
    Counters.fault("links file full (RLIMIT_FSIZE)")
    assert code == 1, err
    assert "Traceback" not in err
    assert "cannot write the links file" in err and "rolled back" in err, err
    assert "re-run the same command with --if-missing" in err, err
    written = len(other.users())
    assert 0 < written < len(emails) and written % 40 == 0, written  # whole batches only
    assert_complete_users(other, owox=owox)
    assert_links_known(other, links)  # no user with a live link nobody has
    assert links.read_bytes().endswith(b"\n")  # cut back to a whole line

    # no room at all: nothing is committed
    proc = spawn(flavored.env, *args, preexec_fn=_limit(links.stat().st_size))
    code, _, err = finish(proc)
    Counters.fault("links file full (RLIMIT_FSIZE)")
    assert code == 1 and "cannot write the links file" in err, err
    assert len(other.users()) == written
    assert_links_known(other, links)

    code, _, err = finish(spawn(flavored.env, *args))
    assert code == 0, err
    assert f"skipped {written}" in err, err
    assert_all_imported(other, emails, links, with_password=set())


def test_issue_link_without_password_full(flavored: IdpRunner, other: Db, tmp_path: Path) -> None:
    """`issue-link --without-password --links FILE` (the other writer of links files) likewise."""
    emails = [f"w{i:03d}@example.com" for i in range(240)]
    src = tmp_path / "users.csv"
    src.write_text("email\n" + "".join(f"{e}\n" for e in emails))
    code, _, err = finish(spawn(flavored.env, "import", str(src)))
    assert code == 0, err
    links = tmp_path / "links.csv"
    size = _padded_links_file(links)
    args = ("issue-link", "--without-password", "--links", str(links), "--batch-size", "40")
    code, _, err = finish(spawn(flavored.env, *args, preexec_fn=_limit(size + ROOM // 2)))
    Counters.fault("links file full (RLIMIT_FSIZE)")
    assert code == 1 and "cannot write the links file" in err, err
    assert "Traceback" not in err
    assert_links_known(other, links)
