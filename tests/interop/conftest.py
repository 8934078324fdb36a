"""Fixtures for the interop tests: the real Better Auth server (tests/interop/node/server.mjs) for each
profile x dialect, started lazily once per test session on a database that `idp migrate` created, and
stopped by its pid at the end.

    def test_x(stack):            # runs for owox and better-auth on every selected dialect
        user = stack.add_user("alice", password=PASSWORD)
        browser = stack.signed_in(user["email"], PASSWORD)

`ba_stack` / `owox_stack` run for one profile only. Every test uses fresh users (unique emails), so
the shared databases need no cleaning. A failing test shows what the server wrote on stderr during it.
Without Node or tests/interop/node/node_modules the tests are skipped (failed under
IDP_TEST_REQUIRE_ALL=1).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dbutil import fresh_database, selected_dialects, skip_or_fail
from interop_support import (
    PROFILES,
    AuthServer,
    ServerError,
    Stack,
    idp_commands,
    idp_settings_env,
    node_problem,
    run_idp,
    sa_engine,
)

COMBOS = [(profile, dialect) for profile in PROFILES for dialect in selected_dialects()]
_STDERR_OFFSET = pytest.StashKey[tuple[Stack, int]]()


def combo_id(combo: tuple[str, str]) -> str:
    return f"{combo[0]}-{combo[1]}"


class ServerPool:
    """One Stack per (profile, dialect), created on first use and kept for the session."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.stacks: dict[tuple[str, str], Stack] = {}
        self.broken: dict[tuple[str, str], str] = {}
        self.exit = contextlib.ExitStack()

    def get(self, profile: str, dialect: str) -> Stack:
        key = (profile, dialect)
        if key in self.broken:
            pytest.fail(self.broken[key], pytrace=False)
        if key in self.stacks:
            stack = self.stacks[key]
            if not stack.server.alive():
                self.broken[key] = (
                    f"the Better Auth server ({profile} on {dialect}) died; its stderr:\n"
                    + stack.server.stderr_text()[-4000:]
                )
                pytest.fail(self.broken[key], pytrace=False)
            return stack
        db = self.exit.enter_context(fresh_database(dialect, self.base))  # skips when unreachable
        r = run_idp(idp_settings_env(profile, db, "http://127.0.0.1:3000"), "migrate", "--yes")
        if r.exit_code != 0:
            self.broken[key] = f"`idp migrate` failed on the {dialect} database for {profile}: {r}"
            pytest.fail(self.broken[key], pytrace=False)
        server = AuthServer(profile, db, self.base)
        self.exit.callback(server.stop)
        try:
            server.start()
        except ServerError as exc:
            self.broken[key] = str(exc)
            pytest.fail(self.broken[key], pytrace=False)
        engine = sa_engine(db)
        self.exit.callback(engine.dispose)
        stack = self.stacks[key] = Stack(profile, db, server, engine)
        return stack

    def close(self) -> None:
        self.exit.close()


def require_node() -> None:
    problem = node_problem()
    if problem:
        skip_or_fail(problem)


@pytest.fixture(scope="session")
def server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    pool = ServerPool(tmp_path_factory.mktemp("interop"))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def node_ready() -> None:
    require_node()


def _stack(request: pytest.FixtureRequest, pool: ServerPool) -> Stack:
    require_node()
    profile, dialect = request.param
    stack = pool.get(profile, dialect)
    request.node.stash[_STDERR_OFFSET] = (stack, stack.server.stderr_size())
    return stack


@pytest.fixture(params=COMBOS, ids=combo_id)
def stack(request: pytest.FixtureRequest, server_pool: ServerPool) -> Stack:
    """The server and idp for each profile on each selected dialect."""
    return _stack(request, server_pool)


@pytest.fixture(params=[c for c in COMBOS if c[0] == "better-auth"], ids=combo_id)
def ba_stack(request: pytest.FixtureRequest, server_pool: ServerPool) -> Stack:
    """The better-auth profile only (admin plugin, two-factor)."""
    return _stack(request, server_pool)


@pytest.fixture(params=[c for c in COMBOS if c[0] == "owox"], ids=combo_id)
def owox_stack(request: pytest.FixtureRequest, server_pool: ServerPool) -> Stack:
    """The owox profile only (OWOX Data Marts' configuration of better-auth 1.6)."""
    return _stack(request, server_pool)


def require_command(name: str) -> None:
    """Skip while an idp command is not there yet, so the test runs as soon as it lands."""
    if name not in idp_commands():
        pytest.skip(
            f"`idp {name}` does not exist yet (not listed by `idp --help`); this test runs once it does"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    entry = item.stash.get(_STDERR_OFFSET, None)
    if entry is None:
        return
    stack, offset = entry
    text = stack.server.stderr_text(offset).strip()
    report.sections.append(
        (
            f"Better Auth server stderr during this test ({stack.profile}, {stack.dialect}, {stack.server.stderr_path})",
            text[-6000:] or "(nothing)",
        )
    )
