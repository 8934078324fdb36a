"""Hashing many passwords on all cores: the one parallel-hashing helper (imports use it, and
`hash_passwords` for a plain list)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

INLINE_BELOW = 4  # fewer passwords than this are hashed in this process: a pool costs more


def _ignore_sigint() -> None:  # pragma: no cover - runs in the worker processes
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


class ParallelHasher:
    """Hashes `passwords` in order on all cores (or `workers`), running ahead of the caller, which takes
    them one at a time with `next()`. `close()` stops the workers without waiting for the rest."""

    def __init__(
        self,
        scheme: str,
        passwords: list[str],
        *,
        workers: int | None = None,
        job: Callable[[str], str] | None = None,
    ) -> None:
        """`job` (picklable) replaces the scheme's hash where the flavor hashes its own way
        (`Flavor.password_hasher`)."""
        from owox_idp.crypto.passwords import check_scheme, hash_password

        check_scheme(scheme)
        self._pool: ProcessPoolExecutor | None = None
        count = min(workers or os.cpu_count() or 1, len(passwords))
        job = job or partial(hash_password, scheme=scheme)
        if count > 1 and len(passwords) >= INLINE_BELOW:
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(max_workers=count, initializer=_ignore_sigint)
            self._results: Iterator[str] = self._pool.map(job, passwords)
        else:
            self._results = (job(p) for p in passwords)

    def next(self) -> str:
        return next(self._results)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> ParallelHasher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def hash_passwords(passwords: list[str], *, scheme: str, workers: int | None = None) -> list[str]:
    """Hash many passwords on all cores, keeping their order. Fewer than 4 are hashed inline."""
    with ParallelHasher(scheme, passwords, workers=workers) as hasher:
        return [hasher.next() for _ in passwords]
