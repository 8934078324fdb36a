"""The fuzz suite's machinery: the commands read from the real CLI, input strategies, a database dump,
and the verdict on one run. See test_fuzz_cli.py for what is checked and docs in README there.

Example counts: IDP_FUZZ_EXAMPLES (default 25 per test and dialect, so that the suite stays within
about two minutes over the three dialects in CI); `nox -s fuzz` sets it to 2000.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

# read at import: the test fixtures clear IDP_* variables from the environment
EXAMPLES = int(os.environ.get("IDP_FUZZ_EXAMPLES", "25"))
COLLECT = os.environ.get("IDP_FUZZ_COLLECT")  # a file: record findings there instead of failing

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no example database in the checkout; failures print their input (and a seed)
    # the suite's runs are the same every time (CI must be deterministic); `nox -s fuzz` explores
    derandomize=os.environ.get("IDP_FUZZ_RANDOM", "") in ("", "0"),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    print_blob=True,
    # shrinking re-runs a failing command hundreds of times: only when asked (nox -s fuzz does)
    phases=[p for p in Phase if p != Phase.shrink or os.environ.get("IDP_FUZZ_SHRINK")],
)

# The contract's exit codes (cli-contract.md); 9 only for the check commands (doctor, check-user).
ALLOWED_EXITS = frozenset({0, 2, 3, 4, 5, 6, 7, 8})
CHECK_COMMANDS = frozenset({"doctor", "check-user"})

# --------------------------------------------------------------------------- the commands, from the CLI


@dataclass(frozen=True)
class Param:
    name: str  # click's param name (python identifier)
    opts: tuple[str, ...]  # "--limit", ...; empty for an argument
    kind: str  # "flag" | "bool-pair" | "int" | "str" | "path" | "choice"
    required: bool
    argument: bool
    choices: tuple[str, ...] = ()
    secondary: tuple[str, ...] = ()


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]  # ("2fa", "enable")
    params: tuple[Param, ...]

    @property
    def name(self) -> str:
        return " ".join(self.path)


def _param(p: Any) -> Param | None:
    # duck-typed: typer vendors its own click (typer._click) in some versions
    if p.name in ("help",):
        return None
    argument = p.param_type_name == "argument"
    type_name = getattr(p.type, "name", "")
    if not argument and getattr(p, "is_flag", False):
        kind = "bool-pair" if p.secondary_opts else "flag"
    elif getattr(p.type, "choices", None):
        kind = "choice"
    elif type_name == "integer" or "integer" in type_name:
        kind = "int"
    elif type_name in ("path", "file"):
        kind = "path"
    else:
        kind = "str"
    return Param(
        name=p.name,
        opts=tuple(getattr(p, "opts", ())) if not argument else (),
        kind=kind,
        required=bool(p.required),
        argument=argument,
        choices=tuple(getattr(p.type, "choices", ()) or ()),
        secondary=tuple(getattr(p, "secondary_opts", ()) or ()),
    )


def cli_commands() -> list[Command]:
    """Every leaf command of the real `idp` app, with its parameters (so new commands are fuzzed too)."""
    import typer.main

    from owox_idp.cli import app

    root = typer.main.get_command(app)
    found: list[Command] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "commands"):
            for sub_name, sub in cmd.commands.items():
                walk(sub, (*path, sub_name))
            return
        params = tuple(q for q in (_param(p) for p in cmd.params) if q is not None)
        found.append(Command(path, params))

    walk(root, ())
    return sorted(found, key=lambda c: c.path)


def global_params() -> list[Param]:
    import typer.main

    from owox_idp.cli import app

    root = typer.main.get_command(app)
    return [q for q in (_param(p) for p in root.params) if q is not None and q.name != "version"]


# --------------------------------------------------------------------------- input strategies

SEEDED_EMAILS = ("admin@example.com", "ann@example.com", "bob.banned@example.com", "hostile@example.com")

# what a terminal, Rich, a spreadsheet or a database may take for something else
HOSTILE_TEXT = (
    "[/]",
    "[/bold]",
    "[bold red]x",
    ":smile:",
    "\x1b]8;;https://evil.test\x1b\\click\x1b]8;;\x1b\\",
    "\x1b]52;c;ZXZpbA==\x07",
    "\x1b[2J",
    "a\tb",
    "a\nb",
    "a\rb",
    "\x00",
    "a\x00b",
    "\x7f\x9b\x9d",
    "\u202eabc",
    "\u2028",
    "=cmd|'/c calc'!A1",
    "+1",
    "-1",
    "@SUM(1)",
    "%",
    "_",
    "\\",
    "'",
    '"',
    "`",
    "'; drop table user; --",
    "\udcff",
    "x" * 256,
    "x" * 70_000,
    "山田 🙂",
    "",
    " ",
)

text = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=400),
)

email = st.one_of(
    st.sampled_from(SEEDED_EMAILS),
    st.sampled_from([e.upper() for e in SEEDED_EMAILS]),
    st.emails().map(str),
    st.builds(
        lambda a, b: f"{a}@{b}.test",
        st.text(string.ascii_lowercase + "._+-'", min_size=1, max_size=12),
        st.text(string.ascii_lowercase, min_size=1, max_size=8),
    ),
    text,
    st.builds(lambda t: f"{t}@example.com", text),
)

role = st.one_of(
    st.sampled_from(
        ["admin", "editor", "viewer", "user", "admin,user", "ADMIN", " admin ", "none", ",", "a" * 300]
    ),
    text,
)

duration = st.one_of(
    st.sampled_from(
        [
            "30m",
            "12h",
            "7d",
            "2w",
            "1",
            "3600",
            "30d",
            "31d",
            "0",
            "-1",
            "1.5h",
            "1e9",
            "²",
            "١٢",
            " 5m ",
            "9" * 30,
            "9" * 5000,
            "999999999999w",
            "100000d",
        ]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.builds(lambda n, u: f"{n}{u}", st.integers(min_value=0, max_value=10**15), st.sampled_from("smhdwy")),
    text,
)

integer = st.one_of(
    st.sampled_from(
        ["0", "1", "-1", "100", str(2**31), str(2**63), str(2**64), str(10**30), "abc", "", "1.5", "٣"]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)

cursor = st.one_of(
    st.sampled_from(
        [
            "2024-01-01T00:00:00.000Z,abc",
            "9999-12-31T23:59:59.999Z,zzz",
            "0001-01-01T00:00:00Z,a",
            "2024-13-45T99:99:99Z,a",
            ",",
            "nope",
            "1e400,x",
            "2024-01-01,",
            "\x00,\x00",
        ]
    ),
    st.builds(lambda d, i: f"{d},{i}", st.datetimes().map(lambda d: d.isoformat()), text),
    text,
)

url = st.one_of(
    st.sampled_from(
        ["/", "/dashboard", "https://evil.test", "javascript:alert(1)", "//evil.test", "/\x1b[2J"]
    ),
    text,
)


def mostly(valid: st.SearchStrategy[str], hostile: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Valid three times in four (to get past validation into the services and the SQL), else hostile."""
    return st.integers(0, 3).flatmap(lambda i: valid if i else hostile)


