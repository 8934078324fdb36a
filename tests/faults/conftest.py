"""The fault suite: `idp` as a real process, killed (`kill -9`), limited (a full disk), cut off (a closed
stdout) and blocked (a lock held by another connection), on every dialect the machine has."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from faultkit import Counters, Db
from idp_runner import IdpRunner

if not sys.platform.startswith("linux"):  # /proc, process groups, RLIMIT_FSIZE
    pytest.skip("the fault suite needs Linux", allow_module_level=True)

FLAVORS = ("owox", "better-auth")


@pytest.fixture(params=FLAVORS)
def flavored(request: pytest.FixtureRequest, idp: IdpRunner) -> IdpRunner:
    idp.flavor(request.param)
    idp.migrate()
    return idp


@pytest.fixture
def other(idp: IdpRunner) -> Iterator[Db]:
    """Another connection to the same database."""
    access = Db.of(idp.db.dialect, idp.db.sa_url)
    yield access
    access.dispose()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if Counters.kills or Counters.faults:
        terminalreporter.section("faults injected")
        for kind, n in sorted(Counters.faults.items()):
            terminalreporter.write_line(f"{n:4d}  {kind}")
        terminalreporter.write_line(
            f"total {sum(Counters.faults.values())} fault(s), {Counters.kills} kill -9; rows lost "
            f"{Counters.rows_lost}; processes left {Counters.processes_left}"
        )
