"""Configuration precedence and every invalid value (exit 6), without a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from owox_idp.config import load_settings, redact_url
from owox_idp.errors import ConfigError


def settings(environ=None, **kw):
    return load_settings(environ=environ or {}, **kw)


def test_defaults_owox(tmp_path: Path) -> None:
    s = settings()
    assert s.flavor == "owox"
    assert s.database_url.endswith("/owox/idp/auth.db")
    assert s.database_url.startswith("sqlite:///")
    assert s.base_url == "http://localhost:3000"
    assert s.base_path == "/auth/better-auth"
    assert s.magic_link_ttl == 3600
    assert s.server_version == "1.6"
    assert s.roles == ("admin", "editor", "viewer")
    assert s.default_role == "viewer"
    assert s.secrets is None
    assert s.sources["flavor"] == "default"


def test_defaults_better_auth() -> None:
    s = settings({"IDP_FLAVOR": "better-auth"})
    assert (s.base_path, s.magic_link_ttl, s.server_version) == ("/api/auth", 300, "1.7")
    assert s.roles == ("admin", "user") and s.admin_roles == ("admin",)
    assert s.default_role == "user"
    assert s.magic_link_base == "http://localhost:3000/api/auth"


def test_precedence_flag_env_dotenv_config(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('flavor = "owox"\nbase_url = "https://from-config.test"\nmagic_link_ttl = 100\n')
    dotenv = tmp_path / "deploy.env"
    dotenv.write_text(
        "IDP_BETTER_AUTH_BASE_URL=https://from-dotenv.test\nIDP_BETTER_AUTH_MAGIC_LINK_TTL=200\n"
    )
    env = {"IDP_BETTER_AUTH_MAGIC_LINK_TTL": "300"}
    s = settings(env, env_file=dotenv, config_path=config, flags={"flavor": "better-auth"})
    assert s.flavor == "better-auth" and s.sources["flavor"] == "flag --flavor"
    assert s.magic_link_ttl == 300 and s.sources["magic_link_ttl"] == "env IDP_BETTER_AUTH_MAGIC_LINK_TTL"
    assert s.base_url == "https://from-dotenv.test" and s.sources["base_url"].startswith(".env")
    s2 = settings({}, config_path=config)
    assert s2.base_url == "https://from-config.test" and s2.magic_link_ttl == 100
    assert s2.sources["base_url"].startswith("config ")


def test_dotenv_never_overrides_environment(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("IDP_FLAVOR=better-auth\n")
    assert settings({"IDP_FLAVOR": "owox"}, env_file=dotenv).flavor == "owox"
    assert settings({}, env_file=dotenv).flavor == "better-auth"


def test_default_dotenv_in_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("IDP_BETTER_AUTH_SECRET=s3cret-from-dotenv\n")
    s = settings({})
    assert s.secrets is not None and s.secrets.current == "s3cret-from-dotenv"


def test_owox_mysql_variables_with_db_fallbacks() -> None:
    env = {
        "DB_TYPE": "mysql",
        "DB_HOST": "db.internal",
        "DB_PORT": "3307",
        "DB_USERNAME": "owox",
        "DB_PASSWORD": "p@ss:word",
        "DB_DATABASE": "owox",
        "IDP_BETTER_AUTH_MYSQL_DATABASE": "idp",
    }
    s = settings(env)
    assert s.database_url == "mysql+pymysql://owox:p%40ss%3Aword@db.internal:3307/idp"
    assert "p@ss" not in redact_url(s.database_url)


def test_db_user_is_not_read() -> None:
    s = settings({"DB_TYPE": "mysql", "DB_HOST": "h", "DB_USER": "wrong", "DB_DATABASE": "d"})
    assert "wrong" not in s.database_url


def test_owox_sqlite_path(tmp_path: Path) -> None:
    s = settings({"IDP_BETTER_AUTH_SQLITE_DB_PATH": str(tmp_path / "x.db")})
    assert s.database_url == f"sqlite:///{tmp_path / 'x.db'}"


def test_idp_database_url_wins_over_owox_and_database_url() -> None:
    env = {
        "IDP_DATABASE_URL": "postgresql://u@h/a",
        "DB_TYPE": "sqlite",
        "DATABASE_URL": "mysql://u@h/b",
    }
    assert settings(env).database_url == "postgresql+psycopg://u@h/a"
    del env["IDP_DATABASE_URL"]
    assert settings(env).database_url.startswith("sqlite:///")
    del env["DB_TYPE"]
    assert settings(env).database_url == "mysql+pymysql://u@h/b"


def test_secret_order_and_versions() -> None:
    s = settings({"BETTER_AUTH_SECRETS": "2:new-secret,1:old-secret", "BETTER_AUTH_SECRET": "legacy"})
    assert s.secrets is not None
    assert (s.secrets.current, s.secrets.current_version, s.secrets.legacy) == ("new-secret", 2, "legacy")
    s = settings({"IDP_BETTER_AUTH_SECRET": "a", "BETTER_AUTH_SECRET": "b"})
    assert s.secrets is not None and s.secrets.current == "a"
    s = settings({"AUTH_SECRET": "c"})
    assert s.secrets is not None and s.secrets.current == "c"


def test_base_url_from_port() -> None:
    assert settings({"PORT": "8080"}).base_url == "http://localhost:8080"
    assert settings({"PUBLIC_ORIGIN": "https://x.test/"}).base_url == "https://x.test"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"IDP_FLAVOR": "keycloak"}, "unknown flavor"),
        ({"IDP_DATABASE_URL": "not a url"}, "invalid database URL"),
        ({"IDP_DATABASE_URL": "oracle://h/db"}, "unsupported database URL scheme"),
        ({"IDP_DATABASE_URL": "postgresql://h:99999/db"}, "invalid database URL"),
        ({"IDP_DATABASE_URL": "postgresql://host/"}, "no database name"),
        ({"IDP_DATABASE_URL": "sqlite://relative.db"}, "invalid SQLite URL"),
        ({"IDP_BETTER_AUTH_MAGIC_LINK_TTL": "1h"}, "invalid magic link TTL"),
        ({"IDP_BETTER_AUTH_MAGIC_LINK_TTL": "0"}, "invalid magic link TTL"),
        ({"IDP_BETTER_AUTH_VERSION": "2.0"}, "unsupported Better Auth version"),
        ({"IDP_BETTER_AUTH_VERSION": "latest"}, "unsupported Better Auth version"),
        ({"DB_TYPE": "custom"}, "not supported"),
        ({"DB_TYPE": "postgres"}, "unknown database type"),
        ({"DB_TYPE": "mysql", "DB_HOST": "h"}, "DATABASE"),
        ({"DB_TYPE": "mysql", "DB_DATABASE": "d"}, "HOST"),
        ({"DB_TYPE": "mysql", "DB_HOST": "h", "DB_DATABASE": "d", "DB_PORT": "abc"}, "invalid MySQL port"),
        ({"IDP_BETTER_AUTH_BASE_URL": "ftp://x"}, "invalid base URL"),
        ({"PORT": "eighty"}, "invalid PORT"),
        ({"BETTER_AUTH_SECRETS": "nonsense"}, "BETTER_AUTH_SECRETS"),
        ({"BETTER_AUTH_SECRETS": "1:a,1:b"}, "unique"),
        ({"IDP_FLAVOR": "better-auth", "IDP_ROLES": "admin,us er"}, "invalid role name"),
        ({"IDP_FLAVOR": "better-auth", "IDP_ADMIN_ROLES": "root"}, "is not one of the roles"),
        ({"IDP_PASSWORD_HASH": "md5"}, "unknown password hash"),
        ({"IDP_FLAVOR": "better-auth", "IDP_ORGANIZATION": "maybe"}, "invalid boolean"),
    ],
)
def test_invalid_values(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings(env)
    assert fragment in info.value.message
    assert info.value.exit_code == 6


def test_config_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("flavor = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        settings(config_path=bad)
    typo = tmp_path / "typo.toml"
    typo.write_text('flavour = "owox"\n')
    with pytest.raises(ConfigError, match="unknown keys: flavour"):
        settings(config_path=typo)
    with pytest.raises(ConfigError, match="does not exist"):
        settings(config_path=tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="does not exist"):
        settings(env_file=tmp_path / "missing.env")


def test_require_secrets_names_generate_secret() -> None:
    with pytest.raises(ConfigError) as info:
        settings().require_secrets()
    assert "generate-secret" in (info.value.hint or "")


def test_server_version_with_patch() -> None:
    assert settings({"IDP_BETTER_AUTH_VERSION": "1.6.25"}).server_version == "1.6"
    assert settings({"IDP_BETTER_AUTH_VERSION": "v1.7.3"}).server_version == "1.7"
