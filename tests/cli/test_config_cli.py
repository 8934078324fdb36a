"""Configuration through the CLI: generate-secret --write, --env-file, flags, sources in info."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

from idp_runner import IdpRunner


def test_generate_secret_prints_64_hex(idp_sqlite: IdpRunner) -> None:
    r = idp_sqlite("generate-secret")
    assert r.exit_code == 0
    value = r.stdout.strip()
    assert len(value) == 64 and int(value, 16) >= 0
    assert r.stderr  # the hint goes to stderr, so $(idp generate-secret) captures only the secret
    assert idp_sqlite("generate-secret").stdout.strip() != value
    assert idp_sqlite("generate-secret", "--json").json()["secret"]


def test_generate_secret_write_is_0600_and_used(idp_sqlite: IdpRunner, tmp_path: Path) -> None:
    config = tmp_path / "conf" / "idp.toml"
    r = idp_sqlite("--config", str(config), "generate-secret", "--write", "--json")
    assert r.exit_code == 0, r.stderr
    secret = r.json()["secret"]
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert tomllib.loads(config.read_text()) == {"secret": secret}
    # a second --write keeps the secret the server uses (issue 13) unless --force; then it keeps the
    # other keys and replaces the secret
    config.write_text(config.read_text() + 'flavor = "better-auth"\n')
    r = idp_sqlite("--config", str(config), "generate-secret", "--write", "--json")
    assert r.exit_code == 8 and tomllib.loads(config.read_text())["secret"] == secret
    r = idp_sqlite("--config", str(config), "generate-secret", "--write", "--force", "--json")
    data = tomllib.loads(config.read_text())
    assert data["flavor"] == "better-auth" and data["secret"] == r.json()["secret"] != secret
    # the config file's secret is what idp then uses (the environment's is removed for this run)
    info = idp_sqlite("--config", str(config), "info", "--json", env={"IDP_BETTER_AUTH_SECRET": ""}).json()
    assert info["settings"]["secret"]["source"] == f"config {config}"
    assert info["flavor"] == "better-auth"
    assert r.json()["secret"] not in str(info)


def test_env_file_and_flags(idp_sqlite: IdpRunner, tmp_path: Path) -> None:
    env_file = tmp_path / "owox.env"
    env_file.write_text(
        "IDP_BETTER_AUTH_BASE_URL=https://from-env-file.test\nIDP_BETTER_AUTH_MAGIC_LINK_TTL=600\n"
    )
    idp_sqlite.migrate()
    no_env = {"IDP_BETTER_AUTH_BASE_URL": ""}  # the .env file never overrides the environment
    r = idp_sqlite("--env-file", str(env_file), "add-user", "e@example.com", "--json", env=no_env)
    assert r.exit_code == 0, r.stderr
    assert r.json()["magic_link"].startswith("https://from-env-file.test/auth/magic-link?")
    r = idp_sqlite(
        "--base-url", "https://flag.test", "--env-file", str(env_file), "info", "--json", env=no_env
    )
    data = r.json()
    assert data["settings"]["base_url"] == {"value": "https://flag.test", "source": "flag --base-url"}
    assert data["settings"]["magic_link_ttl"]["source"].startswith(".env IDP_BETTER_AUTH_MAGIC_LINK_TTL")
    r = idp_sqlite("--env-file", str(tmp_path / "missing.env"), "info")
    assert r.exit_code == 6 and "does not exist" in r.stderr
    r = idp_sqlite("--flavor", "nope", "info")
    assert r.exit_code == 6 and "unknown flavor" in r.stderr


def test_info_works_without_database_and_redacts_password(idp_sqlite: IdpRunner) -> None:
    r = idp_sqlite("info", "--json", env={"IDP_DATABASE_URL": "mysql://owox:topsecret@127.0.0.1:1/owox"})
    assert r.exit_code == 1, r.stderr  # it still reports everything, then says it cannot reach it
    assert "cannot be reached" in r.stderr
    data = r.json()
    assert data["database"]["reachable"] is False and "cannot connect" in data["database"]["error"]
    assert data["database"]["url"] == "mysql://owox:***@127.0.0.1:1/owox"
    assert "topsecret" not in r.stdout + r.stderr


def test_argon2id_when_configured(idp: IdpRunner) -> None:
    idp.migrate()
    r = idp(
        "add-user",
        "argon@example.com",
        "--password-stdin",
        "--json",
        input="argon-password\n",
        env={"IDP_PASSWORD_HASH": "argon2id"},
    )
    assert r.exit_code == 0, r.stderr
    import sqlalchemy as sa

    engine = sa.create_engine(idp.db.sa_url)
    with engine.connect() as conn:
        (stored,) = conn.exec_driver_sql("select password from account").one()
    engine.dispose()
    assert stored.startswith("$argon2id$")
    from owox_idp.crypto.passwords import verify_password

    assert verify_password("argon-password", stored)


def test_version_and_help(idp_sqlite: IdpRunner) -> None:
    r = idp_sqlite("--version")
    assert r.exit_code == 0 and r.stdout.startswith("idp ")
    r = idp_sqlite()
    assert "Usage" in r.stdout + r.stderr


def test_the_flavor_option_names_every_flavor() -> None:
    """Regression: `--flavor`'s help said "owox (default) or better-auth" after better-auth-rs came."""
    from owox_idp.cli.common import FLAVOR_HELP
    from owox_idp.flavors import DEFAULT_FLAVOR, FLAVORS

    others = [name for name in FLAVORS if name != DEFAULT_FLAVOR]
    assert f"{DEFAULT_FLAVOR} (default), {', '.join(others[:-1])} or {others[-1]}." == FLAVOR_HELP


def test_generate_secret_write_follows_idp_config_from_the_env_file(
    idp_sqlite: IdpRunner, tmp_path: Path
) -> None:
    """Regression: --write ignored IDP_CONFIG set in ./.env and wrote the default config file."""
    target = tmp_path / "chosen" / "idp.toml"
    (tmp_path / ".env").write_text(f"IDP_CONFIG={target}\n")
    r = idp_sqlite("generate-secret", "--write", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["written_to"] == str(target)
    assert r.json()["secret"] in target.read_text()
