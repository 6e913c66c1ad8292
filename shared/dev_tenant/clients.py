"""Registered applications (clients) and how their Allowed Callback / Logout URLs match, as Auth0's do.

Auth0 compares a redirect_uri with each Allowed Callback URL exactly: scheme, host, port, path and query
(`http://localhost:3000/callback/` and `http://localhost:3001/callback` are other URLs). The one
normalisation is that an empty path and `/` are the same URL (`http://localhost:3000` is
`http://localhost:3000/`). A returnTo / post_logout_redirect_uri is compared without its query and
fragment, which Auth0 documents it does not take into account; the browser goes back to it as sent.

The built-in dev client takes its settings from the dashboard (settings.py). A tenant built with
`any_app_port=True` (tests and graders, which serve apps on free ports) also lets the dev client's
loopback URLs match on any port and any loopback name (localhost, 127.0.0.1, ::1): the scheme, the path
and the rest must still be as listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

from .defaults import DATABASE_CONNECTION, DEV_CLIENT_ID, GOOGLE_CONNECTION
from .hosts import is_loopback_host
from .settings import MAX_URL, PASSWORD_REALM_GRANT, ApplicationSettings, SettingsStore

DEFAULT_GRANTS = ("authorization_code", "password", PASSWORD_REALM_GRANT)
DEFAULT_SCOPE = "openid profile email"  # what a client gets when it asks for no scope
DEV_CLIENT_NAME = "Tutorial App (dev client)"

__all__ = ["DEFAULT_GRANTS", "DEFAULT_SCOPE", "PASSWORD_REALM_GRANT", "Client", "Clients", "url_matches"]


@dataclass(slots=True)
class Client:
    client_id: str
    client_secret: str
    callback_urls: list[str]
    logout_urls: list[str]
    grant_types: list[str] = field(default_factory=lambda: list(DEFAULT_GRANTS))
    name: str = "Tutorial App"
    # OpenID Connect Back-Channel Logout 1.0 `backchannel_logout_uri`: a fixed URL, or a template with
    # `{origin}`; None (and no backchannel_logout_urls) means the client hears nothing when a session ends.
    backchannel_logout_uri: str | None = None
    # The dev client's Back-Channel Logout URIs (the dashboard's list): a logout token goes to the one on
    # the origin its login's code was sent to. See dashboard.py for why a list.
    backchannel_logout_urls: tuple[str, ...] = ()
    connections: tuple[str, ...] = (DATABASE_CONNECTION, GOOGLE_CONNECTION)
    any_port: bool = False
    from_dashboard: bool = False  # the dev client: backchannel_logout_urls is the whole story

    def backchannel_target(self, origin: str) -> str | None:
        """Where this client's logout token for a login sent back to `origin` goes (None: nowhere)."""
        if not self.from_dashboard:
            return (
                None if self.backchannel_logout_uri is None else self.backchannel_logout_uri.replace("{origin}", origin)
            )
        for url in self.backchannel_logout_urls:
            if _origin(urlsplit(url), self.any_port) == _origin(urlsplit(origin), self.any_port):
                if not self.any_port:
                    return url
                parts = urlsplit(url)
                return parts._replace(scheme=urlsplit(origin).scheme, netloc=urlsplit(origin).netloc).geturl()
        return None

    def allows_callback(self, url: str) -> bool:
        return any(url_matches(allowed, url, any_port=self.any_port) for allowed in self.callback_urls)

    def allows_logout(self, url: str) -> bool:
        return any(url_matches(allowed, url, any_port=self.any_port, ignore_query=True) for allowed in self.logout_urls)

    def allows_grant(self, grant: str) -> bool:
        return grant in self.grant_types

    def allows_connection(self, connection: str) -> bool:
        return connection in self.connections


def _origin(parts: SplitResult, any_port: bool) -> tuple[str, str, int | None] | None:
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if any_port and is_loopback_host(host):
        host, port = "loopback", None  # tests: localhost, 127.0.0.1 and ::1 alike, on any port
    return (parts.scheme.lower(), host, port)


def url_matches(allowed: str, url: str, *, any_port: bool = False, ignore_query: bool = False) -> bool:
    """Whether `url` is the allowed URL (module docstring). `any_port`: loopback ports may differ."""
    if not url or len(url) > MAX_URL or not allowed:
        return False
    try:
        want, got = urlsplit(allowed), urlsplit(url)
        got.port  # noqa: B018  (raises ValueError for a malformed port)
        want.port  # noqa: B018
    except ValueError:
        return False
    # Credentials would let one URL pass as another (http://localhost:3000@evil.example/).
    if got.username is not None or got.password is not None or "*" in allowed:
        return False
    if _origin(want, any_port) != _origin(got, any_port) or want.scheme not in ("http", "https"):
        return False
    if (got.path or "/") != (want.path or "/"):
        return False
    return ignore_query or (got.query == want.query and got.fragment == want.fragment)


class Clients(MutableMapping[str, Client]):
    """The tenant's clients by id. The dev client is built again from its settings whenever they change,
    so every endpoint that looks a client up sees the dashboard's latest save."""

    def __init__(self, settings: SettingsStore, secret: Callable[[], str], *, any_port: bool) -> None:
        self.settings = settings
        self._secret = secret
        self._any_port = any_port
        self._others: dict[str, Client] = {}
        self._dev: tuple[ApplicationSettings, Client] | None = None

    def dev_client(self) -> Client:
        current = self.settings.current()
        if self._dev is None or self._dev[0] is not current:
            client = Client(
                client_id=DEV_CLIENT_ID,
                client_secret=self._secret(),
                callback_urls=list(current.callbacks),
                logout_urls=list(current.allowed_logout_urls),
                grant_types=[grant for grant in DEFAULT_GRANTS if current.allows_grant(grant)],
                name=DEV_CLIENT_NAME,
                # Never None, even with no URI listed: backchannel.py then still records which apps hold
                # each session, so that a logout can log the app it could not tell (flow_log.py).
                backchannel_logout_uri=current.backchannel_logout_urls[0] if current.backchannel_logout_urls else "",
                backchannel_logout_urls=current.backchannel_logout_urls,
                connections=current.enabled_connections,
                any_port=self._any_port,
                from_dashboard=True,
            )
            self._dev = (current, client)
        return self._dev[1]

    def __getitem__(self, client_id: str) -> Client:
        if client_id == DEV_CLIENT_ID and client_id not in self._others:
            return self.dev_client()
        return self._others[client_id]

    def __setitem__(self, client_id: str, client: Client) -> None:
        self._others[client_id] = client

    def __delitem__(self, client_id: str) -> None:
        del self._others[client_id]

    def __iter__(self) -> Iterator[str]:
        yield from dict.fromkeys([DEV_CLIENT_ID, *self._others])

    def __len__(self) -> int:
        return len({DEV_CLIENT_ID, *self._others})
