"""Shared fixtures: a real database per test (SQLite always; PostgreSQL and MariaDB when reachable) and
`idp`, which runs the real CLI in-process against it with a clean environment.

    def test_x(idp):                       # runs once per database dialect
        r = idp("add-user", "a@example.com", "--json")
        assert r.exit_code == 0, r.stderr
        r.json()["magic_link"]

`idp.flavor("better-auth")` switches the flavor for the rest of the test; `idp.migrate()` creates the
schema. Set IDP_TEST_DATABASES=sqlite to run only SQLite; IDP_TEST_REQUIRE_ALL=1 turns any skip
caused by a missing database server or Node into a failure.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dbutil import TestDatabase, fresh_database, selected_dialects
from idp_runner import _CLEARED_PREFIXES, TEST_SECRET, IdpRunner, Result  # noqa: F401 (re-exported)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the developer's shell, ~/.config or a ./.env."""
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) and not name.startswith("IDP_TEST_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(params=selected_dialects())
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    with fresh_database(request.param, tmp_path) as database:
        yield database


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[TestDatabase]:
    with fresh_database("sqlite", tmp_path) as database:
        yield database


def _runner(db: TestDatabase, tmp_path: Path) -> IdpRunner:
    return IdpRunner(
        db,
        tmp_path,
        {
            "IDP_DATABASE_URL": db.url,
            "IDP_BETTER_AUTH_SECRET": TEST_SECRET,
            "IDP_BETTER_AUTH_BASE_URL": "https://idp.example.test",
        },
    )


@pytest.fixture
def idp(db: TestDatabase, tmp_path: Path) -> IdpRunner:
    """The CLI on a fresh database of each dialect (not migrated: call idp.migrate())."""
    return _runner(db, tmp_path)


@pytest.fixture
def idp_sqlite(sqlite_db: TestDatabase, tmp_path: Path) -> IdpRunner:
    """The CLI on a fresh SQLite database only, for tests that do not depend on the dialect."""
    return _runner(sqlite_db, tmp_path)


def _only(dialect: str, tmp_path: Path) -> Iterator[IdpRunner]:
    if dialect not in selected_dialects():
        pytest.skip(f"{dialect} is not in IDP_TEST_DATABASES")
    with fresh_database(dialect, tmp_path) as database:
        yield _runner(database, tmp_path)


@pytest.fixture
def idp_postgresql(tmp_path: Path) -> Iterator[IdpRunner]:
    """The CLI on a fresh PostgreSQL database only, for PostgreSQL-specific behaviour."""
    yield from _only("postgresql", tmp_path)


@pytest.fixture
def idp_mariadb(tmp_path: Path) -> Iterator[IdpRunner]:
    """The CLI on a fresh MariaDB database only, for MySQL-specific behaviour."""
    yield from _only("mariadb", tmp_path)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say plainly which parts did not run here (a database server or Node missing)."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        if "not reachable" in text or "node" in text.lower():
            key = text.removeprefix("Skipped: ")
            reasons[key] = reasons.get(key, 0) + 1
    if reasons:
        terminalreporter.section("not run on this machine")
        for reason, count in sorted(reasons.items()):
            terminalreporter.write_line(f"{count} test(s) skipped: {reason}")
        terminalreporter.write_line("CI sets IDP_TEST_REQUIRE_ALL=1, which turns these skips into failures.")
