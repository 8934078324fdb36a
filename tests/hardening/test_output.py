"""Every value from a user is inert: on a (fake) terminal through Rich, and in a pipe."""

from __future__ import annotations

import io
import json

import pytest

from owox_idp.output import Output, csv_safe, inert, to_json

HOSTILE = [
    "[/]",
    "[/bold]",
    "[bold red]x[/bold red]",
    ":smile:",
    "\x1b]8;;https://evil.test\x1b\\click\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x1b]52;c;ZXZpbA==\x07",  # OSC 52 clipboard write
    "\x1b[2J\x1b[H",
    "a\tb\nc\rd",
    "\x7f\x9b31m\x9d",  # DEL, 8-bit CSI and OSC
    "abc\u202edcba\u2066\u2069",  # bidi overrides
    "line\u2028sep\u2029",
    "zero\u200bwidth\ufeff",
]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _control_free(text: str) -> bool:
    return not any(
        (ord(c) < 0x20 and c != "\n")
        or 0x7F <= ord(c) <= 0x9F
        or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029\u200b\ufeff"
        for c in text
    )


@pytest.mark.parametrize("value", HOSTILE)
def test_inert_escapes_visibly(value: str) -> None:
    shown = inert(value)
    assert _control_free(shown) and "\n" not in shown
    assert inert("Zoë Ünal 山田 🙂 C:\\x") == "Zoë Ünal 山田 🙂 C:\\x"  # ordinary text unchanged
    assert inert("\x1b\t\n\u202e") == "\\x1b\\t\\n\\u202e"


@pytest.mark.parametrize("value", HOSTILE)
def test_table_on_a_terminal_is_inert(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Output(FakeTerminal(), io.StringIO())
    out.table(["email", "name"], [["a@example.com", value], ["b@example.com", "plain"]])
    text = out.stdout.getvalue()
    # only Rich's own styling escapes (SGR: ESC [ ... m) may appear; nothing of the value acts
    import re

    without_sgr = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert _control_free(without_sgr), repr(text)
    assert len(without_sgr.strip().splitlines()) == 3  # header + two rows: nothing forged
    if value.startswith("["):
        assert value in without_sgr  # markup shown as typed, not interpreted


@pytest.mark.parametrize("value", HOSTILE)
def test_pipe_rows_cannot_be_forged(value: str) -> None:
    out = Output(io.StringIO(), io.StringIO())
    out.table(["email", "name", "role"], [["a@example.com", value, "admin"]])
    lines = out.stdout.getvalue().splitlines()
    assert len(lines) == 2 and all(line.count("\t") == 2 for line in lines)
    assert all(_control_free(cell) for line in lines for cell in line.split("\t"))


@pytest.mark.parametrize("value", HOSTILE)
def test_fields_and_messages_are_inert(value: str) -> None:
    out = Output(FakeTerminal(), FakeTerminal())
    out.fields([("name", value), ("email", "a@example.com")])
    out.message(f"Created {value}")
    out.warn(value)
    out.error(value, hint=value)
    assert len(out.stdout.getvalue().splitlines()) == 2
    assert len(out.stderr.getvalue().splitlines()) == 4
    assert _control_free(out.stdout.getvalue() + out.stderr.getvalue())


@pytest.mark.parametrize("pretty", [False, True])
def test_json_is_exact_and_terminal_safe(pretty: bool) -> None:
    data = {"names": HOSTILE}
    text = to_json(data, pretty=pretty)
    assert json.loads(text) == data
    assert _control_free(text)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=cmd|'/c calc'!A1", "'=cmd|'/c calc'!A1"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ann", "Ann"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_csv_safe(value: str, cell: str) -> None:
    assert csv_safe(value) == cell


def test_list_users_with_markup_name_on_a_terminal(idp_sqlite, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reported crash: a name `[/]` made list-users exit 1 on a terminal (Rich markup)."""
    idp_sqlite.migrate()
    r = idp_sqlite("add-user", "m@example.com", "--name", "[/]\x1b]52;c;eA==\x07", "--json")
    assert r.exit_code == 0, r.stderr
    from owox_idp import output

    monkeypatch.setattr(output.Output, "stdout_tty", property(lambda self: True))
    r = idp_sqlite("list-users", env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.stderr
    assert "[/]\\x1b]52;c;eA==\\x07" in r.stdout
