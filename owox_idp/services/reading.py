"""Reading an import file: CSV (with a header) or JSON Lines, into numbered rows. A problem with the file
as a whole is an InvalidInput; a problem with one record is that row's `error`, so that the import can
report every bad line at once."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Literal

from owox_idp.errors import InvalidInput, UsageError
from owox_idp.models import USER_RECORD_FIELDS

Format = Literal["csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl")
# what an import row may say
IMPORT_COLUMNS = ("email", "name", "role", "password", "password_hash")
# what `idp export` writes (the keys of `idp list-users --json`); import ignores the ones it does not use,
# so an export re-imports as it is
EXPORT_COLUMNS = USER_RECORD_FIELDS
IGNORED_COLUMNS = frozenset(EXPORT_COLUMNS) - frozenset(IMPORT_COLUMNS)


@dataclass
class InputRow:
    """One record of the input: its first line number, the known fields (None when empty), and an error
    when the record itself is malformed."""

    line: int
    fields: dict[str, str | None]
    error: str | None = None
    note: str | None = None  # for the per-row report (a provider's password that was not kept)
    created_at: datetime | None = None  # a provider's creation date, as the export gave it (parsed)


def _column_name(text: str) -> str:
    return text.strip().lower().replace(" ", "_").replace("-", "_")


def detect_format(name: str, first_line: bytes) -> Format:
    """csv or jsonl, from the file name, else from the first non-blank line."""
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lowered.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    return "jsonl" if first_line.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"{") else "csv"


def read_rows(stream: BinaryIO, *, name: str, fmt: str | None = None) -> tuple[Format, list[InputRow]]:
    """Parse the whole input. A problem with the file as a whole (encoding, header, nothing in it) is an
    InvalidInput; a problem with one record is that row's `error`."""
    chosen, rows = iter_rows(stream, name=name, fmt=fmt)
    return chosen, list(rows)


def iter_rows(stream: BinaryIO, *, name: str, fmt: str | None = None) -> tuple[Format, Iterator[InputRow]]:
    """As `read_rows`, one row at a time (constant memory): the format is decided now, the rows come as
    the iterator is read (a file-level problem found later is raised from it)."""
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}: use csv or jsonl")
    raw_lines = iter(stream)
    leading: list[bytes] = []
    for raw in raw_lines:  # the first non-blank line decides the format
        leading.append(raw)
        if raw.strip() and raw.strip() != codecs.BOM_UTF8:
            break
    if not any(raw.removeprefix(codecs.BOM_UTF8).strip() for raw in leading):
        raise InvalidInput(f"{name} is empty: there are no users to import")
    chosen: Format = (
        "jsonl" if fmt == "jsonl" else ("csv" if fmt == "csv" else detect_format(name, leading[-1]))
    )
    lines = _decoded(_chain(leading, raw_lines))
    rows = _read_jsonl(lines) if chosen == "jsonl" else _read_csv(lines)
    return chosen, _not_empty(rows, name)


def _not_empty(rows: Iterator[InputRow], name: str) -> Iterator[InputRow]:
    some = False
    for row in rows:
        some = True
        yield row
    if not some:
        raise InvalidInput(f"{name} has no users: only a header")


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def _decoded(lines: Iterable[bytes]) -> Iterator[str]:
    for number, raw in enumerate(lines, 1):
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(
                f"line {number} is not UTF-8 text",
                hint="save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`)",
            ) from None


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _check_columns(columns: list[str], line: int) -> None:
    expected = ", ".join(IMPORT_COLUMNS)
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise InvalidInput(f"line {line}: column {duplicates[0]!r} appears twice in the header")
    unknown = [c for c in columns if c not in IMPORT_COLUMNS and c not in IGNORED_COLUMNS]
    if "email" not in columns:
        raise InvalidInput(
            f"line {line}: the header has no `email` column (found: {', '.join(columns) or 'nothing'})",
            hint=f"the first line must name the columns: {expected}",
        )
    if unknown:
        raise InvalidInput(
            f"line {line}: unknown column(s) {', '.join(repr(c) for c in unknown)}",
            hint=f"the columns are {expected} (and the ones `idp export` writes, which are ignored)",
        )


def _read_csv(lines: Iterator[str]) -> Iterator[InputRow]:
    first: list[str] = []
    for text in lines:  # blank lines before the header
        first.append(text)
        if text.strip():
            break
    header_line = len(first)
    # strict: an unterminated quote is an error at the end of the file, not one huge field that swallows
    # every row after it
    reader = csv.reader(_chain_text(first, lines), delimiter=_delimiter(first[-1]), strict=True)
    try:
        header: list[str] = []
        while not header:
            header = next(reader)
        columns = [_column_name(h) for h in header]
        _check_columns(columns, header_line)
        previous = reader.line_num
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if not any(value.strip() for value in record):
                continue
            if len(record) != len(columns):
                problem = f"has {len(record)} field(s); the header has {len(columns)}"
                if any("$argon2" in value for value in record):
                    problem += ' (an argon2id hash has commas: quote it, "$argon2id$...")'
                yield InputRow(start, {}, problem)
                continue
            fields: dict[str, str | None] = {
                col: (value if value.strip() else None)
                for col, value in zip(columns, record, strict=True)
                if col in IMPORT_COLUMNS
            }
            yield InputRow(start, fields)
    except csv.Error as exc:
        raise InvalidInput(f"line {reader.line_num}: not valid CSV ({exc})") from None


def _chain_text(first: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


def _read_jsonl(lines: Iterator[str]) -> Iterator[InputRow]:
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            msg = getattr(exc, "msg", str(exc))
            yield InputRow(number, {}, f"not valid JSON ({msg})")
            continue
        except RecursionError:  # a line nested thousands deep: no user record is
            yield InputRow(number, {}, "not a user record (JSON nested too deeply)")
            continue
        if not isinstance(obj, dict):
            yield InputRow(number, {}, "not a JSON object")
            continue
        yield _json_row(number, obj)


def _json_row(number: int, obj: dict[str, Any]) -> InputRow:
    fields: dict[str, str | None] = {}
    unknown = []
    for key, value in obj.items():
        col = _column_name(str(key))
        if col in IGNORED_COLUMNS:
            continue
        if col not in IMPORT_COLUMNS:
            unknown.append(str(key))
            continue
        if value is None or isinstance(value, str):
            fields[col] = value if value is None or value.strip() else None
        elif col == "role" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            fields[col] = ",".join(value) or None
        else:
            return InputRow(number, {}, f"{key!r} must be a string")
    if unknown:
        return InputRow(
            number,
            {},
            f"unknown field(s) {', '.join(repr(k) for k in unknown)} (the fields are {', '.join(IMPORT_COLUMNS)})",
        )
    return InputRow(number, fields)
