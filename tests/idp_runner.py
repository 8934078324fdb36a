"""The in-process runner of the real CLI (`IdpRunner`) and the test secret, in a module of their own so
that test modules anywhere under tests/ import them by a unique name (`from conftest import` is
ambiguous when several folders have a conftest.py: tests/interop has its own). tests/conftest.py
re-exports them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbutil import TestDatabase

TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef0123456789"

_CLEARED_PREFIXES = ("IDP_", "BETTER_AUTH_", "DB_", "AUTH_SECRET", "DATABASE_URL", "PUBLIC_ORIGIN", "PORT")


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class IdpRunner:
    db: TestDatabase
    tmp_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def flavor(self, flavor: str) -> IdpRunner:
        self.env["IDP_FLAVOR"] = flavor
        return self

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        from typer.testing import CliRunner

        from owox_idp.cli import app

        runner = CliRunner()
        merged = {**self.env, **(env or {})}
        result = runner.invoke(app, list(args), input=input, env=merged, catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Result(result.exit_code, result.stdout, result.stderr)

    def migrate(self) -> None:
        r = self("migrate", "--yes")
        assert r.exit_code == 0, r.stderr