valid_email = st.one_of(
    st.sampled_from(SEEDED_EMAILS),
    st.builds(lambda a: f"{a}@example.com", st.text(string.ascii_lowercase, min_size=1, max_size=10)),
)
valid_role = st.sampled_from(["admin", "editor", "viewer", "user", "admin,user"])
valid_duration = st.sampled_from(["30m", "12h", "7d", "1", "3600", "30d", "31d", "400d", "1000w"])
valid_int = st.integers(min_value=0, max_value=5).map(str)

_BY_NAME: dict[str, Any] = {
    "email": mostly(valid_email, email),
    "role": mostly(valid_role, role),
    "name": text,
    "search": mostly(st.sampled_from(["ann", "example", "ADMIN", "%", "_"]), text),
    "reason": text,
    "ttl": mostly(valid_duration, duration),
    "expires": mostly(valid_duration, duration),
    "since": mostly(valid_duration, duration),
    "limit": mostly(valid_int, integer),
    "offset": mostly(valid_int, integer),
    "batch_size": mostly(valid_int, integer),
    "after": cursor,
    "session_id": st.one_of(text, st.sampled_from(["fuzz-session-1", "no-such-session"])),
    "callback_url": url,
    "image": url,
    "fmt": mostly(st.sampled_from(["csv", "jsonl"]), st.sampled_from(["json", "CSV", "", "x\x00"])),
    "sort": mostly(st.sampled_from(["created", "email", "name"]), st.sampled_from(["nope", ""])),
    "prefix": text,
    "permissions": st.one_of(st.sampled_from(['{"a":["b"]}', "{", "[]", "null", '{"a":' * 2000]), text),
    "field": st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["name", "nope", "x\x00", ""]), text),
}
# options that, left out, stop a command before it does anything (no terminal to confirm on)
LIKELY = {"yes": 0.9, "email": 0.9}


