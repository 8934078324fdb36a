"""Rendering: JSON for scripts (stable snake_case keys, ISO-8601 UTC), text and tables for people.

Results go to stdout, messages to stderr. Colour only on a terminal and never with NO_COLOR.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from owox_idp.clock import iso


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(data: Any, *, pretty: bool = False) -> str:
    """Compact (one line, so that a loop can append JSON Lines) unless `pretty` (a terminal)."""
    if pretty:
        return json.dumps(data, default=_default, indent=2, ensure_ascii=False)
    return json.dumps(data, default=_default, ensure_ascii=False, separators=(", ", ": "))


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
        self.stdout.write(text + "\n")

    def message(self, text: str) -> None:
        self.stderr.write(text + "\n")

    def warn(self, text: str) -> None:
        self.stderr.write(f"Warning: {text}\n")

    def error(self, text: str, hint: str | None = None) -> None:
        self.stderr.write(f"Error: {text}\n")
        if hint:
            self.stderr.write(f"Hint: {hint}\n")

    def fields(self, pairs: Sequence[tuple[str, Any]]) -> None:
        width = max((len(k) for k, _ in pairs), default=0)
        for key, value in pairs:
            shown = iso(value) if isinstance(value, datetime) else ("" if value is None else value)
            if isinstance(shown, bool):
                shown = "yes" if shown else "no"
            self.stdout.write(f"{key + ':':<{width + 1}} {shown}\n")

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, no_wrap: Sequence[str] = ()
    ) -> None:
        """A Rich table on a terminal; tab-separated lines (with a header) otherwise. Columns named in
        `no_wrap` (ids a user copies into another command) are never wrapped or cut."""

        def cell(v: Any) -> str:
            if isinstance(v, datetime):
                full = iso(v) or ""
                return full[:16].replace("T", " ") if self.stdout_tty else full
            if isinstance(v, bool):
                return "yes" if v else "no"
            return "" if v is None else str(v)

        if self.stdout_tty:
            from rich.console import Console
            from rich.table import Table

            table = Table(header_style="bold" if self.color else None, box=None, pad_edge=False)
            for name in columns:
                keep = name in no_wrap
                table.add_column(name, no_wrap=keep, overflow="ignore" if keep else "ellipsis")
            for row in rows:
                table.add_row(*(cell(v) for v in row))
            Console(file=self.stdout, no_color=not self.color, highlight=False).print(table)
            return
        self.stdout.write("\t".join(columns) + "\n")
        for row in rows:
            self.stdout.write("\t".join(cell(v) for v in row) + "\n")
