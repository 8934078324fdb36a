"""Rendering: JSON for scripts (stable snake_case keys, ISO-8601 UTC), text and tables for people.

Results go to stdout, messages to stderr. Colour only on a terminal and never with NO_COLOR.

Every value that came from a user or from the database (names, emails, user agents, ban reasons, ...)
is shown as inert text, on a terminal and in a pipe: `inert` is the one function that makes it so, and
`fields`, `table`, `message`, `warn` and `error` apply it themselves. Rich never interprets markup
(`[/]`, `[bold]`) or emoji codes in what we print. JSON is exact: it escapes itself, and `to_json` also
writes the characters a terminal could act on (C1 controls, DEL, bidi overrides) as `\\uXXXX`, which a
JSON parser reads back as the very same string.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from owox_idp.clock import iso

# What a terminal may act on or what reorders / forges the text around it:
# - C0 controls (U+0000-U+001F: ESC starts CSI/OSC sequences such as OSC 8 hyperlinks and OSC 52
#   clipboard writes; BEL/ST end them; TAB, LF, CR forge columns and rows), DEL (U+007F);
# - C1 controls (U+0080-U+009F: U+009B is CSI and U+009D is OSC on terminals that honour 8-bit C1);
# - Unicode bidi controls (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069: "Trojan Source",
#   CVE-2021-42574), the line and paragraph separators (U+2028, U+2029), and the zero-width and BOM
#   characters (U+200B-U+200D, U+2060, U+FEFF) that hide text.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(value: Any) -> str:
    """`value` as text that a terminal shows and never acts on, on one line: every control or
    invisible/bidi character is written as a visible escape (`\\x1b`, `\\t`, `\\n`, `\\u202e`).

    Ordinary text (letters of any script, emoji, punctuation, backslashes) is unchanged, so the
    escaping is for display only: scripts that need the exact value use `--json`. Rich markup is not
    this function's business: `Output` never lets Rich parse what it prints.
    """
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_escape_char, text)


# Characters that spreadsheets take as the start of a formula or that hide one (OWASP, "CSV
# Injection": prefix cells starting with = + - @ TAB or CR with a single quote).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula: a value starting with
    = + - @ TAB or CR gets a leading `'` (OWASP's recommendation); the csv module does the quoting."""
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


# Only inside JSON strings can these appear (the structure is ASCII), and there `\uXXXX` is the same
# character to a parser; C0 controls are already escaped by json.dumps itself.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(data: Any, *, pretty: bool = False) -> str:
    """Compact (one line, so that a loop can append JSON Lines) unless `pretty` (a terminal)."""
    if pretty:
        text = json.dumps(data, default=_default, indent=2, ensure_ascii=False)
    else:
        text = json.dumps(data, default=_default, ensure_ascii=False, separators=(", ", ": "))
    return _JSON_UNSAFE.sub(_json_escape, text)


