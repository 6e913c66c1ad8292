"""/dashboard: the dev tenant's stand-in for Auth0's dashboard — Applications → Settings for the one
application every step uses (the dev client), and Monitoring → Logs.

    GET  /dashboard              the settings (settings.py), as Auth0 lays them out
    POST /dashboard              save them; a value Auth0 would refuse is refused, and nothing is saved
    POST /dashboard/reset        restore the tutorial's settings
    GET  /dashboard/logs         the events (logs.py), newest first, filtered by type and user
    GET  /dashboard/logs/{id}    one event as Auth0's log event JSON

It is served where the tenant is (loopback, its own host names only: hosts.py). Its forms are checked
as the apps' are: the post must come from the tenant's own origin (`Origin`, else `Sec-Fetch-Site`) and
carry the form's token, a random value made when the tenant starts and only ever written into the
dashboard's own pages, which no other origin can read.

One deviation from Auth0, said on the page too: Auth0 takes one Back-Channel Logout URI per application.
Here one application stands for every step, each on its own port, and single logout must reach each of
them (step 03's two apps side by side), so the dashboard takes a list; a logout token goes to the URI on
the origin (scheme, host, port) that the login's authorization code was sent to.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from . import templating
from .defaults import DEV_CLIENT_ID
from .logs import EVENTS, is_failure
from .params import MAX_BODY
from .settings import (
    CONNECTION_LABELS,
    GRANT_LABELS,
    LABELS,
    ApplicationSettings,
    SettingsError,
    parse_url_list,
    tutorial_settings,
)

if TYPE_CHECKING:
    from .server import DevTenant

FIELD = "csrf_token"
URL_FIELDS = ("callbacks", "allowed_logout_urls", "backchannel_logout_urls")
MAX_FIELDS = 50
SHOWN_EVENTS = 100


def render(template: str, status_code: int = 200, **context: object) -> HTMLResponse:
    """A dashboard page. Its referrer policy is same-origin, not the hosted pages' no-referrer: under
    no-referrer a browser sends `Origin: null` with the page's own forms, which the origin check must
    refuse. The dashboard's URLs carry nothing secret, and no other site ever gets its referrer."""
    response = templating.render(template, status_code, **context)
    response.headers["Referrer-Policy"] = "same-origin"
    return response


class FormRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def refused_page(
    tenant: DevTenant, heading: str, error: str, description: str, hint: str, status: int = 400
) -> HTMLResponse:
    """An error page that says which setting to change and links to the dashboard and its logs."""
    return render(
        "refused.html",
        status,
        heading=heading,
        error=error,
        description=description,
        hint=hint,
        dashboard_url=tenant.dashboard_url,
        logs_url=f"{tenant.dashboard_url}/logs",
    )


