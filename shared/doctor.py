"""`uv run python -m shared.doctor`: is this machine's configuration going to work? One line per check.

Loads the configuration a step would, then talks to the tenant the way the app will: discovery,
issuer, clock, signing keys, client credentials. Every problem comes with what to change and where.
Exit code 0 when everything is ok, 1 when a check fails, 2 when the configuration cannot even load.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TextIO

import httpx2

from shared.config import (
    MIN_SECRET_KEY_LENGTH,
    ConfigError,
    Settings,
    env_file_warning,
    ignored_env_files,
    load_settings,
    plain_http_fix,
    plain_http_issuer,
)
from shared.tenant import OPTIONAL_ENDPOINTS, REQUIRED_ENDPOINTS

DASHBOARD_APP = "Auth0 Dashboard → Applications → your application → Settings"
START_DEV_TENANT = "start it with `uv run python -m shared.dev_tenant` (or run any step: `uv run 01-Login/app.py`)"


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool | None  # None: skipped, because an earlier check failed
    detail: str
    fix: str = ""


def _ok(name: str, detail: str) -> Result:
    return Result(name, True, detail)


def _fail(name: str, detail: str, fix: str) -> Result:
    return Result(name, False, detail, fix)


def check_secret_key(settings: Settings) -> Result:
    # load_settings refuses a key shorter than MIN_SECRET_KEY_LENGTH (the same rule as a step's start),
    # so a check that runs at all reports a long enough one.
    return _ok("APP_SECRET_KEY", f"{len(settings.app_secret_key)} characters (at least {MIN_SECRET_KEY_LENGTH})")


def check_clock(settings: Settings, response: httpx2.Response, now: Callable[[], float]) -> Result:
    header = response.headers.get("date")
    try:
        tenant_time = parsedate_to_datetime(header).timestamp() if header else None
    except (TypeError, ValueError):
        tenant_time = None
    if tenant_time is None:
        return _ok("clock", "the tenant sent no usable Date header; cannot compare clocks")
    skew = now() - tenant_time
    ahead_or_behind = "ahead of" if skew > 0 else "behind"
    if abs(skew) < 2:  # the Date header has whole seconds
        text = f"this machine and the tenant agree within 1 s (leeway {settings.leeway} s)"
    else:
        text = f"this machine is {abs(skew):.0f} s {ahead_or_behind} the tenant (leeway {settings.leeway} s)"
    if abs(skew) < settings.leeway:
        return _ok("clock", text)
    return _fail(
        "clock",
        text,
        "sync this machine's clock (Linux: `timedatectl set-ntp true`; macOS/Windows: set date and time "
        "automatically); otherwise every id_token reads as issued in the future or already expired",
    )


def check_signing_keys(client: httpx2.Client, discovery: Mapping[str, Any]) -> Result:
    jwks_uri = discovery.get("jwks_uri")
    if not jwks_uri:
        return _fail(
            "signing keys",
            "the discovery document has no jwks_uri",
            "AUTH0_DOMAIN does not point at an Auth0 tenant (or an OpenID Connect provider)",
        )
    try:
        response = client.get(jwks_uri)
        response.raise_for_status()
        keys = response.json().get("keys", [])
        if not isinstance(keys, list):
            raise ValueError("keys is not a list")
    except (httpx2.HTTPError, ValueError, AttributeError) as error:
        return _fail(
            "signing keys",
            f"cannot read {jwks_uri}: {error}",
            "check the network path to the tenant; the app needs this URL to verify logins",
        )
    rs256 = [
        key
        for key in keys
        if isinstance(key, dict)
        and key.get("kty") == "RSA"
        and key.get("alg", "RS256") == "RS256"
        and key.get("use", "sig") == "sig"
    ]
    if rs256:
        return _ok("signing keys", f"{len(rs256)} RS256 key(s) at {jwks_uri}")
    return _fail(
        "signing keys",
        f"no RS256 signing key at {jwks_uri}",
        f"{DASHBOARD_APP} → Advanced Settings → OAuth → JSON Web Token Signature Algorithm: RS256",
    )


def check_client(settings: Settings, client: httpx2.Client, discovery: Mapping[str, Any]) -> Result:
    """Exchange a made-up code: a wrong client secret is refused before the code is even looked at."""
    endpoint = discovery.get("token_endpoint")
    if not endpoint:
        return _fail(
            "client credentials",
            "the discovery document has no token_endpoint",
            "AUTH0_DOMAIN does not point at an Auth0 tenant",
        )
    try:
        response = client.post(
            endpoint,
            # client_secret_basic, as Authlib sends it during a real login
            auth=(settings.client_id, settings.client_secret),
            data={
                "grant_type": "authorization_code",
                "code": f"shared-doctor-{secrets.token_hex(8)}",
                "redirect_uri": settings.redirect_uri,
            },
        )
        body = response.json()
        error, description = body.get("error", ""), body.get("error_description", "")
    except (httpx2.HTTPError, ValueError, AttributeError) as failure:
        return _fail(
            "client credentials",
            f"the token endpoint did not answer: {failure}",
            "check the network path to the tenant",
        )
    if error == "invalid_grant":  # the client was accepted; only the made-up code was refused
        return _ok("client credentials", f"{settings.client_id} accepted by the token endpoint")
    if error in ("access_denied", "invalid_client"):
        return _fail(
            "client credentials",
            f"{response.status_code} {error}: {description}",
            f"copy AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET again from {DASHBOARD_APP}; the application "
            "type must be Regular Web Application (Credentials → Authentication Method: Client Secret (Basic or Post))",
        )
    if error == "unauthorized_client":
        return _fail(
            "client credentials",
            f"{error}: {description}",
            f"{DASHBOARD_APP} → Advanced Settings → Grant Types: enable Authorization Code",
        )
    return _fail(
        "client credentials",
        f"unexpected answer {response.status_code}: {response.text[:200]}",
        "compare AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET with the Dashboard",
    )


def issuer_form(settings: Settings) -> str:
    """Which issuer form the configuration expects, in words: Auth0's, or another provider's as written."""
    if settings.auth0:
        return "Auth0's form: https://DOMAIN/ with its trailing slash"
    return "another provider's issuer, exactly as written in AUTH0_DOMAIN"


def check_endpoints(discovery: Mapping[str, Any]) -> Result:
    """The endpoints the app uses, as the app checks them (shared/tenant.py): URLs, the optional ones when present."""
    problems = [
        name
        for name in (*REQUIRED_ENDPOINTS, *OPTIONAL_ENDPOINTS)
        if (discovery.get(name) is not None or name in REQUIRED_ENDPOINTS)
        and not (isinstance(discovery.get(name), str) and str(discovery.get(name)).startswith(("https://", "http://")))
    ]
    if problems:
        return _fail(
            "endpoints",
            f"the discovery document's {', '.join(problems)} missing or not a URL",
            "the provider's discovery document is incomplete; logins cannot work against it",
        )
    logout = (
        "end_session_endpoint"
        if discovery.get("end_session_endpoint")
        else "none advertised: Log Out ends this app's session only (Auth0: /v2/logout)"
    )
    userinfo = "userinfo_endpoint" if discovery.get("userinfo_endpoint") else "no userinfo_endpoint"
    return _ok("endpoints", f"authorize, token, jwks, {userinfo}; logout: {logout}")


def run_checks(settings: Settings, client: httpx2.Client, now: Callable[[], float] = time.time) -> list[Result]:
    """Every check against `settings`, in order; checks that need the tenant are skipped when it is down."""
    results = [check_secret_key(settings)]
    try:
        response = client.get(settings.discovery_url)
        response.raise_for_status()
        discovery = response.json()
        if not isinstance(discovery, dict):
            raise ValueError("not a JSON object")
    except httpx2.HTTPError as error:
        answered = isinstance(error, httpx2.HTTPStatusError)
        detail = f"{settings.discovery_url}: {error}"
        if http_issuer := plain_http_issuer(settings.issuer, error):
            detail = f"{settings.discovery_url}: the answer came in plain http, not https"
            fix = plain_http_fix(http_issuer)
        elif settings.embedded and answered:
            fix = (
                f"something other than the dev tenant answers at {settings.issuer}; stop it, "
                "or set DEV_TENANT_PORT to another port"
            )
        elif settings.embedded:
            fix = f"nothing answers at {settings.issuer}: the dev tenant is not running; {START_DEV_TENANT}"
        else:
            fix = f"check AUTH0_DOMAIN (environment or .env; {DASHBOARD_APP} → Domain) and this machine's network"
        results.append(_fail("tenant reachable", detail, fix))
        return results + [
            Result(name, None, "skipped: the tenant did not answer")
            for name in ("issuer", "endpoints", "clock", "signing keys", "client credentials")
        ]
    except ValueError as error:
        results.append(
            _fail(
                "tenant reachable",
                f"{settings.discovery_url} is not a discovery document ({error})",
                "AUTH0_DOMAIN must be your tenant's domain (or its custom domain)",
            )
        )
        return results
    results.append(_ok("tenant reachable", settings.discovery_url))

    issuer = discovery.get("issuer")
    if issuer == settings.issuer:
        results.append(_ok("issuer", f"{issuer} ({issuer_form(settings)})"))
    else:
        if settings.embedded:
            fix = "set DEV_TENANT_PORT so that it matches the tenant's issuer exactly"
        elif isinstance(issuer, str):
            fix = f"set AUTH0_DOMAIN (environment or .env) to {issuer!r} exactly, trailing slash and path as written"
        else:
            fix = "AUTH0_DOMAIN does not point at an OpenID Connect provider"
        results.append(
            _fail(
                "issuer",
                f"the tenant says {issuer!r}, the configuration expects {settings.issuer!r} ({issuer_form(settings)})",
                f"{fix}; issuers are compared byte for byte and every id_token would be refused",
            )
        )
    results.append(check_endpoints(discovery))
    results.append(check_clock(settings, response, now))
    results.append(check_signing_keys(client, discovery))
    results.append(check_client(settings, client, discovery))
    return results


def report(settings: Settings, results: list[Result], out: TextIO) -> None:
    if settings.embedded:
        tenant = "the bundled dev tenant"
    else:
        tenant = "a real Auth0 tenant" if settings.auth0 else "an OpenID Connect provider"
    print(f"Configuration: {tenant} at {settings.issuer}, app at {settings.base_url}\n", file=out)
    width = max(len(result.name) for result in results)
    for result in results:
        mark = {True: "ok  ", False: "FAIL", None: "--  "}[result.ok]
        print(f"  {mark}  {result.name:<{width}}  {result.detail}", file=out)
        if result.fix:
            print(f"  {'':4}  {'':<{width}}  fix: {result.fix}", file=out)
    if not settings.embedded:
        print(
            f"\nIn the {DASHBOARD_APP.removeprefix('Auth0 ')} (not checkable from here):\n"
            f"  Allowed Callback URLs must contain {settings.redirect_uri}\n"
            f"  Allowed Logout URLs must contain   {settings.base_url}",
            file=out,
        )


def main(
    argv: list[str] | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    now: Callable[[], float] = time.time,
) -> int:
    """Parse the command line, load the settings (from `environ` when given) and report; return the exit code."""
    out = out or sys.stdout
    parser = argparse.ArgumentParser(
        prog="python -m shared.doctor",
        description="The configuration doctor. Tests the configuration a step would run with: the tenant's "
        "discovery document, "
        "issuer, clock skew, signing keys, client credentials and APP_SECRET_KEY. "
        "Exit code 0: all ok; 1: a check failed; 2: the configuration does not load.",
    )
    parser.add_argument(
        "--env-file", type=Path, default=None, help="read this file instead of .env at the project root"
    )
    args = parser.parse_args(argv)
    if args.env_file is not None and not args.env_file.is_file():
        parser.error(f"--env-file {args.env_file}: no such file")
    if args.env_file is None:
        for ignored in ignored_env_files(Path.cwd()):
            print(f"{parser.prog}: warning: {env_file_warning(ignored)}", file=sys.stderr)
    try:
        settings = load_settings(environ, env_file=args.env_file)
    except ConfigError as error:
        print(f"  FAIL  configuration  {error}", file=out)
        return 2
    with httpx2.Client(timeout=5, follow_redirects=False) as client:
        results = run_checks(settings, client, now)
    report(settings, results, out)
    failed = [result for result in results if result.ok is False]
    print(f"\n{len(failed)} problem(s) found." if failed else "\nAll checks passed.", file=out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
