"""The fuzz suite's harness: a seeded database, the CLI run in-process against it, and the verdict."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import fuzzkit
from fuzzkit import Run, dump, fake_terminal, problem

VICTIM_TEXT = "victim file: must never change\n"


class Harness:
    """A seeded, migrated database and the CLI against it; runs one command and judges it."""

    def __init__(self, idp: Any, tmp_path: Path) -> None:
        import sqlalchemy
        from sqlalchemy.pool import NullPool

        self.idp = idp
        self.tmp = tmp_path
        self.engine = sqlalchemy.create_engine(idp.db.sa_url, poolclass=NullPool)
        self.victim = tmp_path / "victim.txt"
        self.victim.write_text(VICTIM_TEXT)
        self.victim.chmod(0o644)
        self.counter = 0
        self._seed()

    def _seed(self) -> None:
        idp = self.idp
        # the union of both flavors' schemas, declared as such: without it each flavor would (rightly)
        # call the other's tables a foreign database
        idp.env["IDP_PLUGINS"] = "admin,two-factor,organization,magic-link"
        for flavor in ("better-auth", "owox"):
            r = idp("migrate", "--yes", env={"IDP_FLAVOR": flavor})
            assert r.exit_code == 0, r.stderr
        for args in (
            ("add-user", "admin@example.com", "--role", "admin"),
            ("add-user", "ann@example.com", "--name", "Ann"),
            ("add-user", "bob.banned@example.com"),
            ("ban", "bob.banned@example.com", "--yes", "--reason", "[bold]spam\x1b[2J"),
            ("add-user", "hostile@example.com", "--name", "[/]\x1b]8;;https://evil.test\x07x\tq\ny"),
        ):
            r = idp(*args)
            assert r.exit_code == 0, (args, r.stderr)
        import sqlalchemy

        from owox_idp.clock import now

        with self.engine.begin() as conn:
            meta = sqlalchemy.MetaData()
            session = sqlalchemy.Table("session", meta, autoload_with=conn)
            users = sqlalchemy.Table("user", meta, autoload_with=conn)
            uid = conn.execute(
                sqlalchemy.select(users.c.id).where(users.c.email == "ann@example.com")
            ).scalar()
            moment = now().replace(tzinfo=None) if idp.db.dialect == "mariadb" else now()
            from datetime import timedelta

            conn.execute(
                session.insert().values(
                    id="fuzz-session-1",
                    token="fuzztoken0123456789abcdefghijklmn",
                    userId=uid,
                    createdAt=moment,
                    updatedAt=moment,
                    expiresAt=moment + timedelta(days=7),
                    ipAddress="127.0.0.1\x1b[2J",
                    userAgent="[/bold]\x1b]52;c;ZXZpbA==\x07\tforged\nrow",
                )
            )

    # ------------------------------------------------------------------ paths

    def path_value(self, kind: str, content: bytes | None = None) -> str:
        self.counter += 1
        base = self.tmp / f"f{self.counter}"
        if kind == "fresh":
            return str(base)
        if kind == "existing":
            base.write_bytes(content if content is not None else b"old contents\n")
            base.chmod(0o644)
            return str(base)
        if kind == "symlink":
            base.symlink_to(self.victim)
            return str(base)
        if kind == "dangling":
            base.symlink_to(self.tmp / f"nowhere{self.counter}")
            return str(base)
        if kind == "directory":
            base.mkdir()
            return str(base)
        if kind == "missing-dir":
            return str(base / "no" / "such.csv")
        if kind == "stdout":
            return "-"
        return kind  # generated text as a path

    # ------------------------------------------------------------------ one run

    def run(
        self, command: str, args: list[str], *, input: bytes | str | None, env: dict[str, str], tty: bool
    ) -> Run:
        from typer.testing import CliRunner

        from owox_idp.cli import app

        before = dump(self.engine)
        merged = {**self.idp.env, **env, "COLUMNS": "120"}
        with fake_terminal(tty):
            result = CliRunner().invoke(app, args, input=input, env=merged, catch_exceptions=True)
        exception = (
            result.exception
            if result.exception is not None and not isinstance(result.exception, SystemExit)
            else None
        )
        run = Run(command, args, result.exit_code, result.stdout, result.stderr, exception=exception)
        if run.exit_code != 0:
            from fuzzkit import diff

            run.db_changed = diff(before, dump(self.engine))
        return run

    def judge(self, run: Run) -> None:
        fuzzkit.STATS.add(run)
        found = problem(run)
        if found is None and (
            self.victim.read_text() != VICTIM_TEXT or stat.S_IMODE(self.victim.stat().st_mode) != 0o644
        ):
            found = "a file outside the test's own was written or chmod-ed through a symlink"
            self.victim.write_text(VICTIM_TEXT)
            self.victim.chmod(0o644)
        if found is None:
            return
        if fuzzkit.known_finding(run, found) is not None:
            return
        shown = [a if len(a) < 200 else a[:200] + f"...({len(a)})" for a in run.args]
        if fuzzkit.COLLECT:  # survey mode: record every finding, go on
            with open(fuzzkit.COLLECT, "a", encoding="utf-8") as fh:
                fh.write(f"{self.idp.db.dialect}\t{run.command}\t{found[:300]!r}\t{shown!r}\n")
            return
        raise AssertionError(f"idp {shown!r}: {found}\nstderr: {run.stderr[-1500:]}") from run.exception
