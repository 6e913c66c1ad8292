"""Configuration: a real Auth0 tenant from the environment (or `.env`), else the bundled dev tenant."""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from dotenv import dotenv_values

from shared.dev_tenant.defaults import DEFAULT_PORT as TENANT_PORT
from shared.dev_tenant.defaults import DEV_CLIENT_ID, default_state_dir, dev_client_secret, stored_secret

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 3000  # the port Auth0's quickstarts use in their Allowed Callback URLs
MIN_SECRET_KEY_LENGTH = 32
LEEWAY_SECONDS = 60  # clock skew tolerated on exp/iat/nbf
HTTP_TIMEOUT = 10.0  # seconds to wait for the provider before the page says it did not answer
# Step 03 records a session's last use at most once per `Settings.touch_interval`, never less than a
# second apart, so the recorded time can lag the real one by that much. From ten seconds up, that lag
# stays within a tenth of the idle timeout; below, the one-second floor makes it a larger share, and
# the few requests of a single page view (the page, its stylesheet, its images) stop being small
# against the timeout: a session could end between a page and its images.
MIN_IDLE_TIMEOUT = 10
MAX_TOUCH_INTERVAL = 60.0  # seconds: a busy session's last use is recorded at least this often


class ConfigError(Exception):
    """The configuration cannot work; the message says which variable to set and how."""


@dataclass(frozen=True)
class Settings:
    issuer: str  # exactly as the provider writes it: Auth0's ends with "/", most others' do not
    client_id: str
    client_secret: str
    app_secret_key: str
    base_url: str  # where the browser reaches this app, e.g. http://localhost:3000
    embedded: bool  # True: the bundled dev tenant stands in for Auth0
    state_dir: Path  # git-ignored folder for the dev tenant and generated secrets
    connection: str = "Username-Password-Authentication"
    leeway: int = LEEWAY_SECONDS
    # Step 03's server-side session records (03-Session-Handling/GOING-FURTHER.md says why these defaults).
    session_store_url: str | None = None  # redis://host:port/db; None: SQLite in state_dir
    session_idle_timeout: int = 30 * 60  # seconds without a request before a session ends
    session_absolute_timeout: int = 8 * 60 * 60  # seconds after login when it ends regardless
    http_timeout: float = HTTP_TIMEOUT

    @property
    def touch_interval(self) -> float:
        """Seconds between two writes of a busy session's "last used" time (step 03).

        Writing it on every request would cost the store a write per page, stylesheet and image;
        writing it rarely makes the idle timeout imprecise, since a session is judged by the last
        *recorded* use. A tenth of the idle timeout keeps that error within a tenth; the cap of
        MAX_TOUCH_INTERVAL keeps the record fresh for the learner's panel with long timeouts; the
        floor of a second keeps a short timeout from meaning a write per request.
        """
        return max(1.0, min(MAX_TOUCH_INTERVAL, self.session_idle_timeout / 10))

    @property
    def port(self) -> int:
        return urlsplit(self.base_url).port or (443 if self.https else 80)

    @property
    def https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/callback"

    @property
    def discovery_url(self) -> str:
        # OpenID Connect Discovery §4: the issuer without its trailing slash, then the well-known path.
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"

    @property
    def auth0(self) -> bool:
        """The issuer has Auth0's form, `https://DOMAIN/`: Auth0's own endpoints (/v2/logout, the
        password-realm grant, /dbconnections/signup) exist. Other providers' issuers have a path or no
        trailing slash (Keycloak, Okta, Google), and offer only what OpenID Connect specifies."""
        return urlsplit(self.issuer).path == "/"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_issuer(issuer: str, error: BaseException) -> str | None:
    """The issuer to write instead when `error` shows that an https issuer on this machine answered in
    plain http (AUTH0_DOMAIN=localhost:4000 means https://localhost:4000/; the dev tenant speaks http)."""
    parts = urlsplit(issuer)
    if parts.scheme != "https" or not is_loopback(parts.hostname or ""):
        return None
    cause: BaseException | None = error
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        # OpenSSL's reason when the answer does not start with a TLS record: "HTTP/1.1 400 …" reads as
        # a record of an unknown TLS version.
        if isinstance(cause, ssl.SSLError) and cause.reason == "WRONG_VERSION_NUMBER":
            return urlunsplit(parts._replace(scheme="http"))
        cause = cause.__cause__ or cause.__context__
    return None


