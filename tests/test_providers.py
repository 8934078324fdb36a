"""owox_idp.services.providers: each reader on its sample export (tests/data/providers, see its README for what
each user tests), the stored hashes verified with the samples' passwords (in Python, and in Node with
the hashers and the Firebase hook a Better Auth server uses), streaming in constant memory, and the
records fed through the real `idp import`."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import sqlite3
import subprocess
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dbutil import skip_or_fail

from owox_idp.crypto.passwords import verify_password
from owox_idp.errors import InvalidInput
from owox_idp.services import providers
from owox_idp.services.providers import Password, ProviderRecord, classify_hash, read_export

DATA = Path(__file__).parent / "data" / "providers"
NODE_DIR = Path(__file__).parent / "interop" / "node_bcrypt"
DOC = Path(__file__).parents[1] / "docs" / "import-from-providers.md"

# the sample users' passwords (tests/data/providers/README.md)
PASSWORDS = {
    "dana@example.com": "auth0-dana-pass",
    "eve@example.com": "auth0-eve-pass",
    "gail@example.com": "supabase-gail-pass",
    "hugo@example.com": "supabase-hugo-pass",
    "kim@example.com": "user1password",
    "nia@example.com": "clerk-nia-pass",
    "pia@example.com": "clerk-pia-pass",
    "rui@example.com": "keycloak-rui-pass",
}
FIREBASE_CONFIG = {
    "signerKey": "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
    "saltSeparator": "Bw==",
    "rounds": 8,
    "memCost": 14,
}


def read(provider: str, file: str) -> list[ProviderRecord]:
    with (DATA / file).open("rb") as handle:
        return list(read_export(provider, handle, name=file))


def summary(records: list[ProviderRecord]) -> list[tuple[Any, ...]]:
    return [
        (r.line, r.email, r.name, r.email_verified, r.roles, r.password.kind if r.password else None, r.error)
        for r in records
    ]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------
# Auth0


AUTH0 = [
    (1, "ann@example.com", "Ann Lee", True, ["admin"], "unsupported", None),
    (2, "bob@example.com", "Bob Stone", False, None, "unsupported", None),  # name == email: given+family
    (3, "cleo@example.com", "Cleo Park", True, ["user"], None, None),  # social: no password at all
    (4, None, None, None, None, None, "not valid JSON (Expecting property name enclosed in double quotes)"),
    (5, None, None, None, None, None, "not a JSON object"),
    (6, "dana@example.com", None, True, None, "bcrypt", None),  # the password hash export
    (7, "eve@example.com", None, False, None, "bcrypt", None),  # email only in `identifiers`
]


@pytest.mark.parametrize("file", ["auth0.json", "auth0.json.gz"])
def test_auth0(file: str) -> None:
    records = read("auth0", file)
    assert summary(records) == AUTH0
    assert [r.number for r in records] == list(range(1, 8))
    assert records[0].created_at == datetime(2023, 1, 15, 10, 20, 30, 123000, tzinfo=UTC)
    assert records[0].source_id == "auth0|65a1f0c2e4b0a1b2c3d4e5f6"
    assert records[5].source_id == "65a1f0c2e4b0a1b2c3d4e5f8"
    assert records[0].password is not None and "carries no password hashes" in (
        records[0].password.reason or ""
    )


def test_auth0_rejects_csv() -> None:
    with pytest.raises(InvalidInput, match="not Auth0's JSON export"):
        list(read_export("auth0", io.BytesIO(b"user_id,email\nauth0|1,a@example.com\n")))


# ---------------------------------------------------------------------------------------------------
# Supabase

SUPABASE = [
    (2, "gail@example.com", "Gail Ross", True, ["admin"], "bcrypt", None),
    (3, "hugo@example.com", "Hugo", False, None, "bcrypt", None),
    (4, "ines@example.com", "Ines Diaz", True, None, None, None),  # GitHub login: no password
    (5, "jon@example.com", None, None, None, None, "deleted in Supabase (deleted_at is set)"),
    (6, None, None, None, None, None, "an anonymous Supabase user (no email)"),
    (7, None, None, None, None, None, "has 2 field(s); the header has 35"),
]


def test_supabase_csv() -> None:
    records = read("supabase", "supabase.csv")
    assert summary(records) == SUPABASE
    assert records[0].created_at == datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert records[0].password is not None and (records[0].password.value or "").startswith("$2a$10$")


def test_supabase_json_lines_and_array() -> None:
    lines = read("supabase", "supabase.jsonl")
    assert [s[1:] for s in summary(lines)] == [s[1:] for s in SUPABASE[:3]]
    assert [r.line for r in lines] == [1, 2, 3]
    assert lines[1].created_at == utc(2024, 2, 10, 11)
    # `select json_agg(u) from auth.users u`: one array, streamed
    objects = [json.loads(t) for t in (DATA / "supabase.jsonl").read_text().splitlines()]
    array = json.dumps(objects, indent=1).encode()
    records = list(read_export("supabase", io.BytesIO(array)))
    assert [s[1:] for s in summary(records)] == [s[1:] for s in SUPABASE[:3]]
    assert records[0].line == 2


def test_supabase_csv_needs_email_column() -> None:
    with pytest.raises(InvalidInput, match="no `email` column"):
        list(read_export("supabase", io.BytesIO(b"id,mail\n1,a@example.com\n")))


# ---------------------------------------------------------------------------------------------------
# Firebase


def test_firebase() -> None:
    records = read("firebase", "firebase.json")
    assert summary(records) == [
        (2, "kim@example.com", "Kim Yu", True, ["admin"], "firebase-scrypt", None),
        (14, "lou@example.com", "Lou", False, None, None, None),  # Google sign-in only
        (31, None, None, None, None, None, None),  # a phone user: the importer says "no email"
        (36, "max@example.com", None, True, None, None, "createdAt is not a date ('yesterday')"),
    ]
    assert records[0].created_at == utc(2017, 2, 5, 19, 47, 7)
    kim = records[0].password
    assert kim is not None and kim.value is not None
    _, scheme, salt, hashed = kim.value.split("$")
    assert scheme == "firebase-scrypt"
    # the reader's form carries exactly what Firebase's algorithm needs
    assert hashed == providers.firebase_scrypt_hash(
        "user1password",
        salt_b64=salt,
        signer_key_b64=FIREBASE_CONFIG["signerKey"],  # type: ignore[arg-type]
        salt_separator_b64="Bw==",
        rounds=8,
        mem_cost=14,
    )
    assert not kim.kept_for("scrypt") and not kim.kept_for("bcrypt")


def test_firebase_truncated_document_is_a_file_error() -> None:
    text = (DATA / "firebase.json").read_bytes()[:-40]
    with pytest.raises(InvalidInput, match="not valid JSON"):
        list(read_export("firebase", io.BytesIO(text), name="cut.json"))


def test_firebase_wrong_document() -> None:
    with pytest.raises(InvalidInput, match="not a Firebase JSON export"):
        list(read_export("firebase", io.BytesIO(b'[{"email": "a@example.com"}]')))
    with pytest.raises(InvalidInput, match='line 1: expected an array for "users"'):
        list(read_export("keycloak", io.BytesIO(b'{"users": {"a": 1}}')))
    assert list(read_export("firebase", io.BytesIO(b'{"kind": "x"}'))) == []  # no users key: no users
    assert list(read_export("firebase", io.BytesIO(b'{"users": []}'))) == []


# ---------------------------------------------------------------------------------------------------
# Clerk


def test_clerk() -> None:
    records = read("clerk", "clerk.csv")
    assert summary(records) == [
        (2, "nia@example.com", "Nia Hall", True, None, "bcrypt", None),
        (3, "oto@example.com", "Oto", False, None, None, None),  # in unverified_email_addresses
        (4, "pia@example.com", "Pia Lind", True, None, "argon2id", None),
        (5, "quin@example.com", "Quin", True, None, "unsupported", None),
        (6, None, "phoneonly", None, None, None, None),
        (7, None, None, None, None, None, "has 3 field(s); the header has 13"),
    ]
    assert records[3].password == Password(
        "unsupported", None, "Clerk's pbkdf2_sha256_django digest (no Better Auth hasher verifies it)"
    )
    assert all(r.created_at is None for r in records)  # the Dashboard export has no creation date


def test_clerk_digest_must_match_its_hasher() -> None:
    csv = b"id,primary_email_address,password_digest,password_hasher\nu1,a@example.com,$argon2id$v=19$x,bcrypt\n"
    (record,) = read_export("clerk", io.BytesIO(csv))
    assert record.error == "password_digest is not a well-formed bcrypt hash"
    assert record.email == "a@example.com"


# ---------------------------------------------------------------------------------------------------
# Keycloak

KEYCLOAK = [
    ("rui@example.com", "Rui Sá", True, ["admin"], "argon2id", None),  # built-in roles dropped
    ("sam@example.com", "Sam", False, None, "unsupported", None),  # pbkdf2-sha256
    (None, None, None, None, None, "a Keycloak service account (no email)"),
    ("tia@example.com", None, True, None, None, "the password credential has no secretData.value"),
]


def test_keycloak_realm_file() -> None:
    records = read("keycloak", "keycloak-realm.json")
    assert [s[1:] for s in summary(records)] == KEYCLOAK
    assert [r.line for r in records] == [35, 65, 89, 100]
    assert records[0].created_at == utc(2023, 11, 14, 22, 13, 20)
    assert records[1].password == Password("unsupported", None, "PBKDF2-SHA256 from Keycloak")


def test_keycloak_users_file() -> None:
    records = read("keycloak", "keycloak-users-0.json")
    assert [s[1:] for s in summary(records)] == KEYCLOAK[:2]


def test_keycloak_argon2_variants() -> None:
    def user(params: dict[str, list[str]]) -> bytes:
        credential = {
            "type": "password",
            "secretData": json.dumps({"value": "aGFzaA==", "salt": "c2FsdA=="}),
            "credentialData": json.dumps(
                {"hashIterations": 3, "algorithm": "argon2", "additionalParameters": params}
            ),
        }
        return json.dumps({"users": [{"email": "a@example.com", "credentials": [credential]}]}).encode()

    (record,) = read_export("keycloak", io.BytesIO(user({"type": ["i"]})))
    assert record.password == Password(
        "unsupported", None, "argon2i from Keycloak (only argon2id is verified)"
    )
    (record,) = read_export("keycloak", io.BytesIO(user({"memory": ["65536"], "parallelism": ["2"]})))
    assert record.password == Password("argon2id", "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA")


# ---------------------------------------------------------------------------------------------------
# passwords: the kept hashes verify with the users' passwords


def _all_records() -> Iterator[ProviderRecord]:
    for provider, file in [
        ("auth0", "auth0.json"),
        ("supabase", "supabase.csv"),
        ("firebase", "firebase.json"),
        ("clerk", "clerk.csv"),
        ("keycloak", "keycloak-realm.json"),
    ]:
        yield from read(provider, file)


def test_kept_hashes_verify_in_python() -> None:
    kept = {
        r.email: r.password
        for r in _all_records()
        if r.password and r.password.kind in ("bcrypt", "argon2id")
    }
    assert set(kept) == set(PASSWORDS) - {"kim@example.com"}
    for email, password in kept.items():
        assert password is not None and password.value is not None
        assert verify_password(PASSWORDS[email], password.value), email
        assert not verify_password(PASSWORDS[email] + "x", password.value), email


@pytest.mark.parametrize(
    ("value", "kind", "stored", "reason"),
    [
        ("$2y$10$" + "a" * 53, "bcrypt", "$2b$10$" + "a" * 53, None),  # Node's bcrypt refuses $2y$
        ("$2a$10$" + "a" * 53, "bcrypt", "$2a$10$" + "a" * 53, None),
        ("0" * 32 + ":" + "f" * 128, "scrypt", "0" * 32 + ":" + "f" * 128, None),
        ("$argon2id$v=19$m=1", "unsupported", None, "a malformed argon2id hash from X"),
        ("$fbscrypt$v=1,n=14$abc", "unsupported", None, "Firebase modified scrypt (as Supabase stores it)"),
        ("$pbkdf2-sha256$29000$abc$def", "unsupported", None, "a pbkdf2-sha256 hash from X"),
        (
            "5f4dcc3b5aa765d61d8327deb882cf99",
            "unsupported",
            None,
            "a hash of a form no Better Auth server verifies from X",
        ),
    ],
)
def test_classify_hash(value: str, kind: str, stored: str | None, reason: str | None) -> None:
    assert classify_hash(value, source="X") == Password(kind, stored, reason)  # type: ignore[arg-type]
    assert classify_hash("  ", source="X") is None


# ---------------------------------------------------------------------------------------------------
# Node: the hashers and the Firebase hook a Better Auth server would use


def _node(script: str, job: dict[str, Any], package: str) -> Any:
    if shutil.which("node") is None:
        skip_or_fail("node is not installed: the provider hash cross-check needs Node 20")
    if not (NODE_DIR / "node_modules" / package).is_dir():
        skip_or_fail(f"run `npm ci` in {NODE_DIR} for the provider hash cross-check")
    completed = subprocess.run(
        ["node", str(NODE_DIR / script)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(completed.stdout)


def test_kept_bcrypt_hashes_verify_in_node() -> None:
    checks = [
        {"password": PASSWORDS[r.email or ""], "hash": r.password.value}
        for r in _all_records()
        if r.password is not None and r.password.kind == "bcrypt"
    ]
    dollar_2y = classify_hash("$2y$" + str(checks[0]["hash"])[4:], source="X")
    assert dollar_2y is not None
    checks.append({"password": checks[0]["password"], "hash": dollar_2y.value})
    checks.append({"password": "wrong password", "hash": checks[0]["hash"]})
    answer = _node("crosscheck.mjs", {"verify": checks, "hash": []}, "bcrypt")
    expected = [True] * (len(checks) - 1) + [False]
    assert answer["bcryptjs"]["verify"] == expected
    assert answer["bcrypt"]["verify"] == expected


def test_firebase_hook_verifies_the_export() -> None:
    (kim,) = [r for r in read("firebase", "firebase.json") if r.password is not None]
    assert kim.password is not None
    checks = [
        {"password": "user1password", "hash": kim.password.value},
        {"password": "user2password", "hash": kim.password.value},
    ]
    assert _node("check-firebase.mjs", {"config": FIREBASE_CONFIG, "checks": checks}, "bcryptjs") == [
        True,
        False,
    ]


def test_docs_carry_the_firebase_hook() -> None:
    hook = (NODE_DIR / "firebase-scrypt.mjs").read_text()
    code = hook[hook.index("import { createCipheriv") :].strip()
    assert code in DOC.read_text(), "docs/import-from-providers.md must show firebase-scrypt.mjs verbatim"


# ---------------------------------------------------------------------------------------------------
# streaming: constant memory, any chunk boundary


class _Generated(io.RawIOBase):
    """A JSON document produced on the fly, so the test holds no copy of it."""

    def __init__(self, parts: Iterator[bytes]) -> None:
        self._parts = parts
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            self._pending = next(self._parts, b"")
            if not self._pending:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _firebase_document(count: int) -> Iterator[bytes]:
    template = json.dumps(
        {
            "localId": "uid-NUMBER",
            "email": "user-NUMBER@example.com",
            "emailVerified": True,
            "passwordHash": "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
            "salt": "42xEC+ixf3L2lw==",
            "displayName": "User NUMBER",
            "createdAt": "1486324027000",
        },
        indent=2,
    )
    yield b'{"users": [\n'
    for i in range(count):
        yield ((",\n" if i else "") + template.replace("NUMBER", str(i))).encode()
    yield b"\n]}"


def test_json_document_streams_in_constant_memory() -> None:
    count = 30_000  # about 10 MB of JSON, 300 bytes a user
    tracemalloc.start()
    try:
        seen = 0
        stream = io.BufferedReader(_Generated(_firebase_document(count)))
        for record in read_export("firebase", stream):  # type: ignore[arg-type]
            seen += 1
            assert record.error is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    # the document as one str would be 10 MB, as Python objects several times that
    assert peak < 6 << 20, f"peak {peak / 2**20:.1f} MiB: the reader holds more than a chunk and a record"


def test_keycloak_skips_large_values_before_users(monkeypatch: pytest.MonkeyPatch) -> None:
    clients = [
        {"clientId": f"c{i}", "redirectUris": ["https://example.com/" + "x" * 50]} for i in range(2000)
    ]
    realm = {
        "realm": "r",
        "notBefore": 1234567,
        "clients": clients,
        "users": [{"email": "a@example.com"}],
        "z": 1,
    }
    monkeypatch.setattr(providers, "_CHUNK", 7)  # tiny chunks: every value straddles a boundary
    (record,) = read_export("keycloak", io.BytesIO(json.dumps(realm).encode()))
    assert record.email == "a@example.com"


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64])
def test_chunk_boundaries_change_nothing(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    expected = summary(read("firebase", "firebase.json"))
    monkeypatch.setattr(providers, "_CHUNK", chunk)
    assert summary(read("firebase", "firebase.json")) == expected
    assert [s[1:] for s in summary(read("keycloak", "keycloak-realm.json"))] == KEYCLOAK


def test_not_utf8() -> None:
    with pytest.raises(InvalidInput, match="not UTF-8"):
        list(read_export("firebase", io.BytesIO(b'{"users": [{"email": "\xff@example.com"}]}')))
    (record,) = read_export("auth0", io.BytesIO(b'{"email": "\xff@example.com"}\n'))
    assert record.error == "not UTF-8 text"


def test_gzip_detected_for_every_reader() -> None:
    packed = gzip.compress((DATA / "keycloak-users-0.json").read_bytes())
    assert len(list(read_export("keycloak", io.BytesIO(packed)))) == 2


def test_unknown_provider() -> None:
    with pytest.raises(InvalidInput, match="unknown provider 'okta'"):
        read_export("okta", io.BytesIO(b""))


# ---------------------------------------------------------------------------------------------------
# into the importer


def test_to_input_row_and_notes() -> None:
    records = {r.email: r for r in _all_records() if r.email}
    gail = records["gail@example.com"]
    row = gail.to_input_row("bcrypt")
    assert row.line == 2 and row.error is None
    assert row.fields == {
        "email": "gail@example.com",
        "name": "Gail Ross",
        "role": "admin",
        "password_hash": gail.password.value if gail.password else None,
        "email_verified": "true",
    }
    assert row.created_at is not None and row.created_at.isoformat() == "2024-01-02T03:04:05.123456+00:00"
    assert gail.password_note("bcrypt") is None
    assert gail.to_input_row("scrypt").fields["password_hash"] is None
    assert gail.password_note("scrypt") == (
        "password not imported: a bcrypt hash, but the server verifies scrypt (IDP_PASSWORD_HASH)"
    )
    hugo = records["hugo@example.com"].to_input_row("bcrypt", default_role="user")
    assert hugo.fields["role"] == "user" and hugo.fields["email_verified"] == "false"
    kim = records["kim@example.com"]
    assert kim.to_input_row("scrypt").fields["password_hash"] is None
    assert kim.password_note("scrypt") == (
        "password not imported: Firebase modified scrypt: only a server hook with the project's hash key can verify it"
    )
    assert (
        records["sam@example.com"].password_note("argon2id")
        == "password not imported: PBKDF2-SHA256 from Keycloak"
    )
    assert records["ines@example.com"].password_note("bcrypt") is None  # no password: nothing to say
    broken = next(r for r in _all_records() if r.error == "has 2 field(s); the header has 35")
    assert broken.to_input_row("scrypt").error == broken.error


def test_keycloak_users_import_with_their_argon2_passwords(idp_sqlite: Any, tmp_path: Path) -> None:
    """Records through the real `idp import` (as a CSV of the rows `to_input_row` makes): the argon2id
    hash rebuilt from Keycloak's credential is accepted and stored, and verifies with the password."""
    import csv

    idp = idp_sqlite.flavor("better-auth")
    idp.migrate()
    rows = [r.to_input_row("argon2id", default_role="user") for r in read("keycloak", "keycloak-realm.json")]
    valid = [r for r in rows if r.error is None and r.fields["email"]]
    path = tmp_path / "from-keycloak.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "role", "password_hash"])
        for row in valid:
            writer.writerow([row.fields[c] or "" for c in ("email", "name", "role", "password_hash")])
    result = idp("import", str(path), env={"IDP_PASSWORD_HASH": "argon2id"})
    assert result.exit_code == 0, result.stderr
    with sqlite3.connect(idp.db.node_url) as conn:
        stored = dict(
            conn.execute(
                'select u.email, a.password from "user" u left join account a on a."userId" = u.id'
            ).fetchall()
        )
        roles = dict(conn.execute('select email, role from "user"').fetchall())
    assert set(stored) == {"rui@example.com", "sam@example.com"}
    assert verify_password("keycloak-rui-pass", stored["rui@example.com"])
    assert stored["sam@example.com"] is None  # PBKDF2: no password, the user gets a link instead
    assert roles == {"rui@example.com": "admin", "sam@example.com": "user"}
