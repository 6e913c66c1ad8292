"""Benchmark baseline, not a lesson: the naive Starlette pattern (verify the id_token's RS256 signature on every request).

    AUTH0_CLIENT_SECRET=… uv run python benchmarks/baseline_naive.py \
        --port 3011 --issuer http://localhost:4000/ --client-id tutorial-app

A real login against the tenant with Authlib's Starlette client (discovered from the tenant's
/.well-known/openid-configuration; Authlib keeps the login's state in Starlette's SessionMiddleware
and checks the id_token at the callback). The id_token goes in a cookie of its own. On every
request the page verifies it from scratch with joserfc — RS256 signature against the tenant's JWKS
(fetched once at start-up), then iss, aud and exp — and remembers nothing between requests.
Served by uvicorn, one worker, as the steps are.

Settings come from arguments or the environment (PORT, AUTH0_DOMAIN, AUTH0_CLIENT_ID,
AUTH0_CLIENT_SECRET, APP_SECRET_KEY); AUTH0_DOMAIN may be a full issuer URL.
"""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import uvicorn
from authlib.integrations.starlette_client import OAuth
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

COOKIE = "id_token"
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))


def issuer_url(domain: str) -> str:
    """`tenant.auth0.com` or `http://localhost:4000` as an issuer: scheme, host, trailing slash."""
    return (domain if "://" in domain else f"https://{domain}").rstrip("/") + "/"


def create_app(issuer: str, client_id: str, client_secret: str, secret_key: str) -> Starlette:
    oauth = OAuth()
    auth0 = oauth.register(
        "auth0",
        client_id=client_id,
        client_secret=client_secret,
        client_kwargs={"scope": "openid profile email"},
        server_metadata_url=f"{issuer}.well-known/openid-configuration",
    )
    keys = KeySet([])

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal keys
        keys = KeySet.import_key_set(await auth0.fetch_jwk_set())  # once; Authlib's callback reuses it too
        yield

    def current_user(request: Request) -> dict[str, Any] | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        try:
            claims = jwt.decode(token, keys, algorithms=["RS256"]).claims
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": issuer},
                aud={"essential": True, "value": client_id},
                exp={"essential": True},
            ).validate(claims)
        except (JoseError, ValueError):
            return None
        return claims

    async def home(request: Request) -> Response:
        context = {"title": "Naive pattern", "user": current_user(request)}
        return templates.TemplateResponse(request, "baseline_home.html", context)

    async def login(request: Request) -> Response:
        response: Response = await auth0.authorize_redirect(request, str(request.url_for("callback")))
        return response

    async def callback(request: Request) -> Response:
        token = await auth0.authorize_access_token(request)
        response = RedirectResponse("/", status_code=302)
        response.set_cookie(COOKIE, token["id_token"], httponly=True, samesite="lax")
        return response

    async def logout(request: Request) -> Response:
        query = urlencode({"returnTo": str(request.url_for("home")), "client_id": client_id})
        response = RedirectResponse(f"{issuer}v2/logout?{query}", status_code=302)
        response.delete_cookie(COOKIE, httponly=True, samesite="lax")
        return response

    return Starlette(
        routes=[
            Route("/", home, name="home"),
            Route("/login", login),
            Route("/callback", callback, name="callback"),
            Route("/logout", logout),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key=secret_key, same_site="lax")],
        lifespan=lifespan,
    )


def app_for(domain: str, client_id: str, client_secret: str) -> Starlette:
    """The app main() serves: `domain` as an issuer, APP_SECRET_KEY (or a random key) for the login's state."""
    secret_key = os.environ.get("APP_SECRET_KEY") or secrets.token_urlsafe(32)
    return create_app(issuer_url(domain), client_id, client_secret, secret_key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--issuer", default=os.environ.get("AUTH0_DOMAIN"), help="tenant domain or issuer URL")
    parser.add_argument("--client-id", default=os.environ.get("AUTH0_CLIENT_ID"))
    parser.add_argument("--client-secret", default=os.environ.get("AUTH0_CLIENT_SECRET"), help="better: the env")
    args = parser.parse_args()
    if not (args.issuer and args.client_id and args.client_secret):
        parser.error(
            "needs --issuer, --client-id and --client-secret (or AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET)"
        )
    app = app_for(args.issuer, args.client_id, args.client_secret)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
