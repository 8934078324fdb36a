"""Readers for other identity providers' user exports (`idp import --from PROVIDER FILE`).

Each reader takes the export as a binary stream and yields one `ProviderRecord` per user, in file order,
streaming: memory stays constant whatever the number of users (one record, plus one read buffer, at a
time). JSON Lines and CSV are read a line at a time; the exports that are one JSON document (Firebase's
`{"users": [...]}`, Keycloak's realm file) go through `_JsonArrayStream`, which walks the document's top
level and decodes one array element at a time with the C JSON scanner, so a million users never sit in
memory together. A gzip-compressed export (Auth0 serves `.json.gz`) is decompressed on the fly.

A problem with the file as a whole (not the provider's format, not UTF-8, truncated JSON document)
raises `InvalidInput`; a problem with one user is that record's `error`, and reading goes on.

The module is pure: no database, no settings, no CLI. `ProviderRecord.to_input_row` turns a record into
the `InputRow` that `owox_idp.services.reading` validates and writes; which stored hash is kept depends on
the deployment's `IDP_PASSWORD_HASH`, so that is its argument.

Sources for each format are in docs/import-from-providers.md and tests/data/providers/README.md.
"""

from __future__ import annotations

import base64
import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, BinaryIO, Final, Literal, cast

from owox_idp.errors import InvalidInput

if TYPE_CHECKING:
    from owox_idp.services.reading import InputRow

PROVIDERS: Final = ("auth0", "supabase", "firebase", "clerk", "keycloak")

PasswordKind = Literal["scrypt", "argon2id", "bcrypt", "firebase-scrypt", "unsupported"]
# the kinds a Better Auth server can verify, each with the IDP_PASSWORD_HASH that declares it
KEPT_KINDS: Final = ("scrypt", "argon2id", "bcrypt")

_SCRYPT_RE = re.compile(r"[0-9a-f]{32}:[0-9a-f]{128}")
_BCRYPT_RE = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")
_ARGON2ID_RE = re.compile(r"\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}")
_LIST_SPLIT = re.compile(r"\s*[|,;]\s*")
_CHUNK = 1 << 20
_MAX_ELEMENT = 64 << 20  # one user (or one skipped top-level value) larger than this is not an export


# ----------------------------------------------------------------------------- the record


@dataclass(frozen=True, slots=True)
class Password:
    """What the export says about a user's password.

    kind: `scrypt` (Better Auth's `<salt hex>:<key hex>`), `argon2id` (a PHC string), `bcrypt`
    (`$2a$`/`$2b$`; a `$2y$` is rewritten `$2b$`, the same algorithm, since Node's native bcrypt refuses
    `$2y$`): `value` is the string to store in `account.password`. `firebase-scrypt`: Firebase's modified
    scrypt, `value` is `$firebase-scrypt$<salt base64>$<hash base64>`, verifiable only by a server hook
    that has the project's hash key (docs/import-from-providers.md). `unsupported`: a hash no Better Auth
    server verifies (PBKDF2, MD5, ...) or a password the export does not carry; `value` is None.
    `reason` says, for the report, what the hash is when it is not one of the kept kinds."""

    kind: PasswordKind
    value: str | None
    reason: str | None = None

    def kept_for(self, scheme: str) -> bool:
        """Whether a deployment whose `password.verify` uses `scheme` verifies this hash as stored."""
        return self.kind == scheme and self.kind in KEPT_KINDS and self.value is not None