@dataclass
class Output:
    stdout: TextIO
    stderr: TextIO

    @classmethod
    def default(cls) -> Output:
        return cls(sys.stdout, sys.stderr)

    @property
    def stdout_tty(self) -> bool:
        return bool(getattr(self.stdout, "isatty", lambda: False)())

    @property
    def stderr_tty(self) -> bool:
        return bool(getattr(self.stderr, "isatty", lambda: False)())

    @property
    def color(self) -> bool:
        return self.stdout_tty and "NO_COLOR" not in os.environ

    def json(self, data: Any) -> None:
        self.stdout.write(to_json(data, pretty=self.stdout_tty) + "\n")

    def result(self, text: str) -> None:
        """A line of our own making on stdout (a link, a QR code: may carry our ANSI colours). A value
        from a user inside it must go through `inert` first."""
        self.stdout.write(text + "\n")

    def message(self, text: str) -> None:
        self.stderr.write(inert(text) + "\n")

    def warn(self, text: str) -> None:
        self.stderr.write(f"Warning: {inert(text)}\n")

    def error(self, text: str, hint: str | None = None) -> None:
        self.stderr.write(f"Error: {inert(text)}\n")
        if hint:
            self.stderr.write(f"Hint: {inert(hint)}\n")

    def fields(self, pairs: Sequence[tuple[str, Any]]) -> None:
        width = max((len(k) for k, _ in pairs), default=0)
        for key, value in pairs:
            shown = iso(value) if isinstance(value, datetime) else ("" if value is None else value)
            if isinstance(shown, bool):
                shown = "yes" if shown else "no"
            self.stdout.write(f"{inert(key) + ':':<{width + 1}} {inert(shown)}\n")

    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        no_wrap: Sequence[str] = (),
        cut_first: Sequence[str] = (),
    ) -> None:
        """A table on a terminal; tab-separated lines (with a header) otherwise. Every cell is `inert`,
        so a tab or newline in a value can never forge a column or a row.

        On a terminal the columns in `no_wrap` (an email, an id a user copies into another command) are
        never wrapped or cut; those in `cut_first` (a user agent, a name) give way first, down to a few
        characters with an ellipsis; the others keep their width. When even that does not fit the
        terminal's width, each row is shown as a record (`name: value` lines), as psql's expanded
        display does, instead of cutting what identifies it."""

        def cell(v: Any) -> str:
            if isinstance(v, datetime):
                full = iso(v) or ""
                return full[:16].replace("T", " ") if self.stdout_tty else full
            if isinstance(v, bool):
                return "yes" if v else "no"
            return "" if v is None else inert(v)

        if not self.stdout_tty:
            self.stdout.write("\t".join(inert(c) for c in columns) + "\n")
            for row in rows:
                self.stdout.write("\t".join(cell(v) for v in row) + "\n")
            return

        from rich.cells import cell_len
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        console = Console(
            file=self.stdout, no_color=not self.color, highlight=False, markup=False, emoji=False
        )
        texts = [[cell(v) for v in row] for row in rows]
        natural = [
            max([cell_len(inert(name))] + [cell_len(t[i]) for t in texts]) for i, name in enumerate(columns)
        ]
        least = [
            min(w, CUT_WIDTH) if name in cut_first else w for name, w in zip(columns, natural, strict=True)
        ]
        if sum(least) + len(columns) - 1 > console.width:
            self._records(columns, texts, whole=no_wrap, width=console.width)
            return
        # one space between columns (Rich's padding collapsed), no box: the most that fits in 80 columns
        table = Table(
            header_style="bold" if self.color else None, box=None, pad_edge=False, collapse_padding=True
        )
        widths = _fit(columns, natural, cut_first=cut_first, width=console.width)
        for name, width in zip(columns, widths, strict=True):
            table.add_column(
                Text(inert(name)),
                no_wrap=True,
                overflow="ellipsis" if name in cut_first else "ignore",
                width=width,
            )
        for t in texts:
            # Text objects are never parsed for markup: `[/]` or `[bold]` in a name stays as typed
            table.add_row(*(Text(v) for v in t))
        console.print(table)

    def _records(
        self, columns: Sequence[str], texts: Sequence[Sequence[str]], *, whole: Sequence[str], width: int
    ) -> None:
        """Rows as records, for a terminal too narrow for the table: a `name: value` line each, a blank
        line between records. A `whole` value (an email, an id) stays on its line, however narrow the
        terminal (which then wraps it, never cuts it); others wrap at the width, indented."""
        import textwrap

        label = max(len(inert(c)) for c in columns) + 2
        bold, reset = ("\x1b[1m", "\x1b[0m") if self.color else ("", "")
        for number, t in enumerate(texts):
            if number:
                self.stdout.write("\n")
            for name, value in zip(columns, t, strict=True):
                lines = (
                    [value]
                    if name in whole or width - label < 20
                    else textwrap.wrap(value, width - label, break_on_hyphens=False) or [""]
                )
                head = f"{bold}{inert(name) + ':':<{label - 1}}{reset} "
                self.stdout.write(
                    head + lines[0] + "".join("\n" + " " * label + rest for rest in lines[1:]) + "\n"
                )


# the narrowest a `cut_first` column becomes (an ellipsis included)
CUT_WIDTH = 8


def _fit(
    columns: Sequence[str], natural: Sequence[int], *, cut_first: Sequence[str], width: int
) -> list[int]:
    """Column widths for a table `width` wide with one space between columns: every column its natural
    width if that fits, else the `cut_first` ones give way, in that order (each down to CUT_WIDTH;
    the caller checked that this fits)."""
    widths = list(natural)
    excess = sum(widths) + len(widths) - 1 - width
    for i in [columns.index(name) for name in cut_first if name in columns]:
        if excess <= 0:
            break
        give = min(excess, widths[i] - min(widths[i], CUT_WIDTH))
        widths[i] -= give
        excess -= give
    return widths
