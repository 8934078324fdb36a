"""Flow 8 (better-auth profile): a TOTP enrolment written by `idp 2fa enable` is enforced by the
server, which accepts codes from the printed secret and the printed backup codes (each once);
`idp 2fa disable` lifts it; an enrolment the server made is read and decrypted by idp."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import require_command
from interop_support import PASSWORD, SECRET, Browser, Stack, idp_commands

from owox_idp.config import Secrets
from owox_idp.crypto.symmetric import decrypt
from owox_idp.crypto.totp import base32_secret, totp_now

pytestmark = pytest.mark.interop


def _uri_secret(uri: str) -> str:
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp", uri
    return parse_qs(parts.query)["secret"][0]


def _code(printed_secret: str, uri: str) -> str:
    """A current code from the printed secret, as an authenticator app fed with it would compute it.
    The secret may be printed in Better Auth's stored form (its UTF-8 bytes are the key) or in the
    base32 form apps take; either way it must be the key the otpauth URI carries."""
    in_uri = _uri_secret(uri)
    if base32_secret(printed_secret) == in_uri:
        return totp_now(printed_secret)
    assert printed_secret.replace(" ", "").upper().rstrip("=") == in_uri, (printed_secret, uri)
    return totp_now("base32:" + in_uri)


def _password_step(stack: Stack, email: str) -> tuple[dict, Browser]:
    r, b = stack.sign_in(email, PASSWORD)
    assert r.status == 200, r
    return r.json(), b


def _challenged(stack: Stack, email: str) -> Browser:
    """Sign in with the password and check the server asks for the second factor (no session yet)."""
    data, b = _password_step(stack, email)
    assert data.get("twoFactorRedirect") is True, data
    assert "totp" in data.get("twoFactorMethods", ["totp"])
    assert not b.cookies.get(stack.session_cookie)
    assert any(name.endswith("two_factor") for name in b.cookies), b.cookies
    assert stack.session(b) is None
    return b


def test_idp_enrolment_is_enforced_by_the_server(ba_stack: Stack) -> None:
    require_command("2fa enable")
    require_command("2fa disable")
    stack = ba_stack
    user = stack.add_user("totp", role="editor", password=PASSWORD)
    email = user["email"]

    data = stack.idp_json("2fa", "enable", email)
    uri, secret, codes = data["otpauth_uri"], data["secret"], data["backup_codes"]
    assert f":{email.replace('@', '%40')}?" in uri
    assert len(codes) == 10 and len(set(codes)) == 10

    b = _challenged(stack, email)
    r = b.post("/two-factor/verify-totp", {"code": "000000" if _code(secret, uri) != "000000" else "111111"})
    assert r.status == 401, r
    assert not b.cookies.get(stack.session_cookie)
    r = b.post("/two-factor/verify-totp", {"code": _code(secret, uri)})
    assert r.status == 200, r
    assert b.cookies.get(stack.session_cookie)
    me = stack.session_user(b)
    assert me["id"] == user["user_id"] and me["twoFactorEnabled"] is True

    b = _challenged(stack, email)
    r = b.post("/two-factor/verify-backup-code", {"code": codes[0]})
    assert r.status == 200, r
    assert stack.session_user(b)["id"] == user["user_id"]
    b = _challenged(stack, email)
    r = b.post("/two-factor/verify-backup-code", {"code": codes[0]})  # used up
    assert r.status == 401, r
    assert stack.session(b) is None
    r = b.post("/two-factor/verify-backup-code", {"code": codes[1]})
    assert r.status == 200, r
    if "2fa status" in idp_commands():  # idp reads the codes the server re-encrypted after each use
        status = stack.idp_json("2fa", "status", email)
        assert status["secret_decrypts"] is True and status["verified"] is True
        assert status["backup_codes_remaining"] == 8

    data = stack.idp_json("2fa", "disable", email, "--yes")
    assert data["two_factor_enabled"] is False
    data, b = _password_step(stack, email)
    assert not data.get("twoFactorRedirect"), data
    assert stack.session_user(b)["id"] == user["user_id"]
    assert stack.count("twoFactor", "userId", user["user_id"]) == 0


def test_server_enrolment_is_read_by_idp(ba_stack: Stack) -> None:
    stack = ba_stack
    user = stack.add_user("server-totp", role="viewer", password=PASSWORD)
    email = user["email"]
    b = stack.signed_in(email, PASSWORD)

    r = b.post("/two-factor/enable", {"password": PASSWORD})
    assert r.status == 200, r
    uri, codes = r.json()["totpURI"], r.json()["backupCodes"]
    assert stack.idp_json("show-user", email)["two_factor_enabled"] is False  # not verified yet
    if "2fa status" in idp_commands():
        status = stack.idp_json("2fa", "status", email)
        assert status["enrolled"] is True and status["verified"] is False
        assert status["secret_decrypts"] is True and status["backup_codes_remaining"] == 10
    r = b.post("/two-factor/verify-totp", {"code": totp_now("base32:" + _uri_secret(uri))})
    assert r.status == 200, r

    shown = stack.idp_json("show-user", email)
    assert shown["two_factor_enabled"] is True
    assert [u["two_factor_enabled"] for u in stack.idp_json("list-users", "--search", email)] == [True]

    # idp decrypts what the server encrypted: the same key the URI carries, the same backup codes
    row = stack.rows(
        f"SELECT secret, {stack.q('backupCodes')} AS codes FROM {stack.q('twoFactor')}"
        f" WHERE {stack.q('userId')} = :u",
        u=user["user_id"],
    )[0]
    assert base32_secret(decrypt(row["secret"], Secrets(SECRET))) == _uri_secret(uri)
    assert json.loads(decrypt(row["codes"], Secrets(SECRET))) == codes

    if "2fa status" in idp_commands():
        status = stack.idp_json("2fa", "status", email)
        assert status["two_factor_enabled"] is True and status["verified"] is True
        assert status["secret_decrypts"] is True and status["backup_codes_remaining"] == 10

    _challenged(stack, email)
    if "2fa disable" in idp_commands():
        stack.idp_json("2fa", "disable", email, "--yes")
        data, b = _password_step(stack, email)
        assert not data.get("twoFactorRedirect"), data
        assert stack.session_user(b)["id"] == user["user_id"]


def test_re_enrolment_replaces_the_old_secret(ba_stack: Stack) -> None:
    require_command("2fa enable")
    stack = ba_stack
    user = stack.add_user("totp-again", role="viewer", password=PASSWORD)
    email = user["email"]
    old = stack.idp_json("2fa", "enable", email)
    r = stack.idp("2fa", "enable", email, "--json")
    assert r.exit_code == 4, r  # already enrolled: a conflict without --force
    new = stack.idp_json("2fa", "enable", email, "--force")
    assert new["replaced"] is True

    b = _challenged(stack, email)
    r = b.post("/two-factor/verify-backup-code", {"code": old["backup_codes"][0]})
    assert r.status == 401, r
    old_code, new_code = _code(old["secret"], old["otpauth_uri"]), _code(new["secret"], new["otpauth_uri"])
    if old_code != new_code:
        r = b.post("/two-factor/verify-totp", {"code": old_code})
        assert r.status == 401, r
    r = b.post("/two-factor/verify-totp", {"code": new_code})
    assert r.status == 200, r
    assert stack.session_user(b)["id"] == user["user_id"]


def test_trusted_devices_do_not_outlive_a_re_enrolment(ba_stack: Stack) -> None:
    require_command("2fa enable")
    require_command("2fa disable")
    stack = ba_stack
    user = stack.add_user("totp-trusted", role="viewer", password=PASSWORD)
    email = user["email"]
    first = stack.idp_json("2fa", "enable", email)

    device = _challenged(stack, email)
    r = device.post(
        "/two-factor/verify-totp", {"code": _code(first["secret"], first["otpauth_uri"]), "trustDevice": True}
    )
    assert r.status == 200, r
    assert any(name.endswith("trust_device") for name in device.cookies), device.cookies
    r, _ = stack.sign_in(email, PASSWORD, device)
    assert r.status == 200, r
    assert not r.json().get("twoFactorRedirect"), r  # the server trusts this device now

    stack.idp_json("2fa", "disable", email, "--yes")
    stack.idp_json("2fa", "enable", email)
    r, _ = stack.sign_in(email, PASSWORD, device)
    assert r.status == 200, r
    assert r.json().get("twoFactorRedirect") is True, r  # the old trust is gone with the old enrolment
