"""Settings and their precedence: flag > process environment > .env file > TOML config file > default.

Nothing here touches the database or imports a driver; building settings is cheap and pure, so that
`idp --help` and `idp generate-secret` work with no configuration at all.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args
from urllib.parse import quote, urlsplit

from owox_idp.crypto.symmetric import Secrets
from owox_idp.db.schema import PLUGIN_NAMES
from owox_idp.errors import ConfigError
from owox_idp.flavors import DEFAULT_FLAVOR, FLAVORS, Flavor, FlavorName, flavor_named
from owox_idp.urls import display_url as display_url
from owox_idp.urls import redact_url as redact_url
from owox_idp.urls import split_url
from owox_idp.validation import MAX_LINK_TTL as MAX_LINK_TTL

__all__ = ["FLAVORS", "Secrets", "Settings", "load_settings"]

SERVER_VERSIONS = ("1.4", "1.5", "1.6", "1.7")
PasswordHash = Literal["scrypt", "argon2id", "bcrypt"]
PASSWORD_HASHES: tuple[str, ...] = get_args(PasswordHash)

# a command waits this long behind another connection's lock before it fails with "database busy"
DEFAULT_LOCK_TIMEOUT = 10.0
DEFAULT_STATEMENT_TIMEOUT = 300.0  # PostgreSQL: no statement of idp's runs longer
MAX_TIMEOUT = 86400.0
# Config and .env files are a few hundred bytes; anything this large is a mistake or an attack.
MAX_SETTINGS_FILE = 1024 * 1024

# Every setting, in the order `idp info` shows them; each is also a key of the TOML config file.
SETTING_KEYS = (
    "flavor",
    "database_url",
    "secret",
    "base_url",
    "base_path",
    "magic_link_ttl",
    "server_version",
    "roles",
    "admin_roles",
    "primary_admin_email",
    "password_hash",
    "organization",
    "totp_issuer",
    "admin_user_ids",
    "plugins",
    "model_names",
    "use_plural",
    "casing",
    "field_names",
    "id_format",
    "magic_link_store_token",
    "session_storage",
    "user_fields",
    "lock_timeout",
    "statement_timeout",
)
# the config file's own tables for the schema settings ([schema], [schema.models], [schema.fields.<model>],
# [user.fields]), flattened into the setting keys above by `_flatten_config`
_NESTED = {
    ("schema", "models"): "model_names",
    ("schema", "use_plural"): "use_plural",
    ("schema", "casing"): "casing",
    ("schema", "fields"): "field_names",
    ("schema", "id"): "id_format",
    ("user", "fields"): "user_fields",
}
CONFIG_KEYS = frozenset(SETTING_KEYS) | {"schema", "user"}
IdFormat = Literal["text", "uuid", "serial"]
Casing = Literal["camel", "snake"]
TokenStorage = Literal["plain", "hashed"]
SessionStorage = Literal["database", "both", "secondary"]

_ROLE_RE = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Settings:
    flavor: FlavorName
    database_url: str
    base_url: str
    base_path: str
    magic_link_ttl: int
    server_version: str
    roles: tuple[str, ...]
    admin_roles: tuple[str, ...]
    primary_admin_email: str | None
    password_hash: PasswordHash
    organization: bool
    totp_issuer: str
    config_path: Path
    secrets: Secrets | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    admin_user_ids: tuple[str, ...] = ()
    plugins: tuple[str, ...] | None = None  # declared (IDP_PLUGINS); None: the flavor's set
    # the schema as declared; None / empty: found in the database (owox_idp.db.discover)
    model_names: Mapping[str, str] = field(default_factory=dict)
    use_plural: bool | None = None
    casing: Casing | None = None
    field_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    id_format: IdFormat | None = None
    # what the database cannot show
    magic_link_store_token: TokenStorage = "plain"
    session_storage: SessionStorage = "database"
    user_fields: Mapping[str, Any] = field(default_factory=dict)  # defaults of additional user fields
    env_file: Path | None = None  # the .env file that was read (explicit or the trusted ./.env), if any
    # how long a statement waits for a lock another connection holds, and how long one may run (seconds)
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT

    @property
    def rules(self) -> Flavor:
        """The flavor's rules (owox_idp.flavors)."""
        return flavor_named(self.flavor)

    def require_secrets(self) -> Secrets:
        if self.secrets is None:
            raise ConfigError(
                "no secret configured: set IDP_BETTER_AUTH_SECRET (or BETTER_AUTH_SECRET) to the server's secret",
                hint="a new deployment can create one with `idp generate-secret --write`",
            )
        return self.secrets

    @property
    def default_role(self) -> str:
        """The least privileged role: roles are listed from most to least privileged."""
        for role in reversed(self.roles):
            if role not in self.admin_roles:
                return role
        return self.roles[-1]

    @property
    def magic_link_base(self) -> str:
        """Better Auth's URL for its endpoints: baseURL + basePath (unless the URL already has a path)."""
        parts = urlsplit(self.base_url)
        if parts.path not in ("", "/"):
            return self.base_url.rstrip("/")
        return self.base_url.rstrip("/") + self.base_path


