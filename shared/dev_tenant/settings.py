"""The dev client's settings, as Auth0's dashboard shows an application's (Applications → Settings).

Kept in the state folder as settings.json (0600, like the keys and the client secret), in the names of
Auth0's Management API client object (`callbacks`, `allowed_logout_urls`, `oidc_logout`, `grant_types`)
plus `enabled_connections`, so that a learner who reads one can read the other. The file is read again
whenever it changes: the dashboard, a hand edit and `python -m shared.dev_tenant --reset-settings` from
another terminal all reach a running tenant at once.

A file that cannot be used (not JSON, a misspelt key, a URL that is not one) never stops the tenant:
the tutorial's settings are in effect until it is fixed or restored, and `problem` says so in one line
(the start banner and the dashboard show it). The file itself is left as it is: nothing typed is lost.

The tutorial's settings list every URL the project's documented commands use, as a learner would type
them into Auth0: each step on its README port (3000), a second step beside it (`--port 3001`, as the
READMEs and docs/workshop.md say), and the benchmarks' baselines (`--port 3010`, `--port 3011`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .defaults import DATABASE_CONNECTION, GOOGLE_CONNECTION, write_private_file
from .hosts import is_loopback_host

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
PASSWORD_REALM_GRANT = "http://auth0.com/oauth/grant-type/password-realm"
# The dashboard's two Grant Types boxes. As on Auth0, "Password" covers Auth0's password-realm extension.
GRANT_LABELS = {"authorization_code": "Authorization Code", "password": "Password"}
CONNECTION_LABELS = {DATABASE_CONNECTION: "Database", GOOGLE_CONNECTION: "Social (simulated Google)"}
MAX_URL = 2048
MAX_URLS = 100  # per list: far more than one machine's apps, and a bound on a hostile form

TUTORIAL_PORTS = (3000, 3001, 3010, 3011)
BACKCHANNEL_PORTS = (3000, 3001)  # step 03's two apps side by side; the baselines take no logout tokens

# What Auth0 says about each list when a value is not a URL (its Management API's words).
PROPERTIES = {
    "callbacks": "A set of URLs that are valid to call back from Auth0 when authenticating users",
    "allowed_logout_urls": "URLs that are valid to redirect to after logout from Auth0",
    "backchannel_logout_urls": "URLs that are valid to call back from Auth0 for OIDC backchannel logout",
}
LABELS = {
    "callbacks": "Allowed Callback URLs",
    "allowed_logout_urls": "Allowed Logout URLs",
    "backchannel_logout_urls": "Back-Channel Logout URIs",
}


class SettingsError(ValueError):
    """A value the settings cannot hold; the message is a sentence for the person who typed it."""


@dataclass(frozen=True, slots=True)
class ApplicationSettings:
    callbacks: tuple[str, ...]
    allowed_logout_urls: tuple[str, ...]
    backchannel_logout_urls: tuple[str, ...]
    grant_types: tuple[str, ...]  # keys of GRANT_LABELS
    enabled_connections: tuple[str, ...]  # keys of CONNECTION_LABELS

    def allows_grant(self, grant: str) -> bool:
        return (grant if grant != PASSWORD_REALM_GRANT else "password") in self.grant_types

    def as_json(self) -> dict[str, Any]:
        return {
            "callbacks": list(self.callbacks),
            "allowed_logout_urls": list(self.allowed_logout_urls),
            "oidc_logout": {"backchannel_logout_urls": list(self.backchannel_logout_urls)},
            "grant_types": list(self.grant_types),
            "enabled_connections": list(self.enabled_connections),
        }

    @classmethod
    def from_json(cls, data: Any) -> ApplicationSettings:
        if not isinstance(data, dict):
            raise SettingsError("the file must hold one JSON object")
        known = {"callbacks", "allowed_logout_urls", "oidc_logout", "grant_types", "enabled_connections"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError(f"unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        missing = sorted(known - set(data))
        if missing:
            raise SettingsError(f"missing setting {missing[0]!r}")
        oidc_logout = data["oidc_logout"]
        if not isinstance(oidc_logout, dict) or set(oidc_logout) != {"backchannel_logout_urls"}:
            raise SettingsError('oidc_logout must be {"backchannel_logout_urls": [...]}')
        return cls(
            callbacks=_url_list("callbacks", data["callbacks"]),
            allowed_logout_urls=_url_list("allowed_logout_urls", data["allowed_logout_urls"]),
            backchannel_logout_urls=_url_list("backchannel_logout_urls", oidc_logout["backchannel_logout_urls"]),
            grant_types=_choices("grant_types", data["grant_types"], GRANT_LABELS),
            enabled_connections=_choices("enabled_connections", data["enabled_connections"], CONNECTION_LABELS),
        )


def tutorial_settings() -> ApplicationSettings:
    """The settings the tutorial's READMEs ask for, for every port its commands use."""
    return ApplicationSettings(
        callbacks=tuple(f"http://localhost:{port}/callback" for port in TUTORIAL_PORTS),
        allowed_logout_urls=tuple(f"http://localhost:{port}" for port in TUTORIAL_PORTS),
        backchannel_logout_urls=tuple(f"http://localhost:{port}/backchannel-logout" for port in BACKCHANNEL_PORTS),
        grant_types=tuple(GRANT_LABELS),
        enabled_connections=tuple(CONNECTION_LABELS),
    )


