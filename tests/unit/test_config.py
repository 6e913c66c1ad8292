"""Configuration: the embedded default, a real tenant, and the start-up errors in between."""

from dataclasses import replace
from pathlib import Path

import httpx2
import pytest

from shared.config import (
    MIN_IDLE_TIMEOUT,
    ConfigError,
    ignored_env_files,
    load_settings,
    normalize_issuer,
    plain_http_fix,
    plain_http_issuer,
)
from tests.support.servers import free_port

REAL = {
    "AUTH0_DOMAIN": "dev-abc123.us.auth0.com",
    "AUTH0_CLIENT_ID": "client-123",
    "AUTH0_CLIENT_SECRET": "s3cret",
    "APP_SECRET_KEY": "k" * 40,
}


def settings_from(tmp_path: Path, **env: str):
    return load_settings({"DEV_TENANT_STATE_DIR": str(tmp_path), **env}, env_file=tmp_path / "missing.env")


def test_no_tenant_configured_uses_the_dev_tenant(tmp_path):
    settings = settings_from(tmp_path)
    assert settings.embedded
    assert settings.issuer == "http://localhost:4000/"
    assert settings.base_url == "http://localhost:3000"
    assert settings.redirect_uri == "http://localhost:3000/callback"


def test_embedded_secrets_are_generated_once_and_kept(tmp_path):
    first = settings_from(tmp_path)
    again = settings_from(tmp_path)
    assert len(first.app_secret_key) >= 32
    assert first.app_secret_key == again.app_secret_key
    assert first.client_secret == again.client_secret


def test_port_changes_the_base_url(tmp_path):
    assert settings_from(tmp_path, PORT="3005").redirect_uri == "http://localhost:3005/callback"


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_bad_port_is_a_clear_error(tmp_path, port):
    with pytest.raises(ConfigError, match="PORT"):
        settings_from(tmp_path, PORT=port)


def test_real_tenant_from_environment(tmp_path):
    settings = settings_from(tmp_path, **REAL)
    assert not settings.embedded
    assert settings.issuer == "https://dev-abc123.us.auth0.com/"
    assert settings.client_id == "client-123"