@dataclass(slots=True)
class ProviderRecord:
    """One user of an export, normalised.

    line: the 1-based line of the file where the user's record starts; number: its 1-based position
    among the records; source_id: the provider's id for the user (for the report, never written);
    email as exported (the importer normalises it); email_verified None when the export does not say;
    created_at an aware UTC datetime or None; roles None when the export carries none (the importer
    then applies `--role`); password None when the user has none (a social or passwordless login);
    error: why the record cannot be imported (the other fields may then be empty)."""

    line: int
    number: int
    source_id: str | None = None
    email: str | None = None
    name: str | None = None
    email_verified: bool | None = None
    created_at: datetime | None = None
    roles: list[str] | None = None
    password: Password | None = None
    error: str | None = None

    def password_note(self, scheme: str) -> str | None:
        """Why the user gets a link instead of their password, when they had one (for the per-row
        report); None when the hash is kept or there was no password."""
        password = self.password
        if password is None or password.kept_for(scheme):
            return None
        if password.kind in KEPT_KINDS:
            return (
                f"password not imported: {'an' if password.kind[0] in 'aeiou' else 'a'} {password.kind} hash, but the server verifies {scheme} "
                "(IDP_PASSWORD_HASH)"
            )
        return f"password not imported: {password.reason or password.kind}"

    def to_input_row(self, scheme: str, *, default_role: str | None = None) -> InputRow:
        """The row `owox_idp.services.reading` validates and writes: email, name, role (the export's roles
        comma-joined, else `default_role`) and password_hash (only a hash the `scheme` server verifies).
        `email_verified` ("true"/"false"/None) rides along in the fields, and the creation date, already
        parsed, as `InputRow.created_at`."""
        password = self.password
        kept = (
            password.value
            if password is not None and password.kind == scheme and scheme in KEPT_KINDS
            else None
        )
        verified, created = self.email_verified, self.created_at
        fields: dict[str, str | None] = {
            "email": self.email,
            "name": self.name,
            "role": ",".join(self.roles) if self.roles else default_role,
            "password_hash": kept,
            "email_verified": None if verified is None else ("true" if verified else "false"),
        }
        return _input_row_type()(self.line, fields, self.error, created_at=created)


@cache
def _input_row_type() -> type[InputRow]:
    from owox_idp.services import reading  # imports no SQL or driver at module level

    return reading.InputRow


# ----------------------------------------------------------------------------- entry point


def read_export(provider: str, stream: BinaryIO, *, name: str = "export") -> Iterator[ProviderRecord]:
    """The records of `provider`'s export in `stream` (binary; gzip is detected and decompressed)."""
    readers: dict[str, Callable[[BinaryIO, str], Iterator[ProviderRecord]]] = {
        "auth0": read_auth0,
        "supabase": read_supabase,
        "firebase": read_firebase,
        "clerk": read_clerk,
        "keycloak": read_keycloak,
    }
    reader = readers.get(provider)
    if reader is None:
        raise InvalidInput(f"unknown provider {provider!r}: use one of {', '.join(PROVIDERS)}")
    return reader(stream, name)


# ----------------------------------------------------------------------------- shared helpers


class _Prefixed(io.RawIOBase):
    """A stream that first returns `head` (bytes already read to sniff the format), then the rest."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)


def _open(stream: BinaryIO) -> tuple[BinaryIO, bytes]:
    """The stream, decompressed when gzip, and its first bytes (BOM and whitespace removed) to tell the
    format. Works on pipes: nothing is seeked."""
    head = stream.read(2)
    raw: io.BufferedReader[Any] = io.BufferedReader(_Prefixed(head, stream), buffer_size=_CHUNK)
    if head == b"\x1f\x8b":
        import gzip

        raw = io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), buffer_size=_CHUNK)
    sniffed = raw.peek(64)[:64].removeprefix(codecs.BOM_UTF8).lstrip()
    return cast(BinaryIO, raw), sniffed


def _text(value: Any) -> str | None:
    """A non-blank string, stripped; anything else is None."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "t", "1", "yes"):
            return True
        if lowered in ("false", "f", "0", "no"):
            return False
    return None


def _datetime(value: Any, field: str) -> datetime | None:
    """ISO 8601 text (with or without offset: naive means UTC), {"$date": ...} (Auth0's hash export), or
    epoch milliseconds (Firebase, Keycloak, Clerk) as a number or digits. Raises ValueError naming
    `field` when it is none of those."""
    if value is None or value == "":
        return None
    if isinstance(value, dict) and "$date" in value:
        value = value["$date"]
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        if isinstance(value, str):
            text = value.strip()
            if text.isdigit():
                return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
            parsed = datetime.fromisoformat(text)  # 3.11+: "Z", "+00", a space for "T"
            if parsed.tzinfo is UTC:  # "Z" and "+00:00" parse to the UTC singleton: nothing to convert
                return parsed
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise ValueError(f"{field} is not a date ({str(value)[:40]!r})")


