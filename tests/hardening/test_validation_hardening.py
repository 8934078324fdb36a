"""Input limits: every bad value is InvalidInput (exit 5), whatever the dialect would have said."""

from __future__ import annotations

import pytest

from owox_idp.config import MAX_LINK_TTL, load_settings
from owox_idp.errors import InvalidInput
from owox_idp.validation import (
    MAX_DURATION,
    MAX_INT,
    MAX_NAME,
    normalize_email,
    normalize_role,
    parse_duration,
    parse_link_ttl,
    validate_limit,
    validate_name,
    validate_offset,
    validate_text,
)


@pytest.mark.parametrize(
    "text",
    ["0", "-1", "", "1x", "9" * 13, "9" * 100_000, "١٢", "²", "1.5h", "99999999999w", "1e3", "5 y", "\x00"],
)
def test_bad_durations(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_duration(text)
    assert len(info.value.message) < 300


def test_duration_bounds() -> None:
    assert parse_duration("30m") == 1800 and parse_duration(" 7D ") == 7 * 86400
    assert parse_duration(str(MAX_DURATION)) == MAX_DURATION
    with pytest.raises(InvalidInput, match="too long"):
        parse_duration(str(MAX_DURATION + 1))
    assert parse_link_ttl("30d") == MAX_LINK_TTL
    with pytest.raises(InvalidInput, match="too long"):
        parse_link_ttl("31d")


def test_names() -> None:
    assert validate_name("  Ann  ") == "Ann"
    assert validate_name("x" * MAX_NAME) == "x" * MAX_NAME
    for bad in ("", "   ", "x" * (MAX_NAME + 1), "a\x00b", "bad\udcff"):
        with pytest.raises(InvalidInput):
            validate_name(bad)
    assert validate_name("[/] \x1b]8;; 山田") == "[/] \x1b]8;; 山田"  # stored as given, shown inert


def test_text_and_ints() -> None:
    with pytest.raises(InvalidInput):
        validate_text("x" * 1001, what="--reason")
    assert validate_limit(None) is None and validate_limit(MAX_INT) == MAX_INT
    for bad in (0, -1, MAX_INT + 1, 10**30):
        with pytest.raises(InvalidInput):
            validate_limit(bad)
    assert validate_offset(0) == 0
    for bad in (-1, 2**63):
        with pytest.raises(InvalidInput):
            validate_offset(bad)


def test_emails_and_roles_quote_bad_values_short() -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_email("x" * 100_000 + "@example.com")
    assert len(info.value.message) < 200
    s = load_settings(environ={"IDP_FLAVOR": "better-auth"})
    for bad in ("a\x00", "r" * 5000, "nope"):
        with pytest.raises(InvalidInput) as info:
            normalize_role(bad, allowed=s.roles, multiple=True, flavor=s.flavor)
        assert len(info.value.message) < 300
