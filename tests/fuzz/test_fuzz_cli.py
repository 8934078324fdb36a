"""The fuzz suite: every command and option of the real CLI, driven with generated input on every
dialect. A run fails on a traceback, on "unexpected failure", on any exit 1 (nothing in here is an
operational failure: the database is up), on an exit code outside the contract, on a database that
changed after a failed command (every row of every table, compared before and after), and on a file
outside the test's own that changed (a symlink followed).

Findings whose fix lies outside the hardening files are listed in `KNOWN` (fuzzkit.py): the broad tests
tolerate exactly those, and test_known_findings.py reproduces each with an xfail(strict=True) test that
turns red (XPASS) when it is fixed, so that the entry can go.

IDP_FUZZ_EXAMPLES sets the examples per test and dialect (default 25); `nox -s fuzz` runs 2000.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

import fuzzkit
from fuzzkit import FUZZ_SETTINGS, cli_commands
from fuzzkit_harness import Harness

COMMANDS = cli_commands()


PATH_KINDS = st.sampled_from(
    ["fresh", "existing", "symlink", "dangling", "directory", "missing-dir", "stdout"]
)
PATH_PARAMS = {"file", "links", "output", "config", "env_file"}


def _use(data: st.DataObject, p: fuzzkit.Param) -> bool:
    chance = fuzzkit.LIKELY.get(p.name, 0.4)
    return data.draw(st.integers(0, 99), label=f"use {p.opts[0] if p.opts else p.name}") < chance * 100


def _args_for(data: st.DataObject, harness: Harness, command: fuzzkit.Command) -> tuple[list[str], Any]:
    args = list(command.path)
    stdin: Any = None
    positional: list[str] = []
    for p in command.params:
        if p.argument:
            if not p.required and not _use(data, p):
                continue
            if p.name == "file":
                content = data.draw(fuzzkit.import_file, label="import file")
                how = data.draw(st.sampled_from(["file", "stdin", "path"]), label="file how")
                if how == "stdin":
                    positional.append("-")
                    stdin = content
                elif how == "file":
                    positional.append(harness.path_value("existing", content))
                else:
                    positional.append(
                        harness.path_value(data.draw(st.one_of(PATH_KINDS, fuzzkit.text), label="path"))
                    )
            else:
                positional.append(data.draw(fuzzkit.value_for(p), label=p.name))
            continue
        if not p.required and not _use(data, p):
            continue
        if p.kind == "flag":
            args.append(p.opts[0])
            if p.name == "password_stdin":
                stdin = data.draw(
                    st.one_of(
                        fuzzkit.text, st.binary(max_size=40), st.just("correct horse battery staple\n")
                    ),
                    label="stdin password",
                )
            continue
        if p.kind == "bool-pair":
            args.append(data.draw(st.sampled_from(list(p.opts) + list(p.secondary)), label=p.name))
            continue
        if p.name in PATH_PARAMS or p.kind == "path":
            value = harness.path_value(data.draw(st.one_of(PATH_KINDS, fuzzkit.text), label=f"{p.name} path"))
        else:
            value = data.draw(fuzzkit.value_for(p), label=p.name)
        args += [p.opts[0], value]
    if positional:
        args.append("--")  # generated values may start with "-": keep them arguments
        args += positional
    return args, stdin


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_every_command(harness: Harness, data: st.DataObject) -> None:
    command = data.draw(st.sampled_from(COMMANDS), label="command")
    args, stdin = _args_for(data, harness, command)
    flavor = data.draw(st.sampled_from(["owox", "better-auth"]), label="flavor")
    tty = data.draw(st.booleans(), label="tty")
    run = harness.run(command.name, args, input=stdin, env={"IDP_FLAVOR": flavor}, tty=tty)
    harness.judge(run)


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_every_command_is_reached(command: str) -> None:
    """The broad test draws from the real CLI's commands: each is there (a new command is fuzzed too)."""
    assert any(c.name == command for c in COMMANDS)


SETTINGS_KEYS = st.sampled_from(
    [
        "IDP_DATABASE_URL",
        "DATABASE_URL",
        "IDP_FLAVOR",
        "IDP_BETTER_AUTH_BASE_URL",
        "IDP_BETTER_AUTH_MAGIC_LINK_TTL",
        "IDP_BETTER_AUTH_VERSION",
        "IDP_ROLES",
        "IDP_ADMIN_ROLES",
        "BETTER_AUTH_SECRETS",
        "IDP_BETTER_AUTH_SECRET",
        "PORT",
        "DB_TYPE",
        "DB_PORT",
        "IDP_PASSWORD_HASH",
        "IDP_ORGANIZATION",
        "IDP_BETTER_AUTH_BASE_PATH",
    ]
)
SETTING_VALUE = st.one_of(
    fuzzkit.text,
    fuzzkit.duration,
    st.sampled_from(
        [
            "postgresql://u:p/ss@127.0.0.1:1/x",
            "mysql://u:p#x@h:notaport/d",
            "sqlite:///\x00",
            "sqlite:///" + "a/" * 3000,
            "mysql",
            "sqlite",
            "custom",
            "1:a,1:b",
            "¹:x",
            "https://[::1",
        ]
    ),
)

TOML_TEXT = st.one_of(
    st.builds(
        lambda k, v: f"{k} = {v}\n",
        st.sampled_from(["flavor", "base_url", "magic_link_ttl", "roles", "secret", "database_url", "nope"]),
        st.sampled_from(
            [
                '"x"',
                "1e400",
                "-1",
                "[1, [2]]",
                "{a = 1}",
                "true",
                '"""',
                "[" * 3000 + "]" * 3000,
                "99999999999999999999",
            ]
        ),
    ),
    fuzzkit.text,
)


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_settings(harness: Harness, data: st.DataObject) -> None:
    """Environment, .env and TOML values: a bad one is exit 6 (or 5, 7), never a traceback or exit 1."""
    env = dict(
        data.draw(
            st.dictionaries(SETTINGS_KEYS, SETTING_VALUE.filter(lambda v: "\x00" not in v), max_size=3),
            label="environment",
        )
    )
    args: list[str] = []
    if data.draw(st.booleans(), label="--env-file"):
        content = data.draw(
            st.one_of(
                st.builds(
                    lambda k, v: f"{k}={v}\n".encode("utf-8", "surrogatepass"), SETTINGS_KEYS, SETTING_VALUE
                ),
                st.binary(max_size=100),
                st.sampled_from([b'IDP_DATABASE_URL="sqlite:///x.db\n', b"not a line\n", b"A=\xff\n"]),
            ),
            label=".env",
        )
        args += ["--env-file", harness.path_value("existing", content)]
    if data.draw(st.booleans(), label="--config"):
        toml = data.draw(TOML_TEXT, label="config.toml")
        args += ["--config", harness.path_value("existing", toml.encode("utf-8", "surrogatepass"))]
    command = data.draw(
        st.sampled_from([["info", "--json"], ["info"], ["list-users", "--json"], ["generate-secret"]]),
        label="command",
    )
    run = harness.run(
        command[0], args + command, input=None, env=env, tty=data.draw(st.booleans(), label="tty")
    )
    harness.judge(run)


def test_zz_fuzz_statistics(request: pytest.FixtureRequest) -> None:
    """Prints how many inputs the suite tried (shown with -s or in the report's captured output)."""
    s = fuzzkit.STATS
    print(
        f"\nfuzz: {s.runs} runs; exits {dict(sorted(s.by_exit.items()))}; known findings hit {fuzzkit.seen_known}"
    )
    os.environ.setdefault("IDP_FUZZ_RUNS", str(s.runs))
