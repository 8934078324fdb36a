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


WATCHDOG_INTERVAL_S = 0.5  # how often a worker checks that its parent is still there (non-Linux)


def _worker_init(parent: int) -> None:  # pragma: no cover - runs in the worker processes
    """A worker never outlives the `idp` that started it: killed (`kill -9`) or crashed, its workers go
    with it instead of waiting forever on the pool's pipes, holding the caller's stdout/stderr and a copy
    of the database connection. On Linux the kernel kills them (PR_SET_PDEATHSIG); elsewhere, and as a
    fallback, a watchdog thread exits once the parent is gone (the worker is re-parented)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    import threading

    def watch() -> None:
        import time

        while os.getppid() == parent:
            time.sleep(WATCHDOG_INTERVAL_S)
        os._exit(1)

    threading.Thread(target=watch, name="idp-parent-watchdog", daemon=True).start()


def _die_with_parent() -> None:  # pragma: no cover - runs in the worker processes
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # no prctl here: the watchdog alone
        pass


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
            import multiprocessing
            import sys
            from concurrent.futures import ProcessPoolExecutor

            # fork on Linux (spawn elsewhere, the platforms' default): a worker's parent must be this
            # process, which a forkserver's workers (Python 3.14's default on Linux) are not
            context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=count, mp_context=context, initializer=_worker_init, initargs=(os.getpid(),)
            )
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