@pytest.mark.parametrize("missing", ["AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "APP_SECRET_KEY", "AUTH0_DOMAIN"])
def test_half_a_configuration_names_the_missing_variable(tmp_path, missing):
    env = {k: v for k, v in REAL.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        settings_from(tmp_path, **env)


def test_short_app_secret_key_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="at least 32"):
        settings_from(tmp_path, **{**REAL, "APP_SECRET_KEY": "short"})


def test_short_app_secret_key_is_refused_with_the_dev_tenant_too_and_the_same_message(tmp_path):
    with pytest.raises(ConfigError) as with_auth0:
        settings_from(tmp_path, **{**REAL, "APP_SECRET_KEY": "short"})
    with pytest.raises(ConfigError) as with_dev_tenant:
        settings_from(tmp_path, APP_SECRET_KEY="short")
    assert str(with_dev_tenant.value) == str(with_auth0.value)
    assert str(with_dev_tenant.value).startswith("APP_SECRET_KEY is 5 characters")
    assert "secrets.token_urlsafe(48)" in str(with_dev_tenant.value)


def test_app_secret_key_of_32_characters_is_accepted_with_the_dev_tenant(tmp_path):
    assert settings_from(tmp_path, APP_SECRET_KEY="k" * 32).app_secret_key == "k" * 32


def test_dotenv_file_is_read_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    lines = [f'{k}="{v}"' for k, v in REAL.items()] + ["# a comment", "export PORT=3100"]
    env_file.write_text("\n".join(lines))
    settings = load_settings({"AUTH0_CLIENT_ID": "from-env"}, env_file=env_file)
    assert settings.client_id == "from-env"
    assert settings.issuer == "https://dev-abc123.us.auth0.com/"
    assert settings.port == 3100


@pytest.mark.parametrize(
    ("domain", "issuer"),
    [
        ("dev-abc.eu.auth0.com", "https://dev-abc.eu.auth0.com/"),
        ("dev-abc.eu.auth0.com/", "https://dev-abc.eu.auth0.com/"),
        (" https://login.example.com/ ", "https://login.example.com/"),
        ("http://127.0.0.1:4000/", "http://127.0.0.1:4000/"),
    ],
)
def test_a_bare_domain_means_auth0_and_its_trailing_slash(domain, issuer):
    assert normalize_issuer(domain) == issuer


@pytest.mark.parametrize(
    "url",
    [
        "https://dev-abc.eu.auth0.com",
        "https://sso.example.com/realms/demo",
        "https://example.okta.com/oauth2/default",
        "https://accounts.google.com",
        "http://localhost:4000",
        "https://idp.example.com/application/o/app/",
    ],
)
def test_a_url_is_the_issuer_exactly_as_written(url):
    assert normalize_issuer(url) == url


@pytest.mark.parametrize(
    ("issuer", "discovery"),
    [
        ("https://dev-abc.eu.auth0.com/", "https://dev-abc.eu.auth0.com/.well-known/openid-configuration"),
        ("https://sso.example.com/realms/demo", "https://sso.example.com/realms/demo/.well-known/openid-configuration"),
        ("https://accounts.google.com", "https://accounts.google.com/.well-known/openid-configuration"),
    ],
)
def test_discovery_url_is_the_issuer_without_its_slash_plus_the_well_known_path(tmp_path, issuer, discovery):
    settings = load_settings(
        {"AUTH0_DOMAIN": issuer, "AUTH0_CLIENT_ID": "c", "AUTH0_CLIENT_SECRET": "s", "APP_SECRET_KEY": "k" * 40},
        env_file=tmp_path / "none.env",
    )
    assert settings.discovery_url == discovery
    assert settings.auth0 == issuer.endswith(".com/")


@pytest.mark.parametrize("domain", ["http://example.com", "ftp://example.com", "https://", "https://x.com/?a=1"])
def test_unsafe_or_malformed_domains_are_refused(domain):
    with pytest.raises(ConfigError, match="AUTH0_DOMAIN"):
        normalize_issuer(domain)


def test_session_store_and_timeouts_come_from_the_environment_in_both_modes(tmp_path):
    env = {
        "SESSION_STORE_URL": "redis://localhost:6379/0",
        "SESSION_IDLE_TIMEOUT": "600",
        "SESSION_ABSOLUTE_TIMEOUT": "7200",
    }
    for settings in (settings_from(tmp_path, **env), settings_from(tmp_path, **REAL, **env)):
        assert settings.session_store_url == "redis://localhost:6379/0"
        assert (settings.session_idle_timeout, settings.session_absolute_timeout) == (600, 7200)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SESSION_STORE_URL", "postgres://db/sessions", "must be a Redis URL"),
        ("SESSION_IDLE_TIMEOUT", "30m", "must be a number of seconds"),
        ("SESSION_ABSOLUTE_TIMEOUT", "0", "must be a number of seconds"),
    ],
)
def test_a_bad_session_setting_is_a_start_up_error_naming_it(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=f"{name}=.*{message}"):
        settings_from(tmp_path, **{name: value})


@pytest.mark.parametrize("idle", ["1", "9"])
def test_an_idle_timeout_too_short_to_mean_anything_is_refused_naming_the_minimum(tmp_path, idle):
    with pytest.raises(
        ConfigError, match=f"SESSION_IDLE_TIMEOUT={idle} is too short: at least {MIN_IDLE_TIMEOUT} seconds"
    ):
        settings_from(tmp_path, SESSION_IDLE_TIMEOUT=idle)


def test_the_shortest_allowed_idle_timeout_is_accepted(tmp_path):
    settings = settings_from(tmp_path, SESSION_IDLE_TIMEOUT=str(MIN_IDLE_TIMEOUT))
    assert settings.session_idle_timeout == MIN_IDLE_TIMEOUT == 10


@pytest.mark.parametrize(
    ("env", "absolute", "idle"),
    [
        ({"SESSION_IDLE_TIMEOUT": "600", "SESSION_ABSOLUTE_TIMEOUT": "599"}, 599, 600),
        ({"SESSION_ABSOLUTE_TIMEOUT": "600"}, 600, 1800),  # against the default idle timeout
        ({"SESSION_IDLE_TIMEOUT": "86400"}, 28800, 86400),  # against the default absolute timeout
    ],
)
def test_an_absolute_timeout_shorter_than_the_idle_timeout_is_refused(tmp_path, env, absolute, idle):
    message = f"SESSION_ABSOLUTE_TIMEOUT={absolute} is shorter than SESSION_IDLE_TIMEOUT={idle}"
    with pytest.raises(ConfigError, match=message):
        settings_from(tmp_path, **env)
    with pytest.raises(ConfigError, match=message):
        settings_from(tmp_path, **REAL, **env)