async def read_form(request: Request) -> list[tuple[str, str]]:
    """A bounded urlencoded body, every value kept (checkboxes repeat their name)."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise FormRefused(415, "The dashboard takes its own forms only (application/x-www-form-urlencoded).")
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise FormRefused(413, "The form is too large.")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise FormRefused(413, "The form is too large.")
    try:
        fields = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise FormRefused(400, "The form could not be read (not UTF-8, or too many fields).") from None
    return fields


class Dashboard:
    def __init__(self, tenant: DevTenant) -> None:
        self.tenant = tenant
        self.token = secrets.token_urlsafe(32)  # see the module docstring

    def routes(self) -> list[Route]:
        return [
            Route("/dashboard", self.settings_page, methods=["GET", "POST"]),
            Route("/dashboard/reset", self.reset, methods=["POST"]),
            Route("/dashboard/logs", self.logs_page),
            Route("/dashboard/logs/{log_id}", self.log_event),
        ]

    # ---- the forms' defences -------------------------------------------------------------------

    def _check_origin(self, request: Request) -> None:
        sent = request.headers.get("origin")
        if sent is not None:
            own = f"{request.url.scheme}://{request.headers.get('host', '')}"
            if sent != own:
                raise FormRefused(403, "This form was sent from another web page, not from the dashboard.")
        elif request.headers.get("sec-fetch-site") not in (None, "same-origin", "none"):
            raise FormRefused(403, "This form was sent from another web page, not from the dashboard.")

    async def _checked_form(self, request: Request) -> list[tuple[str, str]]:
        self._check_origin(request)
        fields = await read_form(request)
        sent = next((value for name, value in fields if name == FIELD), "")
        if not hmac.compare_digest(sent.encode(), self.token.encode()):
            raise FormRefused(
                403,
                "This form has expired (the dev tenant restarted) or did not come from the dashboard. "
                "Reload the dashboard and try again.",
            )
        return fields

    def _refused(self, exc: FormRefused) -> HTMLResponse:
        return refused_page(
            self.tenant,
            "The dashboard refused this form",
            "invalid_request",
            exc.message,
            "Nothing was saved.",
            exc.status,
        )

    # ---- Applications → Settings ----------------------------------------------------------------

    def _render_settings(
        self,
        request: Request,
        settings: ApplicationSettings,
        *,
        texts: dict[str, str] | None = None,
        error: str = "",
        invalid: tuple[str, ...] = (),
        status: int = 200,
    ) -> HTMLResponse:
        tenant = self.tenant
        client = tenant.clients.dev_client()
        texts = texts or {name: "\n".join(getattr(settings, name)) for name in URL_FIELDS}
        notice = {"saved": "Changes saved.", "reset": "The tutorial's settings are restored."}.get(
            request.query_params.get("done", ""), ""
        )
        return render(
            "dashboard.html",
            status,
            page="settings",
            client=client,
            domain=urlsplit(tenant.issuer).netloc,
            issuer=tenant.issuer,
            settings=settings,
            texts=texts,
            labels=LABELS,
            grant_labels=GRANT_LABELS,
            connection_labels=CONNECTION_LABELS,
            tutorial=tutorial_settings(),
            is_tutorial=settings == tutorial_settings(),
            problem=tenant.settings.problem,
            any_port=client.any_port,
            error=error,
            invalid=invalid,
            notice=notice,
            csrf_token=self.token,
        )

    async def settings_page(self, request: Request) -> Response:
        if request.method == "GET":
            return self._render_settings(request, self.tenant.settings.current())
        try:
            fields = await self._checked_form(request)
        except FormRefused as exc:
            return self._refused(exc)
        texts = {name: "" for name in URL_FIELDS}
        chosen: dict[str, list[str]] = {"grant_types": [], "enabled_connections": []}
        for name, value in fields:
            if name in texts:
                texts[name] = value
            elif name in chosen:
                chosen[name].append(value)
        before = self.tenant.settings.current()
        try:
            lists = {name: parse_url_list(name, texts[name]) for name in URL_FIELDS}
            unknown = [v for v in chosen["grant_types"] if v not in GRANT_LABELS] + [
                v for v in chosen["enabled_connections"] if v not in CONNECTION_LABELS
            ]
            if unknown:
                raise SettingsError(f"{unknown[0][:100]!r} is not a grant type or connection the dev tenant has.")
        except SettingsError as exc:
            field = next((name for name in URL_FIELDS if f"on property {name} " in str(exc)), "")
            shown = ApplicationSettings(
                before.callbacks,
                before.allowed_logout_urls,
                before.backchannel_logout_urls,
                tuple(g for g in GRANT_LABELS if g in chosen["grant_types"]),
                tuple(c for c in CONNECTION_LABELS if c in chosen["enabled_connections"]),
            )
            return self._render_settings(
                request, shown, texts=texts, error=str(exc), invalid=(field,) if field else (), status=400
            )
        after = ApplicationSettings(
            callbacks=lists["callbacks"],
            allowed_logout_urls=lists["allowed_logout_urls"],
            backchannel_logout_urls=lists["backchannel_logout_urls"],
            grant_types=tuple(g for g in GRANT_LABELS if g in chosen["grant_types"]),
            enabled_connections=tuple(c for c in CONNECTION_LABELS if c in chosen["enabled_connections"]),
        )
        self.tenant.settings.save(after)
        self._log_update(request, before, after, reset=False)
        return RedirectResponse("/dashboard?done=saved", status_code=303)

    async def reset(self, request: Request) -> Response:
        try:
            await self._checked_form(request)
        except FormRefused as exc:
            return self._refused(exc)
        before = self.tenant.settings.current()
        after = self.tenant.settings.reset()
        self._log_update(request, before, after, reset=True)
        return RedirectResponse("/dashboard?done=reset", status_code=303)

    def _log_update(
        self, request: Request, before: ApplicationSettings, after: ApplicationSettings, reset: bool
    ) -> None:
        old, new = before.as_json(), after.as_json()
        changed = [name for name in new if old[name] != new[name]]
        self.tenant.logs.record(
            "sapi",
            "Update a client",
            request=request,
            client_id=DEV_CLIENT_ID,
            details={
                "request": {"method": "patch", "path": f"/api/v2/clients/{DEV_CLIENT_ID}"},
                "changed": changed,
                "restored_tutorial_settings": reset,
            },
        )

    # ---- Monitoring → Logs ----------------------------------------------------------------------

    async def logs_page(self, request: Request) -> Response:
        event_type = request.query_params.get("type", "")
        user = request.query_params.get("user", "")[:200]
        if event_type and event_type not in EVENTS:
            event_type = ""
        events = self.tenant.logs.events(event_type, user, limit=SHOWN_EVENTS)
        return render(
            "dashboard.html",
            page="logs",
            client=self.tenant.clients.dev_client(),
            domain=urlsplit(self.tenant.issuer).netloc,
            events=events,
            event_names=EVENTS,
            total=len(self.tenant.logs),
            shown_max=SHOWN_EVENTS,
            event_type=event_type,
            user=user,
            is_failure=is_failure,
        )

    async def log_event(self, request: Request) -> Response:
        log_id = request.path_params["log_id"]
        event = self.tenant.logs.get(log_id) if log_id.isdigit() and len(log_id) <= 40 else None
        if event is None:
            return refused_page(
                self.tenant,
                "Log event not found",
                "not_found",
                "There is no log event with this id; the log keeps the newest events only.",
                "Go back to the logs.",
                status=404,
            )
        return render(
            "dashboard.html",
            page="event",
            client=self.tenant.clients.dev_client(),
            domain=urlsplit(self.tenant.issuer).netloc,
            event=event,
            event_names=EVENTS,
            event_json=json.dumps(event, indent=2, ensure_ascii=False),
            is_failure=is_failure,
        )
