"""Files that receive secrets: created new and private, never through a symlink, never someone else's."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from owox_idp.errors import ExitCode, IdpError, Refused, UsageError
from owox_idp.safefile import create_private_file, exposure, open_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_new_file_is_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        with open_private(tmp_path / "links.csv") as fh:
            fh.write("secret\n")
    finally:
        os.umask(old)
    assert mode(tmp_path / "links.csv") == 0o600


def test_existing_file_is_refused_without_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("keep me")
    with pytest.raises(Refused) as info:
        open_private(target)
    assert info.value.exit_code == ExitCode.REFUSED
    assert target.read_text() == "keep me"


def test_symlink_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    victim.chmod(0o644)
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    for kw in ({}, {"overwrite": True}, {"append": True}):
        with pytest.raises(Refused):
            open_private(link, **kw)
    assert victim.read_text() == "precious" and mode(victim) == 0o644
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(Refused):
        open_private(dangling)
    assert not (tmp_path / "nowhere").exists()


def test_overwrite_truncates_through_the_fd_and_fixes_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old contents that are long")
    target.chmod(0o644)
    with open_private(target, overwrite=True) as fh:
        fh.write("new")
    assert target.read_text() == "new" and mode(target) == 0o600


def test_append_keeps_contents_and_makes_them_private(tmp_path: Path) -> None:
    target = tmp_path / "links.csv"
    target.write_text("a\n")
    target.chmod(0o666)
    with open_private(target, append=True) as fh:
        fh.write("b\n")
    assert target.read_text() == "a\nb\n" and mode(target) == 0o600


def test_fifo_and_hard_links_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(IdpError):  # never blocks waiting for a reader
        open_private(fifo, overwrite=True)
    original = tmp_path / "original"
    original.write_text("x")
    os.link(original, tmp_path / "hard")
    with pytest.raises(Refused):
        open_private(tmp_path / "hard", append=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a file owned by another user")
def test_file_of_another_user_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "links.csv"
    target.write_text("")
    os.chown(target, 65534, 65534)
    with pytest.raises(Refused, match="another user"):
        open_private(target, append=True)


def test_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        open_private(tmp_path / "no" / "such" / "dir.csv")


def test_create_private_file_for_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "auth.db"
    old = os.umask(0o022)
    try:
        assert create_private_file(db) is True
    finally:
        os.umask(old)
    assert mode(db) == 0o600 and exposure(db) is None
    assert create_private_file(db) is False
    db.chmod(0o644)
    assert "every local user" in (exposure(db) or "")
    link = tmp_path / "link.db"
    link.symlink_to(tmp_path / "elsewhere.db")
    with pytest.raises(Refused):
        create_private_file(link)
    assert not (tmp_path / "elsewhere.db").exists()
    assert exposure(tmp_path / "missing.db") is None