def invalid_url(prop: str, value: str, why: str) -> SettingsError:
    """Auth0's payload validation message, then the reason in plain words."""
    shown = value if len(value) <= 200 else value[:200] + "…"
    return SettingsError(
        f"Payload validation error: 'Object didn't pass validation for format absolute-uri-or-empty: {shown}' "
        f"on property {prop} ({PROPERTIES[prop]}). {why}"
    )


def check_url(prop: str, value: str) -> str:
    """One URL of a list, as Auth0 accepts it (absolute, http or https, a host), or SettingsError."""
    if len(value) > MAX_URL:
        raise invalid_url(prop, value, f"A URL has at most {MAX_URL} characters.")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise invalid_url(prop, value, "A URL has no spaces or control characters: separate URLs with commas.")
    if "*" in value:
        # Auth0 takes `*` for a subdomain; every URL here is on this machine, where there is none.
        raise invalid_url(prop, value, "The dev tenant takes no wildcards: list each URL, port included.")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        raise invalid_url(prop, value, "The port must be a number from 1 to 65535.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_url(prop, value, "Write the whole URL, scheme included: http://localhost:3000/callback.")
    if parts.username is not None or parts.password is not None:
        raise invalid_url(prop, value, "A URL here carries no user name or password.")
    if prop == "callbacks" and parts.fragment:
        raise invalid_url(prop, value, "A callback URL has no #fragment (RFC 6749 §3.1.2).")
    if prop == "backchannel_logout_urls" and not is_loopback_host(parts.hostname):
        # Auth0 wants a public https URL; the dev tenant sends logout tokens to this machine only.
        raise invalid_url(prop, value, "The dev tenant sends logout tokens only to localhost, 127.0.0.1 or [::1].")
    return value


def parse_url_list(prop: str, text: str) -> tuple[str, ...]:
    """A dashboard field: URLs separated by commas (Auth0's way) or new lines; duplicates dropped."""
    values = [value.strip() for line in text.splitlines() for value in line.split(",")]
    return _url_list(prop, [value for value in values if value])


def _url_list(prop: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SettingsError(f"{prop} must be a list of URLs in quotes")
    if len(value) > MAX_URLS:
        raise SettingsError(f"{LABELS[prop]}: at most {MAX_URLS} URLs")
    return tuple(dict.fromkeys(check_url(prop, item) for item in value))


def _choices(prop: str, value: Any, labels: dict[str, str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SettingsError(f"{prop} must be a list of names in quotes")
    for item in value:
        if item not in labels:
            raise SettingsError(f"{prop}: {item!r} is not one of {', '.join(map(repr, labels))}")
    return tuple(name for name in labels if name in value)  # one order, whatever the file's


class SettingsStore:
    """settings.json in the state folder, read again when it changes (its size or modification time)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / SETTINGS_FILE
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._settings = tutorial_settings()
        self.problem: str | None = None  # why the file is not in effect, one line; None when it is
        self._quiet = True  # at start the banner says it (console.py); later, a bad hand edit is logged
        if not self.path.exists():
            self.save(tutorial_settings())
        self.current()
        self._quiet = False

    def current(self) -> ApplicationSettings:
        try:
            stat = os.stat(self.path)
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                self._settings, self.problem = self._load(stamp is not None)
            return self._settings

    def _load(self, exists: bool) -> tuple[ApplicationSettings, str | None]:
        if not exists:
            return tutorial_settings(), None  # removed by hand: the tutorial's, until the next save
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return ApplicationSettings.from_json(data), None
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            reason = str(exc) if isinstance(exc, SettingsError) else f"not valid JSON ({exc})"
            problem = (
                f"{self.path} cannot be used: {reason}. The tutorial's settings are in effect until it is fixed, "
                "or restored with: uv run python -m shared.dev_tenant --reset-settings"
            )
            if not self._quiet:
                log.warning("dev tenant: %s", problem)
            return tutorial_settings(), problem

    def save(self, settings: ApplicationSettings) -> None:
        if not self.path.parent.is_dir():  # the state folder was removed: state_guard.py answers for it
            raise OSError(f"the state folder {self.path.parent} is gone")
        write_private_file(self.path, json.dumps(settings.as_json(), indent=2) + "\n")
        with self._lock:
            self._stamp = None  # read back on the next look, like any other change

    def reset(self) -> ApplicationSettings:
        settings = tutorial_settings()
        self.save(settings)
        return settings

    def update(self, **changes: Any) -> ApplicationSettings:
        settings = replace(self.current(), **changes)
        self.save(settings)
        return settings
