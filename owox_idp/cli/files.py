"""Files the commands write: private (0600) output files and the `--links` file of `import` and
`issue-link --without-password`."""

from __future__ import annotations

from collections.abc import Iterable
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
    the first run), written only after the batch holding them is committed."""

    def __init__(self, path: str, out: Output) -> None:
        import csv

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
        self._writer = csv.writer(self._file, lineterminator="\n")
        if empty:
            self._writer.writerow(["email", "magic_link", "expires_at"])

    def write(self, results: Iterable[LinkRow]) -> None:
        from owox_idp.clock import iso

        for r in results:
            if r.magic_link:
                self._writer.writerow([r.email, r.magic_link, iso(r.expires_at)])
                self.count += 1
        self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()