def _roles(value: Any) -> list[str] | None:
    """A list of role names from a JSON list of strings or a comma-separated string; None when empty."""
    if type(value) is list and len(value) == 1 and type(value[0]) is str and value[0].strip() == value[0]:
        return value if value[0] else None  # the common case, without the general path's copies
    if isinstance(value, str):
        names = [part for part in _LIST_SPLIT.split(value.strip()) if part]
    elif isinstance(value, list):
        names = [item.strip() for item in value if isinstance(item, str) and item.strip()]
    else:
        return None
    unique = list(dict.fromkeys(names))
    return unique or None


def classify_hash(value: str | None, *, source: str) -> Password | None:
    """A stored password hash from any export, by its form. `source` names the provider for reasons."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if _BCRYPT_RE.fullmatch(value):
        if value.startswith("$2y$"):  # PHP's name for $2b$; Node's native bcrypt refuses the prefix
            value = "$2b$" + value[4:]
        return Password("bcrypt", value)
    if value.startswith("$argon2id$"):
        if _ARGON2ID_RE.fullmatch(value):
            return Password("argon2id", value)
        return Password("unsupported", None, f"a malformed argon2id hash from {source}")
    if _SCRYPT_RE.fullmatch(value):
        return Password("scrypt", value)
    if value.startswith("$fbscrypt$"):  # Supabase's form for users it imported from Firebase
        return Password("unsupported", None, "Firebase modified scrypt (as Supabase stores it)")
    scheme = value.split("$")[1] if value.startswith("$") and value.count("$") >= 2 else None
    label = f"a {scheme} hash" if scheme else "a hash of a form no Better Auth server verifies"
    return Password("unsupported", None, f"{label} from {source}")


def _json_lines(stream: BinaryIO) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, decoded value, error) for each non-blank line of a JSON Lines stream."""
    loads = json.loads
    for number, raw in enumerate(stream, 1):
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        if not raw.strip():
            continue
        try:
            yield number, loads(raw), None
        except UnicodeDecodeError:
            yield number, None, "not UTF-8 text"
        except ValueError as exc:
            yield number, None, f"not valid JSON ({getattr(exc, 'msg', exc)})"