def value_for(param: Param) -> st.SearchStrategy[str]:
    if param.kind == "choice" and param.choices:
        return st.one_of(st.sampled_from(param.choices), text)
    if param.name in _BY_NAME:
        return _BY_NAME[param.name]
    if param.kind == "int":
        return integer
    return text


def _cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


_CSV_ROWS = st.lists(
    st.tuples(
        email, st.one_of(st.just(""), text), st.one_of(st.just(""), role), st.one_of(st.just(""), text)
    ),
    min_size=0,
    max_size=6,
)


def _csv(rows: list[tuple[str, str, str, str]], header: str, quoting: bool) -> str:
    lines = [header]
    for r in rows:
        lines.append(",".join(_cell(v) if quoting else v for v in r))
    return "\n".join(lines) + "\n"


def _jsonl(rows: list[tuple[str, str, str, str]]) -> str:
    import json

    return (
        "\n".join(json.dumps({"email": e, "name": n, "role": r, "password": p}) for e, n, r, p in rows) + "\n"
    )


import_file = st.one_of(
    st.builds(
        _csv,
        _CSV_ROWS,
        st.sampled_from(
            [
                "email,name,role,password",
                "email",
                "EMAIL,Name",
                "name,role",
                "email,nope",
                "email;name;role",
                "\ufeffemail,name",
            ]
        ),
        st.booleans(),
    ).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.builds(_jsonl, _CSV_ROWS).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [
            b'email,name\na@example.com,"unterminated\nb@example.com,Bob\nc@example.com,Cy\n',
            b'email,name\n"a@example.com,Ann\n',
            b"email,name\nx@example.com,caf\xe9\n",
            b"\xff\xfee\x00m\x00a\x00i\x00l\x00\n\x00",
            b'{"email": "a@example.com"\n',
            b'{"email": ' + b"[" * 100_000 + b"\n",
            b'{"email": 1e400}\n',
            b'{"email": null, "name": {"a": 1}}\n',
            b"[]\n",
            b"",
            b"\n\n\n",
            b"email\n" + b"a" * 2_000_000 + b"\n",
            b"email,name\n" + b"x@example.com,\x00\n",
        ]
    ),
    st.binary(max_size=200),
)

# --------------------------------------------------------------------------- the database dump


