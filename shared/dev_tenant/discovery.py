"""What the tenant publishes: OpenID discovery, its public keys, profile pictures, a home page."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import templating
from .clients import DEFAULT_GRANTS
from .defaults import DEMO_EMAIL, DEMO_PASSWORD
from .users import initials

if TYPE_CHECKING:
    from .server import DevTenant

CLAIMS_SUPPORTED = [
    "aud",
    "auth_time",
    "email",
    "email_verified",
    "exp",
    "iat",
    "iss",
    "name",
    "nickname",
    "nonce",
    "picture",
    "sid",
    "sub",
    "updated_at",
]


def discovery_document(
    issuer: str, *, end_session: bool, base_url: str | None = None, generic: bool = False
) -> dict[str, Any]:
    """Auth0's document, endpoint for endpoint: the issuer keeps Auth0's trailing slash.

    generic=True: the issuer as given, endpoints under `base_url`, and only OAuth's own grants.
    """
    base = base_url or issuer
    doc: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": f"{base}authorize",
        "token_endpoint": f"{base}oauth/token",
        "userinfo_endpoint": f"{base}userinfo",
        "jwks_uri": f"{base}.well-known/jwks.json",
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["authorization_code"] if generic else list(DEFAULT_GRANTS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS_SUPPORTED,
        "request_uri_parameter_supported": False,
        "request_parameter_supported": False,
        "backchannel_logout_supported": True,  # backchannel.py: logout tokens when an SSO session ends
        "backchannel_logout_session_supported": True,  # they carry the sid
    }
    # Auth0 advertises RP-initiated logout only when the tenant turns it on; apps must cope without it.
    if end_session:
        doc["end_session_endpoint"] = f"{base}oidc/logout"
    return doc


class Discovery:
    """GET /.well-known/openid-configuration, /.well-known/jwks.json, /avatars/…svg and /."""

    def __init__(self, tenant: DevTenant) -> None:
        self.tenant = tenant

    def routes(self) -> list[Route]:
        # Discovery §4: the document lives at the issuer's path + /.well-known/openid-configuration.
        issuer_path = urlsplit(self.tenant.issuer).path.rstrip("/")
        return [
            Route(f"{issuer_path}/.well-known/openid-configuration", self.discovery),
            Route("/.well-known/jwks.json", self.jwks),
            Route("/avatars/{picture_id}.svg", self.avatar),
            Route("/", self.home),
        ]

    async def discovery(self, request: Request) -> Response:
        tenant = self.tenant
        document = discovery_document(
            tenant.issuer, end_session=tenant.advertise_end_session, base_url=tenant.base_url, generic=tenant.generic
        )
        return JSONResponse(document)

    async def jwks(self, request: Request) -> Response:
        mode = self.tenant.faults.jwks if self.tenant.faults else "normal"
        return JSONResponse(self.tenant.keys.jwks(mode))

    async def avatar(self, request: Request) -> Response:
        """An SVG of the user's initials: profile pictures must work offline, as workshops often are."""
        picture_id = request.path_params["picture_id"]
        user = self.tenant.users.by_picture_id(picture_id) if picture_id.isalnum() else None
        label = initials(user.name or user.email) if user else "?"
        color = f"#{hashlib.sha256(picture_id.encode()).hexdigest()[:6]}"
        return Response(
            templating.avatar_svg(label, color),
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=3600", "Content-Security-Policy": "default-src 'none'"},
        )

    async def home(self, request: Request) -> Response:
        return templating.render(
            "home.html",
            issuer=self.tenant.issuer,
            dashboard_url=self.tenant.dashboard_url,
            demo_email=DEMO_EMAIL,
            demo_password=DEMO_PASSWORD,
        )
