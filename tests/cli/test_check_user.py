"""idp check-user on every dialect: the verdict, the ways in, every reason a user cannot sign in with
the command that fixes it, and exit 9 when they cannot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from idp_runner import IdpRunner

PASSWORD = "a-long-password-1"


def _check(idp: IdpRunner, email: str, *args: str) -> tuple[int, dict[str, Any]]:
    r = idp("check-user", email, "--json", *args)
    assert r.exit_code in (0, 9), r.stderr
    data = r.json()
    assert data["can_sign_in"] is (r.exit_code == 0)
    return r.exit_code, data


def _codes(data: dict[str, Any]) -> list[str]:
    return [r["code"] for r in data["reasons"]]


@pytest.fixture(params=["owox", "better-auth"])
def flavored(request: pytest.FixtureRequest, idp: IdpRunner) -> IdpRunner:
    idp.flavor(request.param)
    idp.migrate()
    assert idp("add-user", "boss@example.com", "--role", "admin").exit_code == 0
    return idp


def test_a_new_user_can_sign_in_with_the_link(flavored: IdpRunner) -> None:
    assert flavored("add-user", "new@example.com").exit_code == 0
    code, data = _check(flavored, "NEW@example.com")
    assert code == 0 and data["ways"] == ["pending-link"] and data["reasons"] == []
    assert data["email"] == "new@example.com" and data["user_id"]
    r = flavored("check-user", "new@example.com")
    assert r.exit_code == 0 and "new@example.com can sign in: pending-link" in r.stdout


def test_no_password_and_no_link_then_the_fix(flavored: IdpRunner) -> None:
    assert flavored("add-user", "stuck@example.com").exit_code == 0
    engine = sa.create_engine(flavored.db.sa_url)
    try:
        with engine.begin() as conn:
            q = "`" if flavored.db.dialect == "mariadb" else '"'
            conn.execute(sa.text(f"delete from {q}verification{q}"))  # the link was used or expired
    finally:
        engine.dispose()
    code, data = _check(flavored, "stuck@example.com")
    assert code == 9 and _codes(data) == ["no-way-in"] and data["ways"] == []
    fix = data["reasons"][0]["fix"]
    assert fix.startswith("idp reset-password stuck@example.com")
    r = flavored("check-user", "stuck@example.com")
    assert r.exit_code == 9 and "cannot sign in" in r.stdout and "fix: idp reset-password" in r.stdout
    assert "Error: stuck@example.com cannot sign in" in r.stderr
    assert flavored(*fix.split()[1:]).exit_code == 0  # the fix it names, verbatim
    code, data = _check(flavored, "stuck@example.com")
    assert code == 0 and data["ways"] == ["pending-link"]


def test_banned_user_then_unban(flavored: IdpRunner) -> None:
    r = flavored("add-user", "ban@example.com", "--password-stdin", input=PASSWORD)
    assert r.exit_code == 0
    assert flavored("ban", "ban@example.com", "--reason", "abuse", "--yes").exit_code == 0
    code, data = _check(flavored, "ban@example.com")
    assert code == 9 and _codes(data) == ["banned"] and data["ways"] == []  # not its side effects
    banned = data["reasons"][_codes(data).index("banned")]
    assert "abuse" in banned["message"] and banned["fix"] == "idp unban ban@example.com"
    assert flavored("unban", "ban@example.com").exit_code == 0
    code, data = _check(flavored, "ban@example.com")
    assert code == 0 and "password" in data["ways"]


def test_timed_ban_until_and_expired(idp: IdpRunner) -> None:
    idp.flavor("better-auth")
    idp.migrate()
    assert idp("add-user", "boss@example.com", "--role", "admin").exit_code == 0
    assert idp("add-user", "t@example.com", "--password-stdin", input=PASSWORD).exit_code == 0
    assert idp("ban", "t@example.com", "--expires", "1h", "--yes").exit_code == 0
    code, data = _check(idp, "t@example.com")
    assert code == 9 and "until 20" in data["reasons"][0]["message"]
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    from owox_idp import Admin

    with Admin.from_environment(database_url=idp.db.url, flavor="better-auth") as admin:
        result = admin.check_user("t@example.com", now=datetime.fromisoformat(later))
    assert result.can_sign_in and "banned" not in [r.code for r in result.reasons]


def test_owox_user_without_role(idp: IdpRunner) -> None:
    idp.migrate()
    assert idp("add-user", "boss@example.com", "--role", "admin").exit_code == 0
    assert idp("add-user", "norole@example.com", "--password-stdin", input=PASSWORD).exit_code == 0
    engine = sa.create_engine(idp.db.sa_url)
    try:
        with engine.begin() as conn:
            q = "`" if idp.db.dialect == "mariadb" else '"'
            conn.execute(sa.text(f"delete from {q}member{q} where {q}role{q} <> 'admin'"))
    finally:
        engine.dispose()
    code, data = _check(idp, "norole@example.com")
    assert (
        code == 9
        and _codes(data) == ["no-role"]
        and data["reasons"][0]["fix"] == "idp set-role norole@example.com viewer"
    )


def test_two_factor_ways_and_lock(idp: IdpRunner) -> None:
    idp.flavor("better-auth")
    idp.migrate()
    assert idp("add-user", "boss@example.com", "--role", "admin").exit_code == 0
    r = idp("add-user", "tf@example.com", "--password-stdin", input=PASSWORD)
    assert r.exit_code == 0
    user_id = r.stdout and idp("show-user", "tf@example.com", "--json").json()["id"]
    assert idp("2fa", "enable", "tf@example.com", "--json").exit_code == 0
    code, data = _check(idp, "tf@example.com")
    assert code == 0 and data["ways"][:2] == ["password", "two-factor"]
    until = datetime.now(UTC) + timedelta(minutes=15)
    engine = sa.create_engine(idp.db.sa_url)
    try:
        with engine.begin() as conn:
            from sqlalchemy import column, table

            from owox_idp.db.types import BADate

            tf = table(
                "twoFactor",
                column("userId"),
                column("lockedUntil", BADate()),
                column("failedVerificationCount"),
            )
            conn.execute(
                sa.update(tf)
                .where(tf.c.userId == user_id)
                .values(lockedUntil=until, failedVerificationCount=5)
            )
            q = "`" if idp.db.dialect == "mariadb" else '"'
            conn.execute(sa.text(f"delete from {q}verification{q}"))
    finally:
        engine.dispose()
    code, data = _check(idp, "tf@example.com")
    assert code == 9 and _codes(data) == ["two-factor-locked"] and "2fa disable" in data["reasons"][0]["fix"]
    assert idp("2fa", "disable", "tf@example.com", "--yes").exit_code == 0
    code, data = _check(idp, "tf@example.com")
    assert code == 0 and data["ways"] == ["password"]


def test_unverified_email_where_required(idp: IdpRunner) -> None:
    idp.flavor("better-auth")
    idp.migrate()
    assert idp("add-user", "boss@example.com", "--role", "admin").exit_code == 0
    assert idp("add-user", "u@example.com", "--password-stdin", input=PASSWORD).exit_code == 0
    engine = sa.create_engine(idp.db.sa_url)
    try:
        with engine.begin() as conn:
            q = "`" if idp.db.dialect == "mariadb" else '"'
            conn.execute(sa.text(f"update {q}user{q} set {q}emailVerified{q} = :f"), {"f": False})
            conn.execute(sa.text(f"delete from {q}verification{q}"))
    finally:
        engine.dispose()
    assert _check(idp, "u@example.com")[0] == 0
    code, data = _check(idp, "u@example.com", "--require-verified")
    assert code == 9 and _codes(data) == ["email-unverified"]


def test_errors(idp: IdpRunner) -> None:
    assert idp("check-user", "a@example.com").exit_code == 7
    idp.migrate()
    assert idp("check-user", "nobody@example.com").exit_code == 3
    assert idp("check-user", "not-an-email").exit_code == 5
