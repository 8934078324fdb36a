"""The terminal (issue 14, part 5): options of the whole run after the command name, shell completion,
help that is never cut at 80 columns, tables that keep the whole email at 80 and 40 columns, and the
password prompt asking again on a terminal (driven through a real pseudo-terminal)."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from idp_runner import IdpRunner

from owox_idp.cli import app

# ----------------------------------------------------------------------------- global options


def test_global_options_after_the_command_name(idp: IdpRunner, tmp_path: Path) -> None:
    url = idp.env.pop("IDP_DATABASE_URL")
    assert idp("migrate", "--yes", "--database-url", url).exit_code == 0
    r = idp("add-user", "a@example.com", "--role", "admin", f"--database-url={url}", "--json")
    assert r.exit_code == 0, r.stderr
    r = idp("list-users", "--database-url", url, "--json")
    assert r.exit_code == 0, r.stderr
    assert [u["email"] for u in r.json()] == ["a@example.com"]
    # a sub-command's own, and the flavor after it
    r = idp("2fa", "status", "a@example.com", "--flavor", "owox", "--database-url", url)
    assert r.exit_code == 6 and "two-factor" in r.stderr  # the owox flavor has none: the flag was seen
    # --config and --env-file after the command
    config = tmp_path / "idp.toml"
    config.write_text(f'database_url = "{url}"\n')
    r = idp("add-user", "b@example.com", "--config", str(config), "--json")
    assert r.exit_code == 0, r.stderr
    env_file = tmp_path / "other.env"
    env_file.write_text(f"IDP_DATABASE_URL={url}\n")
    r = idp("show-user", "b@example.com", "-e", str(env_file), "--json")
    assert r.exit_code == 0 and r.json()["email"] == "b@example.com"
    # a value of the command's own option stays its value, even when it looks like a global option
    r = idp("set-role", "b@example.com", "editor", "--reason", "--database-url", "--database-url", url)
    assert r.exit_code == 0, r.stderr
    audit = idp("audit", "--json", "--limit", "1", "--database-url", url).json()
    assert audit[0]["reason"] == "--database-url"
    # after `--`, nothing moves; a missing value is a usage error
    r = idp("list-users", "--database-url")
    assert r.exit_code == 2
    r = idp("list-users", "--config", str(tmp_path / "missing.toml"), "--database-url", url)
    assert r.exit_code == 6 and "missing.toml" in r.stderr


def test_global_options_before_and_unknown_commands_still_work(idp_sqlite: IdpRunner) -> None:
    idp = idp_sqlite
    url = idp.env.pop("IDP_DATABASE_URL")
    assert idp("--database-url", url, "migrate", "--yes").exit_code == 0
    assert idp("--database-url", url, "list-users", "--json").json() == []
    r = idp("no-such-command", "--database-url", url)
    assert r.exit_code == 2 and "No such command" in r.stderr


# ----------------------------------------------------------------------------- completion


def test_show_completion_prints_a_bash_script(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    # the shell is given, not detected (Typer's switch for it): the test is the same in every shell
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    r = CliRunner().invoke(app, ["--show-completion", "bash"], prog_name="idp")
    assert r.exit_code == 0, r.output
    assert "_IDP_COMPLETE" in r.stdout and "complete " in r.stdout and "idp" in r.stdout


def test_completion_completes_commands(tmp_path: Path) -> None:
    """The script's callback: the real `idp` program, asked as bash asks it."""
    env = {
        **os.environ,
        "_IDP_COMPLETE": "complete_bash",
        "COMP_WORDS": "idp list-",
        "COMP_CWORD": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; sys.argv[0] = 'idp'; from owox_idp.cli import main; main()"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "list-users" in proc.stdout and "list-sessions" in proc.stdout


def test_completion_imports_nothing_heavy_at_start_up(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom owox_idp.cli import app\n"
        "heavy = [m for m in ('sqlalchemy', 'rich', 'qrcode', 'psycopg', 'pymysql') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


# ----------------------------------------------------------------------------- help at 80 columns


def _all_commands() -> list[list[str]]:
    from typer.main import get_command

    root = get_command(app)
    paths: list[list[str]] = [[]]

    def walk(cmd: object, path: list[str]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            paths.append([*path, name])
            walk(sub, [*path, name])

    walk(root, [])
    return paths


def test_help_is_never_cut_at_80_columns() -> None:
    from typer.testing import CliRunner

    commands = _all_commands()
    assert len(commands) > 25
    bad: list[tuple[list[str], str]] = []
    for path in commands:
        r = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, prog_name="idp")
        assert r.exit_code == 0, (path, r.output)
        lines = r.stdout.splitlines()
        for i, line in enumerate(lines):
            if len(line) > 80:
                bad.append((path, line))
            # Click cuts a command's summary with "..." (its metavars end so too: `[ARGS]...`)
            text = line.rstrip().removesuffix("[ARGS]...")
            if text.endswith(("...", "…")) and not text.endswith("://..."):
                bad.append((path, line))
            # a word is never cut at the end of a line (Click's wrapping breaks at hyphens)
            cut = line.endswith("-") and not line.endswith(" -") and i + 1 < len(lines)
            if cut and lines[i + 1].strip()[:1].isalnum():
                bad.append((path, line))
    assert bad == []


# ----------------------------------------------------------------------------- the password prompt

GOOD = "a good long password"


class Pty:
    """`idp` run on a real pseudo-terminal (its controlling terminal: getpass opens /dev/tty)."""

    def __init__(
        self, args: list[str], env: dict[str, str], cwd: Path, *, columns: int = 80, lines: int = 24
    ) -> None:
        import fcntl
        import pty
        import struct
        import termios

        child_env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("IDP_", "BETTER_AUTH", "NO_COLOR", "COLUMNS", "LINES"))
        }
        child_env.update(env)
        child_env["COLUMNS"], child_env["LINES"] = str(columns), str(lines)
        pid, fd = pty.fork()
        if pid == 0:  # the child: becomes idp at once
            os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "owox_idp", *args], child_env)
        # the terminal's size, as a terminal emulator sets it
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.pid, self.fd, self.seen = pid, fd, ""

    def expect(self, text: str, timeout: float = 60) -> str:
        import select

        while text not in self.seen:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            assert ready, f"no {text!r} from idp; it printed {self.seen!r}"
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # the child ended (EIO on Linux)
                chunk = b""
            assert chunk, f"idp ended before {text!r}; it printed {self.seen!r}"
            self.seen += chunk.decode(errors="replace")
        before, _, self.seen = self.seen.partition(text)
        return before

    def send(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def wait(self) -> tuple[int, str]:
        import select

        rest = self.seen
        while True:
            ready, _, _ = select.select([self.fd], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            rest += chunk.decode(errors="replace")
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status), rest


def test_the_prompt_asks_again_on_a_short_or_mismatched_password(idp: IdpRunner, tmp_path: Path) -> None:
    idp.migrate()
    term = Pty(["add-user", "p@example.com", "--role", "admin", "--password-stdin"], idp.env, tmp_path)
    term.expect("New password: ")
    term.send("short")
    assert "password is too short: 5 characters" in term.expect("New password: ")
    term.send(GOOD)
    term.expect("Repeat it: ")
    term.send(GOOD + " but not the same")
    assert "the two passwords differ; try again (1 attempt(s) left)" in term.expect("New password: ")
    term.send(GOOD)
    term.expect("Repeat it: ")
    term.send(GOOD)
    code, rest = term.wait()
    assert code == 0, rest
    assert "Created p@example.com with role admin and a password." in rest
    assert GOOD not in term.seen + rest  # hidden: never echoed
    assert idp("show-user", "p@example.com", "--json").json()["has_password"] is True


def test_the_prompt_gives_up_after_three_attempts(idp_sqlite: IdpRunner, tmp_path: Path) -> None:
    idp = idp_sqlite
    idp.migrate()
    assert idp("add-user", "p@example.com", "--role", "admin").exit_code == 0
    term = Pty(["reset-password", "p@example.com", "--password-stdin", "--yes"], idp.env, tmp_path)
    for _ in range(3):
        term.expect("New password: ")
        term.send("1234567")
    code, rest = term.wait()
    assert code == 5, rest
    assert "Error: password is too short: 7 characters, at least 8 are required (3 attempts)" in rest
    assert idp("show-user", "p@example.com", "--json").json()["has_password"] is False


def test_on_a_pipe_the_password_is_one_line_one_try(idp_sqlite: IdpRunner) -> None:
    idp = idp_sqlite
    idp.migrate()
    r = idp("add-user", "p@example.com", "--password-stdin", input="short\n")
    assert r.exit_code == 5 and "too short" in r.stderr
    assert "New password" not in r.stderr and "try again" not in r.stderr  # no prompt, no second try
    assert idp("show-user", "p@example.com").exit_code == 3


# ----------------------------------------------------------------------------- tables at 80 columns

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LONG_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86"
)


