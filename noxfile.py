"""Sessions: tests (the whole suite, incl. the interop tests against the real Better Auth server),
lint and typecheck. `nox -s tests lint typecheck` is the README's test command and what CI runs."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck"]

ROOT = Path(__file__).parent
INTEROP = ROOT / "tests" / "interop"
# every folder with a package-lock.json the interop tests run Node from
INTEROP_NODE_DIRS = (
    INTEROP / "node",
    INTEROP / "node_apikey",
    INTEROP / "node_apikey" / "v1.6",
    INTEROP / "node_bcrypt",
    INTEROP / "node_v15",
)


def _npm_env() -> dict[str, str]:
    """Native modules (better-sqlite3) build from the Node headers Debian ships, not from a download."""
    env = {"npm_config_fund": "false", "npm_config_audit": "false"}
    if Path("/usr/include/node/node.h").exists() and "npm_config_nodedir" not in os.environ:
        env["npm_config_nodedir"] = "/usr"
    return env


def _install_interop_packages(session: nox.Session) -> None:
    """npm ci for each interop folder, skipped when its lockfile has not changed since the last one."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        session.warn(
            "node/npm not found: the interop tests against the real Better Auth server will be skipped"
        )
        return
    for folder in INTEROP_NODE_DIRS:
        lock = folder / "package-lock.json"
        if not lock.exists():
            continue
        stamp = folder / "node_modules" / ".idp-lock-sha256"
        digest = hashlib.sha256(lock.read_bytes()).hexdigest()
        if stamp.exists() and stamp.read_text().strip() == digest:
            continue
        with session.chdir(folder):
            try:
                session.run("npm", "ci", "--no-audit", "--no-fund", external=True, env=_npm_env())
            except nox.command.CommandFailed:
                if os.environ.get("IDP_TEST_REQUIRE_ALL", "") not in ("", "0", "false"):
                    raise
                # locally the interop tests that need this folder then skip and say why
                session.warn(f"npm ci failed in {folder}: the interop tests that need it will be skipped")
                continue
        stamp.write_text(digest)


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    _install_interop_packages(session)
    # two workers (CI's machines have 2 cores): each starts its own Better Auth servers and databases
    args = session.posargs or ["-n", os.environ.get("IDP_TEST_WORKERS", "2")]
    session.run("pytest", *args)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.5")
    session.run("ruff", "check", "owox_idp", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "owox_idp", "tests", "benchmarks", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".", "mypy>=1.10")
    session.run("mypy")


@nox.session
def fuzz(session: nox.Session) -> None:
    """The fuzz suite (tests/fuzz) at length: IDP_FUZZ_EXAMPLES examples per test and dialect (default
    2000; CI's run uses 25), failing examples shrunk to their simplest form."""
    session.install("-e", ".[test]")
    session.env["IDP_FUZZ_EXAMPLES"] = os.environ.get("IDP_FUZZ_EXAMPLES", "2000")
    session.env["IDP_FUZZ_SHRINK"] = "1"
    session.env["IDP_FUZZ_RANDOM"] = "1"
    session.run("pytest", "tests/fuzz", "-p", "no:cacheprovider", "-rxX", *session.posargs)
