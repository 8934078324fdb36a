"""`idp 2fa enable / disable / status` on every dialect, and the terminal QR code decoded back.

The rows are checked the way the server reads them: the stored secret decrypts (XChaCha20-Poly1305
with the configured secret) to the secret whose base32 is printed, and a code made from it verifies.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from idp_runner import TEST_SECRET, IdpRunner

from owox_idp.cli.qr import (
    DARK_ON_LIGHT,
    FULL,
    LOWER,
    QUIET_ZONE,
    RESET,
    UPPER,
    fit_terminal,
    render_terminal,
)
from owox_idp.config import Secrets, Settings, normalize_database_url
from owox_idp.crypto import symmetric
from owox_idp.crypto.random import generate_id
from owox_idp.crypto.totp import base32_secret, otpauth_uri, totp_now, verify_totp
from owox_idp.db.engine import create_engine
from owox_idp.deployment import Deployment
from owox_idp.repository import Store
from owox_idp.services import twofactor

OTHER_SECRET = "another-deployment-secret-0123456789abcdef0123456789"
CODE_RE = re.compile(r"^[a-zA-Z0-9]{5}-[a-zA-Z0-9]{5}$")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


@contextmanager
def repository(idp: IdpRunner, *, server_version: str = "1.7") -> Iterator[Store]:
    """idp's repositories on the test database (better-auth flavor), in one committed transaction."""
    deployment = Deployment.from_settings(replace(settings(), server_version=server_version))
    engine = create_engine(normalize_database_url(idp.db.url, source="test"))
    try:
        with engine.begin() as conn:
            yield Store(conn, deployment)
    finally:
        engine.dispose()


def settings(secret: str = TEST_SECRET) -> Settings:
    from pathlib import Path

    return Settings(
        flavor="better-auth",
        database_url="sqlite://",
        base_url="https://idp.example.test",
        base_path="/api/auth",
        magic_link_ttl=300,
        server_version="1.7",
        roles=("admin", "user"),
        admin_roles=("admin",),
        primary_admin_email=None,
        password_hash="scrypt",
        organization=False,
        totp_issuer="Better Auth",
        config_path=Path("unused.toml"),
        secrets=Secrets(current=secret),
    )


def two_factor_rows(idp: IdpRunner, user_id: str) -> list[dict[str, Any]]:
    with repository(idp) as repo:
        tf = repo.t["twoFactor"]
        return [dict(r) for r in repo.conn.execute(sa.select(tf).where(tf.c.userId == user_id)).mappings()]


def user_flag(idp: IdpRunner, user_id: str) -> bool | None:
    with repository(idp) as repo:
        u = repo.t["user"]
        value = repo.conn.execute(sa.select(u.c.twoFactorEnabled).where(u.c.id == user_id)).scalar_one()
        return None if value is None else bool(value)