def test_an_absolute_timeout_equal_to_the_idle_timeout_is_accepted(tmp_path):
    settings = settings_from(tmp_path, SESSION_IDLE_TIMEOUT="600", SESSION_ABSOLUTE_TIMEOUT="600")
    assert settings.session_absolute_timeout == 600


@pytest.mark.parametrize(
    ("idle", "interval"),
    [
        ("10", 1.0),  # a tenth, which is also the floor
        ("15", 1.5),
        ("300", 30.0),
        ("600", 60.0),  # a tenth reaches the cap
        ("1800", 60.0),  # the default: capped
        ("86400", 60.0),
    ],
)
def test_touch_interval_is_a_tenth_of_the_idle_timeout_capped_at_a_minute(tmp_path, idle, interval):
    env = {"SESSION_IDLE_TIMEOUT": idle, "SESSION_ABSOLUTE_TIMEOUT": "86400"}
    assert settings_from(tmp_path, **env).touch_interval == interval


def test_touch_interval_is_never_under_a_second(tmp_path):
    # Only a Settings built by hand can hold an idle timeout under the minimum (tests do this).
    assert replace(settings_from(tmp_path), session_idle_timeout=3).touch_interval == 1.0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"PORT": "4000"},
            "Port 4000 is the dev tenant's (DEV_TENANT_PORT moves it): the app needs a port of its own; use --port 3000 (or PORT=3000).",
        ),
        (
            {"PORT": "3000", "DEV_TENANT_PORT": "3000"},
            "Port 3000 is the dev tenant's (DEV_TENANT_PORT moves it): the app needs a port of its own; use --port 3001 (or PORT=3001).",
        ),
        (
            {"PORT": "4100", **REAL, "AUTH0_DOMAIN": "http://127.0.0.1:4100/"},
            "Port 4100 is the tenant's (http://127.0.0.1:4100/)",
        ),
    ],
)
def test_the_app_on_the_tenants_port_is_refused_naming_a_port_to_use_instead(tmp_path, env, message):
    with pytest.raises(ConfigError) as refused:
        settings_from(tmp_path, **env)
    assert str(refused.value).startswith(message)


def test_the_app_beside_a_remote_tenant_may_use_any_port(tmp_path):
    assert settings_from(tmp_path, PORT="443", **REAL).port == 443


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_a_bad_dev_tenant_port_is_a_clear_error(tmp_path, port):
    with pytest.raises(ConfigError, match=f"DEV_TENANT_PORT='{port}' is not a port number"):
        settings_from(tmp_path, DEV_TENANT_PORT=port)


def https_error(url: str) -> Exception:
    """What the app's HTTP client raises when it asks `url` over https."""
    with pytest.raises(httpx2.HTTPError) as failed:
        httpx2.get(url, timeout=5)
    return failed.value


def test_an_https_issuer_answered_in_plain_http_on_this_machine_names_the_http_issuer(tenant):
    port = tenant.issuer.rstrip("/").rsplit(":", 1)[1]
    issuer = f"https://localhost:{port}/"
    error = https_error(f"{issuer}.well-known/openid-configuration")
    assert plain_http_issuer(issuer, error) == f"http://localhost:{port}/"
    assert plain_http_fix("http://localhost:4000/") == (
        "this server speaks plain http: write AUTH0_DOMAIN=http://localhost:4000/ (in the environment or .env)"
    )


def test_nothing_listening_or_a_remote_issuer_is_not_called_plain_http(tenant):
    port = tenant.issuer.rstrip("/").rsplit(":", 1)[1]
    nothing = f"https://localhost:{free_port()}/"
    assert plain_http_issuer(nothing, https_error(nothing)) is None
    answered = https_error(f"https://localhost:{port}/")
    assert plain_http_issuer(f"https://dev-abc.eu.auth0.com:{port}/", answered) is None  # only this machine's


def test_a_dotenv_outside_the_project_root_is_found_as_not_read(tmp_path):
    step_folder, elsewhere = tmp_path / "01-Login", tmp_path / "empty"
    step_folder.mkdir()
    elsewhere.mkdir()
    (step_folder / ".env").write_text("PORT=3999\n")
    assert ignored_env_files(step_folder, elsewhere, step_folder) == [(step_folder / ".env").resolve()]
    assert ignored_env_files(elsewhere) == []


def test_the_project_roots_dotenv_is_the_one_read(tmp_path, monkeypatch):
    monkeypatch.setattr("shared.config.PROJECT_ROOT", tmp_path)
    (tmp_path / ".env").write_text("PORT=3999\n")
    assert ignored_env_files(tmp_path) == []
