"""Database URLs shown to people never show a password, nor any part of one in a parse error."""

from __future__ import annotations

import pytest

from owox_idp.config import display_url as config_display_url
from owox_idp.config import normalize_database_url
from owox_idp.errors import ConfigError
from owox_idp.urls import display_url, redact_url, scrub, split_url

SECRET = "Zq8-unguessable"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://app:Zq8-unguessable@db:5432/idp", "postgresql://app:***@db:5432/idp"),
        ("mysql+pymysql://root@localhost/idp", "mysql://root@localhost/idp"),
        ("postgresql://app@db/idp?password=Zq8-unguessable", "postgresql://app@db/idp?password=***"),
        (
            "postgresql://db/idp?sslmode=require&sslpassword=Zq8-unguessable",
            "postgresql://db/idp?sslmode=require&sslpassword=***",
        ),
        ("mysql://u@h/d?passwd=Zq8-unguessable&charset=utf8mb4", "mysql://u@h/d?passwd=***&charset=utf8mb4"),
        (
            "postgresql:///idp?host=/run/postgresql&PASSWORD=Zq8-unguessable",
            "postgresql:///idp?host=/run/postgresql&PASSWORD=***",
        ),
        # unescaped / # ? @ in the password: urlsplit would take its prefix for a host or port
        ("postgresql://app:Zq8/unguessable@db/idp", "postgresql://app:***@db/idp"),
        ("postgresql://app:Zq8#unguessable@db/idp", "postgresql://app:***@db/idp"),
        ("postgresql://app:Zq8?unguessable@db/idp", "postgresql://app:***@db/idp"),
        ("postgresql://app:Zq8@unguessable@db/idp", "postgresql://app:***@db/idp"),
        ("postgresql://app:Zq8-unguessable@[::1]:5432/idp", "postgresql://app:***@[::1]:5432/idp"),
        ("sqlite:////var/lib/idp/auth.db", "sqlite:////var/lib/idp/auth.db"),
    ],
)
def test_display_url_hides_every_password(url: str, shown: str) -> None:
    assert display_url(url) == shown
    assert "unguessable" not in redact_url(url)
    assert config_display_url is display_url  # the old import path keeps working


def test_password_without_database_name_is_still_hidden() -> None:
    for url in ("mysql://u:Zq8/unguessable@h", "mysql://u:Zq8?unguessable@h", "mysql://u:Zq8#x@h"):
        assert "Zq8" not in redact_url(url), url


def test_split_url_never_raises() -> None:
    for url in ("", "://", "a://@", "x://[::1", "p://u:@/", "p://%zz@h/d?&=&a", "no scheme"):
        split_url(url)
        redact_url(url)


def test_scrub_removes_the_password_from_driver_messages() -> None:
    url = "postgresql://app:p%40ss-Zq8@db/idp?sslpassword=other-Zq8"
    text = 'connection failed: password "p@ss-Zq8" rejected; p%40ss-Zq8; other-Zq8'
    assert "Zq8" not in scrub(text, url)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:Zq8/unguessable@db/idp",  # unescaped /
        "postgresql://app:Zq8#unguessable@db/idp",  # unescaped #
        "postgresql://app:Zq8?unguessable@db/idp",  # unescaped ?
        "postgresql://app:Zq8@unguessable@db/idp",  # unescaped @
        "mysql://app:Zq8unguessable@db:port/idp",  # bad port
        "mysql://app:Zq8unguessable@db:99999999/idp",
        "mysql://app:Zq8 unguessable@db/idp",
        "mysql://app:Zq8\x1bunguessable@db/idp",
        "mysql://app:Zq8unguessable@db",  # no database name
        "mysql://app:Zq8unguessable@/idp",  # no host
    ],
)
def test_parse_errors_show_no_part_of_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        normalize_database_url(url, source="env IDP_DATABASE_URL")
    shown = info.value.message + (info.value.hint or "")
    assert "Zq8" not in shown and "unguessable" not in shown
    assert "IDP_DATABASE_URL" in shown


def test_percent_encoded_passwords_are_accepted() -> None:
    url = "postgresql://app:Zq8%2F%23%3F%40x@db:5432/idp"
    assert normalize_database_url(url, source="s") == "postgresql+psycopg://app:Zq8%2F%23%3F%40x@db:5432/idp"


def test_info_shows_no_query_password(idp_sqlite) -> None:
    r = idp_sqlite(
        "info", "--json", env={"IDP_DATABASE_URL": "postgresql://app@127.0.0.1:1/idp?password=" + SECRET}
    )
    assert SECRET not in r.stdout + r.stderr
