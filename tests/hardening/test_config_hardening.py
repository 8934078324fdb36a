"""Settings files that cannot be read are exit 6 with the file and line, never a traceback or a silent
fallback; the implicit ./.env is read only when it is the user's own; link lifetimes are capped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from owox_idp.config import MAX_LINK_TTL, load_settings, write_config_value
from owox_idp.errors import ConfigError, ExitCode, Refused


def settings(environ=None, **kw):
    return load_settings(environ=environ or {}, **kw)


@pytest.mark.parametrize(
    "text",
    [
        'DATABASE_URL="postgresql://x@h/db\n',  # unterminated quote
        "this line is not an assignment\n",
        "IDP_FLAVOR=owox\n'oops\n",
    ],
)
def test_unparseable_dotenv_line_names_file_and_line(tmp_path: Path, text: str) -> None:
    env = tmp_path / "deploy.env"
    env.write_text("IDP_BETTER_AUTH_SECRET=x\n" + text)
    with pytest.raises(ConfigError) as info:
        settings(env_file=env)
    assert str(env) in info.value.message and "line " in info.value.message
    assert info.value.exit_code == ExitCode.CONFIG


def test_dotenv_still_reads_what_python_dotenv_reads(tmp_path: Path) -> None:
    env = tmp_path / "deploy.env"
    env.write_text(
        "# comment\nexport IDP_FLAVOR=better-auth\nIDP_ROLES='admin,user,guest'  # trailing\n\nEMPTY\n"
        'IDP_TOTP_ISSUER="My \\"App\\""\n'
    )
    s = settings(env_file=env)
    assert s.flavor == "better-auth" and s.roles == ("admin", "user", "guest")
    assert s.totp_issuer == 'My "App"' and s.env_file == env


@pytest.mark.parametrize("what", ["env", "config"])
def test_non_utf8_files_are_exit_6(tmp_path: Path, what: str) -> None:
    path = tmp_path / f"f.{what}"
    path.write_bytes(
        b"IDP_FLAVOR=owox\nIDP_TOTP_ISSUER=caf\xe9\n" if what == "env" else b'totp_issuer = "caf\xe9"\n'
    )
    with pytest.raises(ConfigError, match="not UTF-8"):
        settings(**({"env_file": path} if what == "env" else {"config_path": path}))


@pytest.mark.parametrize(
    "text",
    [
        "roles = " + "[" * 5000 + "]" * 5000 + "\n",
        "roles = " + "{a=" * 5000 + "1" + "}" * 5000 + "\n",
        "x" * (1024 * 1024 + 10),
    ],
)
def test_deep_or_huge_toml_is_exit_6(tmp_path: Path, text: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        settings(config_path=path)


def test_implicit_dotenv_of_another_user_or_writable_by_others_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    dotenv = tmp_path / ".env"
    dotenv.write_text("IDP_BETTER_AUTH_BASE_URL=https://evil.test\n")
    dotenv.chmod(0o666)
    with pytest.raises(ConfigError, match="others can write it") as info:
        settings()
    assert "--env-file" in (info.value.hint or "")
    # named explicitly, the user takes responsibility for it
    assert settings(env_file=Path(".env")).base_url == "https://evil.test"
    dotenv.chmod(0o644)
    assert settings().base_url == "https://evil.test"
    if os.geteuid() == 0:
        os.chown(dotenv, 65534, 65534)
        with pytest.raises(ConfigError, match="another user"):
            settings()


def test_implicit_dotenv_symlink_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real.env").write_text("IDP_FLAVOR=better-auth\n")
    (tmp_path / ".env").symlink_to(tmp_path / "real.env")
    with pytest.raises(ConfigError, match="not a regular file"):
        settings()


def test_explicit_config_keeps_the_contract_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """flag > environment > .env > --config > defaults: an own ./.env still wins over --config."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("IDP_BETTER_AUTH_BASE_URL=https://from-dotenv.test\n")
    (tmp_path / ".env").chmod(0o600)
    config = tmp_path / "c.toml"
    config.write_text('base_url = "https://from-config.test"\ntotp_issuer = "Cfg"\n')
    s = settings(config_path=config)
    assert s.base_url == "https://from-dotenv.test" and s.sources["base_url"].startswith(".env ")
    assert s.totp_issuer == "Cfg"


@pytest.mark.parametrize("ttl", [str(MAX_LINK_TTL + 1), "999999999999999", "9" * 5000, "²", "1e9", "-5", "0"])
def test_magic_link_ttl_is_bounded(ttl: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings({"IDP_BETTER_AUTH_MAGIC_LINK_TTL": ttl})
    assert len(info.value.message) < 300


def test_magic_link_ttl_at_the_cap_is_accepted() -> None:
    assert settings({"IDP_BETTER_AUTH_MAGIC_LINK_TTL": str(MAX_LINK_TTL)}).magic_link_ttl == MAX_LINK_TTL


@pytest.mark.parametrize(
    "env",
    [
        {"PORT": "³"},
        {"BETTER_AUTH_SECRETS": "¹:abc"},
        {"DB_TYPE": "mysql", "DB_HOST": "h", "DB_DATABASE": "d", "DB_PORT": "²"},
        {"IDP_BETTER_AUTH_BASE_URL": "https://evil\x1b]8;;x\x07.test"},
    ],
)
def test_odd_numbers_and_controls_are_config_errors(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        settings(env)


def test_write_config_value_refuses_to_replace_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    write_config_value(path, "secret", "first", replace=False)
    with pytest.raises(Refused):
        write_config_value(path, "secret", "second", replace=False)
    assert 'secret = "first"' in path.read_text()
    write_config_value(path, "secret", "second")
    assert 'secret = "second"' in path.read_text()


def test_write_config_value_replaces_a_symlink_not_its_target(tmp_path: Path) -> None:
    victim = tmp_path / "victim.toml"
    victim.write_text('totp_issuer = "x"\n')
    link = tmp_path / "c.toml"
    link.symlink_to(victim)
    write_config_value(link, "secret", "s")
    assert victim.read_text() == 'totp_issuer = "x"\n'
    assert not link.is_symlink() and oct(link.stat().st_mode & 0o777) == "0o600"
