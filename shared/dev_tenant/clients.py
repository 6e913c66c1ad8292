"""Registered applications (clients) and how their Allowed Callback / Logout URLs match."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .defaults import DEV_CLIENT_ID, dev_client_secret

PASSWORD_REALM_GRANT = "http://auth0.com/oauth/grant-type/password-realm"
DEFAULT_GRANTS = ("authorization_code", "password", PASSWORD_REALM_GRANT)
DEFAULT_SCOPE = "openid profile email"  # what a client gets when it asks for no scope
MAX_URL = 2048
# The steps' Back-Channel Logout URL: `{origin}` is the app origin a login was sent back to (one dev client
# serves every step, each on its own port), so each app hears about the sessions it holds.
BACKCHANNEL_LOGOUT_PATH = "{origin}/backchannel-logout"


@dataclass(slots=True)
class Client:
    client_id: str
    client_secret: str
    callback_urls: list[str]
    logout_urls: list[str]
    grant_types: list[str] = field(default_factory=lambda: list(DEFAULT_GRANTS))
    name: str = "Tutorial App"
    # OpenID Connect Back-Channel Logout 1.0 `backchannel_logout_uri`: a fixed URL, or a template with
    # `{origin}`; None means the client hears nothing when a session it holds ends.
    backchannel_logout_uri: str | None = None

    def backchannel_target(self, origin: str) -> str | None:
        """Where this client's logout token for a login sent back to `origin` goes (None: nowhere)."""
        if self.backchannel_logout_uri is None:
            return None
        return self.backchannel_logout_uri.replace("{origin}", origin)

    def allows_callback(self, url: str) -> bool:
        return any(url_matches(pattern, url, self.client_id == DEV_CLIENT_ID) for pattern in self.callback_urls)

    def allows_logout(self, url: str) -> bool:
        return any(url_matches(pattern, url, self.client_id == DEV_CLIENT_ID) for pattern in self.logout_urls)


def dev_client(state_dir: Path) -> Client:
    """The built-in client every step uses in the embedded default, on whatever port it runs."""
    return Client(
        client_id=DEV_CLIENT_ID,
        client_secret=dev_client_secret(state_dir),
        callback_urls=["http://localhost:*/callback", "http://127.0.0.1:*/callback"],
        logout_urls=["http://localhost:*", "http://127.0.0.1:*"],
        name="Tutorial App (dev client)",
        backchannel_logout_uri=BACKCHANNEL_LOGOUT_PATH,
    )


def _with_root_slash(value: str) -> str:
    parts = urlsplit(value)
    return value + "/" if parts.path == "" and not parts.query and not parts.fragment else value


def url_matches(pattern: str, url: str, port_wildcard: bool) -> bool:
    """Exact match (a trailing slash on an empty path is ignored); `host:*` matches any port
    only for the built-in dev client."""
    if not url or len(url) > MAX_URL:
        return False
    if "*" not in pattern:
        return _with_root_slash(pattern) == _with_root_slash(url)
    if not port_wildcard:
        return False
    try:
        want, got = urlsplit(pattern.replace(":*", ":1", 1)), urlsplit(url)
        port = got.port
    except ValueError:
        return False
    # Only the port may vary: credentials, a query or a fragment would let one URL pass as another.
    if port is None or got.query or got.fragment or got.username or got.password:
        return False
    return (
        got.scheme == want.scheme
        and got.hostname == want.hostname
        and (got.path or "/") == (want.path or "/")
        and got.netloc == f"{want.hostname}:{port}"
    )
