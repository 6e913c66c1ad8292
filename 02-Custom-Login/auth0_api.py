"""The two Auth0 Authentication API calls of the custom login form (Auth0.js's `login`, `signup`).

Both run on the server, through the app's one shared HTTP client, so the client secret and the
password never pass through the browser's JavaScript. Auth0 answers errors in two JSON shapes —
OAuth's `{"error", "error_description"}` from /oauth/token and `{"code", "description", "name"}`
/dbconnections/signup — and `AuthApiError` turns both into a sentence a person can act on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx2

from shared.tenant import SCOPE, Tenant, unavailable
from shared.upstream import describe, trim

PASSWORD_REALM_GRANT = "http://auth0.com/oauth/grant-type/password-realm"
# Bytes of JSON an error may take in the signed cookie, which carries it to the form's next page:
# a browser silently drops a cookie over 4 KB, and the cookie holds the CSRF token and email too.
MAX_ERROR_JSON = 2048

# What a workshop participant must change in the Auth0 Dashboard when the tenant refuses the app.
ENABLE_PASSWORD_GRANT = (
    "In the Auth0 Dashboard open Applications → this application → Settings → Advanced Settings → "
    "Grant Types, tick Password and save."
)
SET_DEFAULT_DIRECTORY = (
    "In the Auth0 Dashboard open Settings (Tenant Settings) → API Authorization Settings and set "
    "Default Directory to your database connection's name (or set AUTH0_CONNECTION)."
)

# Step 02's form uses two Auth0 endpoints no OpenID Connect provider has to offer.
NOT_AUTH0 = (
    "This form cannot {what} at {issuer}: it uses Auth0's password-realm grant and "
    "/dbconnections/signup, which this identity provider does not offer. Use the button that logs "
    "in at the provider's own page "
    "(step 01 shows that flow), or run this step against Auth0 or the bundled dev tenant."
)


@dataclass
class Rule:
    """One line of the connection's password policy, and whether the refused password met it."""

    text: str
    met: (
        bool | None
    )  # None: the tenant sent only the policy text, not which rules the password broke
    items: list[Rule] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rule:
        return cls(str(data["text"]), data["met"], [cls.from_json(item) for item in data["items"]])


