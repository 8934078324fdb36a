"""Files that receive secrets (sign-in links, exports, the SQLite database): only their owner can read
them, and a path prepared by someone else can never redirect them.

- A new file is created with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600: if anything already sits at the
  path (a file, a symlink, a FIFO), the command refuses (exit 8) instead of writing into it, truncating
  it or chmod-ing whatever a symlink points at.
- Reusing an existing file (`overwrite` or `append`, each asked for explicitly) still never follows a
  symlink (O_NOFOLLOW; O_NONBLOCK so that a FIFO cannot hang us), and the file must be a regular file
  with a single link, owned by the current user; it is then truncated through the descriptor (or
  appended to) and fchmod-ed to 0600, so that links written before stay private too.

Only the last component of the path is guarded: the directories on the way are the user's choice.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

from owox_idp.errors import Refused, UsageError

PRIVATE_MODE = 0o600

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def _refuse_existing(path: str, what: str, how: str) -> Refused:
    return Refused(
        f"{what} {path} already exists; nothing was written to it",
        hint=f"choose a new file name{how}",
    )


def _check_reusable(fd: int, path: str, what: str) -> None:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise Refused(f"{what} {path} is not a regular file; nothing was written to it")
    getuid = getattr(os, "getuid", None)
    if getuid is not None and st.st_uid != getuid():
        raise Refused(
            f"{what} {path} belongs to another user (uid {st.st_uid}); nothing was written to it",
            hint="others may be able to read it: write to a new file of your own",
        )
    if st.st_nlink > 1:
        raise Refused(f"{what} {path} has other hard links; nothing was written to it")


def open_private(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    append: bool = False,
    what: str = "file",
    binary: bool = False,
) -> IO[str] | IO[bytes]:
    """Open `path` for writing secrets (see the module doc). Text mode writes UTF-8 with newline=''
    (the csv module's requirement). Refused (exit 8) when the file exists and neither `overwrite` nor
    `append` was asked, or when it is a symlink, not regular, or not ours; UsageError (exit 2) when
    the path cannot be opened at all (no such directory, no permission)."""
    if overwrite and append:
        raise ValueError("overwrite and append exclude each other")
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, PRIVATE_MODE)
    except FileExistsError:
        if not (overwrite or append):
            raise _refuse_existing(
                name, what, " (or ask to overwrite it, where the command offers that)"
            ) from None
        fd = _open_existing(name, what, append=append)
    except OSError as exc:
        raise UsageError(f"cannot write {what} {name}: {exc.strerror or exc}") from None
    else:
        os.fchmod(fd, PRIVATE_MODE)  # the umask may have taken the owner's bits away: be exact
    mode = ("a" if append else "w") + ("b" if binary else "")
    if binary:
        return os.fdopen(fd, mode)
    return os.fdopen(fd, mode, encoding="utf-8", newline="")


def _open_existing(name: str, what: str, *, append: bool) -> int:
    flags = os.O_WRONLY | _NOFOLLOW | _CLOEXEC | _NONBLOCK | (os.O_APPEND if append else 0)
    try:
        fd = os.open(name, flags)
    except OSError as exc:
        if os.path.islink(name):
            raise Refused(f"{what} {name} is a symbolic link; nothing was written to it") from None
        raise UsageError(f"cannot write {what} {name}: {exc.strerror or exc}") from None
    try:
        _check_reusable(fd, name, what)
        if _NONBLOCK:
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_NONBLOCK)
        if not append:
            os.ftruncate(fd, 0)
        os.fchmod(fd, PRIVATE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_private_file(path: str | os.PathLike[str]) -> bool:
    """Create an empty file with mode 0600 if nothing is at `path` (True), else leave it (False).

    For the SQLite database: Python's sqlite3 creates a missing file with 0644 (minus the umask), and
    the file holds session tokens. SQLite gives its -wal, -shm and -journal files the database file's
    own permissions (os_unix.c, findCreateFileMode), so they are private too. A symlink at the path is
    refused rather than followed."""
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, PRIVATE_MODE)
    except FileExistsError:
        if os.path.islink(name):
            raise Refused(f"database file {name} is a symbolic link; idp does not create it") from None
        return False
    except OSError as exc:
        raise UsageError(f"cannot create {name}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)
    return True


def exposure(path: str | os.PathLike[str]) -> str | None:
    """For `info` and `doctor`: why others could read or change the file at `path`, or None (also None
    when it does not exist). Group access is reported too: session tokens are inside."""
    try:
        st = Path(path).stat()
    except (OSError, ValueError):
        return None
    bits = stat.S_IMODE(st.st_mode)
    if bits & 0o077 == 0:
        return None
    who = []
    if bits & 0o070:
        who.append("its group")
    if bits & 0o007:
        who.append("every local user")
    return (
        f"{os.fspath(path)} has mode {bits:o}: {' and '.join(who)} can access it (it holds session "
        "tokens); chmod 600 it"
    )