def dump(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted, as plain values: the state to compare around a command."""
    import sqlalchemy

    with engine.connect() as conn:
        names = sqlalchemy.inspect(conn).get_table_names()
        quote = conn.dialect.identifier_preparer.quote
        state: dict[str, list[tuple[Any, ...]]] = {}
        for name in sorted(names):
            if name == "idp_audit":  # a refused command is recorded there on purpose (issue 14)
                continue
            # raw rows, as stored: no type processing (that could itself fail on what idp wrote)
            rows = conn.exec_driver_sql(f"SELECT * FROM {quote(name)}").all()
            state[name] = sorted(tuple(repr(v) for v in row) for row in rows)
        conn.rollback()
    return state


def diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    changed = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            b, a = set(before.get(name, [])), set(after.get(name, []))
            changed.append(f"{name}: -{len(b - a)} +{len(a - b)} rows")
    return "; ".join(changed)


# --------------------------------------------------------------------------- verdicts and known findings


@dataclass
class Run:
    command: str
    args: list[str]
    exit_code: int
    stdout: str
    stderr: str
    db_changed: str = ""
    exception: BaseException | None = None


@dataclass
class Known:
    """A finding of the fuzz suite whose fix lies outside the hardening files: tolerated by the broad
    fuzz tests (so that they keep looking for new ones), reproduced exactly by an xfail(strict) test."""

    key: str
    where: str  # the file that must change
    matches: Callable[[Run, str], bool]  # (the run, what problem() said)


def _opt(run: Run, *names: str) -> list[str]:
    return [run.args[i + 1] for i, a in enumerate(run.args[:-1]) if a in names]


def _huge(values: list[str]) -> bool:
    return any(
        re.fullmatch(r"-?[0-9]+", v.strip()) and abs(int(v)) > 2**31 - 1 for v in values if len(v) < 4000
    )


# Findings tolerated by the broad fuzz while their fix is pending (none: the first run's four are fixed
# and guarded by tests/fuzz/test_known_findings.py). A new one goes here with where its fix belongs.
KNOWN: list[Known] = []
seen_known: dict[str, int] = {}


def problem(run: Run) -> str | None:
    """What is wrong with this run, or None."""
    if run.exception is not None:
        return f"traceback: {type(run.exception).__name__}: {run.exception}"
    first = run.command.split(" ")[0]
    allowed = ALLOWED_EXITS | ({9} if first in CHECK_COMMANDS or run.command in CHECK_COMMANDS else set())
    if "unexpected failure" in run.stderr or "Traceback" in run.stderr:
        return f"unexpected failure (exit {run.exit_code}): {last_error(run.stderr)}"
    if run.exit_code == 1:
        return f"exit 1 for generated input: {last_error(run.stderr)}"
    if run.exit_code not in allowed:
        return f"exit {run.exit_code} is not in the contract: {last_error(run.stderr)}"
    if run.exit_code != 0 and run.db_changed and not _partial_import(run):
        return f"exit {run.exit_code} but the database changed ({run.db_changed}): {last_error(run.stderr)}"
    return None


def _partial_import(run: Run) -> bool:
    # documented (docs/commands/import.md): failed rows are skipped, the others written, exit 5
    return (
        run.command == "import"
        and run.exit_code == 5
        and re.search(r"\d+ row\(s\) failed", run.stderr) is not None
    )


def last_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("Error:")]
    return (
        lines[-1] if lines else (stderr.strip().splitlines()[-1:] and stderr.strip().splitlines()[-1]) or ""
    )[:300]


def known_finding(run: Run, found: str) -> Known | None:
    for known in KNOWN:
        if known.matches(run, found):
            seen_known[known.key] = seen_known.get(known.key, 0) + 1
            return known
    return None


@dataclass
class Stats:
    runs: int = 0
    by_exit: dict[int, int] = field(default_factory=dict)
    by_command: dict[str, int] = field(default_factory=dict)

    def add(self, run: Run) -> None:
        if COLLECT:
            with open(COLLECT + ".runs", "a", encoding="utf-8") as fh:
                fh.write(f"{run.command}\t{run.exit_code}\t{last_error(run.stderr)[:120]!r}\n")
        self.runs += 1
        self.by_exit[run.exit_code] = self.by_exit.get(run.exit_code, 0) + 1
        self.by_command[run.command] = self.by_command.get(run.command, 0) + 1


STATS = Stats()


@contextmanager
def fake_terminal(on: bool) -> Iterator[None]:
    """Make Output believe stdout (and stderr) are terminals: the Rich rendering paths run."""
    if not on:
        yield
        return
    from unittest import mock

    from owox_idp.output import Output

    with (
        mock.patch.object(Output, "stdout_tty", property(lambda self: True)),
        mock.patch.object(Output, "stderr_tty", property(lambda self: True)),
    ):
        yield