class AuthApiError(Exception):
    """A login or sign-up that cannot go ahead, in words for the form; `status`: the answer's."""

    def __init__(self, message: str, *, status: int = 400, rules: list[Rule] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.rules = rules or []

    @property
    def fields(self) -> tuple[str, ...]:
        """The form's fields the error is about, marked `aria-invalid` (none: a set-up problem)."""
        if self.status >= 500:
            return ()
        if self.status == 409:  # the email is taken
            return ("email",)
        return ("password",) if self.rules else ("email", "password")

    def to_json(self) -> dict[str, Any]:
        """The error as JSON, for the signed cookie to carry to the form's next showing."""
        kept = {
            "message": self.message,
            "status": self.status,
            "rules": [asdict(r) for r in self.rules],
        }
        if len(json.dumps(kept)) > MAX_ERROR_JSON:  # only a tenant that answers at great length
            kept = {"message": trim(self.message, 100), "status": self.status, "rules": []}
        return kept

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuthApiError:
        rules = [Rule.from_json(rule) for rule in data["rules"]]
        return cls(str(data["message"]), status=int(data["status"]), rules=rules)


async def login_with_password(tenant: Tenant, email: str, password: str) -> str:
    """An email and password for an id_token (the password-realm grant); the caller verifies it."""
    settings = tenant.settings
    token_endpoint = (await tenant.metadata())["token_endpoint"]
    answer = await _post(
        tenant,
        token_endpoint,
        data={
            "grant_type": PASSWORD_REALM_GRANT,
            "realm": settings.connection,  # the database connection: no tenant-wide default needed
            "username": email,
            "password": password,
            "scope": SCOPE,
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
        },
    )
    if answer.status_code == 200 and isinstance(id_token := _json(answer).get("id_token"), str):
        return id_token
    code = str(_json(answer).get("error") or "")
    if code == "unsupported_grant_type" or (code == "unauthorized_client" and not settings.auth0):
        raise AuthApiError(
            NOT_AUTH0.format(issuer=settings.issuer, what="log in with a password"), status=501
        )
    raise _login_error(answer.status_code, _json(answer), answer)


async def sign_up(tenant: Tenant, email: str, password: str) -> None:
    """Create the user in the database connection (POST /dbconnections/signup), not logged in."""
    settings = tenant.settings
    if not settings.auth0:
        raise AuthApiError(NOT_AUTH0.format(issuer=settings.issuer, what="sign up"), status=501)
    answer = await _post(
        tenant,
        f"{settings.issuer}dbconnections/signup",
        json={
            "client_id": settings.client_id,
            "email": email,
            "password": password,
            "connection": settings.connection,
        },
    )
    if answer.status_code != 200:
        raise _signup_error(answer.status_code, _json(answer))


async def _post(tenant: Tenant, url: str, **body: Any) -> httpx2.Response:
    try:
        return await tenant.http.post(url, headers={"accept": "application/json"}, **body)
    except httpx2.HTTPError as error:
        raise unavailable(tenant.settings.issuer, error) from error


def _json(response: httpx2.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _code_and_description(body: dict[str, Any]) -> tuple[str, Any]:
    code = body.get("error") or body.get("code") or ""
    description = (
        body.get("error_description") or body.get("description") or body.get("message") or ""
    )
    return str(code), description


def _login_error(
    status: int, body: dict[str, Any], answer: httpx2.Response | None = None
) -> AuthApiError:
    code, description = _code_and_description(body)
    text = str(description)
    if code in ("invalid_grant", "invalid_user_password"):
        return AuthApiError("Wrong email or password.", status=401)
    if code == "too_many_attempts":
        # The tenant's own words say how to unblock: Auth0's point to the email it sent, the dev
        # tenant's (which sends no email) name the command that lifts the block.
        return AuthApiError(
            text or "Too many failed attempts: this account is blocked for now.", status=429
        )
    if code == "unauthorized" and "blocked" in text.lower():
        return AuthApiError(
            "This account is blocked. Ask an administrator to unblock it.", status=403
        )
    if code == "unauthorized_client":
        message = (
            f"This application is not allowed to log in with a password. {ENABLE_PASSWORD_GRANT}"
        )
        return AuthApiError(message, status=502)
    if code == "server_error" and "default connection" in text.lower():
        return AuthApiError(
            f"The tenant has no default directory for password logins. {SET_DEFAULT_DIRECTORY}",
            status=502,
        )
    if code == "invalid_request" and "connection" in text.lower():
        return AuthApiError(_connection_missing(text), status=502)
    if code == "access_denied" and status == 401:
        message = (
            "The tenant did not accept this application's credentials: "
            "check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET."
        )
        return AuthApiError(message, status=502)
    if code == "mfa_required":
        return AuthApiError(
            "This account needs multi-factor authentication, which this form does not offer.",
            status=403,
        )
    if code == "password_leaked":
        return AuthApiError(
            "This password appeared in a data breach and was blocked. Reset your password.",
            status=403,
        )
    if answer is not None and (
        status == 200 or not code
    ):  # not OAuth's JSON: say what came instead
        return AuthApiError(
            f"The tenant answered the password login with {describe(answer)}.", status=502
        )
    return _unexpected(status, code, text)


def _signup_error(status: int, body: dict[str, Any]) -> AuthApiError:
    code, description = _code_and_description(body)
    text = str(description)
    if code in ("user_exists", "username_exists"):
        return AuthApiError(
            "An account with this email address already exists. Log in instead.", status=409
        )
    if code == "invalid_password" or str(body.get("name") or "").startswith("Password"):
        rules = _rules(description, body.get("policy"))
        if rules:
            return AuthApiError(
                "That password is too weak. A password needs:", status=400, rules=rules
            )
        return AuthApiError(
            f"That password is not allowed: {text or 'choose another one.'}", status=400
        )
    if code == "invalid_signup":
        return AuthApiError("The tenant refused this sign-up. Check the email address.", status=400)
    if code == "unauthorized":
        return AuthApiError(f"Sign-up is not allowed for this application: {text}", status=403)
    if code in ("invalid_connection",) or (
        code == "invalid_request" and "connection" in text.lower()
    ):
        return AuthApiError(_connection_missing(text), status=502)
    return _unexpected(status, code, text)


def _connection_missing(text: str) -> str:
    return (
        f"The tenant has no usable database connection for this application ({text}). In the Auth0 "
        "Dashboard open Applications → this application → Connections and enable the database "
        "connection, and set "
        "AUTH0_CONNECTION to its name if it is not Username-Password-Authentication."
    )


def _unexpected(status: int, code: str, text: str) -> AuthApiError:
    detail = f"{code}: {text}" if code else f"HTTP {status}"
    if status >= 500 or not code:
        return AuthApiError(
            f"The tenant answered with an error ({detail}). Try again in a moment.", status=502
        )
    return AuthApiError(f"The tenant refused: {text or code}.", status=400)


def _rules(description: Any, policy: Any) -> list[Rule]:
    """Auth0's PasswordStrengthError rules (`%d` messages, a `format` list), or the policy text."""
    if isinstance(description, dict) and isinstance(description.get("rules"), list):
        return [_rule(rule) for rule in description["rules"] if isinstance(rule, dict)]
    if isinstance(policy, str):
        return [
            Rule(line.strip(" *"), met=None) for line in policy.splitlines() if line.strip(" *")
        ]
    return []


def _rule(raw: dict[str, Any]) -> Rule:
    message = str(raw.get("message", ""))
    values = raw.get("format") or []
    try:
        text = message % tuple(values) if values else message
    except (TypeError, ValueError):
        text = message
    items = [_rule(item) for item in raw.get("items") or [] if isinstance(item, dict)]
    return Rule(text, bool(raw.get("verified")), items)