def _emails(n: int, length: int) -> list[str]:
    out = []
    for i in range(n):
        local = f"user{i}." + "x" * length
        out.append((local[: length - len("@example.com")] + "@example.com").lower())
    assert all(len(e) == length for e in out)
    return out


def _screen(idp: IdpRunner, tmp_path: Path, *args: str, columns: int, no_color: bool = False) -> list[str]:
    env = {**idp.env, **({"NO_COLOR": "1"} if no_color else {})}
    code, text = Pty(list(args), env, tmp_path, columns=columns).wait()
    assert code == 0, text
    return [ANSI.sub("", line) for line in text.replace("\r\n", "\n").split("\n")]


def _whole_on_one_line(lines: list[str], emails: list[str]) -> None:
    for email in emails:
        assert any(email in line for line in lines), (email, lines)


@pytest.fixture
def crowd(idp: IdpRunner) -> tuple[IdpRunner, list[str]]:
    from datetime import UTC, datetime

    from test_sessions import add_session

    idp.migrate()
    emails = _emails(3, 60)
    for email in emails:
        r = idp("add-user", email, "--name", "A very long display name for a person " * 2, "--json")
        assert r.exit_code == 0, r.stderr
        add_session(idp, r.json()["user_id"], created=datetime.now(UTC), ip="203.0.113.7", user_agent=LONG_UA)
    return idp, emails


