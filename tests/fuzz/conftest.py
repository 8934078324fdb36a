"""One seeded database per dialect for the whole fuzz directory: seeding (two migrations, five users, a
session) costs seconds on PostgreSQL and MariaDB, and the fuzz tests want a database with history."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from conftest import _CLEARED_PREFIXES, _runner
from dbutil import fresh_database, selected_dialects


@pytest.fixture(scope="session", params=selected_dialects())
def harness(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from fuzzkit_harness import Harness

    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with pytest.MonkeyPatch.context() as mp:  # as tests/conftest.py's _clean_environment, for the seeding
        for name in list(os.environ):
            if name.startswith(_CLEARED_PREFIXES) and not name.startswith("IDP_TEST_"):
                mp.delenv(name, raising=False)
        mp.setenv("XDG_CONFIG_HOME", str(tmp / "xdg-config"))
        mp.setenv("XDG_DATA_HOME", str(tmp / "xdg-data"))
        mp.chdir(tmp)
        with fresh_database(request.param, tmp) as database:
            h = Harness(_runner(database, tmp), tmp)
            mp.undo()
            yield h
            h.engine.dispose()