def default_sqlite_path() -> Path:
    """OWOX's default: envPaths('owox', {suffix: ''}).data + '/idp/auth.db'."""
    from platformdirs import user_data_dir

    base = Path(user_data_dir("owox", appauthor=False, roaming=False))
    if sys.platform == "win32":  # env-paths puts data under %LOCALAPPDATA%\owox\Data
        base = base / "Data"
    return base / "idp" / "auth.db"


def default_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("owox-idp", appauthor=False)) / "config.toml"


class _Layers:
    """Looks a name up in the process environment, then the .env file, remembering where it was found."""

    def __init__(
        self, environ: Mapping[str, str], dotenv: Mapping[str, str], dotenv_path: Path | None
    ) -> None:
        self.environ = environ
        self.dotenv = dotenv
        self.dotenv_path = dotenv_path

    def get(self, *names: str) -> tuple[str, str] | None:
        for name in names:
            value = self.environ.get(name)
            if value is not None and value != "":
                return value, f"env {name}"
            value = self.dotenv.get(name)
            if value is not None and value != "":
                return value, f".env {name} ({self.dotenv_path})"
        return None


def _read_settings_file(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_SETTINGS_FILE + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_SETTINGS_FILE:
        raise ConfigError(f"{what} {path} is larger than {MAX_SETTINGS_FILE // 1024} KiB")
    return data


def _decode(data: bytes, path: Path, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{what} {path} is not UTF-8 text (line {line})") from None


def _read_dotenv(path: Path) -> dict[str, str]:
    """The file's variables, as python-dotenv reads them; a line it cannot parse is an error here
    (dotenv_values only logs a warning and skips it, and a skipped DATABASE_URL silently means the
    default database)."""
    import io

    from dotenv.parser import parse_stream

    text = _decode(_read_settings_file(path, "env file"), path, "env file")
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigError(
                f"env file {path}, line {binding.original.line}: cannot parse this line",
                hint="expected NAME=value; quote a value that has spaces or a # and close every quote",
            )
        if binding.key is not None and binding.value is not None:
            values[binding.key] = binding.value  # the last one wins, as in python-dotenv
    return values


def _read_config(path: Path) -> dict[str, Any]:
    import tomllib

    text = _decode(_read_settings_file(path, "config file"), path, "config file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses per nesting level: `a = [[[[...` exhausts the stack
        raise ConfigError(f"config file {path} is not valid TOML: nested too deeply") from None
    unknown = sorted(set(data) - CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"config file {path} has unknown keys: {', '.join(unknown)}")
    return data


def dotenv_trust_problem(path: Path) -> str | None:
    """Why the implicit ./.env must not be read, or None. Another local user who can write the working
    directory (or the file) could otherwise point idp at another database or base URL: the file must
    be a regular file, owned by the current user, not writable by every local user."""
    import stat

    try:
        st = path.lstat()
    except OSError as exc:
        return f"cannot inspect it: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return "it is not a regular file (a symlink or a special file)"
    getuid = getattr(os, "getuid", None)
    if getuid is not None and st.st_uid != getuid():
        return f"it belongs to another user (uid {st.st_uid})"
    # world-writable only: a group-writable file is what umask 002 (user private groups) makes
    if st.st_mode & 0o002:
        return f"others can write it (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def normalize_database_url(raw: str, *, source: str) -> str:
    """Turn a user-facing URL into the SQLAlchemy URL with our driver; a bad value is a ConfigError.

    No message shows any part of the URL after the scheme: it may hold a password."""
    value = raw.strip()
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise ConfigError(
            f"invalid database URL from {source}: expected sqlite:///path, postgresql://... or mysql://..."
        )
    scheme = scheme.lower()
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise ConfigError(
                f"invalid SQLite URL from {source}: use sqlite:///relative.db or sqlite:////absolute.db"
            )
        if "\x00" in rest:
            raise ConfigError(f"invalid SQLite URL from {source}: the path has a NUL character")
        return "sqlite://" + rest
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        driver = "postgresql+psycopg"
    elif scheme in ("mysql", "mariadb", "mysql+pymysql", "mariadb+pymysql"):
        driver = "mysql+pymysql"
    else:
        raise ConfigError(
            f"unsupported database URL scheme {scheme[:40]!r} from {source}: use sqlite, postgresql or mysql"
        )
    invalid = f"invalid database URL from {source}"
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in rest):
        raise ConfigError(f"{invalid}: it has spaces or control characters (percent-encode them)")
    parts = split_url(driver + "://" + rest)
    if parts is not None and parts.userinfo is not None and any(c in parts.userinfo for c in "/?#@"):
        raise ConfigError(
            f"{invalid}: the user name or password has a '/', '?', '#' or '@' that is not percent-encoded",
            hint="write them as %2F, %3F, %23 and %40 (e.g. with urllib.parse.quote(password, safe=''))",
        )
    try:
        split = urlsplit(driver + "://" + rest)
        split.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(
            f"{invalid}: the host or port cannot be parsed (the port must be a number)"
        ) from None
    if not split.hostname and "host=" not in split.query:
        raise ConfigError(f"{invalid}: no host")
    if not split.path.strip("/"):
        raise ConfigError(f"{invalid}: no database name")
    return driver + "://" + rest


def _owox_database(layers: _Layers) -> tuple[str, str] | None:
    found_type = layers.get("IDP_BETTER_AUTH_DATABASE_TYPE", "DB_TYPE")
    sqlite_path = layers.get("IDP_BETTER_AUTH_SQLITE_DB_PATH")
    if found_type is None:
        if sqlite_path is None:
            return None
        db_type, type_source = "sqlite", sqlite_path[1]
    else:
        db_type, type_source = found_type[0].strip().lower(), found_type[1]
    if db_type == "sqlite":
        if sqlite_path is None:
            return "sqlite:///" + str(default_sqlite_path()), f"{type_source} + OWOX default path"
        path = Path(sqlite_path[0]).expanduser()
        source = sqlite_path[1]
        if not path.is_absolute():
            # a relative path written in an env file means "next to that file", as its author meant
            # it, whichever directory idp runs in (`idp doctor` says so); from the environment, the
            # current directory
            from_file = source.startswith(".env ") and layers.dotenv_path is not None
            base = (
                layers.dotenv_path.expanduser().resolve().parent
                if from_file and layers.dotenv_path
                else Path.cwd()
            )
            path = base / path
            if from_file:
                source = f"{source}, relative to {base}"
        return "sqlite:///" + str(path), source
    if db_type == "mysql":
        host = layers.get("IDP_BETTER_AUTH_MYSQL_HOST", "DB_HOST")
        port = layers.get("IDP_BETTER_AUTH_MYSQL_PORT", "DB_PORT")
        user = layers.get("IDP_BETTER_AUTH_MYSQL_USER", "DB_USERNAME")
        password = layers.get("IDP_BETTER_AUTH_MYSQL_PASSWORD", "DB_PASSWORD")
        database = layers.get("IDP_BETTER_AUTH_MYSQL_DATABASE", "DB_DATABASE")
        if host is None:
            raise ConfigError(
                f"{type_source} is mysql but IDP_BETTER_AUTH_MYSQL_HOST (or DB_HOST) is not set"
            )
        if database is None:
            raise ConfigError(
                f"{type_source} is mysql but IDP_BETTER_AUTH_MYSQL_DATABASE (or DB_DATABASE) is not set"
            )
        port_value = 3306
        if port is not None:
            if not _is_number(port[0], 5) or not 0 < int(port[0]) < 65536:
                raise ConfigError(f"invalid MySQL port {port[0]!r} from {port[1]}")
            port_value = int(port[0])
        auth = quote(user[0], safe="") if user else "root"
        if password:
            auth += ":" + quote(password[0], safe="")
        url = f"mysql+pymysql://{auth}@{host[0]}:{port_value}/{quote(database[0], safe='')}"
        return url, f"{type_source} + {host[1]}"
    if db_type == "custom":
        raise ConfigError(f"database type 'custom' from {type_source} is not supported: use sqlite or mysql")
    raise ConfigError(f"unknown database type {db_type!r} from {type_source}: use sqlite or mysql")


def _parse_secrets(
    layers: _Layers, config: Mapping[str, Any], config_path: Path
) -> tuple[Secrets | None, str]:
    found = layers.get("IDP_BETTER_AUTH_SECRET")
    if found:
        return Secrets(current=found[0]), found[1]
    found_versions = layers.get("BETTER_AUTH_SECRETS")
    legacy = layers.get("BETTER_AUTH_SECRET", "AUTH_SECRET")
    if found_versions:
        versions: list[tuple[int, str]] = []
        for item in found_versions[0].split(","):
            version, sep, secret = item.strip().partition(":")
            if not sep or not _is_number(version, 9) or not secret.strip():
                raise ConfigError(
                    f"invalid BETTER_AUTH_SECRETS from {found_versions[1]}: expected '<version>:<secret>,...'"
                )
            versions.append((int(version), secret.strip()))
        if len({v for v, _ in versions}) != len(versions):
            raise ConfigError(
                f"invalid BETTER_AUTH_SECRETS from {found_versions[1]}: versions must be unique"
            )
        return (
            Secrets(
                current=versions[0][1],
                current_version=versions[0][0],
                versions=tuple(versions),
                legacy=legacy[0] if legacy else None,
            ),
            found_versions[1],
        )
    if legacy:
        return Secrets(current=legacy[0]), legacy[1]
    if "secret" in config:
        value = config["secret"]
        if not isinstance(value, str) or not value:
            raise ConfigError(f"config file {config_path}: secret must be a non-empty string")
        return Secrets(current=value), f"config {config_path}"
    return None, "not set"


def _roles(value: Any, source: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else str(value).split(",")
    roles = tuple(str(r).strip() for r in items if str(r).strip())
    if not roles:
        raise ConfigError(f"empty role list from {source}")
    for role in roles:
        if not _ROLE_RE.match(role):
            raise ConfigError(f"invalid role name {role!r} from {source}")
    return roles


def _parse_bool(value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"invalid boolean {value!r} from {source}")


def _is_number(text: str, digits: int) -> bool:
    """ASCII digits only, at most `digits` of them (str.isdigit accepts '²', which int() refuses)."""
    return re.fullmatch(rf"[0-9]{{1,{digits}}}", text.strip()) is not None


def _validate_base_url(value: str, source: str) -> str:
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        raise ConfigError(f"invalid base URL from {source}: it has control characters")
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(f"invalid base URL {value!r} from {source}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"invalid base URL {value!r} from {source}: expected http(s)://host[:port]")
    return value.strip().rstrip("/")


def config_file_path(
    *, config_path: Path | None = None, env_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """The TOML config file as `load_settings` picks it: `--config`, else IDP_CONFIG from the environment
    or the .env file, else the default in the user's config directory."""
    if config_path is not None:
        return config_path
    environ = os.environ if environ is None else environ
    dotenv_path = env_file if env_file is not None else Path(".env")
    dotenv = _read_dotenv(dotenv_path) if dotenv_path.is_file() else {}
    found = _Layers(environ, dotenv, dotenv_path).get("IDP_CONFIG")
    return Path(found[0]).expanduser() if found else default_config_path()


def load_settings(
    *,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = None,
    config_path: Path | None = None,
    config_must_exist: bool = True,
    hermetic: bool = False,
    flag_label: str = "flag --{}",
) -> Settings:
    """Build the settings. `env_file`/`config_path` given means the user named them explicitly.

    `hermetic` (the Python API's `Admin.from_url`) reads no environment variable and no file: only
    `flags` and the defaults count. `flag_label` names a flag's source in `idp info`."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    environ = {} if hermetic else (os.environ if environ is None else environ)

    def flag_source(key: str) -> str:
        return flag_label.format(key.replace("_", "-"))

    dotenv_path = env_file if env_file is not None else Path(".env")
    dotenv: dict[str, str] = {}
    dotenv_used: Path | None = None
    if hermetic:
        pass
    elif env_file is None and (dotenv_path.is_file() or dotenv_path.is_symlink()):
        # the implicit ./.env: read only when nobody else could have put it there (docs/configuration.md)
        problem = dotenv_trust_problem(dotenv_path)
        if problem is not None:
            raise ConfigError(
                f"not reading {dotenv_path.absolute()}: {problem}",
                hint="pass --env-file FILE to read it anyway, or run idp from a directory of your own",
            )
    if hermetic:
        pass
    elif dotenv_path.is_file():
        dotenv = _read_dotenv(dotenv_path)
        dotenv_used = dotenv_path
    elif env_file is not None:
        raise ConfigError(f"env file {env_file} does not exist")
    layers = _Layers(environ, dotenv, dotenv_path)

    explicit_config = config_path
    if config_path is None:
        from_env = layers.get("IDP_CONFIG")
        if from_env:
            explicit_config = Path(from_env[0]).expanduser()
    resolved_config = explicit_config or default_config_path()
    config: dict[str, Any] = {}
    if hermetic:
        pass
    elif resolved_config.is_file():
        config = _flatten_config(_read_config(resolved_config), resolved_config)
    elif explicit_config is not None and config_must_exist:
        raise ConfigError(f"config file {explicit_config} does not exist")
    config_source = f"config {resolved_config}"

    sources: dict[str, str] = {}

    def pick(key: str, *env_names: str, default: Any = None) -> Any:
        if key in flags:
            sources[key] = flag_source(key)
            return flags[key]
        found = layers.get(*env_names) if env_names else None
        if found:
            sources[key] = found[1]
            return found[0]
        if key in config:
            sources[key] = config_source
            return config[key]
        sources[key] = "default"
        return default

    rules = flavor_named(
        str(pick("flavor", "IDP_FLAVOR", default=DEFAULT_FLAVOR)).strip().lower(),
        source=sources.get("flavor", ""),
    )

    # database: flag > IDP_DATABASE_URL > OWOX variables > DATABASE_URL > config > OWOX default path
    if "database_url" in flags:
        database_url = normalize_database_url(str(flags["database_url"]), source=flag_source("database_url"))
        sources["database_url"] = flag_source("database_url")
    else:
        found = layers.get("IDP_DATABASE_URL")
        owox_db = None if found else _owox_database(layers)
        if found:
            database_url = normalize_database_url(found[0], source=found[1])
            sources["database_url"] = found[1]
        elif owox_db:
            database_url, sources["database_url"] = owox_db
        elif (found := layers.get("DATABASE_URL")) is not None:
            database_url = normalize_database_url(found[0], source=found[1])
            sources["database_url"] = found[1]
        elif "database_url" in config:
            database_url = normalize_database_url(str(config["database_url"]), source=config_source)
            sources["database_url"] = config_source
        else:
            database_url = "sqlite:///" + str(default_sqlite_path())
            sources["database_url"] = "default (OWOX's SQLite file)"

    if "secret" in flags:
        secrets: Secrets | None = Secrets(current=str(flags["secret"]))
        sources["secret"] = flag_source("secret")
    else:
        secrets, sources["secret"] = _parse_secrets(layers, config, resolved_config)

    if "base_url" in flags:
        raw_base = str(flags["base_url"])
        sources["base_url"] = flag_source("base_url")
    else:
        found = layers.get("IDP_BETTER_AUTH_BASE_URL", "BETTER_AUTH_URL", "PUBLIC_ORIGIN")
        if found:
            raw_base, sources["base_url"] = found
        elif "base_url" in config:
            raw_base, sources["base_url"] = str(config["base_url"]), config_source
        else:
            port = layers.get("PORT")
            port_value = "3000"
            if port:
                if not _is_number(port[0], 5):
                    raise ConfigError(f"invalid PORT {port[0]!r} from {port[1]}")
                port_value = port[0].strip()
            raw_base = f"http://localhost:{port_value}"
            sources["base_url"] = f"default (http://localhost:$PORT, {port[1] if port else 'PORT 3000'})"
    base_url = _validate_base_url(raw_base, sources["base_url"])

    if rules.fixed_base_path is not None:
        base_path = rules.fixed_base_path
        sources["base_path"] = f"{rules.name} flavor"
    else:
        base_path = str(
            pick("base_path", "IDP_BETTER_AUTH_BASE_PATH", default=rules.default_base_path)
        ).strip()
        if not base_path.startswith("/"):
            raise ConfigError(
                f"invalid base path {base_path!r} from {sources['base_path']}: must start with /"
            )
        base_path = base_path.rstrip("/") or "/"

    ttl_raw = pick("magic_link_ttl", "IDP_BETTER_AUTH_MAGIC_LINK_TTL", default=rules.default_magic_link_ttl)
    ttl_text = str(ttl_raw).strip()
    if isinstance(ttl_raw, bool) or not _is_number(ttl_text, 12) or int(ttl_text) <= 0:
        raise ConfigError(
            f"invalid magic link TTL {str(ttl_raw)[:40]!r} from {sources['magic_link_ttl']}: expected a positive number of seconds"
        )
    magic_link_ttl = int(ttl_text)
    if magic_link_ttl > MAX_LINK_TTL:
        raise ConfigError(
            f"magic link TTL {magic_link_ttl}s from {sources['magic_link_ttl']} is longer than idp's limit "
            f"of {MAX_LINK_TTL}s (30 days)",
            hint="a link is a bearer credential: keep it short (OWOX's role token lasts 1 h anyway)",
        )

    version_raw = str(
        pick("server_version", "IDP_BETTER_AUTH_VERSION", default=rules.default_server_version)
    ).strip()
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", version_raw)
    server_version = f"{match.group(1)}.{match.group(2)}" if match else version_raw
    if server_version not in SERVER_VERSIONS:
        raise ConfigError(
            f"unsupported Better Auth version {version_raw!r} from {sources['server_version']}: use 1.4, 1.5, 1.6 or 1.7"
        )

    roles: tuple[str, ...]
    admin_roles: tuple[str, ...]
    if rules.fixed_roles is not None:
        roles, admin_roles = rules.fixed_roles
        sources["roles"] = sources["admin_roles"] = f"{rules.name} flavor"
    else:
        raw_roles = pick("roles", "IDP_ROLES", default=",".join(rules.default_roles))
        roles = _roles(raw_roles, sources["roles"])
        raw_admin_roles = pick("admin_roles", "IDP_ADMIN_ROLES", default=",".join(rules.default_admin_roles))
        admin_roles = _roles(raw_admin_roles, sources["admin_roles"])
        missing = [r for r in admin_roles if r not in roles]
        if missing:
            raise ConfigError(
                f"admin role {missing[0]!r} from {sources['admin_roles']} is not one of the roles {','.join(roles)}"
            )

    primary = pick("primary_admin_email", "IDP_BETTER_AUTH_PRIMARY_ADMIN_EMAIL")
    primary_admin_email = str(primary).strip() if primary else None

    if rules.fixed_password_hash is not None:  # the server verifies one format only (the Rust port)
        password_hash = rules.fixed_password_hash
        sources["password_hash"] = f"{rules.name} flavor"
    else:
        password_hash = str(pick("password_hash", "IDP_PASSWORD_HASH", default="scrypt")).strip().lower()
    if password_hash not in PASSWORD_HASHES:
        raise ConfigError(
            f"unknown password hash {password_hash!r} from {sources['password_hash']}: use scrypt, argon2id or bcrypt"
        )

    organization = rules.organization_required or _parse_bool(
        pick("organization", "IDP_ORGANIZATION", default=False), "organization"
    )
    if rules.organization_required:
        sources["organization"] = f"{rules.name} flavor"
    totp_issuer = str(pick("totp_issuer", "IDP_TOTP_ISSUER", default=rules.default_totp_issuer))
    raw_ids = pick("admin_user_ids", "IDP_ADMIN_USER_IDS", default="")
    admin_user_ids: tuple[str, ...] = ()
    if rules.honours_admin_user_ids and raw_ids:
        items = raw_ids if isinstance(raw_ids, list) else str(raw_ids).split(",")
        admin_user_ids = tuple(str(i).strip() for i in items if str(i).strip())
    elif not rules.honours_admin_user_ids:
        sources["admin_user_ids"] = f"{rules.name} flavor (none)"

    raw_plugins = pick("plugins", "IDP_PLUGINS", default=None)
    plugins: tuple[str, ...] | None = None
    if raw_plugins is not None:
        names = list(raw_plugins) if isinstance(raw_plugins, list | tuple) else str(raw_plugins).split(",")
        plugins = tuple(dict.fromkeys(str(p).strip().lower() for p in names if str(p).strip()))
        unknown = [p for p in plugins if p not in PLUGIN_NAMES]
        if unknown:
            raise ConfigError(
                f"unknown plugin {unknown[0]!r} from {sources['plugins']}: use {', '.join(PLUGIN_NAMES)}"
            )
    else:
        sources["plugins"] = f"default ({rules.name} flavor)"

    schema = _schema_settings(pick, sources)
    lock_timeout = _seconds(
        pick("lock_timeout", "IDP_LOCK_TIMEOUT", default=DEFAULT_LOCK_TIMEOUT),
        "lock timeout",
        sources["lock_timeout"],
    )
    statement_timeout = _seconds(
        pick("statement_timeout", "IDP_STATEMENT_TIMEOUT", default=DEFAULT_STATEMENT_TIMEOUT),
        "statement timeout",
        sources["statement_timeout"],
    )

    return Settings(
        flavor=rules.name,
        plugins=plugins,
        **schema,
        database_url=database_url,
        base_url=base_url,
        base_path=base_path,
        magic_link_ttl=magic_link_ttl,
        server_version=server_version,
        roles=roles,
        admin_roles=admin_roles,
        primary_admin_email=primary_admin_email,
        password_hash=cast(PasswordHash, password_hash),
        organization=organization,
        totp_issuer=totp_issuer,
        admin_user_ids=admin_user_ids,
        config_path=resolved_config,
        secrets=secrets,
        sources=sources,
        env_file=dotenv_used,
        lock_timeout=lock_timeout,
        statement_timeout=statement_timeout,
    )


def _seconds(raw: Any, what: str, source: str) -> float:
    """A positive number of seconds (fractions allowed), at most a day."""
    text = str(raw).strip().removesuffix("s")
    try:
        value = float(text) if not isinstance(raw, bool) and len(text) <= 20 else float("nan")
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_TIMEOUT:  # also false for nan
        raise ConfigError(
            f"invalid {what} {str(raw)[:40]!r} from {source}: expected a number of seconds "
            f"above 0 and at most {int(MAX_TIMEOUT)}"
        )
    return value


def _flatten_config(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """[schema] and [user] tables of the config file as the flat setting keys."""
    out = {k: v for k, v in data.items() if k not in ("schema", "user")}
    for top in ("schema", "user"):
        table = data.get(top)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"config file {path}: [{top}] must be a table")
        for key, value in table.items():
            flat = _NESTED.get((top, key))
            if flat is None:
                raise ConfigError(f"config file {path} has an unknown key {top}.{key}")
            out[flat] = value
    return out


def _name_map(value: Any, source: str, what: str) -> dict[str, str]:
    """`user=app_users,session=app_sessions` (environment) or a TOML table."""
    if isinstance(value, dict):
        items = [(str(k), v) for k, v in value.items()]
    else:
        items = []
        for part in str(value).split(","):
            if not part.strip():
                continue
            key, sep, val = part.partition("=")
            if not sep:
                raise ConfigError(f"invalid {what} {part.strip()!r} from {source}: expected name=value")
            items.append((key.strip(), val.strip()))
    out: dict[str, str] = {}
    for key, val in items:
        if not isinstance(val, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", val.strip()):
            raise ConfigError(f"invalid {what} for {key!r} from {source}: {val!r} is not a table/column name")
        out[key] = val.strip()
    return out


def _choice(value: Any, source: str, what: str, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in choices:
        raise ConfigError(f"invalid {what} {value!r} from {source}: use {', '.join(choices)}")
    return text


def _schema_settings(pick: Any, sources: dict[str, str]) -> dict[str, Any]:
    """The declared parts of the deployment (contract: "The deployment: discovered, declared, never
    assumed")."""
    out: dict[str, Any] = {}
    raw = pick("model_names", "IDP_MODEL_NAMES")
    if raw:
        out["model_names"] = _name_map(raw, sources["model_names"], "model name")
    raw = pick("use_plural", "IDP_USE_PLURAL")
    if raw is not None and raw != "":
        out["use_plural"] = _parse_bool(raw, sources["use_plural"])
    raw = pick("casing", "IDP_CASING")
    if raw:
        out["casing"] = _choice(raw, sources["casing"], "casing", ("camel", "snake"))
    raw = pick("field_names")
    if raw:
        if not isinstance(raw, dict):
            raise ConfigError(f"[schema.fields] from {sources['field_names']} must be tables per model")
        out["field_names"] = {
            str(model): _name_map(v, sources["field_names"], f"{model} field name")
            for model, v in raw.items()
        }
    raw = pick("id_format", "IDP_ID_FORMAT")
    if raw:
        out["id_format"] = _choice(raw, sources["id_format"], "id format", ("text", "uuid", "serial"))
    raw = pick("magic_link_store_token", "IDP_MAGIC_LINK_STORE_TOKEN", default="plain")
    out["magic_link_store_token"] = _choice(
        raw, sources["magic_link_store_token"], "magic link token storage", ("plain", "hashed")
    )
    raw = pick("session_storage", "IDP_SESSION_STORAGE", default="database")
    out["session_storage"] = _choice(
        raw, sources["session_storage"], "session storage", ("database", "both", "secondary")
    )
    raw = pick("user_fields")
    if raw:
        if not isinstance(raw, dict):
            raise ConfigError(f"[user.fields] from {sources['user_fields']} must be a table")
        out["user_fields"] = dict(raw)
    return out


def write_config_value(path: Path, key: str, value: Any, *, replace: bool = True) -> None:
    """Set one key in the TOML config file, atomically, with mode 0600 (directory 0700). With
    `replace=False` a key that is already set is refused (exit 8): `generate-secret --write` must not
    throw away the secret a server uses. os.replace swaps a symlink itself, never its target."""
    import tempfile
    import tomllib

    import tomli_w

    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise ConfigError(f"cannot update config file {path}: {exc}") from None
    if not replace and key in data:
        from owox_idp.errors import Refused

        raise Refused(
            f"config file {path} already has a {key}; nothing was changed",
            hint="pass --force to replace it (a server using the old value stops accepting idp's writes)",
        )
    data[key] = value
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as fh:
                tomli_w.dump(data, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(f"cannot write config file {path}: {exc.strerror or exc}") from None