def test_list_users_and_sessions_keep_the_whole_email_at_80_columns(
    crowd: tuple[IdpRunner, list[str]], tmp_path: Path
) -> None:
    idp, emails = crowd
    for command in ("list-users", "list-sessions"):
        lines = _screen(idp, tmp_path, command, columns=80)
        assert all(len(line) <= 80 for line in lines), lines
        _whole_on_one_line(lines, emails)
        assert "…" not in "".join(line for line in lines if "@" in line)  # the identity is never cut
    sessions = _screen(idp, tmp_path, "list-sessions", columns=80)
    assert any(LONG_UA[:40] in line for line in sessions)  # the records show the user agent too


def test_a_wide_terminal_gets_a_table_that_cuts_the_user_agent_first(
    crowd: tuple[IdpRunner, list[str]], tmp_path: Path
) -> None:
    idp, emails = crowd
    lines = _screen(idp, tmp_path, "list-sessions", columns=160, no_color=True)
    header = next(line for line in lines if line.startswith("id "))
    assert "user agent" in header and "email" in header
    rows = [line for line in lines if "@" in line]
    assert len(rows) == 3 and all(len(line) <= 160 for line in lines)
    _whole_on_one_line(rows, emails)
    assert all("…" in row for row in rows)  # the user agent gave way
    users = _screen(idp, tmp_path, "list-users", columns=120)
    assert next(line for line in users if line.startswith("email "))
    _whole_on_one_line(users, emails)


def test_at_40_columns_the_rows_become_records(crowd: tuple[IdpRunner, list[str]], tmp_path: Path) -> None:
    idp, emails = crowd
    for command in ("list-users", "list-sessions"):
        lines = _screen(idp, tmp_path, command, columns=40)
        _whole_on_one_line(lines, emails)  # longer than the terminal: whole, the terminal wraps it
        assert sum(line.startswith("email") for line in lines) == 3


# ----------------------------------------------------------------------------- start-up: one command built


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["--help"],
        ["-h"],
        [],
        ["--help", "list-users"],
        ["--flavor", "better-auth", "--help"],
        ["list-users", "--help"],
        ["--flavor", "better-auth", "list-users", "--help"],
        ["--database-url", "sqlite:///x.db", "--version"],
        ["2fa", "--help"],
        ["2fa", "status", "--help"],
        ["api-key", "create", "--help"],
        ["lst-users"],
        ["-e", "missing.env", "show-user", "--help"],
        ["generate-secret", "--help"],
    ],
)
def test_the_command_alone_behaves_as_the_whole_group(args: list[str]) -> None:
    """`main()` builds only the command a run names (cli.only_what_runs): the output and exit code are
    the whole group's, for each way of naming it."""
    from typer.testing import CliRunner

    from owox_idp.cli import only_what_runs

    whole = CliRunner().invoke(app, args, prog_name="idp")
    alone = CliRunner().invoke(only_what_runs(app, args), args, prog_name="idp")
    assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output)


def test_only_the_named_command_is_built() -> None:
    from owox_idp.cli import only_what_runs

    def names(args: list[str]) -> list[str]:
        pruned = only_what_runs(app, args)
        return [c.name or c.callback.__name__ for c in pruned.registered_commands if c.callback] + [
            g.name or "" for g in pruned.registered_groups
        ]

    assert names(["--database-url", "sqlite:///x.db", "list-users", "--json"]) == ["list-users"]
    assert names(["2fa", "status", "a@example.com"]) == ["2fa"]
    assert names(["--version"]) == []
    assert len(names(["--help"])) == len(app.registered_commands) + len(app.registered_groups)
    # the help listing's commands take no parameters: their signatures are not read (cli.listed_only)
    listed = only_what_runs(app, ["--help"])
    assert all(
        c.callback and not inspect.signature(c.callback).parameters for c in listed.registered_commands
    )
    assert len(names(["no-such-command"])) > 1  # Click names the command it does not know


def test_the_program_runs_a_command_with_options_of_the_whole_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'idp.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "BETTER_AUTH", "DATABASE_URL"))}
    env.update({"IDP_FLAVOR": "better-auth", "XDG_CONFIG_HOME": str(tmp_path)})

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        code = "import sys; sys.argv[0] = 'idp'; from owox_idp.cli import main; main()"
        return subprocess.run(
            [sys.executable, "-c", code, *args],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )

    assert run("--database-url", url, "migrate", "--yes").returncode == 0
    listed = run("list-users", "--json", "--database-url", url)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "[]"
    assert run("--version").stdout.startswith("idp ")
