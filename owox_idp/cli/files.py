"""Files the commands write: private (0600) output files and the `--links` file of `import` and
`issue-link --without-password`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from owox_idp.output import Output


class LinkRow(Protocol):
    """What a links file line is made of (an import row result, an issued link)."""

    @property
    def email(self) -> str | None: ...

    @property
    def magic_link(self) -> str | None: ...

    @property
    def expires_at(self) -> datetime | None: ...


def _open_private(path: str, *, append: bool, overwrite: bool = False, what: str = "file") -> IO[str]:
    """A text file only its owner can read (0600): created new, never through a symlink, another user's
    file refused (owox_idp.safefile)."""
    import io

    from owox_idp.safefile import open_private

    handle = open_private(path, append=append, overwrite=overwrite, what=what)
    assert isinstance(handle, io.TextIOBase)
    return handle


class _LinksFile:
    """`--links FILE`: `email,magic_link,expires_at` lines, appended (a resumed import keeps the links of
        the first run), written (and fsync-ed) before the batch holding them commits: a links file that cannot
    be written rolls the batch back."""

    def __init__(self, path: str, out: Output) -> None:
        self.path = path
        self.count = 0
        if path == "-":
            self._file: IO[str] = out.stdout
            self._owned = False
            empty = True
        else:
            self._file = _open_private(path, append=True, what="links file")
            self._owned = True
            empty = self._file.tell() == 0
        if empty:
            self._append([("email", "magic_link", "expires_at")])

    def write(self, results: Iterable[LinkRow]) -> None:
        """Append these links, durably (written and fsync-ed) before the caller commits their batch. A
        file that cannot take them all (disk full, a size limit) is cut back to where it was, so that the
        re-run's lines start on a line of their own, and the error stops the import (exit 1): the batch
        is rolled back."""
        from owox_idp.clock import iso

        lines = [(r.email, r.magic_link, iso(r.expires_at)) for r in results if r.magic_link]
        if lines:
            self._append(lines)
            self.count += len(lines)

    def _append(self, lines: Sequence[Sequence[str | None]]) -> None:
        import csv
        import io

        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(lines)
        if not self._owned:  # stdout: a closed pipe is the caller's to handle (BrokenPipeError)
            self._file.write(text.getvalue())
            self._file.flush()
            return
        # straight to the descriptor (the text layer never holds a byte): all or nothing, then fsync
        data = text.getvalue().encode(getattr(self._file, "encoding", None) or "utf-8")
        fd = self._file.fileno()
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError as exc:
            import contextlib

            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            from owox_idp.errors import OperationalError

            raise OperationalError(
                f"cannot write the links file {self.path}: {exc.strerror or exc}; "
                "the batch holding these links was rolled back",
                hint="free some space, then re-run the same command with --if-missing",
            ) from None

    def close(self) -> None:
        if self._owned:
            self._file.close()