def add_verification(idp: IdpRunner, identifier: str, value: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with repository(idp) as repo:
        repo.verifications.insert(
            id=generate_id(),
            identifier=identifier,
            value=value,
            expires_at=now + timedelta(minutes=10),
            now=now,
        )


def identifiers(idp: IdpRunner) -> set[str]:
    with repository(idp) as repo:
        v = repo.t["verification"]
        return {r[0] for r in repo.conn.execute(sa.select(v.c.identifier))}


@pytest.fixture
def ba(idp: IdpRunner) -> IdpRunner:
    idp.flavor("better-auth")
    idp.migrate()
    return idp


def add_user(idp: IdpRunner, email: str) -> str:
    r = idp("add-user", email, "--json")
    assert r.exit_code == 0, r.stderr
    return str(r.json()["user_id"])


def enable(idp: IdpRunner, email: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    r = idp("2fa", "enable", email, *args, "--json", env=env)
    assert r.exit_code == 0, r.stderr
    return r.json()  # type: ignore[no-any-return]


def _secret_from_base32(b32: str) -> str:
    return base64.b32decode(b32 + "=" * (-len(b32) % 8)).decode("utf-8")


# ----------------------------------------------------------------------------- enable


def test_enable_writes_what_the_server_reads(ba: IdpRunner) -> None:
    user_id = add_user(ba, "Dave@Example.com")
    data = enable(ba, "dave@example.com")
    assert set(data) >= {"user_id", "email", "otpauth_uri", "secret", "backup_codes"}
    assert data["user_id"] == user_id and data["email"] == "dave@example.com" and data["replaced"] is False
    assert len(data["backup_codes"]) == 10 and all(CODE_RE.match(c) for c in data["backup_codes"])

    rows = two_factor_rows(ba, user_id)
    assert len(rows) == 1
    row = rows[0]
    assert len(row["id"]) == 32 and row["id"].isalnum()
    assert row["verified"] is True and row["failedVerificationCount"] == 0 and row["lockedUntil"] is None
    assert user_flag(ba, user_id) is True
    # the stored secret decrypts to the secret whose base32 is printed, and its codes verify
    secrets = Secrets(current=TEST_SECRET)
    secret = symmetric.decrypt(row["secret"], secrets)
    assert len(secret) == 32 and re.fullmatch(r"[A-Za-z0-9_-]{32}", secret)
    assert base32_secret(secret) == data["secret"] and _secret_from_base32(data["secret"]) == secret
    assert verify_totp(secret, totp_now(_secret_from_base32(data["secret"])))
    assert data["otpauth_uri"] == otpauth_uri(secret, issuer="Better Auth", account="dave@example.com")
    assert data["otpauth_uri"].startswith("otpauth://totp/Better%20Auth:dave%40example.com?secret=")
    stored_codes = symmetric.decrypt(row["backupCodes"], secrets)
    assert stored_codes == json.dumps(data["backup_codes"], separators=(",", ":"))  # JSON.stringify
    # the service helper that reads enrolments the server wrote
    with repository(ba) as repo:
        user = repo.users.find_by_id(user_id)
        assert user is not None
        enrolment = twofactor.read_enrolment(repo, user=user)
    assert enrolment is not None
    assert (
        enrolment.secret == secret and enrolment.backup_codes == data["backup_codes"] and enrolment.verified
    )
    # other commands see it
    assert ba("show-user", "dave@example.com", "--json").json()["two_factor_enabled"] is True
    r = ba("2fa", "status", "dave@example.com", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json() == {
        "user_id": user_id,
        "email": "dave@example.com",
        "two_factor_enabled": True,
        "enrolled": True,
        "verified": True,
        "secret_decrypts": True,
        "backup_codes_remaining": 10,
        "failed_verification_count": 0,
        "locked_until": None,
    }


def test_enable_plain_output_off_a_terminal(ba: IdpRunner) -> None:
    add_user(ba, "plain@example.com")
    r = ba("2fa", "enable", "plain@example.com")
    assert r.exit_code == 0, r.stderr
    assert "\x1b[" not in r.stdout and UPPER not in r.stdout and FULL not in r.stdout  # no QR in a pipe
    lines = r.stdout.splitlines()
    assert lines[0].startswith("otpauth URI:  otpauth://totp/Better%20Auth:plain%40example.com?secret=")
    b32 = lines[1].removeprefix("secret:       ")
    assert f"secret={b32}&" in lines[0]
    codes = lines[2].removeprefix("backup codes: ").split()
    assert len(codes) == 10 and all(CODE_RE.match(c) for c in codes)
    assert "shown only once" in r.stderr and "Enrolled plain@example.com" in r.stderr


TERMINAL_80X24 = {"COLUMNS": "80", "LINES": "24"}


@pytest.mark.parametrize("no_color", [False, True])
def test_enable_on_a_terminal_prints_a_scannable_qr_code(
    ba: IdpRunner, monkeypatch: pytest.MonkeyPatch, no_color: bool
) -> None:
    """At 80x24 the code, quiet zone included, is at most 80 wide and 24 lines high, and decodes (not
    inverted) to the URI printed below it: with colour and with NO_COLOR."""
    from owox_idp.output import Output

    add_user(ba, "someone.with.a.long.name@example.com")
    monkeypatch.setattr(Output, "stdout_tty", property(lambda self: True))
    env = {**TERMINAL_80X24, **({"NO_COLOR": "1"} if no_color else {})}
    r = ba("2fa", "enable", "someone.with.a.long.name@example.com", env=env)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    uri_at = next(i for i, line in enumerate(lines) if line.startswith("otpauth URI:"))
    uri = lines[uri_at].split()[-1]
    qr_lines = lines[:uri_at]
    assert qr_lines and len(qr_lines) <= 24
    assert all(len(ANSI_RE.sub("", line)) <= 80 for line in qr_lines)
    if no_color:
        assert "\x1b" not in r.stdout
    else:
        assert all(line.startswith(DARK_ON_LIGHT) and line.endswith(RESET) for line in qr_lines)
    assert decode("\n".join(qr_lines)) == uri
    assert "Scan this QR code" in r.stderr


def test_enable_prints_no_broken_code_when_it_cannot_fit(
    ba: IdpRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 60-character email makes a code taller than 24 lines even at the lowest error correction and a
    1-module quiet zone: no code, the URI and secret, and a hint saying why."""
    from owox_idp.output import Output

    email = "a.very.long.mailbox.name.for.testing.qr.codes.ok@example.com"
    assert len(email) == 60
    add_user(ba, email)
    monkeypatch.setattr(Output, "stdout_tty", property(lambda self: True))
    r = ba("2fa", "enable", email, env=TERMINAL_80X24)
    assert r.exit_code == 0, r.stderr
    assert FULL not in r.stdout and UPPER not in r.stdout and "\x1b" not in r.stdout
    assert r.stdout.startswith("otpauth URI:  otpauth://totp/")
    assert "does not fit this 80x24 terminal" in r.stderr and "type the secret" in r.stderr
    wide = ba("2fa", "enable", email, "--force", env={"COLUMNS": "200", "LINES": "60"})
    assert wide.exit_code == 0 and "Scan this QR code" in wide.stderr


def test_enable_refuses_an_enrolled_user_unless_forced(ba: IdpRunner) -> None:
    user_id = add_user(ba, "again@example.com")
    first = enable(ba, "again@example.com")
    row_before = two_factor_rows(ba, user_id)[0]
    add_verification(ba, "trust-device-" + "t" * 32, user_id)
    add_verification(ba, "reset-password:" + "r" * 24, user_id)

    r = ba("2fa", "enable", "again@example.com")
    assert r.exit_code == 4 and "already has two-factor enabled" in r.stderr and "--force" in r.stderr
    assert "does not decrypt" not in r.stderr
    assert r.stdout == ""
    assert two_factor_rows(ba, user_id) == [row_before]

    second = enable(ba, "again@example.com", "--force")
    assert second["replaced"] is True and second["secret"] != first["secret"]
    rows = two_factor_rows(ba, user_id)
    assert len(rows) == 1 and rows[0]["id"] != row_before["id"]
    assert symmetric.decrypt(rows[0]["secret"], Secrets(current=TEST_SECRET)) == _secret_from_base32(
        second["secret"]
    )
    # trusted devices cannot skip the new enrolment; other rows of the user stay
    assert identifiers(ba) >= {"reset-password:" + "r" * 24}
    assert not any(i.startswith("trust-device-") for i in identifiers(ba))


def test_enable_errors(ba: IdpRunner) -> None:
    r = ba("2fa", "enable", "nobody@example.com")
    assert r.exit_code == 3 and "no user with email nobody@example.com" in r.stderr
    user_id = add_user(ba, "nosecret@example.com")
    r = ba("2fa", "enable", "nosecret@example.com", env={"IDP_BETTER_AUTH_SECRET": ""})
    assert r.exit_code == 6 and "no secret configured" in r.stderr and "generate-secret" in r.stderr
    assert two_factor_rows(ba, user_id) == [] and not user_flag(ba, user_id)
    r = ba("2fa", "enable")
    assert r.exit_code == 2
    assert "Traceback" not in r.stderr


def test_enable_with_versioned_secrets(ba: IdpRunner) -> None:
    user_id = add_user(ba, "rot@example.com")
    env = {"IDP_BETTER_AUTH_SECRET": "", "BETTER_AUTH_SECRETS": f"2:{OTHER_SECRET},1:{TEST_SECRET}"}
    data = enable(ba, "rot@example.com", env=env)
    row = two_factor_rows(ba, user_id)[0]
    assert row["secret"].startswith("$ba$2$") and row["backupCodes"].startswith("$ba$2$")
    versioned = Secrets(
        current=OTHER_SECRET, current_version=2, versions=((2, OTHER_SECRET), (1, TEST_SECRET))
    )
    assert base32_secret(symmetric.decrypt(row["secret"], versioned)) == data["secret"]
    r = ba("2fa", "status", "rot@example.com", "--json", env=env)
    assert r.exit_code == 0 and r.json()["secret_decrypts"] is True


def test_enable_on_a_better_auth_14_schema(idp: IdpRunner) -> None:
    """1.4's twoFactor table has only id, secret, backupCodes, userId: nothing else is written."""
    idp.flavor("better-auth").env["IDP_BETTER_AUTH_VERSION"] = "1.4"
    idp.migrate()
    with repository(idp, server_version="1.4") as repo:
        cols = {c["name"] for c in sa.inspect(repo.conn).get_columns("twoFactor")}
    assert cols == {"id", "secret", "backupCodes", "userId"}
    user_id = add_user(idp, "old@example.com")
    data = enable(idp, "old@example.com")
    with repository(idp, server_version="1.4") as repo:
        tf = repo.t["twoFactor"]
        row = repo.conn.execute(sa.select(tf).where(tf.c.userId == user_id)).mappings().one()
    assert base32_secret(symmetric.decrypt(row["secret"], Secrets(current=TEST_SECRET))) == data["secret"]
    r = idp("2fa", "status", "old@example.com", "--json")
    assert r.exit_code == 0, r.stderr
    status = r.json()
    assert status["verified"] is True and status["failed_verification_count"] is None
    r = idp("2fa", "enable", "old@example.com")
    assert r.exit_code == 4
    enable(idp, "old@example.com", "--force")
    r = idp("2fa", "disable", "old@example.com", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["removed"]["two_factor"] == 1


# ----------------------------------------------------------------------------- rows encrypted elsewhere


def test_a_row_encrypted_with_another_secret_is_reported(ba: IdpRunner) -> None:
    user_id = add_user(ba, "moved@example.com")
    enable(ba, "moved@example.com", env={"IDP_BETTER_AUTH_SECRET": OTHER_SECRET})

    r = ba("2fa", "status", "moved@example.com")
    assert r.exit_code == 6
    assert "encrypted with another secret" in r.stderr and "Traceback" not in r.stderr
    shown = dict(line.split(":", 1) for line in r.stdout.splitlines())
    assert shown["enrolled"].strip() == "yes" and shown["secret decrypts"].strip() == "no"
    r = ba("2fa", "status", "moved@example.com", "--json")
    assert r.exit_code == 6 and "encrypted with another secret" in r.stderr
    status = r.json()
    assert status["enrolled"] is True and status["secret_decrypts"] is False
    assert status["backup_codes_remaining"] is None

    # enable without --force still says enrolled, and why the row cannot be read
    r = ba("2fa", "enable", "moved@example.com")
    assert r.exit_code == 4 and "already has two-factor enabled" in r.stderr
    assert "does not decrypt" in r.stderr and "Traceback" not in r.stderr

    # the service helper raises a clear configuration error (exit 6), never a crypto exception
    with repository(ba) as repo:
        user = repo.users.find_by_id(user_id)
        assert user is not None
        with pytest.raises(twofactor.EnrolmentUnreadable) as caught:
            twofactor.read_enrolment(repo, user=user)
        assert caught.value.exit_code == 6 and "another secret" in caught.value.message
        assert (
            twofactor.read_enrolment(
                Store(repo.conn, Deployment.from_settings(settings(OTHER_SECRET))), user=user
            )
            is not None
        )

    # --force replaces it with a row our secret reads
    enable(ba, "moved@example.com", "--force")
    r = ba("2fa", "status", "moved@example.com", "--json")
    assert r.exit_code == 0 and r.json()["secret_decrypts"] is True


def test_status_reads_plain_backup_codes_and_reports_locks(ba: IdpRunner) -> None:
    user_id = add_user(ba, "lock@example.com")
    enable(ba, "lock@example.com")
    until = datetime.now(UTC) + timedelta(minutes=15)
    with repository(ba) as repo:
        tf = repo.t["twoFactor"]
        repo.conn.execute(
            sa.update(tf)
            .where(tf.c.userId == user_id)
            .values(
                backupCodes='["aaaaa-bbbbb","ccccc-ddddd"]', failedVerificationCount=10, lockedUntil=until
            )
        )
    r = ba("2fa", "status", "lock@example.com", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data["backup_codes_remaining"] == 2 and data["failed_verification_count"] == 10
    assert data["locked_until"] is not None and data["locked_until"].endswith("Z")
    r = ba("2fa", "status", "lock@example.com")
    assert "locked after 10 failed attempt(s)" in r.stderr


# ----------------------------------------------------------------------------- disable


def test_disable_removes_everything_that_asks_for_a_code(ba: IdpRunner) -> None:
    user_id = add_user(ba, "locked@example.com")
    other_id = add_user(ba, "other@example.com")
    enable(ba, "locked@example.com")
    enable(ba, "other@example.com")
    challenge = "2fa-" + "c" * 20
    add_verification(ba, challenge, user_id)
    add_verification(ba, "2fa-attempts-" + challenge, "0")
    add_verification(ba, "trust-device-" + "a" * 32, user_id)
    add_verification(ba, "trust-device-" + "b" * 32, user_id)
    add_verification(ba, "trust-device-" + "o" * 32, other_id)
    add_verification(ba, "reset-password:" + "r" * 24, user_id)

    r = ba("2fa", "disable", "LOCKED@example.com", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data == {
        "user_id": user_id,
        "email": "locked@example.com",
        "two_factor_enabled": False,
        "changed": True,
        "removed": {"two_factor": 1, "trusted_devices": 2, "challenges": 1},
    }
    assert two_factor_rows(ba, user_id) == [] and user_flag(ba, user_id) is False
    left = identifiers(ba)
    assert challenge not in left and "2fa-attempts-" + challenge not in left
    assert "trust-device-" + "o" * 32 in left and "reset-password:" + "r" * 24 in left
    # the other user is untouched
    assert len(two_factor_rows(ba, other_id)) == 1 and user_flag(ba, other_id) is True
    assert ba("show-user", "locked@example.com", "--json").json()["two_factor_enabled"] is False
    r = ba("2fa", "status", "locked@example.com", "--json")
    assert r.exit_code == 0 and r.json()["enrolled"] is False and r.json()["two_factor_enabled"] is False

    # again: nothing to do, exit 0
    r = ba("2fa", "disable", "locked@example.com", "--yes")
    assert r.exit_code == 0 and "nothing to do" in r.stderr
    r = ba("2fa", "disable", "locked@example.com", "--yes", "--json")
    assert r.exit_code == 0 and r.json()["changed"] is False and r.json()["two_factor_enabled"] is False


def test_disable_errors(ba: IdpRunner) -> None:
    user_id = add_user(ba, "keep@example.com")
    enable(ba, "keep@example.com")
    r = ba("2fa", "disable", "keep@example.com")
    assert r.exit_code == 2 and "--yes" in r.stderr  # needs confirmation off a terminal
    assert len(two_factor_rows(ba, user_id)) == 1 and user_flag(ba, user_id) is True
    r = ba("2fa", "disable", "nobody@example.com", "--yes")
    assert r.exit_code == 3 and "no user with email nobody@example.com" in r.stderr
    # disable needs no secret (nothing is decrypted)
    r = ba("2fa", "disable", "keep@example.com", "--yes", env={"IDP_BETTER_AUTH_SECRET": ""})
    assert r.exit_code == 0, r.stderr
    assert two_factor_rows(ba, user_id) == []


def test_status_of_a_user_without_enrolment(ba: IdpRunner) -> None:
    add_user(ba, "none@example.com")
    r = ba("2fa", "status", "none@example.com", "--json", env={"IDP_BETTER_AUTH_SECRET": ""})
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data["enrolled"] is False and data["two_factor_enabled"] is False and data["verified"] is None
    r = ba("2fa", "status", "nobody@example.com")
    assert r.exit_code == 3


# ----------------------------------------------------------------------------- owox flavor


@pytest.mark.parametrize(
    "command", [["enable"], ["disable", "--yes"], ["status"]], ids=["enable", "disable", "status"]
)
def test_owox_flavor_refuses_before_touching_the_database(idp: IdpRunner, command: list[str]) -> None:
    # an unreachable database proves nothing was opened: the refusal comes first
    r = idp(
        "2fa",
        command[0],
        "a@example.com",
        *command[1:],
        env={"IDP_DATABASE_URL": "sqlite:////nonexistent/dir/x.db"},
    )
    assert r.exit_code == 6, r.stderr
    assert "OWOX Data Marts' server does not enable" in r.stderr and "better-auth" in r.stderr
    idp.migrate()
    r = idp("2fa", command[0], "a@example.com", *command[1:])
    assert r.exit_code == 6 and "Traceback" not in r.stderr


# ----------------------------------------------------------------------------- the QR code


def decode(rendered: str, *, scale: int = 8) -> str:
    """Rebuild the picture a terminal shows (each cell = two modules stacked, glyphs dark on a light
    background) and decode it, never trying the inverted picture."""
    import zxingcpp
    from PIL import Image, ImageDraw

    lines = [ANSI_RE.sub("", line) for line in rendered.splitlines()]
    width = len(lines[0])
    assert all(len(line) == width for line in lines)
    image = Image.new("L", (width * scale, len(lines) * 2 * scale), 255)
    draw = ImageDraw.Draw(image)
    for y, line in enumerate(lines):
        for x, char in enumerate(line):
            glyph = {" ": (False, False), UPPER: (True, False), LOWER: (False, True), FULL: (True, True)}[
                char
            ]
            for half, dark in enumerate(glyph):
                if dark:
                    top = (2 * y + half) * scale
                    draw.rectangle([x * scale, top, (x + 1) * scale - 1, top + scale - 1], fill=0)
    # only QR codes: a linear decoder can read a spurious barcode out of the modules (seen in CI)
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode, try_invert=False)
    texts = {str(result.text) for result in results}
    assert len(texts) == 1, f"expected one QR code, found {len(results)}: {sorted(texts)}"
    return texts.pop()


@pytest.mark.parametrize("color", [True, False])
def test_render_terminal_decodes_to_the_uri(color: bool) -> None:
    uri = otpauth_uri("q53-aKwvZssuVSulNEw5LUR3mHIwWI2y", issuer="Better Auth", account="alice@example.test")
    rendered = render_terminal(uri, color=color)
    assert decode(rendered) == uri  # with NO_COLOR too: the same picture, never inverted
    lines = rendered.splitlines()
    plain = [ANSI_RE.sub("", line) for line in lines]
    assert plain == render_terminal(uri, color=False).splitlines()
    quiet = " "  # light modules
    # a quiet zone of 4 modules: 2 text lines above, 4 columns each side
    assert plain[0] == plain[1] == quiet * len(plain[0])
    assert all(line[:QUIET_ZONE] == quiet * QUIET_ZONE == line[-QUIET_ZONE:] for line in plain)
    if color:
        assert all(line.startswith(DARK_ON_LIGHT) and line.endswith(RESET) for line in lines)
    else:
        assert "\x1b" not in rendered


def test_render_terminal_is_compact() -> None:
    uri = otpauth_uri(
        "x" * 32, issuer="A Long Issuer Name, Inc.", account="someone.with.a.long.name@example.com"
    )
    plain = [ANSI_RE.sub("", line) for line in render_terminal(uri).splitlines()]
    assert len(plain[0]) <= 80  # fits a standard terminal
    assert len(plain) == (len(plain[0]) + 1) // 2  # two module rows per line
    assert decode(render_terminal(uri)) == uri


@pytest.mark.parametrize("account", ["alice@example.test", "someone.with.a.long.name@example.com"])
def test_fit_terminal_stays_within_80x24(account: str) -> None:
    uri = otpauth_uri("q53-aKwvZssuVSulNEw5LUR3mHIwWI2y", issuer="Better Auth", account=account)
    code = fit_terminal(uri, color=True, columns=80, lines=24)
    assert code is not None
    plain = [ANSI_RE.sub("", line) for line in code.splitlines()]
    assert len(plain) <= 24 and all(len(line) <= 80 for line in plain)
    assert decode(code) == uri
    # a big terminal gets the best code: error correction M and the full quiet zone
    assert fit_terminal(uri, color=True, columns=200, lines=80) == render_terminal(uri)
    assert fit_terminal(uri, color=True, columns=20, lines=10) is None