def _csv_rows(stream: BinaryIO, name: str) -> Iterator[tuple[int, dict[str, str], str | None]]:
    """(first line, {column: value}, error) for each data row of a CSV stream with a header line."""

    def lines() -> Iterator[str]:
        for number, raw in enumerate(stream, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(f"{name}: line {number} is not UTF-8 text") from None
            yield text.removeprefix("\ufeff") if number == 1 else text

    reader = csv.reader(lines())
    try:
        header: list[str] = []
        while not header or not any(h.strip() for h in header):
            header = next(reader)
        columns = [h.strip().lower() for h in header]
        previous = reader.line_num
        for values in reader:
            start, previous = previous + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                yield start, {}, f"has {len(values)} field(s); the header has {len(columns)}"
                continue
            yield start, dict(zip(columns, values, strict=True)), None
    except StopIteration:
        raise InvalidInput(f"{name} is empty: there are no users to import") from None
    except csv.Error as exc:
        raise InvalidInput(f"{name}: line {reader.line_num}: not valid CSV ({exc})") from None


class _JsonArrayStream:
    """The elements of one array inside a JSON document, decoded one at a time.

    The document is read in chunks and decoded incrementally; the top level is walked by hand (object
    keys, `:` and `,`), every value that is not the wanted array is decoded and dropped, and each element
    of the wanted array is decoded with `json.JSONDecoder.raw_decode` (the C scanner) from the buffer. A
    value cut by the end of the buffer fails to decode and is retried with more text, the read growing
    geometrically so a large value costs O(its size). Memory: one chunk plus the largest single value."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self._stream = stream
        self._name = name
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._line = 1  # line number at self._pos
        self._eof = False

    # -- buffer

    def _more(self, at_least: int = 0) -> bool:
        if self._eof:
            return False
        data = self._stream.read(max(at_least, _CHUNK))
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise InvalidInput(f"{self._name}: near line {self._line}: not UTF-8 text") from None
        if not data:
            self._eof = True
        if self._pos:
            self._buf = self._buf[self._pos :]
            self._pos = 0
        self._buf += text.removeprefix("\ufeff") if not self._buf and self._line == 1 else text
        return bool(data)

    def _advance(self, end: int) -> None:
        self._line += self._buf.count("\n", self._pos, end)
        self._pos = end

    def _peek(self) -> str:
        """The next non-whitespace character ('' at the end), consumed up to it."""
        while True:
            buf, pos = self._buf, self._pos
            end = len(buf)
            while pos < end and buf[pos] in " \t\r\n":
                pos += 1
            self._advance(pos)
            if pos < end:
                return buf[pos]
            if not self._more():
                return ""

    def _expect(self, char: str, what: str) -> None:
        found = self._peek()
        if found != char:
            shown = repr(found) if found else "the end of the file"
            raise InvalidInput(f"{self._name}: line {self._line}: expected {what}, found {shown}")
        self._advance(self._pos + 1)

    def _value(self) -> Any:
        """Decode the JSON value at the current position (after whitespace)."""
        self._peek()
        while True:
            try:
                value, end = self._json.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._eof:
                    raise InvalidInput(
                        f"{self._name}: line {exc.lineno + self._line - 1}: not valid JSON ({exc.msg})"
                    ) from None
            else:
                # a number (or anything) ending exactly at the buffer's end may continue in the next chunk
                if end < len(self._buf) or self._eof:
                    self._advance(end)
                    return value
            if len(self._buf) - self._pos > _MAX_ELEMENT:
                raise InvalidInput(f"{self._name}: line {self._line}: one value is larger than 64 MiB")
            self._more(len(self._buf) - self._pos)

    # -- structure

    def elements(self, key: str | None) -> Iterator[tuple[int, Any]]:
        """(start line, element) of the array under the top-level `key` of the document, or of the
        document itself when it is an array and `key` is None."""
        first = self._peek()
        if first == "[" and key is None:
            yield from self._array()
            return
        if first != "{" or key is None:
            want = "an array" if key is None else f'an object with "{key}"'
            raise InvalidInput(f"{self._name}: expected {want} (is this the right --from?)")
        self._advance(self._pos + 1)
        if self._peek() == "}":
            return
        while True:
            if self._peek() != '"':
                self._expect('"', "a key")
            member = self._value()
            self._expect(":", "':'")
            if member == key:
                if self._peek() != "[":
                    self._expect("[", f'an array for "{key}"')
                yield from self._array()
                return  # what follows the users is not read
            self._value()  # a value we do not need: decoded and dropped
            after = self._peek()
            if after == "}":
                return  # no such key: no users
            self._expect(",", "',' or '}'")

    def _array(self) -> Iterator[tuple[int, Any]]:
        self._expect("[", "'['")
        if self._peek() == "]":
            self._advance(self._pos + 1)
            return
        while True:
            self._peek()
            line = self._line
            yield line, self._value()
            after = self._peek()
            if after == "]":
                self._advance(self._pos + 1)
                return
            self._expect(",", "',' or ']'")


def _records(
    items: Iterable[tuple[int, Any, str | None]], mapper: Callable[[ProviderRecord, dict[str, Any]], None]
) -> Iterator[ProviderRecord]:
    """Records from (line, decoded value, error): `mapper` fills each record from its JSON object; a
    ValueError/TypeError/KeyError from it becomes the record's error instead of stopping the import."""
    for number, (line, obj, error) in enumerate(items, 1):
        record = ProviderRecord(line, number)
        if error is not None:
            record.error = error
        elif not isinstance(obj, dict):
            record.error = "not a JSON object"
        else:
            try:
                mapper(record, obj)
            except (ValueError, TypeError, KeyError) as exc:
                record.error = str(exc) or type(exc).__name__
        yield record


def _with_none(items: Iterable[tuple[int, Any]]) -> Iterator[tuple[int, Any, str | None]]:
    for line, value in items:
        yield line, value, None


# ----------------------------------------------------------------------------- Auth0


def read_auth0(stream: BinaryIO, name: str = "export") -> Iterator[ProviderRecord]:
    """Auth0's bulk user export (`POST /api/v2/jobs/users-exports` with `"format": "json"`: NDJSON, one
    user a line, usually gzip-compressed) or the password hash export Auth0 support sends (NDJSON too,
    with `passwordHash` and `_id.$oid`). Roles come from `app_metadata.roles` (or the Authorization
    Extension's `app_metadata.authorization.roles`): Auth0's RBAC roles are not in either export."""
    raw, head = _open(stream)
    if head and not head.startswith(b"{"):
        raise InvalidInput(
            f"{name} is not Auth0's JSON export (one JSON object a line)",
            hint='export with "format": "json"; the CSV export cannot carry app_metadata',
        )
    return _records(_auth0_lines(raw), _auth0_user)


def _auth0_lines(stream: BinaryIO) -> Iterator[tuple[int, Any, str | None]]:
    """`_json_lines`, faster: with msgspec installed its decoder (4-5x the stdlib's speed on Auth0's
    lines) decodes each line; a line it refuses (not JSON, not UTF-8, a BOM, blank) goes through
    `_json_lines`, so the errors read the same either way. Auth0 exports are the large ones (a line
    is 4x an idp CSV row), and this keeps their parsing near idp's own CSV (benchmarks/provider_parse.py)."""
    try:
        import msgspec
    except ImportError:  # pragma: no cover - msgspec is a dependency; the stdlib path still works
        yield from _json_lines(stream)
        return
    decode = msgspec.json.Decoder().decode
    failed = msgspec.DecodeError
    for number, raw in enumerate(stream, 1):
        try:
            yield number, decode(raw), None
        except (failed, UnicodeDecodeError):
            for _, value, error in _json_lines([raw.removeprefix(codecs.BOM_UTF8)]):  # type: ignore[arg-type]
                yield number, value, error


def _auth0_user(record: ProviderRecord, user: dict[str, Any]) -> None:
    oid = user.get("_id")
    record.source_id = _text(user.get("user_id")) or (
        _text(oid.get("$oid")) if isinstance(oid, dict) else None
    )
    email = _text(user.get("email"))
    verified = user.get("email_verified")
    if email is None or verified is None:  # the hash export may keep them only in `identifiers`
        for ident in user.get("identifiers") or ():
            if isinstance(ident, dict) and ident.get("type") == "email":
                email = email or _text(ident.get("value"))
                verified = ident.get("verified") if verified is None else verified
    record.email = email
    record.email_verified = _bool(verified)
    name = _text(user.get("name"))
    if name is not None and email is not None and name.lower() == email.lower():
        name = None  # Auth0 fills `name` with the email when the user gave none
    if name is None:
        parts = [_text(user.get("given_name")), _text(user.get("family_name"))]
        name = " ".join(p for p in parts if p) or None
    record.name = name
    record.created_at = _datetime(user.get("created_at"), "created_at")
    meta = user.get("app_metadata")
    if isinstance(meta, dict):
        authorization = meta.get("authorization")
        record.roles = _roles(meta.get("roles")) or (
            _roles(authorization.get("roles")) if isinstance(authorization, dict) else None
        )
    hashed = user.get("passwordHash") or user.get("password_hash")
    if isinstance(hashed, str):
        record.password = classify_hash(hashed, source="Auth0")
    elif _is_auth0_database_user(user):
        record.password = Password(
            "unsupported",
            None,
            "Auth0's bulk export carries no password hashes (Auth0 support can send a password hash export)",
        )


def _is_auth0_database_user(user: dict[str, Any]) -> bool:
    user_id = user.get("user_id")
    if isinstance(user_id, str):
        return user_id.startswith("auth0|")
    identities = user.get("identities")
    if isinstance(identities, list) and identities and isinstance(identities[0], dict):
        return identities[0].get("provider") == "auth0"
    return False


# ----------------------------------------------------------------------------- Supabase


def read_supabase(stream: BinaryIO, name: str = "export") -> Iterator[ProviderRecord]:
    """Supabase's `auth.users`, as CSV with a header (the SQL editor's "Download CSV", or
    `\\copy (select * from auth.users) to 'users.csv' csv header`) or JSON (JSON Lines from
    `select row_to_json(u) from auth.users u`, or one array from `select json_agg(u) ...`). The password
    is `encrypted_password`, bcrypt (`$2a$10$`) from GoTrue."""
    raw, head = _open(stream)
    if head.startswith(b"["):
        return _records(_with_none(_JsonArrayStream(raw, name).elements(None)), _supabase_user)
    if head.startswith(b"{"):
        return _records(_json_lines(raw), _supabase_user)
    return _records(_csv_as_json(_csv_rows(raw, name), name, required="email"), _supabase_user)


def _csv_as_json(
    rows: Iterator[tuple[int, dict[str, str], str | None]], name: str, *, required: str
) -> Iterator[tuple[int, Any, str | None]]:
    first = True
    for line, row, error in rows:
        if first and error is None and required not in row:
            raise InvalidInput(
                f"{name}: the header has no `{required}` column (found: {', '.join(row) or 'nothing'})"
            )
        first = False
        yield line, row, error


def _json_object(value: Any, column: str) -> dict[str, Any]:
    """A jsonb column: an object in JSON exports, its JSON text in CSV ones."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{column} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValueError(f"{column} is not a JSON object")
    return value


def _supabase_user(record: ProviderRecord, user: dict[str, Any]) -> None:
    record.source_id = _text(user.get("id"))
    record.email = _text(user.get("email"))
    if user.get("deleted_at") not in (None, ""):
        raise ValueError("deleted in Supabase (deleted_at is set)")
    if _bool(user.get("is_anonymous")):
        raise ValueError("an anonymous Supabase user (no email)")
    confirmed = user.get("email_confirmed_at") or user.get("confirmed_at")
    record.email_verified = bool(_text(confirmed)) if isinstance(confirmed, str) else confirmed is not None
    meta = _json_object(user.get("raw_user_meta_data"), "raw_user_meta_data")
    record.name = _text(meta.get("full_name")) or _text(meta.get("name"))
    record.created_at = _datetime(user.get("created_at"), "created_at")
    app = _json_object(user.get("raw_app_meta_data"), "raw_app_meta_data")
    record.roles = _roles(app.get("roles")) or _roles(app.get("role"))
    record.password = classify_hash(_text(user.get("encrypted_password")), source="Supabase")


# ----------------------------------------------------------------------------- Firebase


def read_firebase(stream: BinaryIO, name: str = "export") -> Iterator[ProviderRecord]:
    """`firebase auth:export users.json --format=json`: one document `{"users": [...]}`, read one user
    at a time. `passwordHash`/`salt` (standard base64) are Firebase's modified scrypt, present only
    for users hashed with the project's default SCRYPT; `customAttributes` is the custom claims as JSON
    text, where `roles` (a list) or `role` (a string) are taken as roles."""
    raw, head = _open(stream)
    if head and not head.startswith(b"{"):
        raise InvalidInput(f"{name} is not a Firebase JSON export", hint="export with --format=json")
    return _records(_with_none(_JsonArrayStream(raw, name).elements("users")), _firebase_user)


def _firebase_user(record: ProviderRecord, user: dict[str, Any]) -> None:
    record.source_id = _text(user.get("localId"))
    record.email = _text(user.get("email"))
    record.email_verified = _bool(user.get("emailVerified"))
    record.name = _text(user.get("displayName"))
    record.created_at = _datetime(user.get("createdAt"), "createdAt")
    claims = _json_object(user.get("customAttributes"), "customAttributes")
    record.roles = _roles(claims.get("roles")) or _roles(claims.get("role"))
    hashed, salt = _text(user.get("passwordHash")), _text(user.get("salt"))
    if hashed is not None:
        for part, label in ((hashed, "passwordHash"), (salt or "", "salt")):
            try:
                base64.b64decode(part, validate=True)
            except ValueError:
                raise ValueError(f"{label} is not base64") from None
        record.password = Password(
            "firebase-scrypt",
            f"$firebase-scrypt${salt or ''}${hashed}",
            "Firebase modified scrypt: only a server hook with the project's hash key can verify it",
        )


def firebase_scrypt_hash(
    password: str, *, salt_b64: str, signer_key_b64: str, salt_separator_b64: str, rounds: int, mem_cost: int
) -> str:
    """Firebase's modified scrypt (github.com/firebase/scrypt): scrypt(password, salt + separator,
    N=2^mem_cost, r=rounds, p=1, 64 bytes), whose first 32 bytes key AES-256-CTR (zero IV) over the
    project's signer key; base64. For tests and for checking a project's hash parameters."""
    import hashlib

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    derived = hashlib.scrypt(
        password.encode("utf-8"),
        salt=base64.b64decode(salt_b64) + base64.b64decode(salt_separator_b64),
        n=1 << mem_cost,
        r=rounds,
        p=1,
        dklen=64,
        maxmem=256 << 20,
    )
    encryptor = Cipher(algorithms.AES(derived[:32]), modes.CTR(b"\0" * 16)).encryptor()
    signed = encryptor.update(base64.b64decode(signer_key_b64)) + encryptor.finalize()
    return base64.b64encode(signed).decode("ascii")


# ----------------------------------------------------------------------------- Clerk


_CLERK_KEPT = {"bcrypt": "bcrypt", "argon2id": "argon2id"}


def read_clerk(stream: BinaryIO, name: str = "export") -> Iterator[ProviderRecord]:
    """The Clerk Dashboard's user export (Settings > User exports): CSV with `id, first_name,
    last_name, username, primary_email_address, primary_phone_number, verified_email_addresses,
    unverified_email_addresses, verified_phone_numbers, unverified_phone_numbers, totp_secret,
    password_digest, password_hasher`. It carries no roles and no creation date (a `created_at` column,
    when present, is read)."""
    raw, head = _open(stream)
    if head.startswith((b"{", b"[")):
        raise InvalidInput(
            f"{name} is JSON: the Clerk reader takes the Dashboard's CSV export",
            hint="the CLI and Backend API exports carry no password digests; use the Dashboard's CSV",
        )
    return _records(_csv_as_json(_csv_rows(raw, name), name, required="primary_email_address"), _clerk_user)


def _clerk_user(record: ProviderRecord, user: dict[str, Any]) -> None:
    record.source_id = _text(user.get("id"))
    email = _text(user.get("primary_email_address"))
    record.email = email
    verified = {e.lower() for e in _LIST_SPLIT.split(user.get("verified_email_addresses") or "") if e}
    unverified = {e.lower() for e in _LIST_SPLIT.split(user.get("unverified_email_addresses") or "") if e}
    if email is not None and (verified or unverified):
        record.email_verified = email.lower() in verified
    parts = [_text(user.get("first_name")), _text(user.get("last_name"))]
    record.name = " ".join(p for p in parts if p) or _text(user.get("username"))
    record.created_at = _datetime(_text(user.get("created_at")), "created_at")
    digest = _text(user.get("password_digest"))
    if digest is not None:
        hasher = (_text(user.get("password_hasher")) or "").lower()
        if hasher in _CLERK_KEPT:
            password = classify_hash(digest, source="Clerk")
            if password is None or password.kind != _CLERK_KEPT[hasher]:
                raise ValueError(f"password_digest is not a well-formed {hasher} hash")
            record.password = password
        else:
            record.password = Password(
                "unsupported",
                None,
                f"Clerk's {hasher or 'unnamed'} digest (no Better Auth hasher verifies it)",
            )


# ----------------------------------------------------------------------------- Keycloak


# roles every Keycloak user has, which mean nothing to the target
_KEYCLOAK_BUILTIN_ROLES = ("offline_access", "uma_authorization")


def read_keycloak(stream: BinaryIO, name: str = "export") -> Iterator[ProviderRecord]:
    """`kc.sh export --realm R --users realm_file` (one `<realm>-realm.json` with `users`) or one of
    the `<realm>-users-N.json` files of `--users different_files`/`same_file` (`{"realm", "users"}`).
    Roles are the user's `realmRoles` without Keycloak's own (`default-roles-<realm>`,
    `offline_access`, `uma_authorization`). Passwords: argon2 (Keycloak 24+'s default) is rebuilt as
    the PHC string argon2 verifiers take; pbkdf2-sha256/-sha512 (the earlier default) cannot be kept."""
    raw, head = _open(stream)
    if head and not head.startswith(b"{"):
        raise InvalidInput(f"{name} is not a Keycloak realm or users export (a JSON object)")
    return _records(_with_none(_JsonArrayStream(raw, name).elements("users")), _keycloak_user)


def _keycloak_user(record: ProviderRecord, user: dict[str, Any]) -> None:
    record.source_id = _text(user.get("id")) or _text(user.get("username"))
    record.email = _text(user.get("email"))
    if record.email is None and isinstance(user.get("serviceAccountClientId"), str):
        raise ValueError("a Keycloak service account (no email)")
    record.email_verified = _bool(user.get("emailVerified"))
    parts = [_text(user.get("firstName")), _text(user.get("lastName"))]
    record.name = " ".join(p for p in parts if p) or None
    record.created_at = _datetime(user.get("createdTimestamp"), "createdTimestamp")
    realm_roles = user.get("realmRoles")
    if isinstance(realm_roles, list):
        record.roles = _roles(
            [
                r
                for r in realm_roles
                if isinstance(r, str)
                and not r.startswith("default-roles-")
                and r not in _KEYCLOAK_BUILTIN_ROLES
            ]
        )
    credentials = [
        c for c in user.get("credentials") or () if isinstance(c, dict) and c.get("type") == "password"
    ]
    if credentials:
        # Keycloak keeps one password credential; with several (a history), the newest decides
        newest = max(credentials, key=lambda c: c.get("createdDate") or 0)
        record.password = _keycloak_password(newest)


def _keycloak_password(credential: dict[str, Any]) -> Password:
    data = _json_object(credential.get("credentialData"), "credentialData")
    secret = _json_object(credential.get("secretData"), "secretData")
    algorithm = str(data.get("algorithm") or "").lower()
    value, salt = secret.get("value"), secret.get("salt")
    if not isinstance(value, str) or not value:
        raise ValueError("the password credential has no secretData.value")
    if algorithm == "argon2":
        params = data.get("additionalParameters") or {}

        def first(key: str, default: str) -> str:
            found = params.get(key)
            return str(found[0]) if isinstance(found, list) and found else default

        # defaults as Keycloak's Argon2PasswordHashProviderFactory; the password enters as UTF-8
        # (BouncyCastle's Argon2BytesGenerator with its default PasswordConverter.UTF8)
        kind, version = first("type", "id"), first("version", "1.3")
        if kind != "id":
            return Password("unsupported", None, f"argon2{kind} from Keycloak (only argon2id is verified)")
        versions = {"1.3": 19, "1.0": 16}
        if version not in versions or not isinstance(salt, str):
            raise ValueError(f"an argon2 credential with version {version!r} or no salt")
        try:
            salt_b64 = base64.b64encode(base64.b64decode(salt, validate=True)).decode().rstrip("=")
            hash_b64 = base64.b64encode(base64.b64decode(value, validate=True)).decode().rstrip("=")
        except ValueError:
            raise ValueError("the argon2 credential's salt or value is not base64") from None
        phc = (
            f"$argon2id$v={versions[version]}$m={int(first('memory', '7168'))},"
            f"t={int(data.get('hashIterations') or 5)},p={int(first('parallelism', '1'))}${salt_b64}${hash_b64}"
        )
        return Password("argon2id", phc)
    if value.startswith("$"):  # a provider extension storing a modular-crypt hash (e.g. bcrypt)
        classified = classify_hash(value, source="Keycloak")
        if classified is not None:
            return classified
    label = {"pbkdf2-sha256": "PBKDF2-SHA256", "pbkdf2-sha512": "PBKDF2-SHA512", "pbkdf2": "PBKDF2-SHA1"}
    return Password(
        "unsupported", None, f"{label.get(algorithm, algorithm or 'an unnamed algorithm')} from Keycloak"
    )
