"""Benchmark baseline, not a lesson: the pattern of Auth0's Python web-app quickstart (Flask + Authlib).

    AUTH0_CLIENT_SECRET=… uv run python benchmarks/baseline_quickstart.py \
        --port 3010 --issuer http://localhost:4000/ --client-id tutorial-app

A real login against the tenant, discovered from its /.well-known/openid-configuration by Authlib's
Flask client. The callback puts the whole token dict Authlib returns (id_token, access_token,
userinfo, expires_at…) in Flask's session, a cookie signed with the app's secret key; the logged-in
page reads session["user"] and renders the name. Nothing else is checked per request: the token's
expiry and the tenant's keys play no part once the cookie is signed. Served by Flask's own threaded
server (app.run), as the quickstart's README runs it.

Where it differs from the quickstart, it is so as to compare like with like with the steps:
- settings come from arguments or the environment (PORT, AUTH0_DOMAIN, AUTH0_CLIENT_ID,
  AUTH0_CLIENT_SECRET, APP_SECRET_KEY), not a .env file; AUTH0_DOMAIN may be a full issuer URL;
- it listens on 127.0.0.1 and logs no request lines, as the steps (uvicorn, log_level="warning");
- the page shows the name only: the quickstart also prints the token dict as JSON, which would make
  this baseline slower than the pattern it stands for.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
from urllib.parse import urlencode

from authlib.integrations.flask_client import OAuth
from flask import Flask, redirect, render_template, session, url_for
from werkzeug.wrappers import Response


def issuer_url(domain: str) -> str:
    """`tenant.auth0.com` or `http://localhost:4000` as an issuer: scheme, host, trailing slash."""
    return (domain if "://" in domain else f"https://{domain}").rstrip("/") + "/"


def create_app(issuer: str, client_id: str, client_secret: str, secret_key: str) -> Flask:
    app = Flask(__name__)
    app.secret_key = secret_key
    oauth = OAuth(app)
    auth0 = oauth.register(
        "auth0",
        client_id=client_id,
        client_secret=client_secret,
        client_kwargs={"scope": "openid profile email"},
        server_metadata_url=f"{issuer}.well-known/openid-configuration",
    )

    @app.route("/")
    def home() -> str:
        return render_template(
            "baseline_home.html", title="Quickstart pattern", user=session.get("user", {}).get("userinfo")
        )

    @app.route("/login")
    def login() -> Response:
        response: Response = auth0.authorize_redirect(redirect_uri=url_for("callback", _external=True))
        return response

    @app.route("/callback", methods=["GET", "POST"])
    def callback() -> Response:
        session["user"] = auth0.authorize_access_token()  # the whole dict, in the signed cookie
        return redirect("/")

    @app.route("/logout")
    def logout() -> Response:
        session.clear()
        query = urlencode({"returnTo": url_for("home", _external=True), "client_id": client_id})
        return redirect(f"{issuer}v2/logout?{query}")

    return app


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
    secret_key = os.environ.get("APP_SECRET_KEY") or secrets.token_urlsafe(32)
    app = create_app(issuer_url(args.issuer), args.client_id, args.client_secret, secret_key)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    app.run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