def plain_http_fix(http_issuer: str) -> str:
    """What to change when the tenant answered in plain http: one sentence for the page, the console and the doctor."""
    return f"this server speaks plain http: write AUTH0_DOMAIN={http_issuer} (in the environment or .env)"


def normalize_issuer(domain: str) -> str:
    """AUTH0_DOMAIN as an issuer: a bare domain means Auth0 (`https://DOMAIN/`); a URL is taken as written.

    The issuer is compared byte for byte with the discovery document's (OpenID Connect Discovery §4.3),
    so a URL is never "fixed": most providers' issuers have no trailing slash, and adding one would make
    every login fail. Only surrounding spaces are dropped.
    """
    value = domain.strip()
    if "://" not in value:
        value = f"https://{value.rstrip('/')}/"  # Auth0's issuer always ends with a slash
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"AUTH0_DOMAIN={domain!r} is not a domain or an https URL (example: dev-abc123.us.auth0.com, "
            "or another provider's issuer such as https://login.example.com/realms/demo)."
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(f"AUTH0_DOMAIN={domain!r}: plain http is only allowed for localhost; use https.")
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ConfigError(f"AUTH0_DOMAIN={domain!r} must not have a query or fragment.")
    return value


def checked_secret_key(value: str) -> str:
    """APP_SECRET_KEY, refused when too short: one rule with the dev tenant and with Auth0 (the generated key passes)."""
    # The key signs session cookies: a short one can be guessed, and then anyone can forge a session.
    if len(value) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            f"APP_SECRET_KEY is {len(value)} characters; it signs session cookies and needs at least "
            f'{MIN_SECRET_KEY_LENGTH}. Make one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
        )
    return value


def ignored_env_files(*folders: Path) -> list[Path]:
    """The `.env` files in `folders` (a step's, the working directory) that nothing reads.

    One `.env`, at the project root, configures every step, exercise copy and the doctor alike; a
    second one in a step folder (Auth0's samples keep one per step) would make them disagree, so it
    is not read, and the step says so instead of ignoring it silently.
    """
    found = {(folder / ".env").resolve() for folder in folders}
    return sorted(path for path in found if path.is_file() and path != (PROJECT_ROOT / ".env").resolve())


def env_file_warning(ignored: Path) -> str:
    """The one line a command prints about a `.env` it does not read."""
    root = PROJECT_ROOT / ".env"
    return f"{shown_path(ignored)} is not read: move its settings to {shown_path(root)}, the .env every step reads"


def shown_path(path: Path) -> str:
    """`path` as the learner would type it from where they are."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Read the configuration a step runs with; raise ConfigError naming what is missing or wrong.

    The process environment wins over `.env` at the project root.
    """
    # python-dotenv reads `.env` as Auth0's Python quickstart does (comments, quotes, `export`);
    # dotenv_values leaves os.environ alone, so the settings come from one place: the merged mapping.
    from_file = dotenv_values(env_file or PROJECT_ROOT / ".env")
    env = {
        **{key: value for key, value in from_file.items() if value is not None},
        **(os.environ if environ is None else environ),
    }
    env = {key: value for key, value in env.items() if value != ""}

    port_text = checked_port(env, "PORT", DEFAULT_PORT)
    base_url = env.get("APP_BASE_URL", f"http://localhost:{port_text}").rstrip("/")
    base = urlsplit(base_url)
    if base.scheme not in ("http", "https") or not base.hostname or base.path:
        raise ConfigError(f"APP_BASE_URL={base_url!r} must look like http://localhost:3000 (no path).")
    state_dir = default_state_dir(env)
    connection = env.get("AUTH0_CONNECTION", "Username-Password-Authentication")

    tenant_vars = ("AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET")
    if not any(name in env for name in tenant_vars):
        tenant_port = checked_port(env, "DEV_TENANT_PORT", TENANT_PORT)
        settings = Settings(
            issuer=f"http://localhost:{tenant_port}/",
            client_id=DEV_CLIENT_ID,
            client_secret=dev_client_secret(state_dir),
            app_secret_key=checked_secret_key(env.get("APP_SECRET_KEY") or stored_secret(state_dir / "app_secret_key")),
            base_url=base_url,
            embedded=True,
            state_dir=state_dir,
            connection=connection,
            **session_options(env),
        )
        return own_port(settings)

    missing = [name for name in (*tenant_vars, "APP_SECRET_KEY") if name not in env]
    if missing:
        raise ConfigError(
            f"A real Auth0 tenant is half configured: set {', '.join(missing)} "
            "(in the environment or .env; see .env.example), or unset all AUTH0_* variables "
            "to use the bundled dev tenant."
        )
    settings = Settings(
        issuer=normalize_issuer(env["AUTH0_DOMAIN"]),
        client_id=env["AUTH0_CLIENT_ID"],
        client_secret=env["AUTH0_CLIENT_SECRET"],
        app_secret_key=checked_secret_key(env["APP_SECRET_KEY"]),
        base_url=base_url,
        embedded=False,
        state_dir=state_dir,
        connection=connection,
        **session_options(env),
    )
    return own_port(settings)


def checked_port(env: Mapping[str, str], name: str, default: int) -> str:
    """The port in `name` (or the default) as text, refused unless it is a port number."""
    text = env.get(name, str(default))
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"{name}={text!r} is not a port number (1-65535).")
    return text


def own_port(settings: Settings) -> Settings:
    """`settings`, unless the app would listen on the port of a tenant on this machine (the dev tenant's)."""
    tenant = urlsplit(settings.issuer)
    tenant_port = tenant.port or (443 if tenant.scheme == "https" else 80)
    if not is_loopback(tenant.hostname or "") or tenant_port != settings.port:
        return settings
    # One of the two would fail to listen, after the banner has told the learner to open it.
    other = DEFAULT_PORT if settings.port != DEFAULT_PORT else DEFAULT_PORT + 1
    whose = "the dev tenant's (DEV_TENANT_PORT moves it)" if settings.embedded else f"the tenant's ({settings.issuer})"
    raise ConfigError(
        f"Port {settings.port} is {whose}: the app needs a port of its own; use --port {other} (or PORT={other})."
    )


def session_options(env: Mapping[str, str]) -> dict[str, Any]:
    """SESSION_STORE_URL, SESSION_IDLE_TIMEOUT and SESSION_ABSOLUTE_TIMEOUT (seconds), checked."""
    options: dict[str, Any] = {}
    if url := env.get("SESSION_STORE_URL"):
        if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(f"SESSION_STORE_URL={url!r} must be a Redis URL like redis://localhost:6379/0.")
        options["session_store_url"] = url
    for name, field in (
        ("SESSION_IDLE_TIMEOUT", "session_idle_timeout"),
        ("SESSION_ABSOLUTE_TIMEOUT", "session_absolute_timeout"),
    ):
        if name in env:
            if not env[name].isdigit() or int(env[name]) < 1:
                raise ConfigError(f"{name}={env[name]!r} must be a number of seconds (e.g. 1800 for 30 minutes).")
            options[field] = int(env[name])
    idle = options.get("session_idle_timeout", Settings.session_idle_timeout)
    absolute = options.get("session_absolute_timeout", Settings.session_absolute_timeout)
    if idle < MIN_IDLE_TIMEOUT:
        raise ConfigError(
            f"SESSION_IDLE_TIMEOUT={idle} is too short: at least {MIN_IDLE_TIMEOUT} seconds, or a session "
            "could end between one page and the images it loads."
        )
    if absolute < idle:
        raise ConfigError(
            f"SESSION_ABSOLUTE_TIMEOUT={absolute} is shorter than SESSION_IDLE_TIMEOUT={idle}: a session would "
            "always end at its absolute limit before it could be idle that long. Set it to at least "
            f"{idle} seconds, or lower SESSION_IDLE_TIMEOUT."
        )
    return options
